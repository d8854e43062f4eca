//! `sori-bench`: Sori's load generator. It starts the release server with the benchmark
//! profile of limits (below), signs its clients in through the server functions, and drives
//! a scenario over loopback, bounded in time. It speaks the same protocol types as the
//! browser (`app::protocol`).
//!
//! The benchmark profile raises only what a load generator trips over by design (sign-ups
//! and posts per client, sockets per user); the defaults users get are unchanged.
//!
//! Scenarios: `fanout` (N clients in one room, one sender at a fixed rate), reporting
//! deliveries per second, send-to-receipt latency percentiles over all receivers, and
//! delivered against expected.

// The report on stdout is what this program is for.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use app::protocol::{ClientFrame, ServerFrame};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(Debug, Parser)]
#[command(
    name = "sori-bench",
    about = "Load scenarios against a real Sori over loopback."
)]
enum Scenario {
    /// N clients in one room, one sender posting at a fixed rate.
    Fanout(FanoutArgs),
}

#[derive(Debug, clap::Args)]
struct FanoutArgs {
    /// The server binary to start.
    #[arg(long, default_value = "target/release/sori")]
    server: PathBuf,
    /// Subscribers in the room (the sender is one of them).
    #[arg(long, default_value_t = 100)]
    clients: u32,
    /// Posts per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// How long to post, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Exit non-zero unless every message reached every subscriber.
    #[arg(long)]
    require_all: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Scenario::parse() {
        Scenario::Fanout(args) => fanout(args).await,
    }
}

/// A server process started for one run, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    _data: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_server(binary: &PathBuf, clients: u32) -> anyhow::Result<Server> {
    let data = std::env::temp_dir().join(format!("sori-bench-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let data = TempDir(data);
    let mut child = Command::new(binary)
        .env("SORI_ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/sori.db", data.0.display()),
        )
        .env("RUST_LOG", "warn,sori=info")
        .env("NO_COLOR", "1")
        // The benchmark profile: limits a load generator trips over by design.
        .env("SORI_SIGN_UP_PER_HOUR", "0")
        .env("SORI_SIGN_IN_PER_MINUTE", "0")
        .env("SORI_MESSAGES_PER_WINDOW", "0")
        .env("SORI_CONNECTIONS_PER_USER", (clients + 10).to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {}: build it with `make build`",
                binary.display()
            )
        })?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("the server exited before listening");
        };
        if let Some(rest) = line?.split("listening on http://").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        addr,
        _data: data,
    })
}

/// Signs a new user up and returns their session cookie.
async fn sign_up(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let form = [
        ("username", name),
        ("display_name", name),
        ("password", "benchmark password"),
    ];
    let response = http
        .post(format!("{base}/api/register"))
        .form(&form)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("sign-up of {name} failed: {}", response.status());
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .context("no session cookie")?;
    Ok(cookie.to_owned())
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<serde_json::Value> {
    let response = http
        .post(format!("{base}/api/{endpoint}"))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{endpoint} failed: {status} {body}");
    }
    Ok(body)
}

fn percentile(sorted: &[u64], fraction: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn fanout(args: FanoutArgs) -> anyhow::Result<()> {
    let server = start_server(&args.server, args.clients)?;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();

    let owner = sign_up(&http, &base, "bench0").await?;
    let room = call(
        &http,
        &base,
        &owner,
        "rooms/create",
        &[("name", "Bench"), ("topic", "")],
    )
    .await?;
    let room_id = app::model::RoomId(room["id"].as_i64().context("room id")?);

    // Every send is timestamped by client id; receivers look it up.
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let delivered = Arc::new(AtomicU64::new(0));
    let duplicates = Arc::new(AtomicU64::new(0));
    let failed_posts = Arc::new(AtomicU64::new(0));
    let total = u64::from(args.rate) * args.seconds;

    let mut receivers = Vec::new();
    let mut ready = Vec::new();
    for n in 0..args.clients {
        let cookie = if n == 0 {
            owner.clone()
        } else {
            sign_up(&http, &base, &format!("bench{n}")).await?
        };
        if n > 0 {
            call(
                &http,
                &base,
                &cookie,
                "rooms/join",
                &[("id", &room_id.to_string())],
            )
            .await?;
        }
        let mut request = format!("ws://{}/ws", server.addr).into_client_request()?;
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(&cookie)?);
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(&base)?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let subscribe = ClientFrame::Subscribe {
            room: room_id,
            after_seq: Some(0),
            quiet: false,
        };
        socket
            .send(Message::text(serde_json::to_string(&subscribe)?))
            .await?;
        let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel::<()>();
        ready.push(subscribed_rx);
        let (sent_at, latencies, delivered, duplicates) = (
            sent_at.clone(),
            latencies.clone(),
            delivered.clone(),
            duplicates.clone(),
        );
        receivers.push(tokio::spawn(async move {
            let mut subscribed = Some(subscribed_tx);
            let mut seen = std::collections::HashSet::new();
            let mut got = 0u64;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(args.seconds + 15);
            while got < total {
                let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await
                else {
                    break;
                };
                let Message::Text(text) = message else {
                    continue;
                };
                match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(ServerFrame::Subscribed { .. }) => {
                        if let Some(tx) = subscribed.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(ServerFrame::Message { message }) => {
                        let now = Instant::now();
                        if !seen.insert(message.id) {
                            duplicates.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let started = sent_at
                            .lock()
                            .await
                            .get(message.client_id.as_str())
                            .copied();
                        if let Some(started) = started {
                            latencies
                                .lock()
                                .await
                                .push(now.duration_since(started).as_micros() as u64);
                        }
                        got += 1;
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        }));
    }
    for subscribed in ready {
        subscribed.await.context("a client never got subscribed")?;
    }

    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut ticker = tokio::time::interval(interval);
    for n in 0..total {
        ticker.tick().await;
        let client_id = format!("00000000-0000-4000-8000-{n:012x}");
        sent_at
            .lock()
            .await
            .insert(client_id.clone(), Instant::now());
        let (http, base, owner) = (http.clone(), base.clone(), owner.clone());
        let failed_posts = failed_posts.clone();
        let room = room_id.to_string();
        tokio::spawn(async move {
            let form = [
                ("room", room.as_str()),
                ("client_id", client_id.as_str()),
                ("body", "benchmark message"),
            ];
            if let Err(error) = call(&http, &base, &owner, "messages/send", &form).await {
                eprintln!("post failed: {error}");
                failed_posts.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    for receiver in receivers {
        let _ = receiver.await;
    }
    let elapsed = started.elapsed();
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_unstable();
    let delivered = delivered.load(Ordering::Relaxed);
    let expected = total * u64::from(args.clients);
    let ms = |micros: u64| micros as f64 / 1000.0;
    println!(
        "fanout: {} clients, {} msg/s for {} s",
        args.clients, args.rate, args.seconds
    );
    println!(
        "delivered {delivered} of {expected} ({:.2} %)",
        delivered as f64 * 100.0 / expected.max(1) as f64
    );
    println!(
        "deliveries/s {:.0}",
        delivered as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or(0)),
    );
    let duplicates = duplicates.load(Ordering::Relaxed);
    let failed_posts = failed_posts.load(Ordering::Relaxed);
    println!("duplicates {duplicates}, failed posts {failed_posts}");
    if args.require_all && (delivered != expected || duplicates > 0 || failed_posts > 0) {
        bail!(
            "{} deliveries missing, {duplicates} duplicated, {failed_posts} posts failed",
            expected - delivered
        );
    }
    Ok(())
}
