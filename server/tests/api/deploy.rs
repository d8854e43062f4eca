//! The shipped deployment files, run: nginx (`deploy/nginx/sori.conf`) over TLS in front of
//! two instances on one PostgreSQL database, Caddy (`deploy/caddy/Caddyfile`) with its
//! internal CA in front of one, the systemd unit through `systemd-analyze verify`, and each
//! broken set-up of issue #14 shown to be broken in the way it claims.
//!
//! The proxies come from `support::proxy`, which changes only the shipped files' marked
//! lines (ports, upstreams, certificates). Everything listens on 127.0.0.1 and is stopped
//! when its test ends, passed or failed. Run under `scripts/with-postgres.sh`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use app::protocol::{PROTOCOL_VERSION, ServerFrame};
use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::chat::{PASSWORD, next_message, post, room_with, subscribe, uuid};
use crate::support::proxy::{
    self, Deployment, SIGN_UPS_PER_ADDRESS, nginx_with_http_public_origin,
    nginx_with_separate_databases, nginx_with_short_read_timeout, nginx_with_static_page_at_ws,
    nginx_with_wrong_public_origin, nginx_without_trusted_proxies, nginx_without_upgrade_headers,
    shipped_caddy, shipped_nginx,
};
use crate::support::socket::Socket;

/// The `instance` named by `/healthz`, fetched through the deployment.
async fn answering_instance(deployment: &Deployment) -> String {
    let response = deployment
        .client()
        .get(deployment.at("/healthz"))
        .send()
        .await
        .expect("/healthz answers over https");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    body["instance"]
        .as_str()
        .expect("an instance id")
        .to_owned()
}

/// A person registered through the deployment (so their session is on its database).
async fn person(deployment: &Deployment, name: &str) -> Browser {
    let mut browser = deployment.browser();
    let response = browser.register(name, PASSWORD).await;
    assert_eq!(response.status(), 200, "{}", deployment.proxy_log());
    browser
}

/// A socket through the deployment whose hello has arrived.
async fn greeted_socket(deployment: &Deployment, browser: &Browser) -> Socket {
    let mut socket = deployment
        .socket(browser)
        .await
        .unwrap_or_else(|status| panic!("the upgrade got {status}: {}", deployment.proxy_log()));
    assert!(matches!(
        socket.next().await,
        ServerFrame::Hello {
            protocol: PROTOCOL_VERSION,
            ..
        }
    ));
    socket
}

/// Registers one account per address in `addresses`, each sent as `X-Forwarded-For`; the
/// statuses.
async fn sign_ups_from(deployment: &Deployment, addresses: &[&str]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for (n, address) in addresses.iter().enumerate() {
        let mut browser = deployment.browser();
        browser
            .headers
            .insert("x-forwarded-for", address.parse().expect("a header value"));
        let response = browser.register(&format!("user{n}"), PASSWORD).await;
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn the_shipped_nginx_answers_healthz_over_https_from_both_instances_in_turn() {
    let deployment = shipped_nginx().await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(answering_instance(&deployment).await);
    }
    let expected: HashSet<String> = deployment
        .instances
        .iter()
        .map(|app| app.backend.instance().to_string())
        .collect();
    assert_eq!(answers.iter().cloned().collect::<HashSet<_>>(), expected);
    // Strict round robin (one nginx process): each answer differs from the one before.
    assert!(
        answers.windows(2).all(|pair| pair[0] != pair[1]),
        "{answers:?}"
    );
}

#[tokio::test]
async fn a_wss_upgrade_through_the_shipped_nginx_gets_a_hello_and_the_session_is_secure() {
    let deployment = shipped_nginx().await;
    let minji = person(&deployment, "minji").await;
    let cookie = minji.cookie.clone().expect("a session cookie");
    assert!(cookie.starts_with("__Host-"), "{cookie}");
    let _socket = greeted_socket(&deployment, &minji).await;
}

#[tokio::test]
async fn through_the_trusted_nginx_forwarded_https_makes_the_session_secure_even_with_an_http_public_origin()
 {
    let deployment = nginx_with_http_public_origin().await;
    let minji = person(&deployment, "minji").await;
    let cookie = minji.cookie.clone().expect("a session cookie");
    assert!(cookie.starts_with("__Host-"), "{cookie}");
    // The socket from the https page's origin is accepted: Sori expects https origins.
    let _socket = greeted_socket(&deployment, &minji).await;
}

#[tokio::test]
async fn a_message_posted_through_nginx_over_https_arrives_on_a_wss_socket_subscribed_through_it() {
    let deployment = shipped_nginx().await;
    let mut minji = person(&deployment, "minji").await;
    let mut jisoo = person(&deployment, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let mut socket = deployment.socket(&jisoo).await.expect("the upgrade");
    subscribe(&mut socket, room, Some(0)).await;

    // The longest message Sori accepts, in Korean: 12 KB of UTF-8, 36 KB URL-encoded, under
    // the shipped client_max_body_size.
    let longest = "소".repeat(app::model::MessageBody::MAX);
    let (status, ack) = post(&mut minji, room, &uuid(1), &longest).await;
    assert_eq!(status, 200, "{ack}");
    let message = next_message(&mut socket).await;
    assert_eq!(message.body, longest);
    assert_eq!(message.seq, 1);
}

#[tokio::test]
async fn the_shipped_nginx_refuses_a_body_larger_than_any_sori_accepts() {
    let deployment = shipped_nginx().await;
    let too_large = "a".repeat(100_000);
    let response = deployment
        .client()
        .post(deployment.at("/api/messages/send"))
        .form(&[("room", "1"), ("client_id", &uuid(1)), ("body", &too_large)])
        .send()
        .await
        .expect("nginx answers");
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn plain_http_to_the_shipped_nginx_is_redirected_to_https() {
    let deployment = shipped_nginx().await;
    let response = deployment
        .client()
        .get(format!("{}/rooms?x=1", deployment.http_url))
        .send()
        .await
        .expect("nginx answers on http");
    assert_eq!(response.status(), 301);
    // The shipped file redirects to the default https port, where it listens in production.
    assert_eq!(
        response.headers()["location"],
        "https://127.0.0.1/rooms?x=1"
    );
}

#[tokio::test]
async fn a_health_check_with_an_ip_address_as_host_reaches_sori_through_the_shipped_nginx() {
    let deployment = shipped_nginx().await;
    let response = deployment
        .client()
        .get(deployment.at("/healthz"))
        .header("host", "10.0.0.11")
        .send()
        .await
        .expect("nginx answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON from Sori");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn through_the_shipped_nginx_sori_believes_the_forwarded_client_addresses() {
    let deployment = shipped_nginx().await;
    let addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
    assert!(addresses.len() > SIGN_UPS_PER_ADDRESS as usize);
    assert_eq!(
        sign_ups_from(&deployment, &addresses).await,
        [200, 200, 200]
    );
}

#[tokio::test]
async fn the_shipped_caddyfile_serves_healthz_and_a_wss_hello_with_caddys_internal_ca() {
    let deployment = shipped_caddy().await;
    let instance = deployment.instances[0].backend.instance().to_string();
    assert_eq!(answering_instance(&deployment).await, instance);
    let minji = person(&deployment, "minji").await;
    let _socket = greeted_socket(&deployment, &minji).await;
}

#[test]
fn the_shipped_caddyfile_is_as_caddy_fmt_writes_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/caddy/Caddyfile");
    let output = std::process::Command::new("caddy")
        .args(["fmt", path])
        .output()
        .expect("caddy runs (scripts/setup.sh --test installs it)");
    assert!(output.status.success());
    // Caddy warns at every start about a file that is not formatted.
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        proxy::shipped("deploy/caddy/Caddyfile")
    );
}

#[tokio::test]
async fn nginx_without_the_upgrade_headers_answers_the_upgrade_without_101() {
    let deployment = nginx_without_upgrade_headers().await;
    let minji = person(&deployment, "minji").await;
    let refused = deployment.socket(&minji).await.err();
    assert!(
        matches!(refused, Some(status) if status != 101),
        "{refused:?}"
    );
}

#[tokio::test]
async fn nginx_with_a_5_s_read_timeout_cuts_an_idle_socket_before_the_first_heartbeat() {
    let deployment = nginx_with_short_read_timeout().await;
    let minji = person(&deployment, "minji").await;
    let mut socket = greeted_socket(&deployment, &minji).await;
    let idle_since = Instant::now();
    let ended = socket.next_unless_closed(Duration::from_secs(12)).await;
    let after = idle_since.elapsed();
    assert!(ended.is_err(), "the socket was not cut: {ended:?}");
    // 5 s without a byte from Sori, whose first ping is due at 20 s.
    assert!(
        after >= Duration::from_secs(4) && after < Duration::from_secs(10),
        "cut after {after:?}"
    );
}

#[tokio::test]
async fn a_public_origin_other_than_the_url_makes_sori_refuse_sockets_from_the_url() {
    let deployment = nginx_with_wrong_public_origin().await;
    let minji = person(&deployment, "minji").await;
    assert_eq!(deployment.socket(&minji).await.err(), Some(403));
}

#[tokio::test]
async fn instances_on_separate_databases_behind_one_nginx_do_not_know_each_others_sessions() {
    let deployment = nginx_with_separate_databases().await;
    let mut minji = person(&deployment, "minji").await;
    // Round robin: two calls in a row reach both instances, and only one has the session.
    let (first, second) = (minji.me().await, minji.me().await);
    assert!(
        first.is_null() != second.is_null(),
        "first {first}, second {second}"
    );
}

#[tokio::test]
async fn without_trusted_proxies_sori_sees_every_client_as_the_proxy() {
    let deployment = nginx_without_trusted_proxies().await;
    let addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
    let statuses = sign_ups_from(&deployment, &addresses).await;
    // The forwarded addresses are ignored: all three count against nginx's own.
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn nginx_serving_a_static_page_at_ws_answers_the_upgrade_with_that_page() {
    let deployment = nginx_with_static_page_at_ws().await;
    let minji = person(&deployment, "minji").await;
    assert_eq!(deployment.socket(&minji).await.err(), Some(200));
    let page = deployment
        .client()
        .get(deployment.at("/ws/probe"))
        .send()
        .await
        .expect("nginx answers")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("Not Sori."), "{page}");
}

#[test]
fn the_shipped_service_unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // verify checks that ExecStart exists: the copy runs the binary this test was built with
    // instead of /usr/local/bin/sori; nothing else changes.
    let unit = proxy::shipped("deploy/systemd/sori.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/sori\n"));
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/sori\n",
        &format!("ExecStart={}\n", env!("CARGO_BIN_EXE_sori")),
    );
    let path = dir.path().join("sori.service");
    std::fs::write(&path, unit).expect("the unit is written");
    let output = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze runs (scripts/setup.sh --test installs it)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // An unknown or misspelt option is only a warning: none is allowed.
    assert!(stderr.trim().is_empty(), "{stderr}");
}

#[test]
fn the_example_environment_file_lists_every_setting_commented_out() {
    let env = proxy::shipped("deploy/systemd/sori.env");
    assert!(
        env.lines()
            .all(|line| line.is_empty() || line.starts_with('#')),
        "a setting is not commented out"
    );
    let readme = proxy::shipped("README.md");
    let settings: HashSet<&str> = readme
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .filter_map(|line| line.split('`').nth(3))
        .collect();
    assert!(settings.len() > 20, "the README's table was not found");
    for setting in settings {
        assert!(
            env.contains(&format!("\n#{setting}=")),
            "{setting} is missing"
        );
    }
}
