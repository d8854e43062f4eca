//! Which field of a form broke which rule: the error every `parse` in [`crate::model`]
//! returns. It knows nothing of HTTP or server functions; [`crate::error::ApiError`] wraps it
//! as its `Invalid` variant, so the UI can show the message next to the right field.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The form fields that validation errors point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Username,
    DisplayName,
    Password,
    CurrentPassword,
    NewPassword,
    RoomName,
    Topic,
    Message,
    ClientId,
    Notifications,
    /// The emoji of a reaction.
    Reaction,
}

impl Field {
    /// The field's visible label, which is also its accessible name.
    pub fn label(self) -> &'static str {
        match self {
            Field::Username => "Username",
            Field::DisplayName => "Display name",
            Field::Password => "Password",
            Field::CurrentPassword => "Current password",
            Field::NewPassword => "New password",
            Field::RoomName => "Room name",
            Field::Topic => "Topic",
            Field::Message => "Message",
            Field::ClientId => "Client id",
            Field::Notifications => "Notifications",
            Field::Reaction => "Reaction",
        }
    }
}

/// Which rule a field broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Fewer characters than allowed (after trimming where the field trims).
    TooShort { min: usize },
    /// More characters than allowed.
    TooLong { max: usize },
    /// A character outside the allowed set (`allowed` describes the set).
    Characters { allowed: String },
    /// Control characters such as newlines or tabs.
    ControlCharacters,
    /// An invisible formatting character (a zero-width space or joiner, a text-direction
    /// override...), which could make one name look like another; `code_point` names it.
    InvisibleCharacter { code_point: u32 },
    /// A password that is easy to guess, with what the estimator said about it (either may
    /// be empty).
    Weak {
        warning: String,
        suggestions: Vec<String>,
    },
    /// Someone already has this value (usernames, compared without regard to case).
    Taken,
    /// The value does not match what is on record (the current password).
    Incorrect,
}

/// One field broke one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: Field,
    #[serde(flatten)]
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: Field, problem: Problem) -> Self {
        Self { field, problem }
    }
}

impl std::error::Error for FieldError {}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.field.label();
        match &self.problem {
            Problem::TooShort { min: 1 } => write!(f, "{label} cannot be empty."),
            Problem::TooShort { min } => write!(f, "{label} must be at least {min} characters."),
            Problem::TooLong { max } => write!(f, "{label} must be at most {max} characters."),
            Problem::Characters { allowed } => write!(f, "{label} may contain only {allowed}."),
            Problem::ControlCharacters => {
                write!(
                    f,
                    "{label} cannot contain line breaks, tabs or other control characters."
                )
            }
            Problem::InvisibleCharacter { code_point } => write!(
                f,
                "{label} cannot contain invisible characters such as zero-width spaces or \
                 text-direction marks (found U+{code_point:04X})."
            ),
            Problem::Weak {
                warning,
                suggestions,
            } => {
                write!(f, "{label} is too easy to guess.")?;
                for advice in std::iter::once(warning).chain(suggestions) {
                    if !advice.is_empty() {
                        write!(f, " {advice}")?;
                    }
                }
                Ok(())
            }
            Problem::Taken => write!(f, "That {} is already taken.", label.to_lowercase()),
            Problem::Incorrect => write!(f, "{label} is incorrect."),
        }
    }
}

/// The rule names share: no control characters (Cc, and the line and paragraph separators
/// Zl and Zp, which break lines too), and no invisible formatting characters (Cf: the bidi
/// overrides U+202A–U+202E and isolates U+2066–U+2069, the zero-width space and joiners
/// U+200B–U+200D, the word joiner U+2060, the byte-order mark U+FEFF, ...). A name is read
/// by people deciding who they are talking to, so anything that changes how it looks
/// without being seen is refused; message bodies are prose and keep them. Some blank-looking
/// characters are letters, marks or symbols by category and are named one by one
/// ([`BLANK_LOOKING`]): a name made of them looks empty or like someone else's.
pub fn visible_text(value: &str, field: Field) -> Result<(), FieldError> {
    for c in value.chars() {
        if BLANK_LOOKING.iter().any(|range| range.contains(&c)) {
            let code_point = u32::from(c);
            return Err(FieldError::new(
                field,
                Problem::InvisibleCharacter { code_point },
            ));
        }
        match c.general_category() {
            GeneralCategory::Control
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator => {
                return Err(FieldError::new(field, Problem::ControlCharacters));
            }
            GeneralCategory::Format => {
                let code_point = u32::from(c);
                return Err(FieldError::new(
                    field,
                    Problem::InvisibleCharacter { code_point },
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Characters that show as nothing though their category is not Cf: the Hangul fillers
/// (U+115F, U+1160, U+3164, U+FFA0; a Korean keyboard types U+3164 easily), the blank
/// Braille pattern U+2800, the combining grapheme joiner U+034F, and the variation selectors
/// (U+180B–U+180F, U+FE00–U+FE0F, U+E0100–U+E01EF), and the Khmer inherent vowels U+17B4–U+17B5.
const BLANK_LOOKING: [std::ops::RangeInclusive<char>; 9] = [
    '\u{115F}'..='\u{1160}',
    '\u{3164}'..='\u{3164}',
    '\u{FFA0}'..='\u{FFA0}',
    '\u{2800}'..='\u{2800}',
    '\u{034F}'..='\u{034F}',
    '\u{180B}'..='\u{180F}',
    '\u{FE00}'..='\u{FE0F}',
    '\u{E0100}'..='\u{E01EF}',
    '\u{17B4}'..='\u{17B5}',
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_looking_letters_and_marks_are_refused_by_code_point() {
        for (text, code_point) in [
            ("\u{3164}", 0x3164),
            ("Minji\u{115F}", 0x115F),
            ("\u{2800}\u{2800}", 0x2800),
            ("Min\u{034F}ji", 0x034F),
            ("Minji\u{FE0F}", 0xFE0F),
        ] {
            assert_eq!(
                visible_text(text, Field::DisplayName),
                Err(FieldError::new(
                    Field::DisplayName,
                    Problem::InvisibleCharacter { code_point }
                )),
                "{text:?}"
            );
        }
        assert_eq!(visible_text("민지 Minji", Field::DisplayName), Ok(()));
    }

    #[test]
    fn messages_name_the_field_and_the_rule() {
        let taken = FieldError::new(Field::Username, Problem::Taken);
        assert_eq!(taken.to_string(), "That username is already taken.");
        let short = FieldError::new(Field::Password, Problem::TooShort { min: 8 });
        assert_eq!(short.to_string(), "Password must be at least 8 characters.");
        let empty = FieldError::new(Field::DisplayName, Problem::TooShort { min: 1 });
        assert_eq!(empty.to_string(), "Display name cannot be empty.");
    }

    #[test]
    fn every_spoofing_character_the_review_named_is_refused_by_name() {
        let named = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}');
        for c in named {
            let error = visible_text(&format!("min{c}ji"), Field::DisplayName).unwrap_err();
            assert_eq!(
                error.problem,
                Problem::InvisibleCharacter {
                    code_point: u32::from(c)
                },
                "U+{:04X}",
                u32::from(c)
            );
        }
        for c in ['\n', '\t', '\u{7F}', '\u{85}', '\u{2028}', '\u{2029}'] {
            let error = visible_text(&format!("min{c}ji"), Field::RoomName).unwrap_err();
            assert_eq!(error.problem, Problem::ControlCharacters, "{c:?}");
        }
        assert!(visible_text("김민지 🙂 Zoë", Field::DisplayName).is_ok());
    }

    #[test]
    fn the_invisible_character_message_names_the_code_point() {
        let error = FieldError::new(
            Field::DisplayName,
            Problem::InvisibleCharacter { code_point: 0x202E },
        );
        assert_eq!(
            error.to_string(),
            "Display name cannot contain invisible characters such as zero-width spaces or \
             text-direction marks (found U+202E)."
        );
    }

    #[test]
    fn a_weak_password_message_gives_the_estimators_advice() {
        let error = FieldError::new(
            Field::Password,
            Problem::Weak {
                warning: "This is a very common password.".into(),
                suggestions: vec!["Add another word or two.".into()],
            },
        );
        assert_eq!(
            error.to_string(),
            "Password is too easy to guess. This is a very common password. Add another word or two."
        );
    }
}
