//! The diagnosis rules: each turns what the doctor observed into a [`Finding`] (status,
//! one line of detail, one line of fix). They are pure functions, unit-tested below, so
//! the wording and the mapping from symptom to setting are pinned down without a network;
//! `mod.rs` gathers the observations, these decide.
//!
//! The texts are part of the doctor's interface (`docs/doctor.md`, other tests assert on
//! them): change them deliberately.

pub use app::doctor::finding::{Finding, Status};

/// The nginx directives a WebSocket needs, named in one place.
pub const UPGRADE_FIX: &str = "in the proxy's location for /ws: proxy_http_version 1.1; \
     proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\" \
     (AWS: an ALB or NLB, never a Classic ELB in HTTP mode)";

/// What came back to the upgrade on `/ws/probe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeAnswer {
    /// 101 with this `Sec-WebSocket-Accept` check outcome.
    Switched { accept_ok: bool },
    /// An answer carrying Sori's marker (`X-Sori-Probe`), not 101.
    Sori { status: u16, marker: String },
    /// An answer without the marker: something else answered.
    Other { status: u16, server: Option<String> },
}

pub fn upgrade(answer: &UpgradeAnswer) -> Finding {
    const CHECK: &str = "upgrade";
    match answer {
        UpgradeAnswer::Switched { accept_ok: true } => Finding::ok(
            CHECK,
            "/ws/probe switched protocols (101, Sec-WebSocket-Accept correct)",
        ),
        UpgradeAnswer::Switched { accept_ok: false } => Finding::fail(
            CHECK,
            "/ws/probe answered 101 with a wrong Sec-WebSocket-Accept: something between you \
             and Sori rewrites the handshake",
            "pass the upgrade through unchanged: proxy_pass to Sori with proxy_http_version 1.1 \
             and the Upgrade/Connection headers, no WebSocket termination at the proxy",
        ),
        UpgradeAnswer::Sori { marker, .. } if marker == "foreign-origin" => Finding::ok(
            CHECK,
            "/ws/probe reached Sori (it refused the Origin: see origin)",
        ),
        UpgradeAnswer::Sori { marker, status } if marker == "no-upgrade" => Finding::fail(
            CHECK,
            format!(
                "Sori got /ws/probe without the Upgrade/Connection headers ({status}): a proxy \
                 on the way strips them"
            ),
            UPGRADE_FIX,
        ),
        UpgradeAnswer::Sori { status, marker } => Finding::fail(
            CHECK,
            format!("Sori answered /ws/probe with {status} ({marker})"),
            "see Sori's log for the refused probe",
        ),
        UpgradeAnswer::Other { status, server } => {
            let by = server
                .as_deref()
                .map(|server| format!(" (Server: {server})"))
                .unwrap_or_default();
            Finding::fail(
                CHECK,
                format!(
                    "/ws/probe is not routed to Sori: {status} from something else{by}, \
                     without Sori's X-Sori-Probe header"
                ),
                "route /ws (and everything under it) to Sori: location /ws { proxy_pass \
                 http://sori; ... } before any static or catch-all location",
            )
        }
    }
}

/// How the probe's `hello` judged the scheme, for an https URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeSeen {
    pub url_is_https: bool,
    /// A trusted proxy said `X-Forwarded-Proto: https`.
    pub seen_https: bool,
    /// Sori would set the `Secure`, `__Host-` cookie on this request.
    pub secure_cookie: bool,
    pub forwarded_proto: Option<String>,
    pub proxy_trusted: bool,
    pub peer: String,
    /// The origin Sori expects for this request.
    pub public_origin: String,
}

pub fn scheme(seen: &SchemeSeen) -> Finding {
    const CHECK: &str = "wss";
    if !seen.url_is_https {
        return Finding::skip(
            CHECK,
            "http URL: browsers use ws:// and cookies are not Secure (use https in production)",
        );
    }
    let untrusted_https = seen
        .forwarded_proto
        .as_deref()
        .is_some_and(|proto| proto.trim_start().to_ascii_lowercase().starts_with("https"))
        && !seen.proxy_trusted;
    if untrusted_https {
        // The proxy says what it saw, and Sori ignores it: the scheme and, worse, the
        // client's address (every client then shares the proxy's rate limits).
        let cookies = if seen.secure_cookie {
            "Secure cookies rest on SORI_PUBLIC_ORIGIN alone"
        } else {
            "cookies are not Secure"
        };
        return Finding::fail(
            CHECK,
            format!(
                "X-Forwarded-Proto https arrives from {}, which is not a trusted proxy, so \
                 Sori ignores it and X-Forwarded-For: {cookies}, and every client shares the \
                 proxy's rate limits",
                seen.peer
            ),
            format!(
                "set SORI_TRUSTED_PROXIES={} (the proxy's address)",
                seen.peer
            ),
        );
    }
    if !seen.secure_cookie {
        // Neither the public origin nor a trusted proxy makes the request https.
        return Finding::fail(
            CHECK,
            format!(
                "the URL is https but Sori sees plain http and expects {}: cookies are not \
                 Secure and browsers' https Origin is refused",
                seen.public_origin
            ),
            "set SORI_PUBLIC_ORIGIN to the https origin",
        );
    }
    if seen.seen_https {
        return Finding::ok(
            CHECK,
            "wss:// used; Sori sees the request as https (X-Forwarded-Proto from a trusted \
             proxy) and sets Secure, __Host- cookies",
        );
    }
    Finding::warn(
        CHECK,
        "wss:// used, but no X-Forwarded-Proto reaches Sori from a trusted proxy: cookies are \
         Secure only by SORI_PUBLIC_ORIGIN",
        "in the proxy: proxy_set_header X-Forwarded-Proto $scheme; and list the proxy in \
         SORI_TRUSTED_PROXIES",
    )
}

/// The origin check: what Sori expects, what the URL is, and whether a foreign origin was
/// refused (`None`: that probe could not be made).
pub fn origin(url_origin: &str, public_origin: &str, foreign_refused: Option<bool>) -> Finding {
    const CHECK: &str = "origin";
    if !url_origin.eq_ignore_ascii_case(public_origin) {
        return Finding::fail(
            CHECK,
            format!(
                "SORI_PUBLIC_ORIGIN is {public_origin} but you reached it at {url_origin}: \
                 browsers there are refused (403)"
            ),
            format!("set SORI_PUBLIC_ORIGIN={url_origin}"),
        );
    }
    match foreign_refused {
        Some(true) => Finding::ok(
            CHECK,
            format!("{url_origin} accepted, a foreign Origin refused"),
        ),
        Some(false) => Finding::fail(
            CHECK,
            "a foreign Origin was accepted on /ws/probe",
            "make sure the proxy passes the browser's Origin header unchanged",
        ),
        None => Finding::ok(CHECK, format!("{url_origin} accepted")),
    }
}

/// How one idle probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// It stayed open and `awake` arrived.
    Survived,
    /// It was closed (or stopped answering) after this many seconds.
    Cut { after_secs: u64 },
}

pub fn idle(idle_secs: u64, silent: Idle, beating: Idle, heartbeat_ms: u64) -> Finding {
    const CHECK: &str = "idle";
    let heartbeat_secs = heartbeat_ms.div_ceil(1000);
    match (silent, beating) {
        (Idle::Survived, Idle::Survived) => Finding::ok(
            CHECK,
            format!("a silent socket and one with the heartbeat both held {idle_secs} s"),
        ),
        (Idle::Cut { after_secs }, Idle::Survived) => Finding::warn(
            CHECK,
            format!(
                "a hop closes silent sockets after {after_secs} s; the heartbeat (every \
                 {heartbeat_secs} s) keeps chat sockets open"
            ),
            format!(
                "raise the proxy's idle timeout above {idle_secs} s (nginx proxy_read_timeout, \
                 ALB idle timeout), or keep SORI_HEARTBEAT_MS below {}",
                after_secs * 1000
            ),
        ),
        (_, Idle::Cut { after_secs }) => Finding::fail(
            CHECK,
            format!(
                "a hop closes sockets after {after_secs} s even with the heartbeat every \
                 {heartbeat_secs} s: chat sockets will drop"
            ),
            format!(
                "raise the proxy's idle timeout (nginx proxy_read_timeout {}s or more), or set \
                 SORI_HEARTBEAT_MS below {}",
                idle_secs.max(heartbeat_secs * 2),
                after_secs * 1000 / 2
            ),
        ),
    }
}

/// The server's clock against ours: `offset_ms` is server minus local, at the midpoint of
/// the round trip.
pub fn clock(offset_ms: i64) -> Finding {
    const CHECK: &str = "clock";
    const TOLERANCE_MS: i64 = 3_000;
    if offset_ms.abs() <= TOLERANCE_MS {
        Finding::ok(
            CHECK,
            format!("the server's clock is {offset_ms:+} ms from ours"),
        )
    } else {
        Finding::warn(
            CHECK,
            format!("the server's clock is {:+} s from ours", offset_ms / 1000),
            "synchronise the server's clock (systemd-timesyncd or chrony), or this machine's",
        )
    }
}

/// What the several-instances check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instances {
    /// Every `/healthz` named the same instance.
    One { asked: usize },
    /// More than one instance answered; `arrived` says whether a probe published on one
    /// reached another, `databases` how many database ids they reported.
    Several {
        instances: usize,
        databases: usize,
        arrived: bool,
    },
    /// Several instances answered, but no probe landed on a second one.
    Unreached { instances: usize },
}

pub fn instances(seen: &Instances) -> Finding {
    const CHECK: &str = "instances";
    match *seen {
        Instances::One { asked } => Finding::ok(
            CHECK,
            format!("one instance answered {asked} fresh connections"),
        ),
        Instances::Several {
            instances,
            arrived: true,
            ..
        } => Finding::ok(
            CHECK,
            format!("{instances} instances answered; a probe published on one arrived on another"),
        ),
        Instances::Several {
            instances,
            databases,
            arrived: false,
        } if databases > 1 => Finding::fail(
            CHECK,
            format!(
                "{instances} instances answered with {databases} different databases: they do \
                 not share one, so messages on one never reach the others"
            ),
            "point every instance's DATABASE_URL at one PostgreSQL database",
        ),
        Instances::Several {
            instances,
            arrived: false,
            ..
        } => Finding::fail(
            CHECK,
            format!(
                "{instances} instances share a database, but a probe published on one did not \
                 arrive on another: the bus between them is not working"
            ),
            "check each instance's log for 'bus:' lines; LISTEN/NOTIFY needs a direct \
             connection to PostgreSQL (SORI_LISTEN_DATABASE_URL when DATABASE_URL is a pooler)",
        ),
        Instances::Unreached { instances } => Finding::warn(
            CHECK,
            format!(
                "{instances} instances answered /healthz, but every probe landed on the same one"
            ),
            "run the doctor again; a balancer with sticky sessions pins probes to one instance \
             (Sori needs none: turn stickiness off)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https(seen_https: bool, proto: Option<&str>, trusted: bool) -> SchemeSeen {
        SchemeSeen {
            url_is_https: true,
            seen_https,
            secure_cookie: true,
            forwarded_proto: proto.map(str::to_owned),
            proxy_trusted: trusted,
            peer: "10.0.0.5".into(),
            public_origin: "https://chat.example.org".into(),
        }
    }

    #[test]
    fn a_clean_switch_is_ok_and_a_wrong_accept_key_fails() {
        assert_eq!(
            upgrade(&UpgradeAnswer::Switched { accept_ok: true }).status,
            Status::Ok
        );
        assert_eq!(
            upgrade(&UpgradeAnswer::Switched { accept_ok: false }).status,
            Status::Fail
        );
    }

    #[test]
    fn stripped_upgrade_headers_name_the_nginx_directives() {
        let finding = upgrade(&UpgradeAnswer::Sori {
            status: 426,
            marker: "no-upgrade".into(),
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("strips"));
        let fix = finding.fix.unwrap();
        assert!(fix.contains("proxy_http_version 1.1"));
        assert!(fix.contains("proxy_set_header Upgrade $http_upgrade"));
        assert!(fix.contains("proxy_set_header Connection \"upgrade\""));
    }

    #[test]
    fn an_answer_without_soris_marker_means_the_path_is_not_routed() {
        let finding = upgrade(&UpgradeAnswer::Other {
            status: 200,
            server: Some("nginx".into()),
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("not routed to Sori"));
        assert!(finding.detail.contains("nginx"));
        assert!(finding.fix.unwrap().contains("location /ws"));
    }

    #[test]
    fn a_refused_origin_still_proves_the_upgrade_reached_sori() {
        let finding = upgrade(&UpgradeAnswer::Sori {
            status: 403,
            marker: "foreign-origin".into(),
        });
        assert_eq!(finding.status, Status::Ok);
    }

    #[test]
    fn https_seen_as_https_is_ok() {
        assert_eq!(scheme(&https(true, Some("https"), true)).status, Status::Ok);
    }

    #[test]
    fn a_forwarded_proto_from_an_untrusted_peer_names_trusted_proxies_and_the_peer() {
        let finding = scheme(&https(false, Some("https"), false));
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("10.0.0.5"));
        assert!(finding.detail.contains("rest on SORI_PUBLIC_ORIGIN alone"));
        assert_eq!(
            finding.fix.as_deref(),
            Some("set SORI_TRUSTED_PROXIES=10.0.0.5 (the proxy's address)")
        );
    }

    #[test]
    fn no_forwarded_proto_names_the_proxy_directive() {
        let finding = scheme(&https(false, None, true));
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding
                .fix
                .unwrap()
                .contains("proxy_set_header X-Forwarded-Proto $scheme")
        );
    }

    #[test]
    fn an_https_url_that_sori_takes_for_plain_http_fails_naming_the_setting() {
        let mut seen = https(false, None, true);
        seen.secure_cookie = false;
        seen.public_origin = "http://chat.example.org".into();
        let finding = scheme(&seen);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("http://chat.example.org"));
        assert_eq!(
            finding.fix.as_deref(),
            Some("set SORI_PUBLIC_ORIGIN to the https origin")
        );
        // An https forwarded by a proxy Sori does not trust: trusting it is the fix.
        let mut seen = https(false, Some("https"), false);
        seen.secure_cookie = false;
        let finding = scheme(&seen);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("cookies are not Secure"));
        assert!(
            finding
                .fix
                .unwrap()
                .starts_with("set SORI_TRUSTED_PROXIES=10.0.0.5")
        );
    }

    #[test]
    fn a_plain_http_url_skips_the_wss_check() {
        let mut seen = https(false, None, false);
        seen.url_is_https = false;
        assert_eq!(scheme(&seen).status, Status::Skip);
    }

    #[test]
    fn an_origin_mismatch_names_both_origins_and_the_setting() {
        let finding = origin(
            "http://127.0.0.1:4000",
            "https://chat.example.org",
            Some(true),
        );
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains(
            "SORI_PUBLIC_ORIGIN is https://chat.example.org but you reached it at \
             http://127.0.0.1:4000"
        ));
        assert_eq!(
            finding.fix.as_deref(),
            Some("set SORI_PUBLIC_ORIGIN=http://127.0.0.1:4000")
        );
    }

    #[test]
    fn a_matching_origin_with_a_foreign_one_refused_is_ok_and_accepted_fails() {
        let url = "https://chat.example.org";
        assert_eq!(origin(url, url, Some(true)).status, Status::Ok);
        assert_eq!(origin(url, url, Some(false)).status, Status::Fail);
    }

    #[test]
    fn a_silent_socket_cut_while_the_heartbeat_survives_warns_with_both_knobs() {
        let finding = idle(75, Idle::Cut { after_secs: 60 }, Idle::Survived, 20_000);
        assert_eq!(finding.status, Status::Warn);
        assert!(finding.detail.contains("after 60 s"));
        let fix = finding.fix.unwrap();
        assert!(fix.contains("proxy_read_timeout"));
        assert!(fix.contains("SORI_HEARTBEAT_MS below 60000"));
    }

    #[test]
    fn a_socket_cut_despite_the_heartbeat_fails() {
        let finding = idle(
            8,
            Idle::Cut { after_secs: 5 },
            Idle::Cut { after_secs: 5 },
            20_000,
        );
        assert_eq!(finding.status, Status::Fail);
        let fix = finding.fix.unwrap();
        assert!(fix.contains("proxy_read_timeout"));
        assert!(fix.contains("SORI_HEARTBEAT_MS below 2500"));
    }

    #[test]
    fn both_idle_sockets_surviving_is_ok() {
        assert_eq!(
            idle(75, Idle::Survived, Idle::Survived, 20_000).status,
            Status::Ok
        );
    }

    #[test]
    fn a_clock_within_three_seconds_is_ok_and_beyond_warns() {
        assert_eq!(clock(-2_999).status, Status::Ok);
        assert_eq!(clock(4_000).status, Status::Warn);
        assert_eq!(clock(-4_000).status, Status::Warn);
    }

    #[test]
    fn instances_on_different_databases_fail_naming_database_url() {
        let finding = instances(&Instances::Several {
            instances: 2,
            databases: 2,
            arrived: false,
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("do not share one"));
        assert!(finding.fix.unwrap().contains("DATABASE_URL"));
    }

    #[test]
    fn instances_on_one_database_without_delivery_name_the_bus() {
        let finding = instances(&Instances::Several {
            instances: 2,
            databases: 1,
            arrived: false,
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("bus"));
        assert!(finding.fix.unwrap().contains("SORI_LISTEN_DATABASE_URL"));
    }

    #[test]
    fn delivery_between_instances_and_a_single_instance_are_ok() {
        let several = Instances::Several {
            instances: 2,
            databases: 1,
            arrived: true,
        };
        assert_eq!(instances(&several).status, Status::Ok);
        assert_eq!(instances(&Instances::One { asked: 6 }).status, Status::Ok);
        assert_eq!(
            instances(&Instances::Unreached { instances: 2 }).status,
            Status::Warn
        );
    }

    #[test]
    fn statuses_serialise_as_printed() {
        for status in [Status::Ok, Status::Warn, Status::Fail, Status::Skip] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.word())
            );
        }
    }
}
