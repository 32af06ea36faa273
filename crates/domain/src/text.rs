//! Length-bounded text, shared by every name and description in the domain.

/// Why a piece of text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
}

/// Text of `min..=max` characters (Unicode scalar values). A non-zero `min` also
/// refuses text that is only white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundedText(String);

impl BoundedText {
    pub fn new(text: String, min: usize, max: usize) -> Result<Self, TextError> {
        if min > 0 && text.trim().is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > max {
            return Err(TextError::TooLong { max });
        }
        Ok(Self(text))
    }

    /// Wraps text the caller has already proven to satisfy the bounds it will be used
    /// with (e.g. a provider slug used as a credential name).
    pub(crate) fn from_validated(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_empty_when_a_minimum_is_set() {
        assert_eq!(BoundedText::new("  ".into(), 1, 5), Err(TextError::Empty));
        assert!(BoundedText::new(String::new(), 0, 5).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(BoundedText::new("ééééé".into(), 1, 5).is_ok());
        assert_eq!(
            BoundedText::new("éééééé".into(), 1, 5),
            Err(TextError::TooLong { max: 5 })
        );
    }
}
