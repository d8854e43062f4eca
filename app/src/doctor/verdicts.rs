//! What the `/doctor` page's observations mean: each check's status and, when it is not
//! `ok`, the one fix that names the setting or directive to change. Pure functions of what
//! the browser saw, so every rule is tested natively; the browser half only observes.
//!
//! They are the checks a browser can run itself, from the vantage point that matters (the
//! person's own network): the upgrade, the scheme, the round trip, several instances and
//! idle survival. DNS, TCP, certificates and the `Host` of health checks are `sori doctor`'s,
//! which runs from a shell.

pub use super::finding::{Finding, Status};
use crate::protocol::probe::Scheme;

pub const UPGRADE: &str = "WebSocket upgrade";
pub const SECURE: &str = "Secure connection";
pub const ROUND_TRIP: &str = "Round trip";
pub const INSTANCES: &str = "Several instances";
pub const IDLE: &str = "Idle connections";

/// What the probe's hello said, as far as these rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub instance: String,
    pub database: String,
    pub public_origin: String,
    pub seen_scheme: Scheme,
    pub forwarded_proto: Option<String>,
    pub proxy_trusted: bool,
    pub peer: String,
    pub heartbeat_ms: u64,
}

/// The upgrade: the probe socket opened and said hello, or it did not.
pub fn upgrade(greeting: Option<&Greeting>) -> Finding {
    match greeting {
        Some(greeting) => Finding::ok(
            UPGRADE,
            format!(
                "this browser reached Sori's socket (instance {})",
                greeting.instance
            ),
        ),
        None => Finding::fail(
            UPGRADE,
            "this browser could not open a WebSocket to /ws/probe",
            "pass WebSocket upgrades on /ws through to Sori (nginx: proxy_http_version 1.1; \
             proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"); \
             `sori doctor URL` names the exact cause",
        ),
    }
}

/// The scheme: the page's own (`page_origin`) against how Sori saw the socket and what it
/// expects.
pub fn secure(page_origin: &str, greeting: &Greeting) -> Finding {
    let page_https = page_origin.starts_with("https://");
    if page_origin != greeting.public_origin {
        return Finding::fail(
            SECURE,
            format!(
                "this page is at {page_origin}, but Sori expects {}",
                greeting.public_origin
            ),
            format!("set SORI_PUBLIC_ORIGIN={page_origin} on every instance"),
        );
    }
    if !page_https {
        return Finding::warn(
            SECURE,
            "this page is served over plain http: passwords and messages travel unencrypted",
            "serve Sori over https (TLS at the proxy, see docs/deploy.md) and set \
             SORI_PUBLIC_ORIGIN=https://...",
        );
    }
    if greeting.seen_scheme == Scheme::Https {
        return Finding::ok(SECURE, "wss, and Sori sees the request as https");
    }
    match (&greeting.forwarded_proto, greeting.proxy_trusted) {
        (Some(_), false) => Finding::fail(
            SECURE,
            format!(
                "the proxy at {} says https, but Sori does not trust it: it ignores the \
                 forwarded scheme and client address (every client shares the proxy's rate \
                 limits)",
                greeting.peer
            ),
            format!(
                "add the proxy's address to SORI_TRUSTED_PROXIES (it connects from {})",
                greeting.peer
            ),
        ),
        _ => Finding::warn(
            SECURE,
            "TLS ends before Sori, and nothing tells Sori the request was https",
            "nginx: proxy_set_header X-Forwarded-Proto $scheme; and name the proxy in \
             SORI_TRUSTED_PROXIES",
        ),
    }
}

/// A check that could not run because Sori refused more probes from this address: neither
/// the proxy's fault nor Sori's, so a warning with the wait, never a FAIL with a wrong fix.
pub fn rate_limited(check: &'static str, retry_after_secs: u64) -> Finding {
    Finding::warn(
        check,
        "not checked: Sori refused more probes from this address for now (too many checks \
         in a row, or many people behind one address)",
        format!(
            "run the checks again in {retry_after_secs} s (the bound is SORI_PROBE_BURST and \
             SORI_PROBE_INTERVAL_MS; behind a proxy, SORI_TRUSTED_PROXIES gives each person \
             their own)"
        ),
    )
}

/// A heartbeat, in milliseconds, safely below a hop's idle cut after `after_secs` seconds:
/// a second less, and never below one second.
fn below_ms(after_secs: f64) -> u64 {
    // A cut is at most a few minutes: the float fits a u64 exactly.
    ((after_secs.floor() - 1.0).max(1.0) * 1000.0) as u64
}

/// The round trip: the milliseconds each echo took.
pub fn round_trip(samples_ms: &[f64]) -> Finding {
    let mut sorted: Vec<f64> = samples_ms
        .iter()
        .copied()
        .filter(|ms| ms.is_finite())
        .collect();
    if sorted.is_empty() {
        return Finding::fail(
            ROUND_TRIP,
            "no echo came back",
            "check that nothing between the browser and Sori buffers WebSocket frames \
             (nginx: proxy_buffering does not apply to upgraded sockets; a CDN may)",
        );
    }
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let detail = format!("{median:.0} ms (median of {})", sorted.len());
    if median > 1_000.0 {
        return Finding::warn(
            ROUND_TRIP,
            detail,
            "a second per round trip makes chat feel slow: look for a distant or overloaded hop",
        );
    }
    Finding::ok(ROUND_TRIP, detail)
}

/// Several instances: the greetings of the probes opened (each names its instance and
/// database), and whether a probe published on one arrived on another (`None` when only
/// one instance answered, so nothing was published).
pub fn instances(greetings: &[Greeting], arrived: Option<bool>) -> Finding {
    let mut ids: Vec<&str> = greetings.iter().map(|g| g.instance.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    match (ids.len(), arrived) {
        (0, _) => Finding::fail(
            INSTANCES,
            "no probe reached an instance",
            "see the WebSocket upgrade above",
        ),
        (1, _) | (_, None) => Finding::ok(
            INSTANCES,
            format!("{} probes, all answered by one instance", greetings.len()),
        ),
        (count, Some(true)) => Finding::ok(
            INSTANCES,
            format!("{count} instances answered, and a message crossed between them"),
        ),
        (count, Some(false)) => {
            let mut databases: Vec<&str> = greetings.iter().map(|g| g.database.as_str()).collect();
            databases.sort_unstable();
            databases.dedup();
            if databases.len() > 1 {
                Finding::fail(
                    INSTANCES,
                    format!(
                        "{count} instances answered, on {} different databases",
                        databases.len()
                    ),
                    "give every instance the same DATABASE_URL, a PostgreSQL database \
                     (SQLite cannot be shared between instances)",
                )
            } else {
                Finding::fail(
                    INSTANCES,
                    format!(
                        "{count} instances share a database, but a message did not cross between them"
                    ),
                    "the instances cannot hear each other's notifications: set \
                     SORI_LISTEN_DATABASE_URL to a direct connection to PostgreSQL (not a pooler)",
                )
            }
        }
    }
}

/// How one idle probe ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Idle {
    /// It stayed open for the whole time asked.
    Survived,
    /// It was closed after this many seconds.
    CutAfter(f64),
    /// Sori refused to open it: this address ran too many checks; retry after this long.
    RateLimited { retry_after_secs: u64 },
}

/// Idle survival: a probe on which the server stayed silent for `secs`, and one on which it
/// kept its heartbeat.
pub fn idle(secs: u64, silent: Idle, beating: Idle, heartbeat_ms: u64) -> Finding {
    let heartbeat_secs = heartbeat_ms as f64 / 1000.0;
    match (silent, beating) {
        (Idle::RateLimited { retry_after_secs }, _)
        | (_, Idle::RateLimited { retry_after_secs }) => rate_limited(IDLE, retry_after_secs),
        (Idle::Survived, Idle::Survived) => Finding::ok(
            IDLE,
            format!("a silent socket stayed open for {secs} s, and one with the heartbeat too"),
        ),
        (Idle::CutAfter(after), Idle::Survived) => Finding::warn(
            IDLE,
            format!(
                "a hop closes silent sockets after about {after:.0} s; Sori's heartbeat \
                 (every {heartbeat_secs:.0} s) keeps chat sockets open"
            ),
            format!(
                "keep SORI_HEARTBEAT_MS below {} (milliseconds), or raise the hop's idle \
                 timeout (nginx: proxy_read_timeout)",
                below_ms(after)
            ),
        ),
        (_, Idle::CutAfter(after)) => Finding::fail(
            IDLE,
            format!(
                "a hop closed a socket after about {after:.0} s even with Sori's heartbeat \
                 every {heartbeat_secs:.0} s: chat sockets will drop"
            ),
            format!(
                "raise the hop's idle timeout above {heartbeat_secs:.0} s (nginx: \
                 proxy_read_timeout 1h; AWS ALB: idle timeout), or set SORI_HEARTBEAT_MS \
                 below {}",
                below_ms(after)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(instance: &str, database: &str) -> Greeting {
        Greeting {
            instance: instance.into(),
            database: database.into(),
            public_origin: "https://chat.example.org".into(),
            seen_scheme: Scheme::Https,
            forwarded_proto: Some("https".into()),
            proxy_trusted: true,
            peer: "10.0.0.2".into(),
            heartbeat_ms: 20_000,
        }
    }

    #[test]
    fn a_failed_upgrade_names_the_upgrade_headers() {
        let finding = upgrade(None);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.fix.unwrap().contains("proxy_set_header Upgrade"));
        assert_eq!(upgrade(Some(&greeting("a", "d"))).status, Status::Ok);
    }

    #[test]
    fn the_scheme_is_judged_against_the_page_and_the_public_origin() {
        let good = greeting("a", "d");
        assert_eq!(secure("https://chat.example.org", &good).status, Status::Ok);

        let elsewhere = secure("https://other.example.org", &good);
        assert_eq!(elsewhere.status, Status::Fail);
        assert!(
            elsewhere
                .fix
                .unwrap()
                .contains("SORI_PUBLIC_ORIGIN=https://other.example.org")
        );

        let untrusted = Greeting {
            seen_scheme: Scheme::Http,
            proxy_trusted: false,
            ..good.clone()
        };
        let finding = secure("https://chat.example.org", &untrusted);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.fix.unwrap().contains("SORI_TRUSTED_PROXIES"));

        let unforwarded = Greeting {
            seen_scheme: Scheme::Http,
            forwarded_proto: None,
            ..good.clone()
        };
        let finding = secure("https://chat.example.org", &unforwarded);
        assert!(finding.fix.unwrap().contains("X-Forwarded-Proto"));

        let plain = Greeting {
            public_origin: "http://chat.example.org".into(),
            ..good
        };
        assert_eq!(
            secure("http://chat.example.org", &plain).status,
            Status::Warn
        );
    }

    #[test]
    fn the_round_trip_reports_the_median() {
        let finding = round_trip(&[30.0, 2.0, 3.0]);
        assert_eq!(
            (finding.status, finding.detail.as_str()),
            (Status::Ok, "3 ms (median of 3)")
        );
        assert_eq!(round_trip(&[]).status, Status::Fail);
        assert_eq!(round_trip(&[1500.0]).status, Status::Warn);
    }

    #[test]
    fn instances_that_do_not_share_a_database_are_named_as_the_cause() {
        let one = [greeting("a", "d"), greeting("a", "d")];
        assert_eq!(instances(&one, None).status, Status::Ok);
        let two = [greeting("a", "d"), greeting("b", "d")];
        assert_eq!(instances(&two, Some(true)).status, Status::Ok);
        let deaf = instances(&two, Some(false));
        assert_eq!(deaf.status, Status::Fail);
        assert!(deaf.fix.unwrap().contains("SORI_LISTEN_DATABASE_URL"));
        let apart = [greeting("a", "d1"), greeting("b", "d2")];
        let finding = instances(&apart, Some(false));
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.fix.unwrap().contains("DATABASE_URL"));
    }

    #[test]
    fn a_rate_limited_idle_check_warns_with_the_wait_instead_of_blaming_a_hop() {
        let limited = Idle::RateLimited {
            retry_after_secs: 20,
        };
        let finding = idle(75, limited, Idle::Survived, 20_000);
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding.detail.starts_with("not checked"),
            "{}",
            finding.detail
        );
        let fix = finding.fix.unwrap();
        assert!(
            fix.contains("in 20 s") && !fix.contains("proxy_read_timeout"),
            "{fix}"
        );
    }

    #[test]
    fn a_hop_that_cuts_idle_sockets_warns_or_fails_by_the_heartbeat() {
        let fine = idle(75, Idle::Survived, Idle::Survived, 20_000);
        assert_eq!(fine.status, Status::Ok);
        let warned = idle(75, Idle::CutAfter(60.2), Idle::Survived, 20_000);
        assert_eq!(warned.status, Status::Warn);
        assert!(warned.detail.contains("60 s"), "{}", warned.detail);
        let failed = idle(8, Idle::CutAfter(5.0), Idle::CutAfter(5.1), 20_000);
        assert_eq!(failed.status, Status::Fail);
        let fix = failed.fix.unwrap();
        assert!(
            fix.contains("proxy_read_timeout") && fix.contains("SORI_HEARTBEAT_MS below 4000"),
            "{fix}"
        );
        let warned_fix = warned.fix.unwrap();
        assert!(
            warned_fix.contains("SORI_HEARTBEAT_MS below 59000 (milliseconds)"),
            "{warned_fix}"
        );
    }
}
