//! The durability contract under a crash: a burst of posts, SIGKILL in the middle, a restart
//! on the same database. Every acknowledged message is there exactly once, the room's numbers
//! have no holes, and resending the unacknowledged ones creates no duplicates.

use std::collections::HashSet;
use std::time::Duration;

use app::model::RoomId;
use serde_json::Value;

use crate::support::binary::Sori;
use crate::support::browser::Browser;
use crate::support::chat::{post_if_acknowledged, uuid};

const PASSWORD: &str = "correct horse battery";

/// The real binary on a database in `dir`, on `addr` (port 0 the first time).
fn start(dir: &std::path::Path, addr: &str) -> Sori {
    let database = format!("sqlite://{}/sori.db", dir.display());
    let envs = [
        ("SORI_ADDR", addr),
        ("DATABASE_URL", database.as_str()),
        ("SORI_MESSAGES_PER_WINDOW", "0"),
    ];
    Sori::start(dir, &envs)
}

async fn post(browser: &mut Browser, room: &str, n: u32) -> Option<Value> {
    let room = RoomId(room.parse().expect("a room id"));
    post_if_acknowledged(browser, room, &uuid(n), &format!("burst {n}")).await
}

#[tokio::test]
async fn acknowledged_messages_survive_sigkill_exactly_once_with_no_holes() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), "127.0.0.1:0");
    let addr = server.addr.clone();
    let base = format!("http://{addr}");
    let mut browser = Browser::new(&base);
    assert_eq!(browser.register("minji", PASSWORD).await.status(), 200);
    let room: Value = browser
        .call("rooms/create", &[("name", "Burst"), ("topic", "")])
        .await
        .json()
        .await
        .unwrap();
    let room = room["id"].to_string();

    // Four concurrent senders; the kill lands while they are mid-burst.
    const TOTAL: u32 = 400;
    let cookie = browser.cookie.clone();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut senders = Vec::new();
    for lane in 0..4u32 {
        let (base, cookie, room) = (base.clone(), cookie.clone(), room.clone());
        let progress = progress.clone();
        senders.push(tokio::spawn(async move {
            let mut browser = Browser::new(&base);
            browser.cookie = cookie;
            let mut acked = Vec::new();
            for n in (lane * TOTAL / 4)..((lane + 1) * TOTAL / 4) {
                match post(&mut browser, &room, n).await {
                    Some(ack) => {
                        acked.push((n, ack));
                        progress.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    None => break,
                }
            }
            acked
        }));
    }
    // Kill once the burst is well under way (not on a timer, which would race the machine).
    let under_way = async {
        while progress.load(std::sync::atomic::Ordering::SeqCst) < 40 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), under_way)
        .await
        .expect("the burst gets going");
    server.kill();
    let mut acked = Vec::new();
    for sender in senders {
        acked.extend(sender.await.unwrap());
    }
    assert!(
        !acked.is_empty(),
        "some posts were acknowledged before the kill"
    );
    assert!(
        (acked.len() as u32) < TOTAL,
        "the kill landed mid-burst ({} acked)",
        acked.len()
    );

    let mut server = start(dir.path(), &addr);
    let mut browser = Browser::new(&base);
    browser.cookie = cookie;
    // Resend everything: acknowledged ones must come back unchanged, the rest get stored.
    for n in 0..TOTAL {
        let ack = post(&mut browser, &room, n)
            .await
            .expect("the restarted server answers");
        if let Some((_, first)) = acked.iter().find(|(sent, _)| *sent == n) {
            assert_eq!(
                &ack, first,
                "a resend of {n} returns its original acknowledgement"
            );
        }
    }
    let history: Value = browser
        .call("messages/history", &[("room", &room)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["last_seq"], TOTAL,
        "one number per message, none lost to the crash"
    );
    let mut seqs = Vec::new();
    let mut before = None::<u64>;
    loop {
        let mut form = vec![("room", room.clone())];
        if let Some(before) = before {
            form.push(("before_seq", before.to_string()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page: Value = browser
            .call("messages/history", &form)
            .await
            .json()
            .await
            .unwrap();
        let messages = page["messages"].as_array().unwrap().clone();
        for message in &messages {
            seqs.push(message["seq"].as_u64().unwrap());
        }
        before = messages.first().and_then(|m| m["seq"].as_u64());
        if page["has_more"] != true {
            break;
        }
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=u64::from(TOTAL)).collect::<Vec<_>>(),
        "gapless and unique"
    );
    let bodies: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(bodies.len(), TOTAL as usize);
    server.kill();
}
