//! Any text in any form field: each newtype either refuses it with the error of its own field
//! or keeps a value within its rules that parses to itself again; `next` is always a local
//! path.
#![no_main]

use app::model::{
    DisplayName, Field, MessageBody, Password, RoomName, Topic, Username, safe_next,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match Username::parse(text) {
        Ok(name) => {
            assert!(name.as_str().len() <= Username::MAX);
            assert_eq!(Username::parse(name.as_str()).as_ref(), Ok(&name));
        }
        Err(error) => assert_eq!(error.field, Field::Username),
    }
    match DisplayName::parse(text) {
        Ok(name) => {
            assert!(name.as_str().chars().count() <= DisplayName::MAX);
            assert_eq!(DisplayName::parse(name.as_str()).as_ref(), Ok(&name));
        }
        Err(error) => assert_eq!(error.field, Field::DisplayName),
    }
    match RoomName::parse(text) {
        Ok(name) => assert_eq!(RoomName::parse(name.as_str()).as_ref(), Ok(&name)),
        Err(error) => assert_eq!(error.field, Field::RoomName),
    }
    match Topic::parse(text) {
        Ok(topic) => assert_eq!(Topic::parse(topic.as_str()).as_ref(), Ok(&topic)),
        Err(error) => assert_eq!(error.field, Field::Topic),
    }
    match MessageBody::parse(text) {
        Ok(body) => {
            assert!(body.as_str().chars().count() <= MessageBody::MAX);
            assert!(text.contains(body.as_str()));
        }
        Err(error) => assert_eq!(error.field, Field::Message),
    }
    match Password::parse(text, Field::Password) {
        Ok(password) => assert_eq!(password.expose(), text),
        Err(error) => assert_eq!(error.field, Field::Password),
    }
    let next = safe_next(Some(text));
    assert!(next == "/" || next == text);
    assert!(next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'));
});
