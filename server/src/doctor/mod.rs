//! `sori doctor URL`: checks, from wherever it runs, that a deployment of Sori works
//! through everything between a browser and the instances: DNS, TCP, TLS, the proxy's
//! routing of `/healthz` and of the WebSocket upgrade, the scheme and origin Sori sees,
//! idle timeouts on the way, latency, delivery between instances, and the clock.
//!
//! It needs no account and changes no user data: everything goes through `/healthz` and
//! the anonymous probe socket `/ws/probe`. Checks run in order, one line each (`ok`, `warn`,
//! `FAIL` or `skip`), a `fix:` line under each `warn` and `FAIL`; a check that cannot run
//! because an earlier one failed says so and does not wait. Every network step has a
//! timeout ([`net::STEP_TIMEOUT`]). The rules that turn observations into findings are in
//! `checks` (pure, unit-tested); `net`, `http` and `probe` only observe.

mod checks;
mod http;
mod net;
mod probe;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use app::protocol::probe::{ProbeClientFrame, ProbeRefusal, ProbeServerFrame, ProbeToken, Scheme};
use tokio::time::Instant;

pub use checks::{Finding, Status};
use checks::{Instances, SchemeSeen, UpgradeAnswer};
use net::{Dialer, Target};
use probe::{Probe, Upgrade};
use report::Report;
pub use report::line;

/// `sori doctor URL [--ca FILE] [--idle-secs N] [--json]`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DoctorArgs {
    /// The public URL people open, e.g. https://chat.example.org
    pub url: String,

    /// Trust this CA certificate (PEM) instead of the public roots, for tests and intranets.
    #[arg(long)]
    pub ca: Option<PathBuf>,

    /// How long the idle check holds its silent socket, in seconds (past the common 60 s
    /// limits of proxies and load balancers).
    #[arg(long, default_value_t = 75)]
    pub idle_secs: u64,

    /// Print the results as JSON (an array of {check, status, detail, fix}).
    #[arg(long)]
    pub json: bool,
}

/// The checks, in the order they run and print.
pub const CHECKS: [&str; 13] = [
    "url",
    "resolve",
    "tcp",
    "tls",
    "healthz",
    "healthz-ip-host",
    "upgrade",
    "wss",
    "origin",
    "round-trip",
    "clock",
    "instances",
    "idle",
];

/// How many fresh connections ask `/healthz` who answers, and how many probes may be
/// opened to find a second instance (the probe's rate allows a burst of 12 per address).
const HEALTHZ_ASKS: usize = 6;
const PROBES_TO_FIND_ANOTHER: usize = 5;
/// How long a probe published on one instance has to arrive on another.
const ARRIVAL_WAIT: Duration = Duration::from_secs(5);

/// Runs every check, printing each line as it is known (unless `--json`, which prints the
/// whole array at the end). Returns whether nothing failed.
pub async fn run(args: &DoctorArgs) -> bool {
    let mut report = Report::new(args.json);
    diagnose(args, &mut report).await;
    report.finish()
}

async fn diagnose(args: &DoctorArgs, report: &mut Report) {
    let target = match Target::parse(&args.url) {
        Ok(target) => target,
        Err(error) => {
            report.add(Finding::fail(
                "url",
                error.to_string(),
                "give the URL people open, e.g. https://chat.example.org",
            ));
            return report.skip_rest("url failed");
        }
    };
    report.add(Finding::ok("url", format!("checking {}", target.origin)));

    let addrs = match net::resolve(&target).await {
        Ok(addrs) => addrs,
        Err(error) => {
            report.add(Finding::fail(
                "resolve",
                error.to_string(),
                format!("publish an A or AAAA record for {}", target.host),
            ));
            return report.skip_rest("resolve failed");
        }
    };
    let listed: Vec<String> = addrs.iter().map(|addr| addr.ip().to_string()).collect();
    report.add(Finding::ok(
        "resolve",
        format!("{} resolves to {}", target.host, listed.join(", ")),
    ));

    let addr = addrs[0];
    if let Err(error) = net::tcp(addr).await {
        report.add(Finding::fail(
            "tcp",
            error.to_string(),
            format!(
                "make the proxy listen on port {} and open it in the firewall or security group",
                target.port
            ),
        ));
        return report.skip_rest("tcp failed");
    }
    report.add(Finding::ok("tcp", format!("connected to {addr}")));

    let dialer = match Dialer::new(target.clone(), addr, args.ca.as_deref()) {
        Ok(dialer) => dialer,
        Err(error) => {
            report.add(Finding::fail(
                "tls",
                error.to_string(),
                "give --ca a PEM file",
            ));
            return report.skip_rest("tls failed");
        }
    };
    if !tls(&dialer, report).await {
        return report.skip_rest("tls failed");
    }

    let health = healthz(&dialer, &target.host_header()).await;
    match &health {
        Ok(body) => report.add(Finding::ok(
            "healthz",
            format!("200 from instance {}", text(body, "instance")),
        )),
        Err(problem) => report.add(Finding::fail(
            "healthz",
            format!("/healthz: {problem}"),
            "route / (and /healthz) to Sori: proxy_pass http://sori;",
        )),
    }
    let ip_host = if target.port == if target.https { 443 } else { 80 } {
        addr.ip().to_string()
    } else {
        format!("{}:{}", host_for(addr.ip()), target.port)
    };
    match healthz(&dialer, &ip_host).await {
        Ok(_) => report.add(Finding::ok(
            "healthz-ip-host",
            format!("200 with Host: {ip_host} (as load balancers' health checks send it)"),
        )),
        Err(problem) => report.add(Finding::fail(
            "healthz-ip-host",
            format!("/healthz with Host: {ip_host}: {problem}"),
            "make the proxy's default_server pass /healthz to Sori, so health checks that \
             use the IP address as Host reach it",
        )),
    }

    let mut main = match open_probe(&dialer, &target.origin, report).await {
        Some(probe) => probe,
        None => return report.skip_rest("no probe socket opened"),
    };
    let hello = match main.next().await {
        Ok(ProbeServerFrame::Hello {
            public_origin,
            seen_scheme,
            secure_cookie,
            forwarded_proto,
            proxy_trusted,
            peer,
            heartbeat_ms,
            ..
        }) => Hello {
            public_origin,
            seen_https: seen_scheme == Scheme::Https,
            secure_cookie,
            forwarded_proto,
            proxy_trusted,
            peer,
            heartbeat_ms,
        },
        Ok(ProbeServerFrame::Refused {
            reason: ProbeRefusal::RateLimited { retry_after_secs },
        }) => {
            report.add(Finding::fail(
                "wss",
                format!(
                    "Sori refused the probe: too many from this address; retry in \
                     {retry_after_secs} s"
                ),
                format!(
                    "wait {retry_after_secs} s and run the doctor again (the bound is \
                     SORI_PROBE_BURST and SORI_PROBE_INTERVAL_MS)"
                ),
            ));
            return report.skip_rest("the probe was rate-limited");
        }
        other => {
            report.add(Finding::fail(
                "wss",
                format!("the probe did not say hello: {}", describe(other)),
                "see Sori's log; an old Sori without /ws/probe cannot be checked",
            ));
            return report.skip_rest("the probe said no hello");
        }
    };
    report.add(checks::scheme(&SchemeSeen {
        url_is_https: target.https,
        seen_https: hello.seen_https,
        secure_cookie: hello.secure_cookie,
        forwarded_proto: hello.forwarded_proto.clone(),
        proxy_trusted: hello.proxy_trusted,
        peer: hello.peer.clone(),
        public_origin: hello.public_origin.clone(),
    }));
    let foreign_refused = match probe::upgrade(&dialer, "https://doctor.invalid").await {
        Ok(Upgrade::Refused(UpgradeAnswer::Sori { marker, .. }, _)) => {
            Some(marker == "foreign-origin")
        }
        Ok(Upgrade::Open(_)) => Some(false),
        _ => None,
    };
    report.add(checks::origin(
        &target.origin,
        &hello.public_origin,
        foreign_refused,
    ));

    round_trip_and_clock(&mut main, report).await;
    drop(main);
    instances(&dialer, &target, health.ok().as_ref(), report).await;
    idle(&dialer, &target, args.idle_secs, hello.heartbeat_ms, report).await;
}

/// What the first probe's `hello` said, as the later checks need it.
struct Hello {
    public_origin: String,
    seen_https: bool,
    secure_cookie: bool,
    forwarded_proto: Option<String>,
    proxy_trusted: bool,
    peer: String,
    heartbeat_ms: u64,
}

/// The TLS check; false when the rest cannot run.
async fn tls(dialer: &Dialer, report: &mut Report) -> bool {
    if !dialer.target.https {
        report.add(Finding::skip("tls", "http URL: no TLS"));
        return true;
    }
    match dialer.dial().await {
        Ok((_, Some(seen))) => {
            let days = seen
                .days_left
                .map_or("unknown".to_owned(), |days| days.to_string());
            let detail = format!(
                "{}, chain and name valid for {}, {days} days left",
                seen.protocol, dialer.target.host
            );
            match seen.days_left {
                Some(days) if days < 14 => report.add(Finding::warn(
                    "tls",
                    detail,
                    "renew the certificate (certbot renew; Caddy renews its own)",
                )),
                _ => report.add(Finding::ok("tls", detail)),
            }
            true
        }
        Ok((_, None)) => true,
        Err(error) => {
            report.add(Finding::fail(
                "tls",
                error.to_string(),
                format!(
                    "serve a certificate for {} with its full chain (nginx ssl_certificate \
                     fullchain.pem); for a private CA run the doctor with --ca FILE",
                    dialer.target.host
                ),
            ));
            false
        }
    }
}

/// `/healthz` over a fresh connection with this Host: its JSON, or what went wrong.
async fn healthz(dialer: &Dialer, host: &str) -> Result<serde_json::Value, String> {
    let (mut stream, _) = dialer.dial().await.map_err(|error| error.to_string())?;
    let redirect_to_https = |answer: &http::Answer| {
        let location = answer.header("location")?;
        (matches!(answer.status, 301 | 302 | 307 | 308) && location.starts_with("https://"))
            .then(|| location.to_owned())
    };
    let answer = http::get(
        &mut stream,
        "/healthz",
        &[("Host", host), ("Connection", "close")],
    )
    .await
    .map_err(|error| error.to_string())?;
    let body = http::body(&mut stream, &answer)
        .await
        .map_err(|error| error.to_string())?;
    if let Some(location) = redirect_to_https(&answer) {
        return Err(format!(
            "answered {} to {location}: this is the http side; run the doctor on the https URL",
            answer.status
        ));
    }
    if answer.status != 200 {
        return Err(format!("answered {}", answer.status));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| "answered 200 but not Sori's JSON".to_owned())?;
    if json.get("instance").is_none() {
        return Err("answered 200 without an instance id (not Sori?)".into());
    }
    Ok(json)
}

fn text<'a>(json: &'a serde_json::Value, key: &str) -> &'a str {
    json.get(key)
        .and_then(|value| value.as_str())
        .unwrap_or("?")
}

fn host_for(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    }
}

fn describe(result: Result<ProbeServerFrame, probe::ProbeError>) -> String {
    match result {
        Ok(frame) => format!("{frame:?}"),
        Err(error) => error.to_string(),
    }
}

/// The upgrade check: an open probe, or the finding saying why not.
async fn open_probe(dialer: &Dialer, origin: &str, report: &mut Report) -> Option<Probe> {
    match probe::upgrade(dialer, origin).await {
        Ok(Upgrade::Open(probe)) => {
            report.add(checks::upgrade(&UpgradeAnswer::Switched {
                accept_ok: true,
            }));
            Some(*probe)
        }
        Ok(Upgrade::Refused(answer, expected)) => {
            let finding = checks::upgrade(&answer);
            let reached = finding.status == Status::Ok;
            report.add(finding);
            if reached {
                // Sori refused the URL's own Origin: the origin check says why.
                report.add(Finding::skip(
                    "wss",
                    "not run: Sori refused the URL's Origin",
                ));
                let expected = expected.unwrap_or_else(|| "(another origin)".into());
                report.add(checks::origin(origin, &expected, None));
            }
            None
        }
        Err(error) => {
            report.add(Finding::fail(
                "upgrade",
                format!("/ws/probe: {error}"),
                checks::UPGRADE_FIX,
            ));
            None
        }
    }
}

async fn round_trip_and_clock(probe: &mut Probe, report: &mut Report) {
    const ECHOES: u64 = 5;
    let mut samples = Vec::new();
    for n in 0..ECHOES {
        let sent_ms = now_ms();
        let started = Instant::now();
        if probe
            .send(&ProbeClientFrame::Echo { n, sent_ms })
            .await
            .is_err()
        {
            break;
        }
        match probe.next().await {
            Ok(ProbeServerFrame::Echo {
                n: echoed, time_ms, ..
            }) if echoed == n => {
                let rtt = started.elapsed();
                let midpoint = sent_ms + i64::try_from(rtt.as_millis() / 2).unwrap_or(0);
                samples.push((rtt, time_ms - midpoint));
            }
            _ => break,
        }
    }
    if samples.is_empty() {
        report.add(Finding::fail(
            "round-trip",
            "no echo came back on the probe socket",
            "see Sori's and the proxy's logs: frames do not pass after the upgrade",
        ));
        report.add(Finding::skip("clock", "not run: round-trip failed"));
        return;
    }
    let mut rtts: Vec<Duration> = samples.iter().map(|(rtt, _)| *rtt).collect();
    rtts.sort();
    let median = rtts[rtts.len() / 2];
    report.add(Finding::ok(
        "round-trip",
        format!(
            "{} echoes, median {:.1} ms, best {:.1} ms",
            samples.len(),
            median.as_secs_f64() * 1000.0,
            rtts[0].as_secs_f64() * 1000.0
        ),
    ));
    // The fastest round trip bounds the offset's error most tightly.
    let offset = samples
        .iter()
        .min_by_key(|(rtt, _)| *rtt)
        .map_or(0, |(_, offset)| *offset);
    report.add(checks::clock(offset));
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Which instances answer fresh connections, and whether a probe published on one arrives
/// on another.
async fn instances(
    dialer: &Dialer,
    target: &Target,
    first: Option<&serde_json::Value>,
    report: &mut Report,
) {
    let mut databases: BTreeMap<String, String> = BTreeMap::new();
    let mut record = |json: &serde_json::Value| {
        databases.insert(
            text(json, "instance").to_owned(),
            text(json, "database").to_owned(),
        );
    };
    if let Some(first) = first {
        record(first);
    }
    for _ in 0..HEALTHZ_ASKS {
        if let Ok(json) = healthz(dialer, &target.host_header()).await {
            record(&json);
        }
    }
    if databases.len() <= 1 {
        return report.add(checks::instances(&Instances::One {
            asked: HEALTHZ_ASKS + usize::from(first.is_some()),
        }));
    }
    let count = databases.len();
    let distinct_databases = databases.values().collect::<BTreeSet<_>>().len();
    // Two probes on two different instances.
    let mut found: Vec<(String, Probe)> = Vec::new();
    for _ in 0..PROBES_TO_FIND_ANOTHER {
        let Ok(Upgrade::Open(mut probe)) = probe::upgrade(dialer, &target.origin).await else {
            continue;
        };
        if let Ok(ProbeServerFrame::Hello { instance, .. }) = probe.next().await
            && found.iter().all(|(seen, _)| *seen != instance)
        {
            found.push((instance, *probe));
            if found.len() == 2 {
                break;
            }
        }
    }
    let (Some((_, mut publisher)), Some((_, mut listener))) = (found.pop(), found.pop()) else {
        return report.add(checks::instances(&Instances::Unreached {
            instances: count,
        }));
    };
    let arrived = delivered(&mut publisher, &mut listener).await;
    report.add(checks::instances(&Instances::Several {
        instances: count,
        databases: distinct_databases,
        arrived,
    }));
}

async fn delivered(publisher: &mut Probe, listener: &mut Probe) -> bool {
    // Random (two 64-bit ids in hex), so nobody else's probe can listen for or fake it.
    let token = format!(
        "doctor-{}{}",
        app::backend::instance_id::InstanceId::random(),
        app::backend::instance_id::InstanceId::random()
    );
    // Digits, letters and '-': always a valid token.
    let Some(token) = ProbeToken::parse(&token) else {
        return false;
    };
    let listening = listener
        .send(&ProbeClientFrame::Listen {
            token: token.clone(),
        })
        .await;
    if listening.is_err()
        || !matches!(
            listener.next().await,
            Ok(ProbeServerFrame::Listening { .. })
        )
    {
        return false;
    }
    if publisher
        .send(&ProbeClientFrame::Publish {
            token: token.clone(),
        })
        .await
        .is_err()
    {
        return false;
    }
    matches!(
        listener.next_within(ARRIVAL_WAIT).await,
        Ok(ProbeServerFrame::Arrived { token: arrived, .. }) if arrived == token
    )
}

/// Two probes at once, one silent and one with the heartbeat, for `idle_secs`.
async fn idle(
    dialer: &Dialer,
    target: &Target,
    idle_secs: u64,
    heartbeat_ms: u64,
    report: &mut Report,
) {
    let mut opened = Vec::new();
    let mut lifetime_ms = u64::MAX;
    for _ in 0..2 {
        if let Ok(Upgrade::Open(mut probe)) = probe::upgrade(dialer, &target.origin).await
            && let Ok(ProbeServerFrame::Hello {
                lifetime_ms: lifetime,
                ..
            }) = probe.next().await
        {
            lifetime_ms = lifetime_ms.min(lifetime);
            opened.push(*probe);
        }
    }
    // The server refuses an idle longer than the socket may live: say so, not "cut".
    if !opened.is_empty() && idle_secs.saturating_mul(1000) >= lifetime_ms {
        return report.add(Finding::fail(
            "idle",
            format!(
                "--idle-secs {idle_secs} does not fit in the probe's lifetime of {} s",
                lifetime_ms / 1000
            ),
            "give a smaller --idle-secs, or raise SORI_PROBE_LIFETIME_MS on the server",
        ));
    }
    let (Some(mut beating), Some(mut silent)) = (opened.pop(), opened.pop()) else {
        return report.add(Finding::fail(
            "idle",
            "could not open two probe sockets for the idle check",
            "wait a minute (the probe is rate-limited per address) and run the doctor again",
        ));
    };
    if !report.json {
        eprintln!("      (holding two idle sockets for {idle_secs} s)");
    }
    let (silent, beating) =
        tokio::join!(silent.idle(idle_secs, false), beating.idle(idle_secs, true));
    report.add(checks::idle(idle_secs, silent, beating, heartbeat_ms));
}
