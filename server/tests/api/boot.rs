//! The server boots on port 0, answers its probes and renders pages.

use std::time::Duration;

use crate::support::TestApp;

#[tokio::test]
async fn healthz_answers_without_the_database_and_for_any_host() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("Host", "10.1.2.3:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    app.shutdown().await;
}

#[tokio::test]
async fn healthz_names_the_instance_with_an_id_fresh_at_every_start() {
    async fn instance_of(app: &TestApp) -> String {
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        let instance = body["instance"]
            .as_str()
            .expect("an instance id")
            .to_owned();
        assert_eq!(instance.len(), 16, "{body}");
        instance
    }
    let first = TestApp::spawn().await;
    let second = TestApp::spawn().await;
    let id = instance_of(&first).await;
    assert_eq!(instance_of(&first).await, id, "the same for the whole run");
    assert_ne!(instance_of(&second).await, id, "each start draws its own");
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn readyz_reports_that_the_database_answers() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    app.shutdown().await;
}

#[tokio::test]
async fn the_home_page_is_server_rendered_with_the_product_name() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains(r#"<html lang="en""#), "{html}");
    assert!(html.contains(r#"name="viewport""#), "{html}");
    assert!(html.contains("<h1>Sori</h1>"), "{html}");
    assert!(
        html.contains("/pkg/sori.css"),
        "the stylesheet is linked: {html}"
    );
    assert!(
        html.contains("/pkg/sori.js"),
        "the hydration script is linked: {html}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_unknown_path_renders_the_not_found_page_with_status_404() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_status_server_function_has_a_stable_endpoint() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["instance_created_ms"].as_i64().unwrap() > 1_600_000_000_000);
    app.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let app = TestApp::spawn().await;
    let url = app.url("/healthz");
    let client = app.client.clone();
    app.shutdown().await;
    let refused = client
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect_err("nothing listens after shutdown");
    assert!(refused.is_connect() || refused.is_timeout(), "{refused}");
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_boot_error() {
    let first = TestApp::spawn().await;
    let taken = first.addr;
    let data = tempfile::tempdir().unwrap();
    let mut config = server::Config::for_tests(&data.path().join("sori.db"));
    config.addr = Some(taken);
    let error = server::Application::build(config)
        .await
        .err()
        .expect("the second bind fails");
    let message = error.to_string();
    assert!(message.contains("already in use"), "{message}");
    assert!(message.contains("SORI_ADDR"), "{message}");
    first.shutdown().await;
}

/// Servers share a process in these tests, and parallel tests boot them while others serve
/// pages. Booting one once left some of another's page requests waiting forever (see
/// `site::ROUTES`); here a second thread boots and stops servers in a loop while this one asks
/// for pages, and every request must be answered.
#[tokio::test]
async fn pages_answer_while_another_server_boots_in_the_same_process() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser
        .register("minji", crate::support::chat::PASSWORD)
        .await;
    let cookie = browser.cookie.clone().expect("signed in");

    let stop = Arc::new(AtomicBool::new(false));
    let booted = Arc::new(AtomicUsize::new(0));
    let booter = std::thread::spawn({
        let (stop, booted) = (stop.clone(), booted.clone());
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                while !stop.load(Ordering::Relaxed) {
                    TestApp::spawn().await.shutdown().await;
                    booted.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = app.url("/settings");
    let mut unanswered = 0;
    for round in 0..300 {
        let mut request = client.get(&url).header("accept", "text/html");
        if round % 2 == 1 {
            request = request.header("cookie", &cookie);
        }
        match request.send().await {
            Ok(response) => assert!([200, 302].contains(&response.status().as_u16())),
            Err(_) => unanswered += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    booter.join().expect("the booting thread ends");
    assert!(
        booted.load(Ordering::Relaxed) > 0,
        "no server booted alongside"
    );
    assert_eq!(
        unanswered, 0,
        "{unanswered} of 300 page requests got no answer"
    );
    app.shutdown().await;
}
