//! What a message may say.

use super::field::{Field, FieldError, Problem};

/// A message body: not blank, at most 4,000 characters (Unicode scalar values). Kept exactly
/// as typed, surrounding blank lines aside: it is the Markdown source, which the server
/// renders into a closed form (`model::rich`), never into HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub const MAX: usize = 4_000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim_matches(|c: char| c == '\n' || c == '\r');
        if value.trim().is_empty() {
            return Err(FieldError::new(
                Field::Message,
                Problem::TooShort { min: 1 },
            ));
        }
        if value.chars().count() > Self::MAX {
            return Err(FieldError::new(
                Field::Message,
                Problem::TooLong { max: Self::MAX },
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_bodies_are_refused() {
        for blank in ["", "   ", "\n\n", " \t \n"] {
            let error = MessageBody::parse(blank).unwrap_err();
            assert_eq!(
                error,
                FieldError::new(Field::Message, Problem::TooShort { min: 1 })
            );
        }
    }

    #[test]
    fn the_limit_counts_characters() {
        assert!(MessageBody::parse(&"한".repeat(4_000)).is_ok());
        let error = MessageBody::parse(&"한".repeat(4_001)).unwrap_err();
        assert_eq!(
            error,
            FieldError::new(Field::Message, Problem::TooLong { max: 4_000 })
        );
    }

    #[test]
    fn inner_lines_and_indentation_are_kept() {
        let body = MessageBody::parse("\n  first\n\n  second  \n").unwrap();
        assert_eq!(body.as_str(), "  first\n\n  second  ");
    }
}
