//! Which field of a form broke which rule: the error every `parse` in [`crate::model`]
//! returns. It knows nothing of HTTP or server functions; [`crate::error::ApiError`] wraps it
//! as its `Invalid` variant, so the UI can show the message next to the right field.

use std::fmt;

use serde::{Deserialize, Serialize};

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
            Problem::Taken => write!(f, "That {} is already taken.", label.to_lowercase()),
            Problem::Incorrect => write!(f, "{label} is incorrect."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_the_rule() {
        let taken = FieldError::new(Field::Username, Problem::Taken);
        assert_eq!(taken.to_string(), "That username is already taken.");
        let short = FieldError::new(Field::Password, Problem::TooShort { min: 8 });
        assert_eq!(short.to_string(), "Password must be at least 8 characters.");
        let empty = FieldError::new(Field::DisplayName, Problem::TooShort { min: 1 });
        assert_eq!(empty.to_string(), "Display name cannot be empty.");
    }
}
