//! Strict, borrowing JSON: a document parsed into a tree whose strings point into the
//! request body wherever they can, and refused when any object names a key twice.
//!
//! The OpenKJ endpoint reads every command through this (SPEC §9): the body of a
//! `getSerial` poll is parsed without copying a single string, where a
//! `serde_json::Value` would allocate every member name and value and sort the members
//! into a map.
//!
//! One value per key: RFC 8259 §4 leaves the meaning of a document that names a key
//! twice to the parser, and "the last one wins" would let
//! `{"command": "getSerial", "command": "clearRequests"}` mean something its first
//! reader did not see. So such a document is refused, at any depth.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why [`parse`] refused a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// Not JSON at all; the parser's message with line and column.
    #[error("request body is not valid JSON: {0}")]
    Syntax(String),
    /// Valid JSON in which an object names a key twice.
    #[error("request body names a key twice: {0}")]
    DuplicateKey(String),
}

impl From<serde_json::Error> for StrictJsonError {
    fn from(err: serde_json::Error) -> Self {
        // The only data error the visitors below raise is the duplicate key.
        if err.is_data() {
            Self::DuplicateKey(err.to_string())
        } else {
            Self::Syntax(err.to_string())
        }
    }
}

/// A JSON value whose strings borrow from the document they were parsed from (an
/// escaped string, which has to be decoded, is owned).
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in document order, each name once.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// Objects with more members than this check names through a hash set instead of a
/// scan, so a hostile object with 100,000 members costs O(n), not O(n²).
const SCAN_LIMIT: usize = 16;

/// Parses a JSON document (one value, nothing but whitespace after it).
///
/// # Errors
/// [`StrictJsonError::Syntax`] for invalid JSON (or text after it),
/// [`StrictJsonError::DuplicateKey`] naming the key, line and column.
pub fn parse(body: &[u8]) -> Result<Json<'_>, StrictJsonError> {
    // One UTF-8 check of the whole body is cheaper than serde_json's check of every
    // string read from a byte slice (RFC 8259 §8.1: JSON text is UTF-8).
    let text = std::str::from_utf8(body).map_err(|err| {
        StrictJsonError::Syntax(format!("invalid UTF-8 at byte {}", err.valid_up_to()))
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Tree.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

impl<'a> Json<'a> {
    /// The member `name` of an object (`None` for anything else, or when absent).
    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members
                .iter()
                .find(|(member, _)| member == name)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value` (owned; members sorted by name, as
    /// `serde_json::Map` keeps them).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(*flag),
            Json::Number(number) => Value::Number(number.clone()),
            Json::String(text) => Value::String(text.clone().into_owned()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(name, value)| (name.clone().into_owned(), value.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// The visitor building a [`Json`].
#[derive(Clone, Copy)]
struct Tree;

impl<'de> DeserializeSeed<'de> for Tree {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json<'de>, E> {
        // serde_json never hands a parser-produced non-finite number to a visitor.
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        let mut names: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(name) = map.next_key_seed(Name)? {
            let taken = match &mut names {
                Some(names) => !names.insert(name.clone()),
                None => members.iter().any(|(member, _)| *member == name),
            };
            if taken {
                return Err(de::Error::custom(format_args!("duplicate key {name:?}")));
            }
            let value = map.next_value_seed(self)?;
            members.push((name, value));
            if names.is_none() && members.len() > SCAN_LIMIT {
                names = Some(members.iter().map(|(member, _)| member.clone()).collect());
            }
        }
        Ok(Json::Object(members))
    }
}

/// A member name, borrowed when it has no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let top = parse(br#"{"command": "getSerial", "command": "clearRequests"}"#);
        let nested = parse(br#"{"songs": [{"artist": "a", "artist": "b"}]}"#);

        assert!(
            matches!(&top, Err(StrictJsonError::DuplicateKey(m)) if m.contains(r#"duplicate key "command""#)),
            "{top:?}"
        );
        assert!(
            matches!(&nested, Err(StrictJsonError::DuplicateKey(m)) if m.contains(r#"duplicate key "artist""#)),
            "{nested:?}"
        );
    }

    #[test]
    fn a_duplicate_spelled_with_an_escape_is_still_a_duplicate() {
        let body = br#"{"command": "getSerial", "comm\u0061nd": "clearRequests"}"#;

        assert!(matches!(parse(body), Err(StrictJsonError::DuplicateKey(_))));
    }

    #[test]
    fn duplicates_are_found_in_objects_past_the_scan_limit() {
        let mut members: Vec<String> = (0..100).map(|n| format!(r#""k{n}": {n}"#)).collect();
        let unique = format!("{{{}}}", members.join(","));
        members.push(r#""k57": 0"#.to_owned());
        let repeated = format!("{{{}}}", members.join(","));

        assert_eq!(
            parse(unique.as_bytes()).unwrap().get("k99"),
            Some(&Json::Number(99.into()))
        );
        let refused = parse(repeated.as_bytes());
        assert!(
            matches!(&refused, Err(StrictJsonError::DuplicateKey(m)) if m.contains(r#""k57""#)),
            "{refused:?}"
        );
    }

    #[test]
    fn parses_to_the_same_value_as_serde_json() {
        let body = br#"{"a": [1, -2, 3.5, 18446744073709551615, true, null, "x\u00e9"], "b": {"c": {}}, "\u00e9": "\"q\""}"#;

        assert_eq!(
            parse(body).unwrap().to_value(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
        assert_eq!(parse(b"[1, 2]").unwrap().to_value(), json!([1, 2]));
    }

    #[test]
    fn strings_without_escapes_borrow_from_the_body() {
        let body = br#"{"command": "getSerial", "api_key": "kw_\u0041"}"#;

        let parsed = parse(body).unwrap();

        assert!(matches!(
            parsed.get("command"),
            Some(Json::String(Cow::Borrowed("getSerial")))
        ));
        assert!(
            matches!(parsed.get("api_key"), Some(Json::String(Cow::Owned(key))) if key == "kw_A")
        );
    }

    #[test]
    fn trailing_text_and_invalid_json_are_refused() {
        assert!(matches!(
            parse(br#"{"a": 1} x"#),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(
            parse(br#"{"a": "#),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(parse(b""), Err(StrictJsonError::Syntax(_))));
        assert_eq!(
            parse(b"{\"a\": \"\xff\"}"),
            Err(StrictJsonError::Syntax(
                "invalid UTF-8 at byte 7".to_owned()
            ))
        );
    }
}
