//! Any bytes a browser could send on the socket, decoded as the server decodes a text frame:
//! no panic, and a frame that decodes survives a round trip unchanged.
#![no_main]

use app::protocol::ClientFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = serde_json::from_str::<ClientFrame>(text) {
        let again = serde_json::to_string(&frame).expect("a decoded frame encodes");
        let back: ClientFrame = serde_json::from_str(&again).expect("and decodes again");
        assert_eq!(back, frame);
    }
});
