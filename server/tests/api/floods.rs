//! Floods: a client sending frames as fast as it can, one opening sockets in a loop, and one
//! posting beyond its rate are each cut off or refused, while a well-behaved pair in the same
//! room (one posting, one watching) sees every message arrive. The watcher's latencies with
//! and without the floods are printed (`--nocapture`) for the closing notes; they are not
//! asserted, since timings on a shared machine are noise.

use std::time::{Duration, Instant};

use app::model::RoomId;
use app::protocol::{ClientFrame, ServerFrame};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{person, post, room_with, subscribe, uuid};
use crate::support::socket::{Closed, Socket};

/// Messages the well-behaved poster sends in each run, one at a time.
const POSTS: u32 = 20;

/// Posts `POSTS` messages as `poster` and returns how long each took to reach `watcher`'s
/// socket, from the start of the post.
async fn deliveries(
    poster: &mut Browser,
    watcher: &mut Socket,
    room: RoomId,
    tag: &str,
    first: u32,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for n in first..first + POSTS {
        let body = format!("{tag} {n}");
        let started = Instant::now();
        let (status, ack) = post(poster, room, &uuid(n), &body).await;
        assert_eq!(status, 200, "the well-behaved post {n} is refused: {ack}");
        // Frames of others (the flooders' messages, typing) may come in between.
        loop {
            match watcher.next_within(Duration::from_secs(5)).await {
                Some(ServerFrame::Message { message }) if message.body == body => break,
                Some(_) => continue,
                None => panic!("{body} did not reach the watcher within 5 s"),
            }
        }
        latencies.push(started.elapsed());
    }
    latencies
}

fn p99_ms(latencies: &[Duration]) -> f64 {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let index = (sorted.len() * 99).div_ceil(100).saturating_sub(1);
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::test]
#[allow(
    clippy::print_stdout,
    reason = "the latencies are for the closing notes (seen with --nocapture)"
)]
async fn floods_are_cut_off_and_a_well_behaved_client_in_the_room_gets_every_message() {
    let app = TestApp::spawn_with(|config| {
        // Room for the two well-behaved runs; the post flooder still meets the limit.
        config.messages.messages_per_window = 2 * POSTS;
        config.messages.message_window_secs = 60;
    })
    .await;
    let mut alice = person(&app, "alice").await;
    let mut watcher = person(&app, "watcher").await;
    let mut mallory = person(&app, "mallory").await;
    let room = room_with(&mut alice, &mut [&mut watcher, &mut mallory]).await;
    let mut watching = app.socket(&watcher).await;
    subscribe(&mut watching, room, None).await;

    let quiet = deliveries(&mut alice, &mut watching, room, "quiet", 0).await;

    // 1. Frames as fast as the socket takes them.
    let mut frames = app.socket(&mallory).await;
    subscribe(&mut frames, room, None).await;
    let frame_flood = tokio::spawn(async move {
        let typing = serde_json::to_string(&ClientFrame::Typing { room }).unwrap();
        let mut sent = 0u32;
        // In batches, looking for the server's close between them: a client that went on
        // writing after it would only meet a reset, which swallows the close frame.
        while sent < 100_000 {
            for _ in 0..50 {
                let message = tokio_tungstenite::tungstenite::Message::text(typing.clone());
                if frames.try_send_raw(message).await.is_err() {
                    return (sent, frames.close_within(Duration::from_secs(5)).await);
                }
                sent += 1;
            }
            if let Some(closed) = frames.close_within(Duration::from_millis(5)).await {
                return (sent, Some(closed));
            }
        }
        (sent, None)
    });
    // 2. Sockets opened in a loop, kept open.
    let connect_addr = app.addr;
    let origin = app.origin();
    let cookie = mallory.cookie.clone();
    let connection_flood = tokio::spawn(async move {
        let mut sockets = Vec::new();
        for _ in 0..40 {
            if let Ok(socket) = Socket::open(connect_addr, cookie.as_deref(), Some(&origin)).await {
                sockets.push(socket);
            }
        }
        let mut refused = 0;
        for socket in &mut sockets {
            // Admitted sockets say hello; the ones past the limit are closed at once.
            if let Closed::Code(1008, reason) = socket.closed_or_hello().await {
                assert_eq!(reason, "too many connections");
                refused += 1;
            }
        }
        (40 - sockets.len() + refused, sockets)
    });
    // 3. Posts beyond the rate.
    let posts_base = format!("http://{}", app.addr);
    let mut flooder = Browser::new(&posts_base);
    flooder.cookie = mallory.cookie.clone();
    let post_flood = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for n in 0..3 * POSTS {
            let (status, _) = post(&mut flooder, room, &uuid(10_000 + n), "flood").await;
            statuses.push(status);
        }
        statuses
    });

    let loud = deliveries(&mut alice, &mut watching, room, "loud", POSTS).await;

    let (frames_sent, frames_closed) = frame_flood.await.unwrap();
    assert_eq!(
        frames_closed,
        Some(Closed::Code(1008, "too many frames".into())),
        "the frame flooder is closed for its frames"
    );
    let (connections_refused, _open) = connection_flood.await.unwrap();
    assert!(
        connections_refused
            >= 40 - app::backend::hub::RealtimeConfig::default().connections_per_user,
        "{connections_refused} of 40 sockets refused"
    );
    let statuses = post_flood.await.unwrap();
    let refused_posts = statuses.iter().filter(|status| **status == 429).count();
    assert!(
        refused_posts > 0,
        "the post flood met no limit: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|status| *status == 200 || *status == 429),
        "{statuses:?}"
    );
    println!(
        "floods: the watcher's p99 {:.1} ms without, {:.1} ms with the floods ({POSTS} \
         messages each, all delivered); the frame flooder was closed after {frames_sent} \
         frames sent; {connections_refused} of 40 sockets refused; {refused_posts} of {} \
         flood posts refused with 429",
        p99_ms(&quiet),
        p99_ms(&loud),
        statuses.len()
    );
}

/// Sends typing signals in `room` until the server closes the socket (at most `limit`);
/// returns how many went out and how it closed.
async fn type_until_closed(socket: &mut Socket, room: RoomId, limit: u32) -> (u32, Option<Closed>) {
    let typing = serde_json::to_string(&ClientFrame::Typing { room }).unwrap();
    let mut sent = 0;
    while sent < limit {
        let message = tokio_tungstenite::tungstenite::Message::text(typing.clone());
        if socket.try_send_raw(message).await.is_err() {
            return (sent, socket.close_within(Duration::from_secs(5)).await);
        }
        sent += 1;
        if let Some(closed) = socket.close_within(Duration::from_millis(2)).await {
            return (sent, Some(closed));
        }
    }
    (sent, socket.close_within(Duration::from_secs(1)).await)
}

#[tokio::test]
async fn reconnecting_does_not_refill_the_frame_budget_nor_does_a_second_tab() {
    let app = TestApp::spawn_with(|config| {
        config.realtime.frame_burst = 30;
        config.realtime.frames_per_second = 1;
    })
    .await;
    let mut alice = person(&app, "alice").await;
    let room = room_with(&mut alice, &mut []).await;
    let too_many = Some(Closed::Code(1008, "too many frames".into()));

    let mut first = app.socket(&alice).await;
    let (sent, closed) = type_until_closed(&mut first, room, 100).await;
    assert_eq!(
        closed, too_many,
        "the burst of 30 is spent after {sent} frames"
    );
    assert!((30..=32).contains(&sent), "closed after {sent} frames");

    // A new socket draws from the same, still empty bucket (one token a second refills it).
    let mut reconnected = app.socket(&alice).await;
    let (sent, closed) = type_until_closed(&mut reconnected, room, 30).await;
    assert_eq!(closed, too_many, "closed again after {sent} frames");
    assert!(
        sent <= 5,
        "a reconnect refilled the budget: {sent} frames went through"
    );

    // Someone else's budget is untouched.
    let mut bob = person(&app, "bob").await;
    let bobs_room = room_with(&mut bob, &mut []).await;
    let mut bobs = app.socket(&bob).await;
    let (sent, closed) = type_until_closed(&mut bobs, bobs_room, 20).await;
    assert_eq!((sent, closed), (20, None), "bob's frames are his own");
}
