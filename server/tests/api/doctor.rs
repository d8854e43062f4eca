//! `sori doctor`, the real binary, against in-process servers on loopback: a healthy one, a
//! misconfigured origin, and two instances behind a round-robin forwarder (on one
//! PostgreSQL database, then on two separate SQLite databases).

use std::time::Duration;

use server::Config;

use crate::support::TestApp;
use crate::support::forwarder::Forwarder;

/// What one doctor run printed and how it exited.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
}

impl Run {
    /// The printed line of `check` (with its `fix:` line, if any).
    pub fn line(&self, check: &str) -> String {
        let lines: Vec<&str> = self.stdout.lines().collect();
        let index = lines
            .iter()
            .position(|line| line.get(6..).is_some_and(|rest| rest.starts_with(check)))
            .unwrap_or_else(|| panic!("no line for {check} in:\n{}", self.stdout));
        let mut text = lines[index].to_owned();
        if let Some(next) = lines
            .get(index + 1)
            .filter(|next| next.starts_with("      fix:"))
        {
            text.push('\n');
            text.push_str(next);
        }
        text
    }
}

/// Runs `sori doctor` asynchronously (the servers share this test's runtime), bounded.
pub async fn doctor(url: &str, extra: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sori"));
    command
        .arg("doctor")
        .arg(url)
        .args(extra)
        .env_remove("DATABASE_URL")
        .kill_on_drop(true);
    if !extra.contains(&"--idle-secs") {
        command.args(["--idle-secs", "2"]);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the doctor finishes within 60 s")
        .expect("the doctor runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Shown with the test's output when it fails (or with --nocapture).
    eprintln!(
        "sori doctor {url} {extra:?}:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

#[tokio::test]
async fn a_healthy_server_passes_every_check_and_exits_zero() {
    let app = TestApp::spawn().await;
    let run = doctor(&app.origin(), &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
    for check in [
        "resolve",
        "tcp",
        "healthz",
        "healthz-ip-host",
        "upgrade",
        "origin",
        "round-trip",
        "clock",
        "instances",
        "idle",
    ] {
        assert!(run.line(check).starts_with("ok "), "{}", run.stdout);
    }
    assert!(
        run.line("tls")
            .starts_with("skip  tls              http URL")
    );
    assert!(run.line("idle").contains("both held 2 s"));
}

#[tokio::test]
async fn the_json_report_lists_every_check_with_status_detail_and_fix() {
    let app = TestApp::spawn().await;
    let run = doctor(&app.origin(), &["--json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let checks: Vec<&str> = findings
        .iter()
        .map(|finding| finding["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, server::doctor::CHECKS);
    for finding in &findings {
        let status = finding["status"].as_str().unwrap();
        assert!(["ok", "skip"].contains(&status), "{finding}");
        assert!(finding["detail"].is_string() && finding["fix"].is_null());
    }
}

#[tokio::test]
async fn a_public_origin_that_is_not_the_url_fails_naming_sori_public_origin() {
    let app = TestApp::spawn_with(|config| {
        config.public_origin = Some("https://chat.example.org".into());
    })
    .await;
    let run = doctor(&app.origin(), &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let origin = run.line("origin");
    assert!(origin.starts_with("FAIL  origin"), "{origin}");
    assert!(
        origin.contains(&format!(
            "SORI_PUBLIC_ORIGIN is https://chat.example.org but you reached it at {}",
            app.origin()
        )),
        "{origin}"
    );
    assert!(origin.contains(&format!("fix: set SORI_PUBLIC_ORIGIN={}", app.origin())));
    assert!(run.line("idle").starts_with("skip"));
}

#[tokio::test]
async fn a_port_where_nothing_listens_fails_at_tcp_and_skips_the_rest() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap();
    drop(unused);
    let run = doctor(&format!("http://{addr}"), &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.line("tcp").starts_with("FAIL  tcp"));
    assert!(run.line("idle").contains("not run: tcp failed"));
}

#[tokio::test]
async fn two_instances_on_one_postgresql_behind_a_balancer_deliver_to_each_other() {
    let mut balancer = Forwarder::bind().await;
    // `two_instances` takes a `Copy` adjustment; one short string per test run is leaked.
    let origin: &'static str = Box::leak(balancer.origin().into_boxed_str());
    let (_database, first, second) = crate::instances::two_instances(move |config: &mut Config| {
        config.public_origin = Some(origin.to_owned());
    })
    .await;
    balancer.forward_to(vec![first.addr, second.addr]);
    let run = doctor(&balancer.origin(), &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let instances = run.line("instances");
    assert!(
        instances.starts_with(
            "ok    instances        2 instances answered; a probe published on one arrived on another"
        ),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn two_instances_on_separate_sqlite_databases_fail_naming_the_database() {
    let mut balancer = Forwarder::bind().await;
    let origin = balancer.origin();
    let first = TestApp::spawn_with(|config| config.public_origin = Some(origin.clone())).await;
    let second = TestApp::spawn_with(|config| config.public_origin = Some(origin.clone())).await;
    balancer.forward_to(vec![first.addr, second.addr]);
    let run = doctor(&balancer.origin(), &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let instances = run.line("instances");
    assert!(instances.starts_with("FAIL  instances"), "{}", run.stdout);
    assert!(instances.contains("2 different databases"), "{instances}");
    assert!(
        instances.contains("fix: point every instance's DATABASE_URL at one PostgreSQL database"),
        "{instances}"
    );
}

#[tokio::test]
async fn behind_tls_the_chain_is_checked_with_the_given_ca_and_an_unforwarded_scheme_warns() {
    let certificates = tempfile::tempdir().unwrap();
    let (acceptor, ca) = crate::support::forwarder::test_certificate(certificates.path());
    let mut balancer = Forwarder::bind().await;
    let url = format!("https://{}", balancer.addr);
    let app = TestApp::spawn_with(|config| config.public_origin = Some(url.clone())).await;
    balancer.forward_tls_to(vec![app.addr], acceptor);

    let run = doctor(&url, &["--ca", ca.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let tls = run.line("tls");
    assert!(tls.starts_with("ok    tls"), "{}", run.stdout);
    assert!(tls.contains("chain and name valid for 127.0.0.1"), "{tls}");
    assert!(tls.contains(" days left"), "{tls}");
    for check in ["healthz", "upgrade", "origin", "round-trip", "idle"] {
        assert!(run.line(check).starts_with("ok "), "{}", run.stdout);
    }
    // The forwarder adds no X-Forwarded-Proto: Sori sees plain http, and the doctor says
    // which directive is missing.
    let wss = run.line("wss");
    assert!(wss.starts_with("warn  wss"), "{}", run.stdout);
    assert!(
        wss.contains("fix: in the proxy: proxy_set_header X-Forwarded-Proto $scheme"),
        "{wss}"
    );

    let untrusted = doctor(&url, &[]).await;
    assert_eq!(untrusted.code, Some(1), "{}", untrusted.stdout);
    let tls = untrusted.line("tls");
    assert!(tls.starts_with("FAIL  tls"), "{tls}");
    assert!(tls.contains("--ca FILE"), "{tls}");
    assert!(untrusted.line("idle").contains("not run: tls failed"));
}

/// One instance behind a forwarder that closes connections whose backend is silent for
/// 1.2 s (reported rounded, as 1 s), with the server's heartbeat at `heartbeat_ms`: the
/// doctor's idle line.
async fn idle_behind_a_read_timeout(heartbeat_ms: u64) -> Run {
    let mut balancer = Forwarder::bind().await;
    balancer.read_timeout = Some(Duration::from_millis(1_200));
    let origin = balancer.origin();
    let app = TestApp::spawn_with(|config| {
        config.public_origin = Some(origin.clone());
        config.realtime.heartbeat_ms = heartbeat_ms;
    })
    .await;
    balancer.forward_to(vec![app.addr]);
    let run = doctor(&balancer.origin(), &["--idle-secs", "3"]).await;
    drop(app);
    run
}

#[tokio::test]
async fn a_hop_cutting_silent_sockets_while_the_heartbeat_survives_warns_naming_both_knobs() {
    let run = idle_behind_a_read_timeout(500).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let idle = run.line("idle");
    assert!(
        idle.starts_with("warn  idle             a hop closes silent sockets after "),
        "{idle}"
    );
    // The hop cuts at 1.2 s; a loaded machine may see the close a little later.
    let after = cut_after_secs(&idle);
    assert!((1..=2).contains(&after), "{idle}");
    assert!(idle.contains("proxy_read_timeout"), "{idle}");
    assert!(
        idle.contains(&format!("keep SORI_HEARTBEAT_MS below {}", after * 1000)),
        "{idle}"
    );
}

/// The `N` of "after N s" in a doctor line.
fn cut_after_secs(line: &str) -> u64 {
    let (_, rest) = line.split_once(" after ").expect("an \"after N s\"");
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no seconds in {line}"))
}

#[tokio::test]
async fn a_hop_cutting_sockets_despite_the_heartbeat_fails() {
    let run = idle_behind_a_read_timeout(20_000).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let idle = run.line("idle");
    assert!(
        idle.starts_with("FAIL  idle             a hop closes sockets after "),
        "{idle}"
    );
    assert!((1..=2).contains(&cut_after_secs(&idle)), "{idle}");
    assert!(
        idle.contains("even with the heartbeat every 20 s"),
        "{idle}"
    );
    assert!(
        idle.contains("fix: raise the proxy's idle timeout (nginx proxy_read_timeout"),
        "{idle}"
    );
}

#[tokio::test]
async fn an_idle_longer_than_the_probes_lifetime_is_named_not_taken_for_a_cut() {
    let app = TestApp::spawn_with(|config| config.probe.lifetime_ms = 2_000).await;
    let run = doctor(&app.origin(), &["--idle-secs", "5"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let idle = run.line("idle");
    assert!(
        idle.contains("--idle-secs 5 does not fit in the probe's lifetime of 2 s"),
        "{idle}"
    );
    assert!(idle.contains("SORI_PROBE_LIFETIME_MS"), "{idle}");
}

#[tokio::test]
async fn a_doctor_past_the_probes_rate_bound_says_so_and_when_to_retry() {
    let app = TestApp::spawn_with(|config| {
        config.probe.burst = 1;
        config.probe.interval_ms = 60_000;
    })
    .await;
    // The first run takes the one probe of the burst (then its idle check is refused).
    doctor(&app.origin(), &[]).await;
    let run = doctor(&app.origin(), &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let wss = run.line("wss");
    assert!(
        wss.starts_with(
            "FAIL  wss              Sori refused the probe: too many from this address; retry in "
        ),
        "{wss}"
    );
    assert!(wss.contains("SORI_PROBE_BURST"), "{wss}");
    assert!(
        run.line("idle")
            .contains("not run: the probe was rate-limited")
    );
}
