//! The rules on what people type that the server enforces whatever the browser does:
//! passwords must be hard to guess (with the estimator's advice in the field error), and
//! names people read (display names, room names) refuse invisible characters.

use serde_json::{Value, json};

use crate::support::TestApp;

const PASSWORD: &str = "velvet harbor quantum 58";

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_weak_password_is_refused_at_sign_up_with_a_reason_and_advice() {
    let app = TestApp::spawn().await;
    for weak in ["password123", "qwertyuiop", "minji2024!"] {
        let (status, body) = error_of(app.browser().register("minji", weak).await).await;
        assert_eq!(status, 400, "{weak}: {body}");
        assert_eq!(body["field"], "password", "{weak}: {body}");
        assert_eq!(body["problem"], "weak", "{weak}: {body}");
        let advice = body["suggestions"].as_array().unwrap();
        assert!(
            !body["warning"].as_str().unwrap().is_empty() || !advice.is_empty(),
            "{weak}: some reason is given: {body}"
        );
    }
    assert_eq!(
        app.browser().register("minji", PASSWORD).await.status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_weak_new_password_is_refused_and_the_old_one_still_works() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;
    let weak = [
        ("current_password", PASSWORD),
        ("new_password", "iloveyou1"),
    ];
    let (status, body) = error_of(browser.call("change_password", &weak).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "new_password", "{body}");
    assert_eq!(body["problem"], "weak", "{body}");
    assert_eq!(app.browser().sign_in("minji", PASSWORD).await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn display_names_with_bidi_overrides_or_zero_width_characters_are_refused() {
    let app = TestApp::spawn().await;
    let form = [
        ("username", "minji"),
        ("display_name", "Minji\u{202E}nimda"),
        ("password", PASSWORD),
    ];
    let (status, body) = error_of(app.browser().call("register", &form).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid", "field": "display_name", "problem": "invisible_character", "code_point": 0x202E})
    );
    let mut browser = app.browser();
    assert_eq!(browser.register("minji", PASSWORD).await.status(), 200);
    let renamed = browser
        .call("update_display_name", &[("display_name", "Min\u{200B}ji")])
        .await;
    let (status, body) = error_of(renamed).await;
    assert_eq!(status, 400);
    assert_eq!(body["problem"], "invisible_character");
    assert_eq!(body["code_point"], 0x200B);
    assert_eq!(browser.me().await["display_name"], "minji", "unchanged");
    app.shutdown().await;
}

#[tokio::test]
async fn room_names_with_invisible_characters_are_refused() {
    let app = TestApp::spawn().await;
    let mut owner = app.browser();
    owner.register("minji", PASSWORD).await;
    let spoof = [("name", "general\u{2067}"), ("topic", "")];
    let (status, body) = error_of(owner.call("rooms/create", &spoof).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "room_name");
    assert_eq!(body["problem"], "invisible_character");
    let (_, rooms) = error_of(owner.call("rooms/list", &[]).await).await;
    assert_eq!(rooms, json!([]), "nothing was created");
    app.shutdown().await;
}
