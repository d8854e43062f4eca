//! Issue #15, item 10: the security headers are on every response (a page, a server
//! function, a static file, a 404, a refusal), the page's inline scripts carry the nonce its
//! CSP names, and HSTS is sent on https only.

use reqwest::header::HeaderMap;

use crate::support::TestApp;
use crate::support::raw_http;

/// The nonce the CSP allows, after checking every other directive the issue asks for.
fn assert_security_headers(what: &str, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} in {headers:?}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let policy = header("content-security-policy");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "connect-src 'self' ws://127.0.0.1:",
    ] {
        assert!(
            policy.contains(directive),
            "{what}: {directive} missing in {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{what}: {policy}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
    let permissions = header("permissions-policy");
    for feature in ["camera=()", "microphone=()", "geolocation=()"] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    assert!(
        headers.get("strict-transport-security").is_none(),
        "{what}: HSTS over plain http"
    );
    let script_src = policy
        .split(';')
        .find(|directive| directive.trim().starts_with("script-src"))
        .expect("a script-src");
    let nonce = script_src
        .split_whitespace()
        .find_map(|source| source.strip_prefix("'nonce-"))
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{what}: no nonce in {script_src}"));
    assert!(nonce.len() >= 16, "{what}: a short nonce {nonce}");
    nonce.to_owned()
}

/// Every `<script` tag of `html`.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script")
        .map(|(start, _)| {
            let end = html[start..]
                .find('>')
                .map_or(html.len(), |end| start + end + 1);
            &html[start..end]
        })
        .collect()
}

#[tokio::test]
async fn a_page_names_a_fresh_nonce_in_its_policy_and_on_every_inline_script() {
    let app = TestApp::spawn().await;
    let mut nonces = Vec::new();
    for path in ["/", "/login"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let nonce = assert_security_headers(path, response.headers());
        let html = response.text().await.unwrap();
        let scripts = script_tags(&html);
        assert!(
            !scripts.is_empty(),
            "{path}: the hydration scripts are missing"
        );
        for tag in scripts {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: a script without the response's nonce: {tag}"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "the nonce must be fresh per response");
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_function_a_static_file_a_404_and_a_refusal_carry_the_headers_too() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("robots.txt"), "User-agent: *\n").unwrap();
    let root = site.path().to_owned();
    let app = TestApp::spawn_with(|config| config.site_root = Some(root)).await;

    let api = app.client.post(app.url("/api/me")).send().await.unwrap();
    assert_eq!(api.status(), 200);
    assert_security_headers("/api/me", api.headers());

    let file = app.client.get(app.url("/robots.txt")).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_security_headers("a static file", file.headers());
    assert_eq!(file.text().await.unwrap(), "User-agent: *\n");

    let missing = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_security_headers("a 404", missing.headers());

    let foreign = app
        .client
        .post(app.url("/api/me"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert_security_headers("a cross-site refusal", foreign.headers());

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_security_headers("/healthz", health.headers());
    app.shutdown().await;
}

#[tokio::test]
async fn hsts_is_sent_on_https_requests_only() {
    // A trusted proxy (loopback) says whether the browser used https.
    let app = TestApp::spawn_with(|config| {
        config.auth.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let plain = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(plain.headers().get("strict-transport-security").is_none());
    let https = app
        .client
        .get(app.url("/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let hsts = https.headers().get("strict-transport-security");
    assert_eq!(hsts.unwrap().to_str().unwrap(), "max-age=31536000");
    let policy = https.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("connect-src 'self' wss://"), "{policy}");
    app.shutdown().await;

    let https_origin = TestApp::spawn_with(|config| {
        config.public_origin = Some("https://chat.example.org".into());
    })
    .await;
    let response = https_origin
        .client
        .get(https_origin.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_some()
    );
    https_origin.shutdown().await;
}

#[tokio::test]
async fn an_oversized_body_refused_before_any_route_still_gets_the_headers() {
    let app = TestApp::spawn().await;
    let request = format!(
        "POST /api/me HTTP/1.1\r\nHost: {}\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n",
        app.addr
    );
    let response = raw_http::exchange(app.addr, request.as_bytes()).await;
    assert_eq!(response.status, 413);
    assert!(response.header("content-security-policy").is_some());
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    app.shutdown().await;
}
