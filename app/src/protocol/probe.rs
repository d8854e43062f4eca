//! The wire protocol of `/ws/probe`, the diagnostic socket `sori doctor` and the `/doctor`
//! page open: JSON text frames tagged by `type`, one closed enum per direction, with a golden
//! test for every variant.
//!
//! A probe is anonymous and touches no user data: it reports how the server saw the request
//! (scheme, forwarded headers, instance, database, clock), echoes, stays silent or beats on
//! demand, and passes tokens between instances. It deliberately offers nothing else, so it
//! can be left open to anyone, bounded by a per-address rate and a lifetime.

use serde::{Deserialize, Serialize};

/// The longest token a `listen` or `publish` may carry.
pub const TOKEN_MAX_CHARS: usize = 64;

/// A probe socket is closed with this reason when its lifetime is over.
pub const LIFETIME_OVER: super::close::Reason = super::close::Reason {
    code: 1000,
    text: "probe lifetime over",
};

/// A probe socket is closed with this reason after it was refused (rate, bad frame).
pub const REFUSED: super::close::Reason = super::close::Reason {
    code: super::close::POLICY,
    text: "probe refused",
};

/// The scheme a request arrived with, as the server judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

/// A token to pass between probes: at most [`TOKEN_MAX_CHARS`] of `[A-Za-z0-9_-]`, so it
/// stays small and safe to log and to put on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProbeToken(String);

impl ProbeToken {
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text.len() <= TOKEN_MAX_CHARS
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
        valid.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProbeToken {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text).ok_or_else(|| {
            format!("a token is 1 to {TOKEN_MAX_CHARS} characters of A-Z, a-z, 0-9, _ and -")
        })
    }
}

impl From<ProbeToken> for String {
    fn from(token: ProbeToken) -> Self {
        token.0
    }
}

/// What the server sends on a probe socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProbeServerFrame {
    /// Sent first, on every probe that is admitted.
    Hello {
        /// The instance that answered (the id `/healthz` reports).
        instance: String,
        /// Identifies the database the instance uses (the same as `/healthz`'s
        /// `database`): instances that share one report the same.
        database: String,
        /// The server's clock, Unix milliseconds.
        time_ms: i64,
        /// The chat socket's heartbeat interval (`SORI_HEARTBEAT_MS`).
        heartbeat_ms: u64,
        /// The origin Sori expects from a browser making this request: `SORI_PUBLIC_ORIGIN`
        /// (or its default), on `https` when the request counts as https.
        public_origin: String,
        /// The scheme the request arrived with: `X-Forwarded-Proto` from a trusted proxy,
        /// else the socket's own.
        seen_scheme: Scheme,
        /// Whether this request would get the `Secure`, `__Host-` session cookie: by an https
        /// `SORI_PUBLIC_ORIGIN`, or by a trusted proxy's `X-Forwarded-Proto: https`.
        #[serde(default)]
        secure_cookie: bool,
        /// The raw `X-Forwarded-Proto`, trusted or not.
        forwarded_proto: Option<String>,
        /// Whether the TCP peer is in `SORI_TRUSTED_PROXIES`.
        proxy_trusted: bool,
        /// The TCP peer's address as the server saw it.
        peer: String,
        /// How long this socket may stay open; then it closes with [`LIFETIME_OVER`].
        lifetime_ms: u64,
    },
    /// The answer to [`ProbeClientFrame::Echo`], stamped with the server's clock.
    Echo { n: u64, sent_ms: i64, time_ms: i64 },
    /// The end of an [`ProbeClientFrame::Idle`]: the socket stayed open this long.
    Awake { after_ms: u64 },
    /// The socket now receives probes published with this token (on any instance).
    Listening { token: ProbeToken },
    /// A probe published with a token this socket listens for.
    Arrived { token: ProbeToken, from: String },
    /// A request was refused; the socket closes with [`REFUSED`] after it unless the reason
    /// says otherwise.
    Refused { reason: ProbeRefusal },
}

/// Why a probe request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ProbeRefusal {
    /// Too many probes from this address; try again after this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// The frame was not a probe request (or its token was malformed); the socket closes.
    BadFrame,
    /// An idle longer than what is left of the socket's lifetime; the socket stays open.
    TooLong { lifetime_ms: u64 },
}

/// What a client sends on a probe socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProbeClientFrame {
    /// Answered at once by [`ProbeServerFrame::Echo`].
    Echo { n: u64, sent_ms: i64 },
    /// The server sends nothing at all (no pings either) for `secs`, or, with `heartbeat`,
    /// only its pings every `heartbeat_ms`; then [`ProbeServerFrame::Awake`].
    Idle { secs: u64, heartbeat: bool },
    /// Receive the probes published with this token.
    Listen { token: ProbeToken },
    /// Deliver [`ProbeServerFrame::Arrived`] to every socket listening for this token on
    /// every instance of the deployment.
    Publish { token: ProbeToken },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(text: &str) -> ProbeToken {
        ProbeToken::parse(text).unwrap()
    }

    fn golden<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(
        frame: T,
        expected: serde_json::Value,
    ) {
        assert_eq!(serde_json::to_value(&frame).unwrap(), expected);
        assert_eq!(serde_json::from_value::<T>(expected).unwrap(), frame);
    }

    #[test]
    fn server_frames_have_their_golden_json() {
        golden(
            ProbeServerFrame::Hello {
                instance: "i1".into(),
                database: "d1".into(),
                time_ms: 5,
                heartbeat_ms: 20_000,
                public_origin: "https://chat.example.org".into(),
                seen_scheme: Scheme::Https,
                secure_cookie: true,
                forwarded_proto: Some("https".into()),
                proxy_trusted: true,
                peer: "10.0.0.2".into(),
                lifetime_ms: 200_000,
            },
            json!({"type": "hello", "instance": "i1", "database": "d1", "time_ms": 5,
                   "heartbeat_ms": 20000, "public_origin": "https://chat.example.org",
                   "seen_scheme": "https", "secure_cookie": true,
                   "forwarded_proto": "https", "proxy_trusted": true,
                   "peer": "10.0.0.2", "lifetime_ms": 200000}),
        );
        golden(
            ProbeServerFrame::Echo {
                n: 1,
                sent_ms: 2,
                time_ms: 3,
            },
            json!({"type": "echo", "n": 1, "sent_ms": 2, "time_ms": 3}),
        );
        golden(
            ProbeServerFrame::Awake { after_ms: 75_000 },
            json!({"type": "awake", "after_ms": 75000}),
        );
        golden(
            ProbeServerFrame::Listening {
                token: token("t-1"),
            },
            json!({"type": "listening", "token": "t-1"}),
        );
        golden(
            ProbeServerFrame::Arrived {
                token: token("t_1"),
                from: "i2".into(),
            },
            json!({"type": "arrived", "token": "t_1", "from": "i2"}),
        );
        golden(
            ProbeServerFrame::Refused {
                reason: ProbeRefusal::RateLimited {
                    retry_after_secs: 20,
                },
            },
            json!({"type": "refused", "reason": {"reason": "rate_limited", "retry_after_secs": 20}}),
        );
        golden(
            ProbeServerFrame::Refused {
                reason: ProbeRefusal::BadFrame,
            },
            json!({"type": "refused", "reason": {"reason": "bad_frame"}}),
        );
        golden(
            ProbeServerFrame::Refused {
                reason: ProbeRefusal::TooLong { lifetime_ms: 9 },
            },
            json!({"type": "refused", "reason": {"reason": "too_long", "lifetime_ms": 9}}),
        );
    }

    #[test]
    fn client_frames_have_their_golden_json() {
        golden(
            ProbeClientFrame::Echo { n: 7, sent_ms: 8 },
            json!({"type": "echo", "n": 7, "sent_ms": 8}),
        );
        golden(
            ProbeClientFrame::Idle {
                secs: 75,
                heartbeat: false,
            },
            json!({"type": "idle", "secs": 75, "heartbeat": false}),
        );
        golden(
            ProbeClientFrame::Listen {
                token: token("abc"),
            },
            json!({"type": "listen", "token": "abc"}),
        );
        golden(
            ProbeClientFrame::Publish {
                token: token("abc"),
            },
            json!({"type": "publish", "token": "abc"}),
        );
    }

    #[test]
    fn a_token_is_short_and_plain() {
        assert!(ProbeToken::parse("abc-DEF_123").is_some());
        assert!(ProbeToken::parse("").is_none());
        assert!(ProbeToken::parse(&"a".repeat(TOKEN_MAX_CHARS)).is_some());
        assert!(ProbeToken::parse(&"a".repeat(TOKEN_MAX_CHARS + 1)).is_none());
        assert!(ProbeToken::parse("a b").is_none());
        assert!(ProbeToken::parse("토큰").is_none());
        let frame = json!({"type": "listen", "token": "no spaces"});
        assert!(serde_json::from_value::<ProbeClientFrame>(frame).is_err());
    }
}
