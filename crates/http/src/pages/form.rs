//! HTML form bodies (`application/x-www-form-urlencoded`, the encoding of a plain
//! `<form method="post">`; WHATWG URL standard §5), read with the API's body limit.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, http::header};
use futures::future::LocalBoxFuture;

use crate::error::ApiError;
use crate::extract::read_limited_body;

/// The media type a browser sends for a plain form.
const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

/// A submitted form: its fields in order, decoded. A field sent twice keeps its first
/// value; fields the page does not know are ignored, as browsers add none of their own.
#[derive(Debug, Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Decodes an urlencoded body (`+` is a space, `%XX` a byte; invalid UTF-8 becomes
    /// U+FFFD, as browsers decode it).
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or `""` when the form has no such field (an empty
    /// input and a missing one mean the same on a page).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

impl FormFields {
    /// The name of the first field whose name or value holds U+0000 (`form` for a
    /// name), or `None`. Pages refuse such a form as the API refuses such a body
    /// (SPEC §2), since PostgreSQL cannot store the character.
    pub fn nul_field(&self) -> Option<&str> {
        self.0.iter().find_map(|(name, value)| {
            if name.contains('\0') {
                Some("form")
            } else {
                value.contains('\0').then_some(name.as_str())
            }
        })
    }

    /// Every value of `name`, in order (checkboxes sharing a name).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

/// Whether the request says it carries a form (parameters such as `charset` allowed).
fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(FORM_URLENCODED))
}

impl FromRequest for FormFields {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_limited_body(req, payload, is_form(req), FORM_URLENCODED);
        Box::pin(async move { read.await.map(|body| Self::parse(&body)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent_and_keeps_the_first_of_a_repeated_field() {
        let form = FormFields::parse(b"singer=Ann+Lee&title=Caf%C3%A9&singer=Bob&x=%00");

        assert_eq!(form.get("singer"), "Ann Lee");
        assert_eq!(form.get("title"), "Café");
        assert_eq!(form.get("x"), "\0");
        assert_eq!(form.get("missing"), "");
        assert_eq!(form.all("singer"), ["Ann Lee", "Bob"]);
        assert_eq!(form.nul_field(), Some("x"));
        assert_eq!(FormFields::parse(b"a=1&%00=2").nul_field(), Some("form"));
        assert_eq!(FormFields::parse(b"a=1").nul_field(), None);
        assert!(form.all("missing").is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let form = FormFields::parse(b"singer=%FF");

        assert_eq!(form.get("singer"), "\u{FFFD}");
    }
}
