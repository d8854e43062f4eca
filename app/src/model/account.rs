//! Accounts: who someone is (a [`Username`] and a [`DisplayName`]) and what proves it (a
//! [`Password`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::field::{Field, FieldError, Problem, visible_text};

/// A user's numeric id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the UI knows about a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

/// A sign-in name: 3–32 ASCII letters, digits, `_`, `.` or `-`. It is shown as typed and
/// unique without regard to case (`Minji` and `minji` are one user): compare
/// [`Username::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let length = value.chars().count();
        if length < Self::MIN {
            return Err(FieldError::new(
                Field::Username,
                Problem::TooShort { min: Self::MIN },
            ));
        }
        if length > Self::MAX {
            return Err(FieldError::new(
                Field::Username,
                Problem::TooLong { max: Self::MAX },
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if !value.chars().all(allowed) {
            let allowed = "letters A–Z, digits and _ . -".to_owned();
            return Err(FieldError::new(
                Field::Username,
                Problem::Characters { allowed },
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that uniqueness and sign-in compare.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// The name shown to others: 1–64 characters of any script, trimmed, with no control or
/// invisible formatting characters (see [`visible_text`]): two people may share a display
/// name, but nobody may make theirs look like another's with characters nobody sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldError::new(
                Field::DisplayName,
                Problem::TooShort { min: 1 },
            ));
        }
        if value.chars().count() > Self::MAX {
            return Err(FieldError::new(
                Field::DisplayName,
                Problem::TooLong { max: Self::MAX },
            ));
        }
        visible_text(value, Field::DisplayName)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password: 8–256 characters, taken exactly as typed (never trimmed). `Debug` hides it so
/// it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 256;

    /// Validates a new password for `field` (sign-up uses `Password`, the change form
    /// `NewPassword`).
    pub fn parse(raw: &str, field: Field) -> Result<Self, FieldError> {
        let length = raw.chars().count();
        if length < Self::MIN {
            return Err(FieldError::new(field, Problem::TooShort { min: Self::MIN }));
        }
        if length > Self::MAX {
            return Err(FieldError::new(field, Problem::TooLong { max: Self::MAX }));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(error: FieldError) -> Problem {
        error.problem
    }

    #[test]
    fn usernames_keep_their_case_but_compare_without_it() {
        let minji = Username::parse("Minji").unwrap();
        assert_eq!(minji.as_str(), "Minji");
        assert_eq!(minji.key(), Username::parse("minji").unwrap().key());
    }

    #[test]
    fn usernames_have_length_and_character_rules() {
        assert_eq!(
            problem(Username::parse("ab").unwrap_err()),
            Problem::TooShort { min: 3 }
        );
        let long = "a".repeat(33);
        assert_eq!(
            problem(Username::parse(&long).unwrap_err()),
            Problem::TooLong { max: 32 }
        );
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse("min.ji_k-1").is_ok());
        for bad in ["민지민지", "min ji", "min@ji", "minji!"] {
            let error = Username::parse(bad).unwrap_err();
            assert!(
                matches!(problem(error), Problem::Characters { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn display_names_take_any_script_trimmed_and_counted_in_characters() {
        let name = DisplayName::parse("  김민지  ").unwrap();
        assert_eq!(name.as_str(), "김민지");
        assert!(
            DisplayName::parse(&"가".repeat(64)).is_ok(),
            "64 Korean characters fit"
        );
        let long = "가".repeat(65);
        assert_eq!(
            problem(DisplayName::parse(&long).unwrap_err()),
            Problem::TooLong { max: 64 }
        );
        assert_eq!(
            problem(DisplayName::parse("   ").unwrap_err()),
            Problem::TooShort { min: 1 }
        );
        let control = DisplayName::parse("Min\nji").unwrap_err();
        assert_eq!(problem(control), Problem::ControlCharacters);
    }

    #[test]
    fn display_names_refuse_bidi_overrides_and_zero_width_characters() {
        // "Minji" followed by a right-to-left override, which would show "gnp.exe" reversed.
        let spoof = DisplayName::parse("Minji\u{202E}exe.png").unwrap_err();
        assert_eq!(
            spoof,
            FieldError::new(
                Field::DisplayName,
                Problem::InvisibleCharacter { code_point: 0x202E }
            )
        );
        let joined = DisplayName::parse("Min\u{200D}ji").unwrap_err();
        assert_eq!(
            problem(joined),
            Problem::InvisibleCharacter { code_point: 0x200D }
        );
        let separator = DisplayName::parse("Min\u{2028}ji").unwrap_err();
        assert_eq!(problem(separator), Problem::ControlCharacters);
    }

    #[test]
    fn passwords_have_length_rules_and_are_not_trimmed() {
        let short = Password::parse("1234567", Field::Password).unwrap_err();
        assert_eq!(
            short,
            FieldError::new(Field::Password, Problem::TooShort { min: 8 })
        );
        let long = Password::parse(&"x".repeat(257), Field::NewPassword).unwrap_err();
        assert_eq!(
            long,
            FieldError::new(Field::NewPassword, Problem::TooLong { max: 256 })
        );
        let spaced = Password::parse("  spaced  ", Field::Password).unwrap();
        assert_eq!(spaced.expose(), "  spaced  ");
        assert!(
            Password::parse("비밀번호비밀번호", Field::Password).is_ok(),
            "8 characters"
        );
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = Password::parse("hunter2hunter2", Field::Password).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
