//! How easy a new password is to guess, estimated by `zxcvbn` (dictionaries of common
//! passwords, names and words, keyboard walks, dates, repeats, l33t), with the estimator's
//! own advice passed to the form as the field error.
//!
//! It runs on the server only, when an account is created or a password changed, after the
//! rate limit of that request and before the hash: the wasm bundle never carries the
//! dictionaries, and a flood cannot make the server estimate for free. It does not check
//! breached-password lists (that would need a network service or a large list on disk).

use zxcvbn::{Score, zxcvbn};

use crate::model::{Field, FieldError, Password, Problem};

/// The lowest score accepted. zxcvbn's 3 means "more than 10^8 guesses": against the
/// sign-in limit (10 a minute per username) that is beyond any online attack, and offline,
/// against an Argon2id hash of ~50 ms a guess, it is thousands of core-days. Score 2 (10^6 to
/// 10^8) falls to a determined offline attacker in days; 4 (10^10) would refuse many
/// memorable passphrases that are strong enough here.
const MIN_SCORE: Score = Score::Three;

/// Only the first characters are estimated: zxcvbn's matching grows faster than the length,
/// and past this many characters what is left decides nothing (the original library does
/// the same).
const ESTIMATED_CHARS: usize = 100;

/// Refuses `password` for `field` if it is easy to guess, also given what others know of
/// the account (`user_inputs`: the username and display name).
pub fn check_strength(
    password: &Password,
    field: Field,
    user_inputs: &[&str],
) -> Result<(), FieldError> {
    let estimated: String = password.expose().chars().take(ESTIMATED_CHARS).collect();
    let entropy = zxcvbn(&estimated, user_inputs);
    if entropy.score() >= MIN_SCORE {
        return Ok(());
    }
    let (warning, suggestions) = match entropy.feedback() {
        Some(feedback) => (
            feedback
                .warning()
                .map(|warning| warning.to_string())
                .unwrap_or_default(),
            feedback
                .suggestions()
                .iter()
                .map(ToString::to_string)
                .collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    let suggestions = if warning.is_empty() && suggestions.is_empty() {
        // zxcvbn gives no feedback for some middling scores; say what always helps.
        vec!["Add another word or two. Uncommon words are better.".to_owned()]
    } else {
        suggestions
    };
    Err(FieldError::new(
        field,
        Problem::Weak {
            warning,
            suggestions,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, user_inputs: &[&str]) -> Result<(), FieldError> {
        let password = Password::parse(raw, Field::Password).unwrap();
        check_strength(&password, Field::Password, user_inputs)
    }

    #[test]
    fn a_common_password_is_refused_with_the_estimators_warning() {
        let error = check("password123", &[]).unwrap_err();
        assert_eq!(error.field, Field::Password);
        let Problem::Weak {
            warning,
            suggestions,
        } = &error.problem
        else {
            panic!("{error:?}");
        };
        assert!(!warning.is_empty(), "a reason is given: {error}");
        assert!(!suggestions.is_empty(), "and advice: {error}");
        assert!(
            error
                .to_string()
                .starts_with("Password is too easy to guess.")
        );
    }

    #[test]
    fn a_password_made_of_the_username_is_refused() {
        let derived = "zorbaquill58";
        assert_eq!(check(derived, &[]), Ok(()), "strong to a stranger");
        assert!(
            check(derived, &["zorbaquill", "Zorba Quill"]).is_err(),
            "weak to anyone who knows the account"
        );
    }

    #[test]
    fn keyboard_walks_and_repeats_are_refused() {
        for weak in ["qwertyuiop", "aaaaaaaaaaaa", "12345678", "abcdefgh1"] {
            assert!(check(weak, &[]).is_err(), "{weak}");
        }
    }

    #[test]
    fn passphrases_and_random_strings_pass() {
        for strong in [
            "velvet harbor quantum 58",
            "correct horse battery staple",
            "x7#Lq9!vR2@m",
            "비밀번호는정말길고복잡하다",
        ] {
            assert_eq!(check(strong, &[]), Ok(()), "{strong}");
        }
    }

    #[test]
    fn the_longest_password_is_estimated_quickly() {
        let longest = "velvet harbor quantum 58 ".repeat(11);
        let password = Password::parse(&longest[..Password::MAX], Field::Password).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(
            check_strength(&password, Field::Password, &["minji"]),
            Ok(())
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
}
