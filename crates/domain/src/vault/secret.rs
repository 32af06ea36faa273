//! The plaintext of a third-party credential, and the masked form that listings show.
//!
//! The plaintext lives in [`SecretText`] only between a request body and the cipher, or
//! between the cipher and a response. Its `Debug` and `Display` are redacted, so a stray
//! `{:?}` in a log line or an error cannot leak it, and its buffer is wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

/// Longest secret accepted, in bytes: room for a cloud service-account JSON document,
/// small enough that a credential row stays small.
pub const MAX_SECRET_BYTES: usize = 16 * 1024;

/// Secrets shorter than this (in characters) are masked without any visible characters:
/// showing four characters of an eight-character secret would give half of it away.
const MIN_CHARS_FOR_HINT: usize = 16;
/// Characters of the end of the secret shown in the masked form.
const VISIBLE_TAIL_CHARS: usize = 4;
/// Longest recognisable prefix (`sk-`, `xoxb-`, `ghp_`) shown in the masked form,
/// separator included. Kept short and letters-only so that a random secret which merely
/// happens to contain a `-` or `_` near its start gives away next to nothing.
const MAX_VISIBLE_PREFIX_CHARS: usize = 5;
/// The marker standing for the hidden part.
const ELLIPSIS: char = '…';

/// Why a secret was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretTextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} bytes")]
    TooLong { max: usize },
}

/// A credential's plaintext. Kept verbatim (no trimming: a secret is whatever the
/// provider issued), but never empty or only white space.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Accepts a secret of 1..=[`MAX_SECRET_BYTES`] bytes that is not only white space.
    ///
    /// # Errors
    /// `Empty` or `TooLong`. Neither carries any part of the text.
    pub fn new(text: impl Into<String>) -> Result<Self, SecretTextError> {
        let text = Zeroizing::new(text.into());
        if text.trim().is_empty() {
            return Err(SecretTextError::Empty);
        }
        if text.len() > MAX_SECRET_BYTES {
            return Err(SecretTextError::TooLong {
                max: MAX_SECRET_BYTES,
            });
        }
        Ok(Self(text))
    }

    /// Rebuilds a secret the cipher just decrypted; it was validated when it was sealed.
    pub(crate) fn from_decrypted(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The plaintext. Call only to seal it or to hand it to an authorised caller.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form shown in listings, e.g. `sk-…abcd`; see [`MaskedSecret`].
    pub fn masked(&self) -> MaskedSecret {
        MaskedSecret::of(&self.0)
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A hint at which secret is stored, computed when the secret is written and stored
/// beside the ciphertext so listings never decrypt anything.
///
/// Rules: a secret of at least 16 characters shows its last 4 characters after `…`,
/// preceded by a recognisable prefix when it has one (ASCII letters up to and
/// including the first `-` or `_`, at most 5 characters: `sk-…abcd`, `ghp_…wxyz`);
/// a shorter secret is shown as `…` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedSecret(String);

impl MaskedSecret {
    fn of(secret: &str) -> Self {
        let chars: Vec<char> = secret.chars().collect();
        if chars.len() < MIN_CHARS_FOR_HINT {
            return Self(ELLIPSIS.to_string());
        }
        let tail: String = chars[chars.len() - VISIBLE_TAIL_CHARS..].iter().collect();
        let prefix: String = recognisable_prefix(&chars).iter().collect();
        Self(format!("{prefix}{ELLIPSIS}{tail}"))
    }

    /// Rebuilds a stored masked form.
    pub fn from_stored(masked: String) -> Self {
        Self(masked)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The leading `[A-Za-z]+[-_]` of `chars`, if it is at most 5 characters long.
fn recognisable_prefix(chars: &[char]) -> &[char] {
    let separator = chars
        .iter()
        .take(MAX_VISIBLE_PREFIX_CHARS)
        .position(|c| *c == '-' || *c == '_');
    match separator {
        Some(end) if end > 0 && chars[..end].iter().all(char::is_ascii_alphabetic) => {
            &chars[..=end]
        }
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(secret: &str) -> String {
        SecretText::new(secret)
            .unwrap()
            .masked()
            .as_str()
            .to_owned()
    }

    #[test]
    fn openai_style_key_keeps_its_prefix_and_last_four_characters() {
        assert_eq!(masked("sk-proj-4f9a8b7c6d5e4f3a2b1cabcd"), "sk-…abcd");
    }

    #[test]
    fn key_with_underscore_prefix_keeps_it() {
        assert_eq!(masked("ghp_0123456789abcdefWXYZ"), "ghp_…WXYZ");
        assert_eq!(masked("xoxb-1234567890-abcdefghWXYZ"), "xoxb-…WXYZ");
    }

    #[test]
    fn key_without_recognisable_prefix_shows_only_its_tail() {
        assert_eq!(masked("0123456789abcdef0123456789ab9f3e"), "…9f3e");
        // A separator beyond the fifth character is not a prefix, and neither are digits:
        // in a random secret they would be part of the secret.
        assert_eq!(masked("spotify-client-secret-6789"), "…6789");
        assert_eq!(masked("1a2b-3c4d5e6f7a8b9c0d"), "…9c0d");
        // Nor is a leading separator, or one after non-alphanumeric characters.
        assert_eq!(masked("-abcdefghijklmnopqrst"), "…qrst");
        assert_eq!(masked("a.b-cdefghijklmnopqrst"), "…qrst");
    }

    #[test]
    fn short_secret_shows_nothing_at_all() {
        assert_eq!(masked("hunter2"), "…");
        assert_eq!(masked("sk-0123456789ab"), "…");
    }

    #[test]
    fn masking_counts_characters_not_bytes() {
        assert_eq!(masked("ключ-секретный-ключ-ёжик"), "…ёжик");
    }

    #[test]
    fn empty_blank_and_oversized_secrets_are_refused() {
        assert_eq!(SecretText::new("").unwrap_err(), SecretTextError::Empty);
        assert_eq!(
            SecretText::new(" \n\t").unwrap_err(),
            SecretTextError::Empty
        );
        assert_eq!(
            SecretText::new("x".repeat(MAX_SECRET_BYTES + 1)).unwrap_err(),
            SecretTextError::TooLong {
                max: MAX_SECRET_BYTES
            }
        );
        assert!(SecretText::new("x".repeat(MAX_SECRET_BYTES)).is_ok());
    }

    #[test]
    fn secret_is_kept_verbatim() {
        let secret = SecretText::new("  padded secret \n").unwrap();
        assert_eq!(secret.expose(), "  padded secret \n");
    }

    #[test]
    fn debug_and_display_never_print_the_secret() {
        let secret = SecretText::new("sk-live-very-secret-value-1234").unwrap();
        for printed in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{secret:#?}"),
        ] {
            assert!(!printed.contains("very-secret"), "leaked in {printed}");
            assert!(!printed.contains("1234"), "leaked in {printed}");
        }
    }
}
