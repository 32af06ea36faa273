//! `UrlName`: the slug in a venue's public singer URL (`/v1/public/venues/{urlName}`),
//! globally unique, and how one is derived from a venue's name.

use std::fmt;

/// Longest URL name.
pub const MAX_URL_NAME_CHARS: usize = 64;

/// Used when a name has no letters or digits a URL can carry (e.g. only emoji).
const FALLBACK: &str = "venue";

/// A slug: 1..=64 characters of `a-z`, `0-9` and `-`, starting and ending with a letter
/// or digit, never two hyphens in a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UrlName(String);

/// A string that breaks the slug rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "urlName must be 1 to 64 lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
)]
pub struct InvalidUrlName;

impl UrlName {
    pub fn new(slug: impl Into<String>) -> Result<Self, InvalidUrlName> {
        let slug = slug.into();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let valid = !slug.is_empty()
            && slug.len() <= MAX_URL_NAME_CHARS
            && slug.chars().all(allowed)
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && !slug.contains("--");
        if valid {
            Ok(Self(slug))
        } else {
            Err(InvalidUrlName)
        }
    }

    /// The slug for a venue called `name`: Latin letters lose their accents, everything
    /// that is not a letter or digit becomes a single hyphen. Never fails: a name with
    /// nothing usable becomes `venue`.
    pub fn derive_from(name: &str) -> Self {
        let mut slug = String::with_capacity(name.len());
        for c in name.chars().flat_map(char::to_lowercase) {
            match ascii_equivalent(c) {
                Some(ascii) => slug.push_str(ascii),
                None if c.is_ascii_alphanumeric() => slug.push(c),
                None => {
                    if !slug.is_empty() && !slug.ends_with('-') {
                        slug.push('-');
                    }
                }
            }
        }
        Self::clip(slug, MAX_URL_NAME_CHARS)
    }

    /// `self` with `-n` appended, shortened so the result stays within the length limit;
    /// used to find a free slug when the derived one is taken.
    #[must_use]
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let base = Self::clip(
            self.0.clone(),
            MAX_URL_NAME_CHARS.saturating_sub(suffix.len()),
        );
        Self(format!("{}{suffix}", base.0))
    }

    /// Cuts an ASCII slug-in-progress to `max` bytes and removes hyphens left at its ends.
    fn clip(mut slug: String, max: usize) -> Self {
        slug.truncate(max);
        let trimmed = slug.trim_matches('-');
        if trimmed.is_empty() {
            Self(FALLBACK.to_owned())
        } else {
            Self(trimmed.to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UrlName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// ASCII spelling of the lowercase Latin letters with diacritics that venue names in
/// Europe and the Americas commonly use. Anything else non-ASCII becomes a separator.
fn ascii_equivalent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ä' | 'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ł' | 'ľ' | 'ĺ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
        'ö' | 'œ' => "oe",
        'ŕ' | 'ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ü' => "ue",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_slugs_are_accepted() {
        for slug in ["a", "the-rusty-mic", "bar-42", &"x".repeat(64)] {
            assert!(UrlName::new(slug).is_ok(), "{slug}");
        }
    }

    #[test]
    fn slugs_breaking_the_rules_are_refused() {
        for slug in [
            "",
            "-bar",
            "bar-",
            "two--hyphens",
            "Upper",
            "spa ce",
            "ümlaut",
            "under_score",
            &"x".repeat(65),
        ] {
            assert_eq!(UrlName::new(slug), Err(InvalidUrlName), "{slug:?}");
        }
    }

    #[test]
    fn derived_slug_lowercases_and_joins_words_with_single_hyphens() {
        assert_eq!(
            UrlName::derive_from("  The Rusty   Mic & Bar!! ").as_str(),
            "the-rusty-mic-bar"
        );
    }

    #[test]
    fn derived_slug_transliterates_accented_latin_letters() {
        assert_eq!(
            UrlName::derive_from("Café Zürich Straße").as_str(),
            "cafe-zuerich-strasse"
        );
    }

    #[test]
    fn derived_slug_of_a_name_without_usable_characters_is_venue() {
        assert_eq!(UrlName::derive_from("🎤🎶").as_str(), "venue");
        assert_eq!(UrlName::derive_from("東京").as_str(), "venue");
    }

    #[test]
    fn derived_slug_is_always_valid_and_short_enough() {
        let derived = UrlName::derive_from(&"Karaoke Night ".repeat(20));
        assert!(derived.as_str().len() <= MAX_URL_NAME_CHARS);
        assert_eq!(UrlName::new(derived.as_str()), Ok(derived.clone()));
    }

    #[test]
    fn suffix_keeps_the_slug_within_the_limit() {
        let long = UrlName::new("y".repeat(64)).unwrap();
        let suffixed = long.with_suffix(12);
        assert_eq!(suffixed.as_str().len(), 64);
        assert!(suffixed.as_str().ends_with("y-12"));
        assert_eq!(
            UrlName::new("bar").unwrap().with_suffix(2).as_str(),
            "bar-2"
        );
    }
}
