//! The limits an attacker meets before any costly work: overlong usernames refused before a
//! rate limiter sees them, the current-password checks of the settings page limited like
//! sign-in, and IPv6 clients limited by their /64 wherever an address keys a limit.

use std::time::Duration;

use app::backend::clock::Clock;
use app::protocol::probe::{ProbeRefusal, ProbeServerFrame};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::TestApp;
use crate::support::browser::Browser;

const PASSWORD: &str = "velvet harbor quantum 58";

/// A server whose clock stands still, so a rate limit cannot leak capacity while the test runs.
async fn spawn_with_frozen_clock(adjust: impl FnOnce(&mut server::Config)) -> TestApp {
    TestApp::spawn_with_clock(Clock::manual(1_700_000_000_000), adjust).await
}

/// A browser whose requests arrive through the trusted proxy from `address`.
fn browser_from(app: &TestApp, address: &str) -> Browser {
    let mut browser = app.browser();
    browser
        .headers
        .insert("x-forwarded-for", address.parse().unwrap());
    browser
}

#[tokio::test]
async fn an_overlong_username_at_sign_in_is_refused_as_a_field_error_before_the_rate_limit() {
    let app = spawn_with_frozen_clock(|_| {}).await;
    app.browser().register("minji", PASSWORD).await;
    let overlong = "m".repeat(10_000);
    // Far more attempts than the limit allows (10 a minute): none of them reaches it.
    for attempt in 0..15 {
        let response = app.browser().sign_in(&overlong, "wrong password").await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "attempt {attempt}: {body}");
        assert_eq!(
            body,
            json!({"error": "invalid", "field": "username", "problem": "too_long", "max": 32})
        );
    }
    assert_eq!(
        app.browser().sign_in("minji", PASSWORD).await.status(),
        200,
        "the address was never charged"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_current_passwords_in_the_settings_are_rate_limited_per_user_and_session() {
    let app = spawn_with_frozen_clock(|_| {}).await;
    let mut browser = app.browser();
    assert_eq!(browser.register("minji", PASSWORD).await.status(), 200);
    let wrong_change = [
        ("current_password", "not my password"),
        ("new_password", "another velvet harbor 91"),
    ];
    for attempt in 0..10 {
        let response = browser.call("change_password", &wrong_change).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "attempt {attempt}: {body}");
        assert_eq!(body["problem"], "incorrect", "attempt {attempt}");
    }
    let limited = browser.call("change_password", &wrong_change).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "6");
    // Deleting the account checks the same password against the same budget.
    let delete = [("current_password", PASSWORD)];
    assert_eq!(browser.call("delete_account", &delete).await.status(), 429);
    // So does another session of the same user, signed in from elsewhere.
    let mut elsewhere = app.browser();
    let other_address = [("current_password", PASSWORD)];
    assert_eq!(elsewhere.sign_in("minji", PASSWORD).await.status(), 200);
    assert_eq!(
        elsewhere
            .call("delete_account", &other_address)
            .await
            .status(),
        429,
        "the user is limited, not only the session"
    );
    assert_eq!(
        browser.me().await["username"],
        "minji",
        "nothing was deleted"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn ipv6_clients_share_the_sign_up_limit_of_their_slash_64() {
    let app = spawn_with_frozen_clock(|config| {
        config.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        config.auth.sign_up_per_hour = 2;
    })
    .await;
    for (n, address) in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::2"]
        .into_iter()
        .enumerate()
    {
        let response = browser_from(&app, address)
            .register(&format!("user{n}"), PASSWORD)
            .await;
        assert_eq!(response.status(), 200, "{address}");
    }
    let same_net = browser_from(&app, "2001:db8:1:2:abcd:ef01:2345:6789")
        .register("user2", PASSWORD)
        .await;
    assert_eq!(same_net.status(), 429, "a third address in the same /64");
    let next_net = browser_from(&app, "2001:db8:1:3::1")
        .register("user3", PASSWORD)
        .await;
    assert_eq!(next_net.status(), 200, "the next /64 is someone else");
    app.shutdown().await;
}

#[tokio::test]
async fn an_ipv4_client_seen_as_ipv4_mapped_ipv6_shares_its_sign_in_limit() {
    let app = spawn_with_frozen_clock(|config| {
        config.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for attempt in 0..10 {
        let address = if attempt % 2 == 0 {
            "203.0.113.7"
        } else {
            "::ffff:203.0.113.7"
        };
        let status = browser_from(&app, address)
            .sign_in(&format!("nobody{attempt}"), "wrong password")
            .await
            .status();
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let status = browser_from(&app, "::ffff:203.0.113.7")
        .sign_in("nobody", "wrong password")
        .await
        .status();
    assert_eq!(status, 429);
    app.shutdown().await;
}

/// Opens `/ws/probe` as if from `address` behind the trusted proxy, and returns its first
/// frame.
async fn first_probe_frame(app: &TestApp, address: &str) -> ProbeServerFrame {
    let mut request = format!("ws://{}/ws/probe", app.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", HeaderValue::from_str(&app.origin()).unwrap());
    headers.insert("x-forwarded-for", HeaderValue::from_str(address).unwrap());
    let (mut stream, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("the probe opens in time")
    .expect("the upgrade succeeds");
    let message = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a first frame in time");
    let Some(Ok(Message::Text(text))) = message else {
        panic!("no first frame: {message:?}");
    };
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn probe_sockets_from_one_ipv6_slash_64_share_its_rate() {
    let app = TestApp::spawn_with(|config| {
        config.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        config.probe.burst = 2;
        config.probe.interval_ms = 600_000;
    })
    .await;
    for address in ["2001:db8:7:7::1", "2001:db8:7:7::2"] {
        let frame = first_probe_frame(&app, address).await;
        assert!(matches!(frame, ProbeServerFrame::Hello { .. }), "{frame:?}");
    }
    let frame = first_probe_frame(&app, "2001:db8:7:7::3").await;
    assert!(
        matches!(
            frame,
            ProbeServerFrame::Refused {
                reason: ProbeRefusal::RateLimited { .. }
            }
        ),
        "{frame:?}"
    );
    let frame = first_probe_frame(&app, "2001:db8:7:8::1").await;
    assert!(matches!(frame, ProbeServerFrame::Hello { .. }), "{frame:?}");
    app.shutdown().await;
}
