//! JSON Schemas of the wire values whose rules a bare `type: string` cannot state, built
//! from the constants the domain checks with, so the OpenAPI document states exactly what
//! the server enforces (SPEC §5). DTO fields name them with
//! `#[schema(schema_with = …)]` or `value_type = …`.
//!
//! Patterns are ECMA-262 (JSON Schema's dialect) written so that Rust's `regex`, Python's
//! `re` and JavaScript read them alike: only character classes, `\uXXXX` escapes, `^`/`$`
//! anchors and non-capturing groups. "Not only white space" uses the exact set Rust's
//! `str::trim` removes (Unicode `White_Space`), not a regex `\s`, which differs between
//! engines.

use std::borrow::Cow;

use keyward_domain::Scope;
use keyward_domain::requests::MAX_SINGER_CHARS;
use keyward_domain::songbook::MAX_SONG_TEXT_CHARS;
use keyward_domain::vault::MAX_SECRET_BYTES;
use keyward_domain::vault::model::MAX_PROVIDER_CHARS;
use keyward_domain::venues::{MAX_URL_NAME_CHARS, MAX_VENUE_NAME_CHARS};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The characters Rust's `char::is_whitespace` accepts (Unicode `White_Space`), as the
/// inside of a regex character class.
pub const WHITE_SPACE_CLASS: &str =
    r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Text that holds at least one character that is not white space (JSON Schema patterns
/// search: unanchored means "somewhere").
pub const NOT_BLANK_PATTERN: &str =
    r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// A provider slug (`keyward_domain::vault::Provider`).
pub const PROVIDER_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";

/// A venue URL name (`keyward_domain::venues::UrlName`): lower-case letters and digits in
/// runs joined by single hyphens.
pub const URL_NAME_PATTERN: &str = "^[a-z0-9]+(?:-[a-z0-9]+)*$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::Array(vec![
        Type::String,
        Type::Null,
    ]))
}

/// 1 to `max` characters, not only white space: the rule of every name.
fn name(base: ObjectBuilder, max: usize, example: &str) -> Object {
    base.min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(NOT_BLANK_PATTERN))
        .description(Some(format!(
            "1 to {max} characters, not only white space."
        )))
        .examples([example])
        .build()
}

/// An API key's name.
pub fn key_name() -> Object {
    name(
        string(),
        keyward_domain::keys::model::MAX_NAME_CHARS,
        "Front desk tablet",
    )
}

/// A venue's name.
pub fn venue_name() -> Object {
    name(string(), MAX_VENUE_NAME_CHARS, "The Rusty Mic")
}

/// A service credential's name.
pub fn credential_name() -> Object {
    name(
        string(),
        keyward_domain::vault::model::MAX_NAME_CHARS,
        "Our OpenAI account",
    )
}

/// A service credential's name where `null` (or leaving it out) means "the provider".
pub fn credential_name_or_null() -> Object {
    let mut schema = name(
        nullable_string(),
        keyward_domain::vault::model::MAX_NAME_CHARS,
        "Our OpenAI account",
    );
    schema.description = Some(format!(
        "1 to {} characters, not only white space; left out or null: the provider.",
        keyward_domain::vault::model::MAX_NAME_CHARS
    ));
    schema
}

/// A secret's plaintext. The limit is in bytes of UTF-8, which JSON Schema cannot count:
/// `maxLength` is the same number, in characters, and exact for ASCII secrets.
pub fn secret() -> Object {
    string()
        .min_length(Some(1))
        .max_length(Some(MAX_SECRET_BYTES))
        .pattern(Some(NOT_BLANK_PATTERN))
        .description(Some(format!(
            "The plaintext, stored encrypted and never shown again by this API: not only \
             white space, at most {MAX_SECRET_BYTES} bytes as UTF-8."
        )))
        .examples(["sk-proj-…"])
        .build()
}

/// A provider slug in a body or query.
pub fn provider() -> Object {
    string()
        .min_length(Some(1))
        .max_length(Some(MAX_PROVIDER_CHARS))
        .pattern(Some(PROVIDER_PATTERN))
        .description(Some(format!(
            "Lower-case slug: 1 to {MAX_PROVIDER_CHARS} of a-z, 0-9, '-' and '_', starting \
             with a letter or digit."
        )))
        .examples(["openai"])
        .build()
}

fn url_name_rules(base: ObjectBuilder) -> ObjectBuilder {
    base.min_length(Some(1))
        .max_length(Some(MAX_URL_NAME_CHARS))
        .pattern(Some(URL_NAME_PATTERN))
        .examples(["the-rusty-mic"])
}

/// A venue URL name that must be given (`PATCH`): never `null`.
pub fn url_name() -> Object {
    url_name_rules(string())
        .description(Some(format!(
            "1 to {MAX_URL_NAME_CHARS} lower-case letters, digits and single hyphens, \
             starting and ending with a letter or digit."
        )))
        .build()
}

/// A venue URL name on create: left out or `null` derives it from the name.
pub fn url_name_or_null() -> Object {
    url_name_rules(nullable_string())
        .description(Some(format!(
            "1 to {MAX_URL_NAME_CHARS} lower-case letters, digits and single hyphens, \
             starting and ending with a letter or digit; left out or null: derived from the \
             name (with -2, -3, … if taken)."
        )))
        .build()
}

/// A singer's name: 1 to 100 characters once the white space around it is dropped.
/// JSON Schema cannot trim, so the pattern spells it out: optional white space, then a
/// non-space character, optionally up to 98 more characters ending in a non-space one,
/// then optional white space.
pub fn singer() -> Object {
    let inner = MAX_SINGER_CHARS - 2;
    string()
        .pattern(Some(format!(
            "^[{WHITE_SPACE_CLASS}]*{NOT_BLANK_PATTERN}(?:[\\s\\S]{{0,{inner}}}{NOT_BLANK_PATTERN})?[{WHITE_SPACE_CLASS}]*$"
        )))
        .description(Some(format!(
            "1 to {MAX_SINGER_CHARS} characters once surrounding white space is dropped."
        )))
        .examples(["Alice"])
        .build()
}

/// A song's artist or title as the song book holds it: verbatim, at most 255 characters.
pub fn song_text(description: &str, example: &str) -> Object {
    string()
        .max_length(Some(MAX_SONG_TEXT_CHARS))
        .description(Some(description))
        .examples([example])
        .build()
}

/// One scope of SPEC §3; the component `Scope`.
#[derive(Debug, Clone, Copy)]
pub struct ScopeName;

impl PartialSchema for ScopeName {
    fn schema() -> RefOr<Schema> {
        string()
            .enum_values(Some(Scope::ALL.iter().map(|scope| scope.as_str())))
            .description(Some(
                "An API key scope; a `:write` scope includes the matching `:read` scope.",
            ))
            .build()
            .into()
    }
}

impl ToSchema for ScopeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Scope")
    }
}

#[cfg(test)]
mod tests {
    use keyward_domain::keys::KeyName;
    use keyward_domain::requests::SingerName;
    use keyward_domain::vault::{Provider, SecretText};
    use keyward_domain::venues::UrlName;
    use regex::Regex;

    use super::*;

    fn pattern_of(schema: &Object) -> Regex {
        Regex::new(schema.pattern.as_deref().unwrap()).unwrap()
    }

    /// Inputs whose verdict differs between a regex `\s` and Rust's `trim`.
    const TRICKY: [&str; 16] = [
        "",
        " ",
        "\t\n\u{b}\u{c}\r",
        "\u{85}",
        "\u{a0}\u{3000}",
        "\u{2028}x\u{2029}",
        "\u{1c}",
        "\u{feff}",
        "\u{200b}",
        "a",
        " a ",
        "é",
        "Name with spaces",
        "-",
        "a--b",
        "UPPER",
    ];

    #[test]
    fn not_blank_is_exactly_what_trim_leaves_something_of() {
        let not_blank = pattern_of(&key_name());
        for text in TRICKY {
            assert_eq!(
                not_blank.is_match(text),
                KeyName::new(text).is_ok(),
                "{text:?}"
            );
        }
        for c in (0..=0x3100).filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(
                not_blank.is_match(&text),
                KeyName::new(text.clone()).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn singer_pattern_is_the_trimmed_length_rule() {
        let singer_rule = pattern_of(&singer());
        let long = "x".repeat(MAX_SINGER_CHARS);
        let too_long = "x".repeat(MAX_SINGER_CHARS + 1);
        let padded = format!(" \u{85}{long}\u{3000}\t");
        let inner_spaces = format!("a{}b", " ".repeat(MAX_SINGER_CHARS - 2));
        for text in TRICKY.iter().copied().chain([
            long.as_str(),
            too_long.as_str(),
            padded.as_str(),
            inner_spaces.as_str(),
            "a\nb",
        ]) {
            assert_eq!(
                singer_rule.is_match(text),
                SingerName::new(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn slug_patterns_accept_exactly_the_domain_slugs() {
        let provider_rule = pattern_of(&provider());
        let url_name_rule = pattern_of(&url_name());
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        for text in TRICKY.iter().copied().chain([
            "openai",
            "open_ai-2",
            "_x",
            "9lives",
            "a-",
            "a-b-c",
            "a_b",
            "a\n",
            long.as_str(),
            too_long.as_str(),
        ]) {
            let length_ok = (1..=MAX_PROVIDER_CHARS).contains(&text.chars().count());
            assert_eq!(
                provider_rule.is_match(text) && length_ok,
                Provider::new(text).is_ok(),
                "provider {text:?}"
            );
            let length_ok = (1..=MAX_URL_NAME_CHARS).contains(&text.chars().count());
            assert_eq!(
                url_name_rule.is_match(text) && length_ok,
                UrlName::new(text).is_ok(),
                "urlName {text:?}"
            );
        }
    }

    #[test]
    fn secret_pattern_refuses_what_the_vault_refuses() {
        let secret_rule = pattern_of(&secret());
        for text in TRICKY {
            assert_eq!(
                secret_rule.is_match(text),
                SecretText::new(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_scope_schema_lists_every_scope() {
        let json = serde_json::to_value(ScopeName::schema()).unwrap();
        let names: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();

        assert_eq!(json["enum"], serde_json::json!(names));
    }
}
