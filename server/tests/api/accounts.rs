//! Accounts and sessions against the real server: every rule of sign-up, sign-in, sessions,
//! cross-site protection and rate limiting.

use std::time::Duration;

use crate::support::TestApp;
use app::backend::clock::Clock;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn signing_up_signs_in_with_a_secure_cookie_and_the_first_user_is_admin() {
    let app = TestApp::spawn().await;
    let mut first = app.browser();
    let response = first.register("minji", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("sori_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert_eq!(response.json::<Value>().await.unwrap(), json!("/"));
    let me = first.me().await;
    assert_eq!(me["username"], "minji");
    assert_eq!(me["is_admin"], true);

    let mut second = app.browser();
    second.register("jisoo", PASSWORD).await;
    assert_eq!(second.me().await["is_admin"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn a_username_taken_in_other_letter_case_is_refused() {
    let app = TestApp::spawn().await;
    app.browser().register("minji", PASSWORD).await;
    let (status, body) = error_of(app.browser().register("Minji", PASSWORD).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid", "field": "username", "problem": "taken"})
    );
    app.shutdown().await;
}

#[tokio::test]
async fn each_sign_up_rule_has_its_typed_error() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            ("mj", "Minji", PASSWORD),
            json!({"field": "username", "problem": "too_short", "min": 3}),
        ),
        (
            ("min ji", "Minji", PASSWORD),
            json!({"field": "username", "problem": "characters"}),
        ),
        (
            ("minji", "  ", PASSWORD),
            json!({"field": "display_name", "problem": "too_short", "min": 1}),
        ),
        (
            ("minji", "Min\tji", PASSWORD),
            json!({"field": "display_name", "problem": "control_characters"}),
        ),
        (
            ("minji", "Minji", "short"),
            json!({"field": "password", "problem": "too_short", "min": 8}),
        ),
    ];
    for ((username, display_name, password), expected) in cases {
        let mut browser = app.browser();
        let form = [
            ("username", username),
            ("display_name", display_name),
            ("password", password),
        ];
        let (status, body) = error_of(browser.call("register", &form).await).await;
        assert_eq!(status, 400, "{username:?}/{display_name:?}");
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(
                &body[key], value,
                "{key} for {username:?}/{display_name:?}: {body}"
            );
        }
        assert!(browser.cookie.is_none(), "a failed sign-up signs nobody in");
    }
    // Nothing was created by the failures: the name is still free.
    assert_eq!(
        app.browser().register("minji", PASSWORD).await.status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_korean_display_name_round_trips() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    let form = [
        ("username", "minji"),
        ("display_name", "  김민지  "),
        ("password", PASSWORD),
    ];
    assert_eq!(browser.call("register", &form).await.status(), 200);
    assert_eq!(browser.me().await["display_name"], "김민지");
    app.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.browser().register("minji", PASSWORD).await;
    let wrong_password = error_of(app.browser().sign_in("minji", "not the password").await).await;
    let unknown_user = error_of(app.browser().sign_in("nobody", PASSWORD).await).await;
    assert_eq!(wrong_password, (401, json!({"error": "wrong_credentials"})));
    assert_eq!(unknown_user, wrong_password);
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_is_case_insensitive_and_replaces_the_session_token() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser.register("Minji", PASSWORD).await;
    let before = browser.cookie.clone().unwrap();
    assert_eq!(browser.sign_in("MINJI", PASSWORD).await.status(), 200);
    let after = browser.cookie.clone().unwrap();
    assert_ne!(before, after, "a new token at sign-in");
    assert_eq!(
        browser.me().await["username"],
        "Minji",
        "shown as typed at sign-up"
    );

    let mut stale = app.browser();
    stale.cookie = Some(before);
    assert_eq!(
        stale.me().await,
        Value::Null,
        "the replaced token no longer works"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_session_expires_after_the_idle_timeout_and_use_slides_it() {
    let clock = Clock::manual(1_700_000_000_000);
    let app = TestApp::spawn_with_clock(clock.clone(), |config| {
        config.auth.session_idle_secs = 3_600;
        config.auth.session_refresh_secs = 60;
    })
    .await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;

    clock.advance(Duration::from_secs(3_000));
    assert_eq!(
        browser.me().await["username"],
        "minji",
        "used within the hour"
    );
    clock.advance(Duration::from_secs(3_000));
    assert_eq!(
        browser.me().await["username"],
        "minji",
        "the use above slid the expiry"
    );
    clock.advance(Duration::from_secs(3_601));
    assert_eq!(
        browser.me().await,
        Value::Null,
        "idle for more than an hour"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_expiry_is_written_at_most_once_per_refresh_interval() {
    let clock = Clock::manual(1_700_000_000_000);
    let app = TestApp::spawn_with_clock(clock.clone(), |config| {
        config.auth.session_idle_secs = 3_600;
        config.auth.session_refresh_secs = 600;
    })
    .await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;
    // Uses inside the refresh interval do not slide the expiry...
    clock.advance(Duration::from_secs(300));
    browser.me().await;
    clock.advance(Duration::from_secs(3_301));
    assert_eq!(
        browser.me().await,
        Value::Null,
        "no refresh happened within 10 minutes"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn signing_out_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;
    let token = browser.cookie.clone();
    let response = browser.call("sign_out", &[]).await;
    assert_eq!(response.status(), 200);
    assert!(browser.cookie.is_none(), "the cookie is cleared");
    let mut replay = app.browser();
    replay.cookie = token;
    assert_eq!(
        replay.me().await,
        Value::Null,
        "the old token is dead on the server too"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user() {
    let app = TestApp::spawn().await;
    let mut laptop = app.browser();
    laptop.register("minji", PASSWORD).await;
    let mut phone = app.browser();
    phone.sign_in("minji", PASSWORD).await;
    let mut other_user = app.browser();
    other_user.register("jisoo", PASSWORD).await;

    assert_eq!(laptop.call("sign_out_everywhere", &[]).await.status(), 200);
    assert_eq!(phone.me().await, Value::Null);
    assert_eq!(laptop.me().await, Value::Null);
    assert_eq!(
        other_user.me().await["username"],
        "jisoo",
        "other users keep theirs"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn settings_change_the_display_name_and_password() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;
    let mut other_device = app.browser();
    other_device.sign_in("minji", PASSWORD).await;

    let renamed = browser
        .call("update_display_name", &[("display_name", "민지")])
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(browser.me().await["display_name"], "민지");

    let wrong = [
        ("current_password", "not it at all"),
        ("new_password", "a brand new one"),
    ];
    let (status, body) = error_of(browser.call("change_password", &wrong).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid", "field": "current_password", "problem": "incorrect"})
    );

    let short = [("current_password", PASSWORD), ("new_password", "short")];
    let (status, body) = error_of(browser.call("change_password", &short).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "new_password");

    let good = [
        ("current_password", PASSWORD),
        ("new_password", "a brand new one"),
    ];
    assert_eq!(browser.call("change_password", &good).await.status(), 200);
    assert_eq!(
        browser.me().await["username"],
        "minji",
        "this session stays"
    );
    assert_eq!(other_device.me().await, Value::Null, "other sessions end");
    assert_eq!(app.browser().sign_in("minji", PASSWORD).await.status(), 401);
    assert_eq!(
        app.browser()
            .sign_in("minji", "a brand new one")
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_frees_the_username() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;
    let wrong = browser
        .call("delete_account", &[("current_password", "nope nope")])
        .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(browser.me().await["username"], "minji", "still there");

    let done = browser
        .call("delete_account", &[("current_password", PASSWORD)])
        .await;
    assert_eq!(done.status(), 200);
    assert!(browser.cookie.is_none());
    assert_eq!(app.browser().sign_in("minji", PASSWORD).await.status(), 401);
    assert_eq!(
        app.browser().register("minji", PASSWORD).await.status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn anonymous_calls_to_account_settings_get_401() {
    let app = TestApp::spawn().await;
    let mut anonymous = app.browser();
    let response = anonymous
        .call("update_display_name", &[("display_name", "x")])
        .await;
    assert_eq!(
        error_of(response).await,
        (401, json!({"error": "unauthenticated"}))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_cross_origin_post_is_refused_with_403() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;

    browser
        .headers
        .insert("origin", "https://evil.example".parse().unwrap());
    let (status, body) = error_of(browser.call("sign_out", &[]).await).await;
    assert_eq!((status, body), (403, json!({"error": "cross_site"})));

    browser.headers.remove("origin");
    browser
        .headers
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(browser.call("sign_out", &[]).await.status(), 403);

    browser.headers.clear();
    assert_eq!(
        browser.me().await["username"],
        "minji",
        "the session survived"
    );

    let origin = format!("http://{}", app.addr);
    browser.headers.insert("origin", origin.parse().unwrap());
    assert_eq!(
        browser.call("sign_out", &[]).await.status(),
        200,
        "same origin passes"
    );
    app.shutdown().await;
}

/// A server whose clock stands still, so a rate limit cannot leak capacity while the test runs.
async fn spawn_with_frozen_clock(adjust: impl FnOnce(&mut server::Config)) -> TestApp {
    TestApp::spawn_with_clock(Clock::manual(1_700_000_000_000), adjust).await
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address_with_retry_after() {
    let app = spawn_with_frozen_clock(|_| {}).await;
    app.browser().register("minji", PASSWORD).await;
    for attempt in 0..10 {
        let status = app
            .browser()
            .sign_in("minji", "wrong password")
            .await
            .status();
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let limited = app.browser().sign_in("minji", PASSWORD).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry_after, 6,
        "one attempt frees up every 6 s at 10 a minute"
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "rate_limited", "retry_after_secs": retry_after})
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_username_across_addresses() {
    let app = spawn_with_frozen_clock(|config| {
        config.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.browser().register("minji", PASSWORD).await;
    for attempt in 0..10 {
        let mut browser = app.browser();
        let address = format!("198.51.100.{attempt}");
        browser
            .headers
            .insert("x-forwarded-for", address.parse().unwrap());
        assert_eq!(
            browser.sign_in("minji", "wrong password").await.status(),
            401
        );
    }
    let mut fresh_address = app.browser();
    fresh_address
        .headers
        .insert("x-forwarded-for", "203.0.113.1".parse().unwrap());
    assert_eq!(
        fresh_address.sign_in("minji", PASSWORD).await.status(),
        429,
        "the username is locked"
    );
    assert_eq!(
        fresh_address.sign_in("someone", PASSWORD).await.status(),
        401,
        "other names are not"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_cannot_escape_the_limit() {
    let app = spawn_with_frozen_clock(|_| {}).await;
    for attempt in 0..10 {
        let mut browser = app.browser();
        let address = format!("198.51.100.{attempt}");
        browser
            .headers
            .insert("x-forwarded-for", address.parse().unwrap());
        browser
            .sign_in(&format!("user{attempt}"), "wrong password")
            .await;
    }
    let mut browser = app.browser();
    browser
        .headers
        .insert("x-forwarded-for", "203.0.113.1".parse().unwrap());
    assert_eq!(browser.sign_in("anyone", PASSWORD).await.status(), 429);
    app.shutdown().await;
}

#[tokio::test]
async fn a_form_post_without_javascript_redirects_back_with_the_error_or_onward() {
    let app = TestApp::spawn().await;
    app.browser().register("minji", PASSWORD).await;
    let mut browser = app.browser();
    browser
        .headers
        .insert("accept", "text/html".parse().unwrap());
    let referer = format!("http://{}/login?next=/settings", app.addr);
    browser.headers.insert("referer", referer.parse().unwrap());

    let failed = browser.sign_in("minji", "wrong password").await;
    assert_eq!(failed.status(), 302);
    let location = failed.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&referer) && location.contains("__err="),
        "{location}"
    );

    let form = [
        ("username", "minji"),
        ("password", PASSWORD),
        ("next", "/settings"),
    ];
    let signed_in = browser.call("sign_in", &form).await;
    assert_eq!(signed_in.status(), 302);
    assert_eq!(signed_in.headers()["location"], "/settings");
    assert!(browser.cookie.is_some());
    app.shutdown().await;
}

#[tokio::test]
async fn next_must_be_a_path_on_this_site() {
    let app = TestApp::spawn().await;
    app.browser().register("minji", PASSWORD).await;
    let mut browser = app.browser();
    let form = [
        ("username", "minji"),
        ("password", PASSWORD),
        ("next", "//evil.example/x"),
    ];
    let response = browser.call("sign_in", &form).await;
    assert_eq!(response.json::<Value>().await.unwrap(), json!("/"));
    app.shutdown().await;
}

#[tokio::test]
async fn pages_that_need_a_user_redirect_to_sign_in_and_render_for_a_user() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    // What a browser sends when it navigates.
    browser
        .headers
        .insert("accept", "text/html".parse().unwrap());
    let anonymous = browser.get("/settings").await;
    assert_eq!(anonymous.status(), 302);
    assert_eq!(anonymous.headers()["location"], "/login?next=/settings");

    browser.register("minji", PASSWORD).await;
    let page = browser.get("/settings").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in as"), "{html}");
    assert!(
        html.contains(r#"value="minji""#) || html.contains("minji"),
        "{html}"
    );
    app.shutdown().await;
}
