//! The scenarios. Each starts its server, sets up its clients, measures a bounded run, and
//! returns a [`Report`] (printed as text and as one JSON line for `bench/report.py`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use app::model::RoomId;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Received, Socket, SoriSite};
use crate::process::{self, MachineCpu, ServerArgs, Target};
use crate::stats::{Latencies, Report};

/// Sockets per Sori user: sign-ups cost an Argon2id hash each, so users share sockets.
const SOCKETS_PER_USER: usize = 100;

#[derive(Debug, Clone, clap::Args)]
pub struct BroadcastArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Receiving clients in all.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Rooms the clients are spread over (one sender per room).
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Posts per second in each room.
    #[arg(long, default_value_t = 50)]
    pub rate: u64,
    /// How long to post, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// How long to wait for the last deliveries after posting stops, in seconds.
    #[arg(long, default_value_t = 10)]
    pub drain: u64,
    /// Exit non-zero unless every message reached every client exactly once.
    #[arg(long)]
    pub require_all: bool,
}

/// N clients over K rooms, one sender per room at a fixed rate: deliveries per second,
/// send-to-receipt latency over all receivers, delivered against expected, and CPU.
pub async fn broadcast(args: BroadcastArgs, scenario: &str) -> anyhow::Result<Report> {
    let target = args.server.target;
    let server = process::start(&args.server)?;
    let rooms_count = args.rooms.max(1);
    let site = match target {
        Target::Sori => Some(Arc::new(
            SoriSite::new(server.addr, args.clients.div_ceil(SOCKETS_PER_USER)).await?,
        )),
        _ => None,
    };
    let mut rooms = Vec::new();
    for k in 0..rooms_count {
        rooms.push(match &site {
            Some(site) => site.room(&format!("Bench {k}")).await?,
            None => RoomId(k as i64 + 1),
        });
    }

    let per_room = args.rate * args.seconds;
    let total = per_room * rooms_count as u64;
    // Message numbers are global: room k posts k*per_room .. (k+1)*per_room.
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let clock = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let duplicates = Arc::new(AtomicU64::new(0));
    let last_receipt = Arc::new(AtomicU64::new(0));
    let (posting_done_tx, posting_done) = tokio::sync::watch::channel(None);

    let mut receivers = Vec::new();
    for c in 0..args.clients {
        let room_index = c % rooms_count;
        let cookie = site
            .as_ref()
            .map(|site| site.cookies[c / SOCKETS_PER_USER].clone());
        let socket = client::join(target, server.addr, rooms[room_index], cookie.as_deref())
            .await
            .with_context(|| format!("client {c} could not join"))?;
        let range = room_index as u64 * per_room..(room_index as u64 + 1) * per_room;
        let (sent_at, delivered, duplicates, last_receipt, posting_done) = (
            sent_at.clone(),
            delivered.clone(),
            duplicates.clone(),
            last_receipt.clone(),
            posting_done.clone(),
        );
        receivers.push(tokio::spawn(receive(
            target,
            socket,
            range,
            Counters {
                sent_at,
                clock,
                delivered,
                duplicates,
                last_receipt,
                posting_done,
                drain: Duration::from_secs(args.drain),
                linger: Duration::ZERO,
            },
            // One server: every message is posted where it is received.
            |_| false,
        )));
    }

    // The senders: Sori posts through the server function; the peers post on a socket.
    let cpu_before = server.cpu_with_helpers();
    let own_before = process::own_cpu();
    let machine_before = MachineCpu::now();
    let started = Instant::now();
    let failed_posts = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let room_count = rooms.len();
    for (k, room) in rooms.iter().copied().enumerate() {
        let first = k as u64 * per_room;
        let (sent_at, failed_posts, site) = (sent_at.clone(), failed_posts.clone(), site.clone());
        let peer = match target {
            Target::Sori => None,
            _ => Some(client::join(target, server.addr, room, None).await?),
        };
        senders.push(tokio::spawn(send(
            target,
            site,
            peer,
            room,
            first..first + per_room,
            args.rate,
            // Rooms take turns within each period, as independent rooms would; in step, every
            // room would post at the same instant and queue behind one another.
            k as f64 / room_count as f64,
            sent_at,
            clock,
            failed_posts,
        )));
    }
    for sender in senders {
        sender.await??;
    }
    let send_elapsed = started.elapsed();
    let _ = posting_done_tx.send(Some(tokio::time::Instant::now()));
    let mut latencies = Latencies::default();
    for receiver in receivers {
        latencies.merge(receiver.await?.local);
    }
    let cpu = server.cpu_with_helpers().saturating_sub(cpu_before);
    let own_cpu = process::own_cpu().saturating_sub(own_before);
    let machine = MachineCpu::since(machine_before);
    let delivered = delivered.load(Ordering::Relaxed);
    let expected = total * (args.clients / rooms_count) as u64
        + per_room * (args.clients % rooms_count) as u64;
    let window = Duration::from_micros(last_receipt.load(Ordering::Relaxed))
        .saturating_sub(started.duration_since(clock))
        .max(send_elapsed);
    let duplicates = duplicates.load(Ordering::Relaxed);
    let failed_posts = failed_posts.load(Ordering::Relaxed);
    let report = Report::new(scenario, target)
        .with("clients", json!(args.clients))
        .with("rooms", json!(rooms_count))
        .with("rate_per_room", json!(args.rate))
        .with("seconds", json!(args.seconds))
        .with("delivered", json!(delivered))
        .with("expected", json!(expected))
        .with("duplicates", json!(duplicates))
        .with("failed_posts", json!(failed_posts))
        .with(
            "deliveries_per_s",
            json!(delivered as f64 / window.as_secs_f64()),
        )
        .with_latencies(&mut latencies)
        .with_cpu(cpu, own_cpu, window, delivered)
        .with_others(machine, cpu + own_cpu, window);
    if args.require_all && (delivered != expected || duplicates > 0 || failed_posts > 0) {
        report.print();
        bail!(
            "{} deliveries missing, {duplicates} duplicated, {failed_posts} posts failed",
            expected.saturating_sub(delivered)
        );
    }
    Ok(report)
}

/// Shared by a run's receivers.
pub(crate) struct Counters {
    pub sent_at: Arc<Vec<AtomicU64>>,
    pub clock: Instant,
    pub delivered: Arc<AtomicU64>,
    pub duplicates: Arc<AtomicU64>,
    pub last_receipt: Arc<AtomicU64>,
    /// Set when posting stops: receivers wait until then plus `drain` at most.
    pub posting_done: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
    pub drain: Duration,
    /// Once every expected message has arrived, how long after posting stopped a receiver
    /// keeps reading, to count late second copies (zero: it stops at once).
    pub linger: Duration,
}

/// What one receiver got, split by where each message was posted: through the server the
/// receiver is connected to (`local`), or through another instance of the same deployment
/// (`remote`, which only reaches it through the database and the bus between instances).
#[derive(Debug, Default)]
pub(crate) struct Receipts {
    pub local: Latencies,
    pub remote: Latencies,
    /// Second (or later) copies of remote messages; every duplicate is also counted in
    /// [`Counters::duplicates`].
    pub remote_duplicates: u64,
}

/// Receives until every message of `range` arrived (and the linger time passed), or the
/// drain time after posting passed. `is_remote` says which message numbers were posted
/// through another instance.
pub(crate) async fn receive(
    target: Target,
    mut socket: Socket,
    range: std::ops::Range<u64>,
    counters: Counters,
    is_remote: impl Fn(u64) -> bool,
) -> Receipts {
    let expected = range.end - range.start;
    let mut seen = vec![false; expected as usize];
    let mut got = 0u64;
    let mut receipts = Receipts::default();
    // One timer for the whole run (a timer per frame would cost the generator more than
    // the frame): far away until posting stops, then the drain deadline, or the linger
    // deadline once everything has arrived.
    let mut posting_done = counters.posting_done.clone();
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(timer);
    let mut stopped_at = None;
    let mut rearm = true;
    loop {
        let complete = got >= expected;
        if complete && counters.linger.is_zero() {
            break;
        }
        if stopped_at.is_none() {
            stopped_at = *posting_done.borrow();
        }
        if rearm && let Some(stopped_at) = stopped_at {
            let wait = if complete {
                counters.linger.min(counters.drain)
            } else {
                counters.drain
            };
            timer.as_mut().reset(stopped_at + wait);
            rearm = false;
        }
        let next = tokio::select! {
            biased;
            next = socket.next() => next,
            _ = posting_done.changed(), if stopped_at.is_none() => continue,
            _ = &mut timer => break,
        };
        let Some(Ok(message)) = next else { break };
        let Message::Text(text) = message else {
            continue;
        };
        match client::parse(target, &text) {
            Received::Message(n) if range.contains(&n) => {
                let now = counters.clock.elapsed().as_micros() as u64;
                let index = (n - range.start) as usize;
                let remote = is_remote(n);
                if seen[index] {
                    counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    receipts.remote_duplicates += u64::from(remote);
                    continue;
                }
                seen[index] = true;
                got += 1;
                if got == expected {
                    // The last one: from now on the timer is the linger deadline.
                    rearm = true;
                }
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                counters.last_receipt.fetch_max(now, Ordering::Relaxed);
                let sent = counters.sent_at[n as usize].load(Ordering::Relaxed);
                let side = if remote {
                    &mut receipts.remote
                } else {
                    &mut receipts.local
                };
                side.record(now.saturating_sub(sent));
            }
            Received::Ping => {
                let _ = socket.send(Message::text("3")).await;
            }
            _ => {}
        }
    }
    let _ = socket.close(None).await;
    receipts
}

/// Posts the messages of `numbers` in `room` at `rate` per second, `phase` (a fraction of
/// one period) later than a sender with phase 0.
#[allow(clippy::too_many_arguments)]
async fn send(
    target: Target,
    site: Option<Arc<SoriSite>>,
    mut peer: Option<Socket>,
    room: RoomId,
    numbers: std::ops::Range<u64>,
    rate: u64,
    phase: f64,
    sent_at: Arc<Vec<AtomicU64>>,
    clock: Instant,
    failed_posts: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    let mut next = numbers.start;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut posts = Vec::new();
    while next < numbers.end {
        ticker.tick().await;
        // Keep to the schedule: everything due by now goes out.
        let periods = started.elapsed().as_secs_f64() * rate as f64 - phase;
        let due = numbers.start + periods.max(0.0).floor() as u64;
        let due = due.min(numbers.end);
        while next < due {
            sent_at[next as usize].store(clock.elapsed().as_micros() as u64, Ordering::Relaxed);
            match (&site, &mut peer) {
                (Some(site), _) => {
                    let (site, failed_posts) = (site.clone(), failed_posts.clone());
                    let n = next;
                    posts.push(tokio::spawn(async move {
                        if let Err(error) = site.post(0, room, n).await {
                            eprintln!("post failed: {error}");
                            failed_posts.fetch_add(1, Ordering::Relaxed);
                        }
                    }));
                }
                (None, Some(socket)) => socket.feed(client::peer_post(target, room, next)).await?,
                (None, None) => bail!("a peer sender needs a socket"),
            }
            next += 1;
        }
        if let Some(socket) = &mut peer {
            socket.flush().await?;
            // Answer pings and drop what the sender itself receives.
            while let Some(Some(Ok(message))) = socket.next().now_or_never() {
                if let Message::Text(text) = message
                    && let Received::Ping = client::parse(target, &text)
                {
                    socket.send(Message::text("3")).await?;
                }
            }
        }
    }
    for post in posts {
        let _ = post.await;
    }
    if let Some(mut socket) = peer {
        // Keep reading until the receivers are done is not needed: the sender's own copies
        // are not counted. Close politely.
        let _ = socket.close(None).await;
    }
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Clients to connect and subscribe.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Sockets opening at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

/// N clients connecting and subscribing: the time taken, and the server's RSS afterwards
/// as KB per connection (against its RSS before).
pub async fn connect(args: ConnectArgs) -> anyhow::Result<Report> {
    let target = args.server.target;
    let server = process::start(&args.server)?;
    let site = match target {
        Target::Sori => {
            Some(SoriSite::new(server.addr, args.clients.div_ceil(SOCKETS_PER_USER)).await?)
        }
        _ => None,
    };
    let room = match &site {
        Some(site) => site.room("Idle").await?,
        None => RoomId(1),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.rss_kib();
    let started = Instant::now();
    let cookies: Vec<Option<String>> = (0..args.clients)
        .map(|c| {
            site.as_ref()
                .map(|site| site.cookies[c / SOCKETS_PER_USER].clone())
        })
        .collect();
    let addr = server.addr;
    let sockets: Vec<anyhow::Result<Socket>> = futures_util::stream::iter(cookies)
        .map(|cookie| async move { client::join(target, addr, room, cookie.as_deref()).await })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let connected = sockets.iter().filter(|socket| socket.is_ok()).count();
    if let Some(Err(error)) = sockets.iter().find(|socket| socket.is_err()) {
        eprintln!("a connection failed: {error}");
    }
    // Let the server settle, then read its memory while every socket is held.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_kib();
    drop(sockets);
    let per_connection =
        (rss_after.saturating_sub(rss_before)) as f64 * 1.024 / connected.max(1) as f64;
    Ok(Report::new("connect", target)
        .with("clients", json!(args.clients))
        .with("connected", json!(connected))
        .with("seconds", json!(elapsed.as_secs_f64()))
        .with("rss_before_kb", json!(rss_before as f64 * 1.024))
        .with("rss_after_kb", json!(rss_after as f64 * 1.024))
        .with("kb_per_connection", json!(per_connection)))
}

#[derive(Debug, Clone, clap::Args)]
pub struct PostsArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Posters, each waiting for its acknowledgement before the next post.
    #[arg(long, default_value_t = 16)]
    pub posters: usize,
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

/// One poster of a durable-posts run: posts as `user` into `room` until `end`, client ids
/// numbered from `first` (unique per author), counting each acknowledgement or failure;
/// returns how long each acknowledgement took.
pub async fn poster(
    site: &SoriSite,
    user: usize,
    room: RoomId,
    first: u64,
    end: Instant,
    acked: &AtomicU64,
    failed: &AtomicU64,
) -> Latencies {
    let mut latencies = Latencies::default();
    let mut n = first;
    while Instant::now() < end {
        let posted = Instant::now();
        match site.post(user, room, n).await {
            Ok(()) => {
                latencies.record(posted.elapsed().as_micros() as u64);
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        n += 1;
    }
    latencies
}

/// Durable posts per second on Sori: each acknowledged only after its commit.
pub async fn posts(args: PostsArgs) -> anyhow::Result<Report> {
    let server = process::start(&args.server)?;
    let site = Arc::new(SoriSite::new(server.addr, 1).await?);
    let room = site.room("Posts").await?;
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = server.cpu();
    let own_before = process::own_cpu();
    let machine_before = MachineCpu::now();
    let started = Instant::now();
    let end = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for p in 0..args.posters as u64 {
        let (site, acked, failed) = (site.clone(), acked.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            poster(&site, 0, room, p << 32, end, &acked, &failed).await
        }));
    }
    let mut latencies = Latencies::default();
    for task in tasks {
        latencies.merge(task.await?);
    }
    let elapsed = started.elapsed();
    let acked = acked.load(Ordering::Relaxed);
    let cpu = server.cpu().saturating_sub(cpu_before);
    let own_cpu = process::own_cpu().saturating_sub(own_before);
    let machine = MachineCpu::since(machine_before);
    Ok(Report::new("posts", Target::Sori)
        .with("posters", json!(args.posters))
        .with("acknowledged", json!(acked))
        .with("failed", json!(failed.load(Ordering::Relaxed)))
        .with("posts_per_s", json!(acked as f64 / elapsed.as_secs_f64()))
        .with(
            "server_cpu_us_per_post",
            json!(cpu.as_secs_f64() * 1e6 / acked.max(1) as f64),
        )
        // The acknowledgement times, and the shares of a core, as `instances-posts` reports
        // them on PostgreSQL.
        .with_latencies(&mut latencies)
        .with(
            "server_core_pct",
            json!(cpu.as_secs_f64() * 100.0 / elapsed.as_secs_f64()),
        )
        .with(
            "generator_core_pct",
            json!(own_cpu.as_secs_f64() * 100.0 / elapsed.as_secs_f64()),
        )
        .with_others(machine, cpu + own_cpu, elapsed))
}

#[derive(Debug, Clone, clap::Args)]
pub struct SsrArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Messages in the room page (the newest page is rendered).
    #[arg(long, default_value_t = 50)]
    pub messages: u64,
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Pin wrk to this core.
    #[arg(long)]
    pub client_core: Option<usize>,
    /// Messages as people write them in a team chat: Markdown, a mention of the other
    /// member, and two reactions each. Against a server without reactions
    /// (`--no-reactions`), the text alone.
    #[arg(long)]
    pub rich: bool,
    /// With `--rich`: no reactions (for a server from before they existed).
    #[arg(long)]
    pub no_reactions: bool,
}

/// A message that uses what people use: emphasis, code, a link, a list and a mention.
const RICH_BODY: &str = "**Standup** at _10:00_ in `#general`, see https://example.org/notes \
    (agenda below) @bench1\n- 회의록 정리\n- ~~old item~~ done";

/// Server-side rendering of a room page holding 50 messages, driven by `wrk`.
pub async fn ssr(args: SsrArgs) -> anyhow::Result<Report> {
    let server = process::start(&args.server)?;
    let site = SoriSite::new(server.addr, 2).await?;
    let room = site.room("Rendered").await?;
    for n in 0..args.messages {
        if !args.rich {
            site.post(0, room, n).await?;
            continue;
        }
        let id = site.post_text(0, room, n, RICH_BODY).await?;
        if !args.no_reactions {
            site.react(1, id, "👍").await?;
            site.react(0, id, "🎉").await?;
        }
    }
    let url = format!("http://{}/rooms/{}", server.addr, room);
    let mut command = match args.client_core {
        Some(core) => {
            let mut command = std::process::Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg("wrk");
            command
        }
        None => std::process::Command::new("wrk"),
    };
    let output = command
        .args(["-t1", &format!("-c{}", args.connections)])
        .arg(format!("-d{}s", args.seconds))
        .args(["-H", &format!("Cookie: {}", site.cookies[0])])
        .args(["-H", "Accept: text/html"])
        .arg("--latency")
        .arg(&url)
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let requests_per_s = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .with_context(|| format!("wrk printed no rate:\n{text}"))?;
    let non_2xx = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let p99 = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("99%"))
        .map(|value| value.trim().to_owned())
        .unwrap_or_default();
    Ok(Report::new("ssr", Target::Sori)
        .with("requests_per_s", json!(requests_per_s))
        .with("non_2xx", json!(non_2xx))
        .with("p99", Value::String(p99))
        .with("connections", json!(args.connections)))
}

#[derive(Debug, Clone, clap::Args)]
pub struct StartupArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Starts to time.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// Cold start to a ready `/readyz` on a fresh database, and the idle server's RSS.
pub async fn startup(args: StartupArgs) -> anyhow::Result<Report> {
    let http = reqwest::Client::new();
    let mut starts = Vec::new();
    let mut idle_rss = 0;
    for _ in 0..args.runs.max(1) {
        let started = Instant::now();
        let server = process::start_sori(&args.server, &[])?;
        let url = format!("http://{}/readyz", server.addr);
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("/readyz was not ready within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        idle_rss = idle_rss.max(server.rss_kib());
    }
    starts.sort_by(f64::total_cmp);
    Ok(Report::new("startup", Target::Sori)
        .with("cold_start_ms_median", json!(starts[starts.len() / 2]))
        .with("cold_start_ms_max", json!(starts[starts.len() - 1]))
        .with("idle_rss_mb", json!(idle_rss as f64 / 1024.0)))
}
