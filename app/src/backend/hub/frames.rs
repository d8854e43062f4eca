//! What the hub queues for a socket: a frame encoded once ([`Encoded`]) and what it is
//! ([`Outbound`]), so the socket can tell a room event (numbered, dropped if a replay sent
//! it) from the end of a subscription and from presence. Plain data: no I/O, no locking.

use bytes::Bytes;

use crate::model::RoomId;
use crate::protocol::ServerFrame;

/// A server frame encoded once as JSON, in reference-counted bytes: cloning it for another
/// subscriber copies a pointer, not the frame.
///
/// It is built only from a [`ServerFrame`]'s JSON text, so its bytes are always UTF-8; the
/// socket relies on that to send them as a text message.
#[derive(Debug, Clone)]
pub struct Encoded(Bytes);

impl From<&ServerFrame> for Encoded {
    fn from(frame: &ServerFrame) -> Self {
        Self(Bytes::from(frame.to_json()))
    }
}

impl Encoded {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The shared bytes, for the socket to hand to its WebSocket library without a copy.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

/// What a connection's socket receives from the hub.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A room event; `seq` lets the socket drop what a replay already sent.
    Event {
        room: RoomId,
        seq: u64,
        json: Encoded,
    },
    /// The subscription to `room` ended (access revoked, room deleted); `json` says why.
    Ended { room: RoomId, json: Encoded },
    /// Presence or typing in `room`: no `seq`, delivered only while subscribed.
    Ephemeral { room: RoomId, json: Encoded },
}
