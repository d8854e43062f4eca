//! The scenarios of a deployment: several Sori instances on one fresh PostgreSQL database,
//! as behind a load balancer, with the clients split over them.
//!
//! - `instances`: subscribers spread over the instances, and in every room a poster on each
//!   instance, taking turns at a fixed rate. A message reaches the subscribers of the other
//!   instances only through the database and the bus between instances (a hint after
//!   commit, then a read), so the report gives the deliveries to those `remote` subscribers
//!   on their own: rate, post-to-receipt percentiles, delivered against expected, and second
//!   copies (receivers keep reading after the last expected message, past one catch-up
//!   round, so a late duplicate is counted too). Deliveries to subscribers of the posting
//!   instance are reported beside them, as `local_*`.
//! - `instances-posts`: durable posts per second, each acknowledged after its commit, with
//!   the posters spread over the instances and several rooms; the CPU of each instance, of
//!   PostgreSQL and of the generator says what bounds it.
//!
//! The PostgreSQL server is not started here: run these under `scripts/with-postgres.sh`
//! (`make bench-instances` and `bench/run.sh` do), which sets `SORI_TEST_POSTGRES_URL` and
//! removes the server afterwards. Each run makes a database of its own on it and drops it at
//! the end, so every run starts on an empty schema. Posting limits are off as in every Sori
//! scenario (`SORI_MESSAGES_PER_WINDOW=0`, see [`process::start`]), so no limit is charged
//! in the database either.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use app::backend::store::scratch::{SERVER_VARIABLE, ScratchDatabase};
use app::model::RoomId;
use serde_json::json;

use crate::client::{self, SoriSite};
use crate::process::{self, MachineCpu, Postgres, Server, ServerArgs, Target};
use crate::scenario::{self, Counters, Receipts};
use crate::stats::{Latencies, Report};

/// Sockets per Sori user, as in the single-instance scenarios.
const SOCKETS_PER_USER: usize = 100;

/// Receivers keep reading this long after posting stopped, once they have every message:
/// past the servers' default catch-up interval (2 s), a catch-up round that delivered a
/// second copy would have done so by then.
const LINGER: Duration = Duration::from_millis(2_500);

/// Settings shared by the deployment's scenarios.
#[derive(Debug, Clone, clap::Args)]
pub struct DeploymentArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Sori instances on the one database.
    #[arg(long, default_value_t = 2)]
    pub instances: usize,
    /// More environment for every instance, as KEY=VALUE (repeatable), for example
    /// `SORI_CATCH_UP_MS=600000` for hints only.
    #[arg(long = "server-env", value_parser = key_value)]
    pub server_env: Vec<(String, String)>,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

/// The instances and their database. Fields drop in order: the instances are killed before
/// their database is dropped.
struct Deployment {
    servers: Vec<Server>,
    postgres: Postgres,
    _database: ScratchDatabase,
}

impl Deployment {
    async fn start(args: &DeploymentArgs) -> anyhow::Result<Self> {
        if args.server.target != Target::Sori {
            bail!("only Sori runs as several instances on one database");
        }
        let url = std::env::var(SERVER_VARIABLE).with_context(|| {
            format!(
                "{SERVER_VARIABLE} is not set: these scenarios need a PostgreSQL server; run \
                 them under scripts/with-postgres.sh (as `make bench-instances` does)"
            )
        })?;
        let port = reqwest::Url::parse(&url)
            .with_context(|| format!("{SERVER_VARIABLE} is not a URL"))?
            .port()
            .unwrap_or(5432);
        let postgres = Postgres::on_port(port)?;
        let database = ScratchDatabase::create().await;
        let env: Vec<(&str, &str)> = args
            .server_env
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        let mut servers = Vec::new();
        for _ in 0..args.instances.max(1) {
            servers.push(process::start_sori_on(&args.server, database.url(), &env)?);
        }
        Ok(Self {
            servers,
            postgres,
            _database: database,
        })
    }

    /// CPU time so far of every process in the run, and of the machine.
    fn cpu(&self) -> Usage {
        Usage {
            instances: self.servers.iter().map(Server::cpu).collect(),
            postgres: self.postgres.cpu(),
            generator: process::own_cpu(),
            machine: MachineCpu::now(),
        }
    }
}

/// CPU time used by the processes of a run (so far, or between two readings).
#[derive(Debug, Clone)]
struct Usage {
    instances: Vec<Duration>,
    postgres: Duration,
    generator: Duration,
    machine: MachineCpu,
}

impl Usage {
    fn since(&self, before: &Usage) -> Usage {
        Usage {
            instances: self
                .instances
                .iter()
                .zip(&before.instances)
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
            postgres: self.postgres.saturating_sub(before.postgres),
            generator: self.generator.saturating_sub(before.generator),
            machine: MachineCpu {
                busy: self.machine.busy.saturating_sub(before.machine.busy),
                stolen: self.machine.stolen.saturating_sub(before.machine.stolen),
            },
        }
    }

    /// The report's fields over `window`: each process's share of a core (the machine has
    /// 100 % per core), what else used the machine, and the time per unit of work.
    fn report(&self, report: Report, window: Duration, units: u64, unit: &str) -> Report {
        let seconds = window.as_secs_f64().max(1e-9);
        let pct = |used: Duration| used.as_secs_f64() * 100.0 / seconds;
        let per_unit = |used: Duration| used.as_secs_f64() * 1e6 / units.max(1) as f64;
        let instances: Duration = self.instances.iter().sum();
        let ours = instances + self.postgres + self.generator;
        let each: Vec<f64> = self.instances.iter().map(|used| pct(*used)).collect();
        report
            .with("instance_core_pct", json!(each))
            .with("instances_core_pct", json!(pct(instances)))
            .with("postgres_core_pct", json!(pct(self.postgres)))
            .with("generator_core_pct", json!(pct(self.generator)))
            .with(
                &format!("instances_us_per_{unit}"),
                json!(per_unit(instances)),
            )
            .with(
                &format!("postgres_us_per_{unit}"),
                json!(per_unit(self.postgres)),
            )
            .with_others(self.machine, ours, window)
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct InstancesArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Receiving clients in all, split evenly over the instances.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Rooms the clients are spread over; each room has a poster on every instance.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Posts per second in each room, in all: the room's posters take turns.
    #[arg(long, default_value_t = 20)]
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

/// Where everything is: client `c` follows room `c % rooms` on instance `(c / rooms) %
/// instances`; room `k` owns message numbers `k * per_room ..`, and its `j`-th message is
/// posted through instance `j % instances`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    rooms: usize,
    instances: usize,
    per_room: u64,
}

impl Layout {
    fn room_of(&self, client: usize) -> usize {
        client % self.rooms
    }

    fn instance_of(&self, client: usize) -> usize {
        (client / self.rooms) % self.instances
    }

    fn numbers(&self, room: usize) -> std::ops::Range<u64> {
        let first = room as u64 * self.per_room;
        first..first + self.per_room
    }

    /// The instance message number `n` is posted through.
    fn poster_of(&self, n: u64) -> usize {
        ((n % self.per_room) % self.instances as u64) as usize
    }

    /// Messages of one room that a subscriber on `instance` gets from the other instances.
    fn remote_per_room(&self, instance: usize) -> u64 {
        let own = (0..self.per_room)
            .filter(|j| (j % self.instances as u64) as usize == instance)
            .count() as u64;
        self.per_room - own
    }
}

/// Subscribers split over the instances, posts through every instance: deliveries to the
/// subscribers of the other instances (rate, latency, delivered, duplicates), beside those
/// of the posting instance, and every process's CPU.
pub async fn instances(args: InstancesArgs) -> anyhow::Result<Report> {
    if args.deployment.instances < 2 {
        bail!("the instances scenario needs at least two instances");
    }
    let deployment = Deployment::start(&args.deployment).await?;
    let layout = Layout {
        rooms: args.rooms.max(1),
        instances: deployment.servers.len(),
        per_room: args.rate * args.seconds,
    };
    // Everyone signs up and joins through the first instance; the sessions and memberships
    // are in the shared database, so every instance knows them.
    let home = SoriSite::new(
        deployment.servers[0].addr,
        args.clients.div_ceil(SOCKETS_PER_USER),
    )
    .await?;
    let sites: Vec<Arc<SoriSite>> = deployment
        .servers
        .iter()
        .map(|server| Arc::new(home.on(server.addr)))
        .collect();
    let mut rooms = Vec::new();
    for k in 0..layout.rooms {
        rooms.push(home.room(&format!("Deployment {k}")).await?);
    }

    let total = layout.per_room * layout.rooms as u64;
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let clock = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let duplicates = Arc::new(AtomicU64::new(0));
    let last_receipt = Arc::new(AtomicU64::new(0));
    let (posting_done_tx, posting_done) = tokio::sync::watch::channel(None);

    let mut receivers = Vec::new();
    let mut expected_remote = 0;
    for c in 0..args.clients {
        let (room, instance) = (layout.room_of(c), layout.instance_of(c));
        let cookie = &home.cookies[c / SOCKETS_PER_USER];
        let addr = deployment.servers[instance].addr;
        let socket = client::join(Target::Sori, addr, rooms[room], Some(cookie))
            .await
            .with_context(|| format!("client {c} could not join on instance {instance}"))?;
        expected_remote += layout.remote_per_room(instance);
        let counters = Counters {
            sent_at: sent_at.clone(),
            clock,
            delivered: delivered.clone(),
            duplicates: duplicates.clone(),
            last_receipt: last_receipt.clone(),
            posting_done: posting_done.clone(),
            drain: Duration::from_secs(args.drain),
            linger: LINGER,
        };
        receivers.push(tokio::spawn(scenario::receive(
            Target::Sori,
            socket,
            layout.numbers(room),
            counters,
            move |n| layout.poster_of(n) != instance,
        )));
    }

    let expected = total * (args.clients / layout.rooms) as u64
        + layout.per_room * (args.clients % layout.rooms) as u64;
    let cpu_before = deployment.cpu();
    let started = Instant::now();
    let failed_posts = Arc::new(AtomicU64::new(0));
    let mut posters = Vec::new();
    for (k, room) in rooms.iter().copied().enumerate() {
        for (instance, site) in sites.iter().enumerate() {
            posters.push(tokio::spawn(post_share(
                Poster {
                    site: site.clone(),
                    // Posters on different instances are different people.
                    user: instance % site.cookies.len(),
                    room,
                    numbers: layout.numbers(k),
                    share: instance as u64,
                    of: layout.instances as u64,
                    rate: args.rate,
                    // Rooms take turns within each period, as in the single-instance rooms
                    // scenario.
                    phase: k as f64 / layout.rooms as f64,
                },
                sent_at.clone(),
                clock,
                failed_posts.clone(),
            )));
        }
    }
    for poster in posters {
        poster.await?;
    }
    let send_elapsed = started.elapsed();
    let _ = posting_done_tx.send(Some(tokio::time::Instant::now()));
    // The run's CPU is read once the last expected delivery has arrived (or the drain time
    // is up), not after the receivers' linger, which only watches for late copies.
    let drained = Instant::now() + Duration::from_secs(args.drain);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < drained {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let used = deployment.cpu().since(&cpu_before);
    let mut receipts = Receipts::default();
    for receiver in receivers {
        let got = receiver.await?;
        receipts.local.merge(got.local);
        receipts.remote.merge(got.remote);
        receipts.remote_duplicates += got.remote_duplicates;
    }
    // The window ends at the last receipt, not when the receivers stopped lingering.
    let window = Duration::from_micros(last_receipt.load(Ordering::Relaxed))
        .saturating_sub(started.duration_since(clock))
        .max(send_elapsed);
    let delivered = delivered.load(Ordering::Relaxed);
    let remote_delivered = receipts.remote.count();
    let duplicates = duplicates.load(Ordering::Relaxed);
    let failed_posts = failed_posts.load(Ordering::Relaxed);
    let env: Vec<String> = args
        .deployment
        .server_env
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let report = Report::new("instances", Target::Sori)
        .with("instances", json!(layout.instances))
        .with("clients", json!(args.clients))
        .with("rooms", json!(layout.rooms))
        .with("rate_per_room", json!(args.rate))
        .with("seconds", json!(args.seconds))
        .with("server_env", json!(env))
        .with("delivered", json!(delivered))
        .with("expected", json!(expected))
        .with("duplicates", json!(duplicates))
        .with("failed_posts", json!(failed_posts))
        .with(
            "deliveries_per_s",
            json!(delivered as f64 / window.as_secs_f64()),
        )
        .with("remote_delivered", json!(remote_delivered))
        .with("remote_expected", json!(expected_remote))
        .with("remote_duplicates", json!(receipts.remote_duplicates))
        .with(
            "remote_deliveries_per_s",
            json!(remote_delivered as f64 / window.as_secs_f64()),
        )
        .with_latencies(&mut receipts.remote)
        .with_latencies_as("local_", &mut receipts.local);
    let report = used.report(report, window, delivered, "delivery");
    if args.require_all && (delivered != expected || duplicates > 0 || failed_posts > 0) {
        report.print();
        bail!(
            "{} deliveries missing ({} of them remote), {duplicates} duplicated, {failed_posts} \
             posts failed",
            expected.saturating_sub(delivered),
            expected_remote.saturating_sub(remote_delivered),
        );
    }
    Ok(report)
}

/// One room's poster on one instance: it posts the room's messages whose index is `share`
/// modulo `of`, on the room's schedule of `rate` per second, `phase` of a period late.
struct Poster {
    site: Arc<SoriSite>,
    user: usize,
    room: RoomId,
    numbers: std::ops::Range<u64>,
    share: u64,
    of: u64,
    rate: u64,
    phase: f64,
}

/// Posts `poster`'s share of its room's messages on schedule. Each post is its own task, so
/// a slow acknowledgement never delays the next post.
async fn post_share(
    poster: Poster,
    sent_at: Arc<Vec<AtomicU64>>,
    clock: Instant,
    failed_posts: Arc<AtomicU64>,
) {
    let started = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let count = poster.numbers.end - poster.numbers.start;
    let mut next = poster.share;
    let mut posts = Vec::new();
    while next < count {
        ticker.tick().await;
        // Everything of the room's schedule due by now, of which this poster's share.
        let periods = started.elapsed().as_secs_f64() * poster.rate as f64 - poster.phase;
        let due = (periods.max(0.0).floor() as u64).min(count);
        while next < due {
            let n = poster.numbers.start + next;
            sent_at[n as usize].store(clock.elapsed().as_micros() as u64, Ordering::Relaxed);
            let (site, failed_posts) = (poster.site.clone(), failed_posts.clone());
            let (user, room) = (poster.user, poster.room);
            posts.push(tokio::spawn(async move {
                if let Err(error) = site.post(user, room, n).await {
                    eprintln!("post failed: {error}");
                    failed_posts.fetch_add(1, Ordering::Relaxed);
                }
            }));
            next += poster.of;
        }
    }
    for post in posts {
        let _ = post.await;
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct InstancesPostsArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Posters in all, spread over the instances; each waits for its acknowledgement
    /// before its next post.
    #[arg(long, default_value_t = 32)]
    pub posters: usize,
    /// Rooms the posters are spread over (posts in one room queue on its counter).
    #[arg(long, default_value_t = 8)]
    pub rooms: usize,
    /// Users the posters post as.
    #[arg(long, default_value_t = 4)]
    pub users: usize,
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

/// Durable posts per second on PostgreSQL: every poster posts, waits for the
/// acknowledgement (sent after commit), and posts again, through its instance.
pub async fn instances_posts(args: InstancesPostsArgs) -> anyhow::Result<Report> {
    let deployment = Deployment::start(&args.deployment).await?;
    let home = SoriSite::new(deployment.servers[0].addr, args.users.max(1)).await?;
    let sites: Vec<Arc<SoriSite>> = deployment
        .servers
        .iter()
        .map(|server| Arc::new(home.on(server.addr)))
        .collect();
    let mut rooms = Vec::new();
    for k in 0..args.rooms.max(1) {
        rooms.push(home.room(&format!("Posts {k}")).await?);
    }
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = deployment.cpu();
    let started = Instant::now();
    let end = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for p in 0..args.posters {
        let site = sites[p % sites.len()].clone();
        let room = rooms[(p / sites.len()) % rooms.len()];
        let user = p % site.cookies.len();
        let (acked, failed) = (acked.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            // Client ids are unique per author: the poster's number in the high bits.
            scenario::poster(&site, user, room, (p as u64) << 32, end, &acked, &failed).await
        }));
    }
    let mut latencies = Latencies::default();
    for task in tasks {
        latencies.merge(task.await?);
    }
    let elapsed = started.elapsed();
    let used = deployment.cpu().since(&cpu_before);
    let acked = acked.load(Ordering::Relaxed);
    let report = Report::new("instances-posts", Target::Sori)
        .with("instances", json!(deployment.servers.len()))
        .with("posters", json!(args.posters))
        .with("rooms", json!(rooms.len()))
        .with("acknowledged", json!(acked))
        .with("failed", json!(failed.load(Ordering::Relaxed)))
        .with("posts_per_s", json!(acked as f64 / elapsed.as_secs_f64()))
        .with_latencies(&mut latencies);
    Ok(used.report(report, elapsed, acked, "post"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_remote_for_the_subscribers_of_the_instances_that_did_not_post_it() {
        let layout = Layout {
            rooms: 3,
            instances: 2,
            per_room: 5,
        };
        // Clients 0..3 are on instance 0, one per room; 3..6 on instance 1.
        assert_eq!((layout.room_of(4), layout.instance_of(4)), (1, 1));
        assert_eq!(layout.instance_of(2), 0);
        // Room 1 owns 5..10; its messages alternate between the instances.
        assert_eq!(layout.numbers(1), 5..10);
        let posters: Vec<usize> = layout.numbers(1).map(|n| layout.poster_of(n)).collect();
        assert_eq!(posters, [0, 1, 0, 1, 0]);
        // Instance 0 posts three of each room's five, so its subscribers get two remote ones.
        assert_eq!(layout.remote_per_room(0), 2);
        assert_eq!(layout.remote_per_room(1), 3);
    }
}
