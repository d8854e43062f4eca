//! What a trusted proxy's `X-Forwarded-Proto: https` changes, against a server whose public
//! origin is written on `http://` (TLS ends at the proxy): the session cookie becomes
//! `Secure` with the `__Host-` prefix, and browsers' `https` origin is the one expected, on
//! form posts and on the socket. From a peer Sori does not trust, the same header changes
//! nothing. (Through the shipped nginx: `deploy.rs`.)

use crate::support::TestApp;
use crate::support::socket::Socket;
use reqwest::header::HeaderValue;

const PASSWORD: &str = "correct horse battery";

/// A server that trusts loopback, where the tests connect from, as its proxy; or not.
async fn spawn(trust_loopback: bool) -> TestApp {
    TestApp::spawn_with(|config| {
        if trust_loopback {
            config.auth.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        }
    })
    .await
}

fn said_https(browser: &mut crate::support::browser::Browser) {
    browser
        .headers
        .insert("x-forwarded-proto", HeaderValue::from_static("https"));
}

/// The `Set-Cookie` of signing up as `name`.
async fn sign_up_cookie(browser: &mut crate::support::browser::Browser, name: &str) -> String {
    let response = browser.register(name, PASSWORD).await;
    assert_eq!(response.status(), 200);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn https_forwarded_by_a_trusted_proxy_gets_the_secure_host_cookie() {
    let app = spawn(true).await;
    let mut browser = app.browser();
    said_https(&mut browser);
    let set_cookie = sign_up_cookie(&mut browser, "minji").await;
    assert!(
        set_cookie.starts_with("__Host-sori_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(set_cookie.contains("; Path=/") && !set_cookie.contains("Domain"));
    assert_eq!(
        browser.me().await["username"],
        "minji",
        "the cookie is read back"
    );

    // The same cookie over plain http (no forwarded https) is not read: it is another name.
    browser.headers.clear();
    assert!(browser.me().await.is_null());
    app.shutdown().await;
}

#[tokio::test]
async fn https_forwarded_by_an_untrusted_peer_changes_nothing() {
    let app = spawn(false).await;
    let mut browser = app.browser();
    said_https(&mut browser);
    let set_cookie = sign_up_cookie(&mut browser, "minji").await;
    assert!(set_cookie.starts_with("sori_session="), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");

    // And the origin expected stays the configured http one.
    let https_origin = app.origin().replacen("http://", "https://", 1);
    browser
        .headers
        .insert("origin", HeaderValue::from_str(&https_origin).unwrap());
    assert_eq!(browser.call("sign_out", &[]).await.status(), 403);
    app.shutdown().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_saying_https_the_https_origin_is_expected_on_posts() {
    let app = spawn(true).await;
    let mut browser = app.browser();
    said_https(&mut browser);
    sign_up_cookie(&mut browser, "minji").await;
    // An https page sends an https Origin; the http one cannot come from it.
    browser
        .headers
        .insert("origin", HeaderValue::from_str(&app.origin()).unwrap());
    assert_eq!(browser.call("sign_out", &[]).await.status(), 403);
    browser.headers.remove("origin");
    assert_eq!(browser.me().await["username"], "minji", "still signed in");
    let https_origin = app.origin().replacen("http://", "https://", 1);
    browser
        .headers
        .insert("origin", HeaderValue::from_str(&https_origin).unwrap());
    assert_eq!(browser.call("sign_out", &[]).await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_saying_https_the_socket_expects_the_https_origin() {
    let app = spawn(true).await;
    let mut browser = app.browser();
    said_https(&mut browser);
    sign_up_cookie(&mut browser, "minji").await;
    let cookie = browser.cookie.clone().expect("a session cookie");
    let https_origin = app.origin().replacen("http://", "https://", 1);
    let url = format!("ws://{}/ws", app.addr);
    let open = |origin: String| {
        let cookie = cookie.clone();
        let url = url.clone();
        async move { Socket::open_forwarded_https(&url, &cookie, &origin).await }
    };
    assert_eq!(open(app.origin()).await.err(), Some(403));
    assert!(open(https_origin).await.is_ok());
    app.shutdown().await;
}
