//! Issue #15, item 7: request bodies are capped per endpoint (64 KiB by default), and an
//! oversized one gets 413 with the typed `too_large` error, however its size is (not)
//! declared.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::TestApp;
use crate::support::raw_http::{self, read_response};

const LIMIT: usize = 64 * 1024;

fn expect_too_large(response: &raw_http::RawResponse) {
    assert_eq!(response.status, 413, "{response:?}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "{response:?}"
    );
    assert_eq!(
        response.json(),
        serde_json::json!({"error": "too_large", "limit_bytes": LIMIT})
    );
}

#[tokio::test]
async fn a_server_function_body_over_64_kib_gets_413_with_a_typed_error() {
    let app = TestApp::spawn().await;
    let username = "u".repeat(LIMIT + 1);
    let response = app
        .client
        .post(app.url("/api/sign_in"))
        .form(&[("username", username.as_str()), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "too_large", "limit_bytes": LIMIT})
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_body_just_under_the_limit_still_reaches_its_server_function() {
    let app = TestApp::spawn().await;
    // Large, but under the cap: the function itself judges it (the username is too long).
    let username = "u".repeat(LIMIT - 100);
    let response = app
        .client
        .post(app.url("/api/sign_in"))
        .form(&[("username", username.as_str()), ("password", "x")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(status != 413 && status != 500, "{status} {body}");
    assert_ne!(body["error"], "too_large");
    app.shutdown().await;
}

#[tokio::test]
async fn a_chunked_body_without_a_length_is_cut_at_the_limit() {
    let app = TestApp::spawn().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // 8 chunks of 16 KiB: 128 KiB in all. The server may answer (and stop reading) before
    // the last ones are written, so a failed write ends the sending, not the test.
    let chunk = format!("4000\r\n{}\r\n", "u".repeat(0x4000));
    for _ in 0..8 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let response = read_response(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer, not a bare close");
    expect_too_large(&response);
    app.shutdown().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_arrives() {
    let app = TestApp::spawn().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // It claims 10 GB and sends 10 bytes: waiting for the rest would hang until a timeout.
    let head = format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 10000000000\r\n\r\nusername=u",
        app.addr
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let response = read_response(&mut stream, Duration::from_secs(5))
        .await
        .expect("an answer, not a bare close");
    expect_too_large(&response);
    assert!(started.elapsed() < Duration::from_secs(2));
    app.shutdown().await;
}

#[tokio::test]
async fn a_form_post_to_a_page_route_is_capped_too() {
    let app = TestApp::spawn().await;
    let body = "x".repeat(LIMIT + 1);
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    let response = raw_http::exchange(app.addr, request.as_bytes()).await;
    expect_too_large(&response);
    app.shutdown().await;
}
