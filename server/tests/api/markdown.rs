//! Markdown through the real server: a post is parsed once into its rendered form, which the
//! history, the socket and the served page all carry, with the source kept for editing; an
//! edit renders again; unsafe links and raw HTML never become markup.

use app::model::rich::{Block, Inline, RichText};
use app::protocol::{MessageView, ServerFrame};

use crate::support::TestApp;
use crate::support::chat::{call_json, person, post, room_with, subscribed, uuid};

const SOURCE: &str =
    "**bold** [x](javascript:alert(1)) <script>alert(1)</script> see https://example.com/a.";

fn has_strong(rich: &RichText) -> bool {
    rich.blocks.iter().any(|block| {
        matches!(block, Block::Paragraph { inlines }
            if inlines.iter().any(|inline| matches!(inline, Inline::Strong { .. })))
    })
}

fn links(rich: &RichText) -> Vec<String> {
    let mut hrefs = Vec::new();
    for block in &rich.blocks {
        if let Block::Paragraph { inlines } = block {
            for inline in inlines {
                if let Inline::Link { href, .. } = inline {
                    hrefs.push(href.clone());
                }
            }
        }
    }
    hrefs
}

#[tokio::test]
async fn a_post_keeps_its_source_and_is_served_in_its_rendered_form() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let room = room_with(&mut ana, &mut []).await;
    let (status, ack) = post(&mut ana, room, &uuid(1), SOURCE).await;
    assert_eq!(status, 200, "{ack}");

    let (status, page) =
        call_json(&mut ana, "messages/history", &[("room", &room.to_string())]).await;
    assert_eq!(status, 200, "{page}");
    let messages: Vec<MessageView> = serde_json::from_value(page["messages"].clone()).unwrap();
    assert_eq!(messages[0].body, SOURCE, "the source, for editing");
    assert!(has_strong(&messages[0].rich), "{:?}", messages[0].rich);
    assert_eq!(links(&messages[0].rich), ["https://example.com/a"]);

    let html = ana
        .get(&format!("/rooms/{room}"))
        .await
        .text()
        .await
        .unwrap();
    // Without the hydration markers (`<!>`) between text nodes.
    let html = html.replace("<!>", "");
    assert!(
        html.contains("<p><strong>bold</strong> x &lt;script&gt;"),
        "formatted on the server, the unsafe link as its text"
    );
    assert!(
        html.contains(
            r#"href="https://example.com/a" target="_blank" rel="noopener noreferrer nofollow""#
        ),
        "a bare address is a link that opens safely"
    );
    assert!(!html.contains("href=\"javascript:"), "no script link");
    assert!(!html.contains("<script>alert(1)"), "raw HTML is text");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "shown as typed"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_edit_renders_again_and_reaches_subscribers_in_its_new_form() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let room = room_with(&mut ana, &mut []).await;
    let (_, ack) = post(&mut ana, room, &uuid(1), "plain at first").await;
    let (mut socket, last_seq) = subscribed(&app, &ana, room, Some(0)).await;
    assert_eq!(last_seq, 1);
    let (status, edited) = call_json(
        &mut ana,
        "messages/edit",
        &[("id", &ack["id"].to_string()), ("body", "now **bold**")],
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    let changed = loop {
        match socket.next().await {
            ServerFrame::Changed { message, .. } => break message,
            ServerFrame::Message { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(changed.body, "now **bold**");
    assert!(has_strong(&changed.rich), "{:?}", changed.rich);
    app.shutdown().await;
}
