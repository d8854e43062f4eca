//! Property tests of every parser at the edge, where text from a browser or a proxy first
//! becomes a value: socket frames (`ClientFrame`), the form newtypes, the `next` path after
//! sign-in, and client addresses. For any input: no panic, and either a value that keeps the
//! type's promises or the typed error naming the right field. Examples beside each parser
//! show the rules; these show that nothing outside the examples breaks them.

use std::net::IpAddr;

use http::HeaderMap;
use proptest::prelude::*;

use crate::backend::client_addr::{IpNet, client_addr};
use crate::model::{
    DisplayName, Field, MessageBody, Password, RoomName, Topic, Username, safe_next,
};
use crate::protocol::ClientFrame;

/// Strings that look like frames more often than random text would: JSON objects built from
/// the frame's own words, numbers at and past the edges, and arbitrary junk.
fn frame_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("type".to_owned()),
        Just("subscribe".to_owned()),
        Just("unsubscribe".to_owned()),
        Just("fetch".to_owned()),
        Just("typing".to_owned()),
        Just("room".to_owned()),
        Just("after_seq".to_owned()),
        Just("until_seq".to_owned()),
        Just("quiet".to_owned()),
        "[a-z_]{0,12}",
    ];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        "\"[a-z]{0,10}\"",
        Just("{}".to_owned()),
        Just("[]".to_owned()),
    ];
    prop_oneof![
        prop::collection::vec((word, value), 0..6).prop_map(|pairs| {
            let fields: Vec<String> = pairs
                .into_iter()
                .map(|(key, value)| format!("\"{key}\":{value}"))
                .collect();
            format!("{{{}}}", fields.join(","))
        }),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}

/// Text with the characters the rules care about: spaces and newlines at the ends, control
/// and format characters, other scripts, and lengths around every limit.
fn form_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\t".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{200d}".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("소리".to_owned()),
        Just("é".to_owned()),
        Just("😀".to_owned()),
        "[a-zA-Z0-9_.-]{1,40}",
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
        // Long runs, across the 32/64/80/250/256/4000 limits.
        (1usize..4_100, prop_oneof![Just('a'), Just('소'), Just(' ')])
            .prop_map(|(n, c)| std::iter::repeat_n(c, n).collect()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_decodes_to_a_frame_that_round_trips_or_to_an_error(text in frame_like()) {
        if let Ok(frame) = serde_json::from_str::<ClientFrame>(&text) {
            let again = serde_json::to_string(&frame).unwrap();
            prop_assert_eq!(serde_json::from_str::<ClientFrame>(&again).unwrap(), frame);
        }
    }

    #[test]
    fn usernames_parse_to_the_rules_or_name_the_username_field(raw in form_text()) {
        match Username::parse(&raw) {
            Ok(name) => {
                let value = name.as_str();
                prop_assert!((Username::MIN..=Username::MAX).contains(&value.chars().count()));
                prop_assert!(value.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
                prop_assert_eq!(Username::parse(value).unwrap(), name.clone());
            }
            Err(error) => prop_assert_eq!(error.field, Field::Username),
        }
    }

    #[test]
    fn display_names_parse_to_the_rules_or_name_their_field(raw in form_text()) {
        match DisplayName::parse(&raw) {
            Ok(name) => {
                let value = name.as_str();
                prop_assert!(!value.is_empty() && value.chars().count() <= DisplayName::MAX);
                prop_assert_eq!(value, value.trim());
                prop_assert!(!value.chars().any(char::is_control));
                prop_assert_eq!(DisplayName::parse(value).unwrap(), name.clone());
            }
            Err(error) => prop_assert_eq!(error.field, Field::DisplayName),
        }
    }

    #[test]
    fn room_names_and_topics_parse_within_their_limits_or_name_their_field(raw in form_text()) {
        match RoomName::parse(&raw) {
            Ok(name) => {
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= RoomName::MAX);
                prop_assert_eq!(RoomName::parse(name.as_str()).unwrap(), name.clone());
            }
            Err(error) => prop_assert_eq!(error.field, Field::RoomName),
        }
        match Topic::parse(&raw) {
            Ok(topic) => {
                prop_assert!(topic.as_str().chars().count() <= Topic::MAX);
                prop_assert_eq!(Topic::parse(topic.as_str()).unwrap(), topic.clone());
            }
            Err(error) => prop_assert_eq!(error.field, Field::Topic),
        }
    }

    #[test]
    fn message_bodies_are_kept_as_typed_within_the_limit_or_refused(raw in form_text()) {
        match MessageBody::parse(&raw) {
            Ok(body) => {
                let value = body.as_str();
                prop_assert!(!value.trim().is_empty());
                prop_assert!(value.chars().count() <= MessageBody::MAX);
                // Only surrounding blank lines go: the text itself is untouched.
                prop_assert!(raw.contains(value));
                prop_assert_eq!(MessageBody::parse(value).unwrap(), body.clone());
            }
            Err(error) => prop_assert_eq!(error.field, Field::Message),
        }
    }

    #[test]
    fn passwords_are_taken_exactly_as_typed_or_refused_for_the_given_field(raw in form_text()) {
        match Password::parse(&raw, Field::NewPassword) {
            Ok(password) => prop_assert_eq!(password.expose(), raw.as_str()),
            Err(error) => prop_assert_eq!(error.field, Field::NewPassword),
        }
    }

    #[test]
    fn next_is_the_given_local_path_or_home(raw in prop_oneof![
        any::<String>(),
        "/[ -~]{0,30}",
        "//[a-z.]{1,20}",
        "/\\\\[a-z.]{1,20}",
        "https?://[a-z.]{1,20}/[a-z]{0,8}",
    ]) {
        let next = safe_next(Some(&raw));
        prop_assert!(next == "/" || next == raw, "{} from {}", next, raw);
        prop_assert!(next.starts_with('/') && !next.starts_with("//"));
        prop_assert!(!next.contains('\\') && !next.chars().any(char::is_control));
    }

    #[test]
    fn networks_parse_or_say_why(text in prop_oneof![
        any::<String>(),
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,3})?",
        "[0-9a-f:]{2,20}(/[0-9]{1,3})?",
    ]) {
        if let Ok(net) = text.parse::<IpNet>() {
            // A network contains the address it was written with.
            let addr: IpAddr = text.trim().split('/').next().unwrap().parse().unwrap();
            prop_assert!(net.contains(addr));
        }
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_peer_forwarded_a_valid_hop(
        peer in any::<IpAddr>(),
        hops in prop::collection::vec(
            prop_oneof![
                any::<IpAddr>().prop_map(|ip| ip.to_string()),
                Just("127.0.0.1".to_owned()),
                "[ -~]{0,20}",
            ],
            0..6,
        ),
        trust_peer in any::<bool>(),
    ) {
        let trusted: Vec<IpNet> = if trust_peer {
            vec![peer.to_string().parse().unwrap(), "127.0.0.1/32".parse().unwrap()]
        } else {
            Vec::new()
        };
        let mut headers = HeaderMap::new();
        if let Ok(value) = hops.join(", ").parse() {
            headers.insert("x-forwarded-for", value);
        }
        let client = client_addr(peer, &headers, &trusted);
        if trust_peer {
            let forwarded: Vec<IpAddr> = hops.iter().filter_map(|hop| hop.trim().parse().ok()).collect();
            prop_assert!(client == peer || forwarded.contains(&client));
        } else {
            prop_assert_eq!(client, peer);
        }
    }
}
