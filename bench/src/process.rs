//! The servers under test, started for one run and killed when dropped: Sori with the
//! benchmark profile, and the peers (Django Channels under daphne, with its in-memory or
//! Redis channel layer; Socket.IO on Node.js). Each can be pinned to one core with `taskset`,
//! and its CPU time and memory are read from `/proc`. Several Sori instances can share one
//! PostgreSQL database ([`start_sori_on`]); that server is started by the caller's
//! `scripts/with-postgres.sh`, and is only observed here ([`Postgres`]), never managed.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What is being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Sori,
    /// Django Channels with `InMemoryChannelLayer`.
    DjangoMemory,
    /// Django Channels with `channels_redis` and a loopback `redis-server`.
    DjangoRedis,
    /// Socket.IO 4.8 on Node.js, websocket transport.
    Socketio,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Sori => "sori",
            Target::DjangoMemory => "django-memory",
            Target::DjangoRedis => "django-redis",
            Target::Socketio => "socketio",
        }
    }
}

/// Where the programs are and how to run them.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The Sori server binary.
    #[arg(long, default_value = "target/release/sori")]
    pub server: PathBuf,
    /// What to measure.
    #[arg(long, value_enum, default_value = "sori")]
    pub target: Target,
    /// The folder holding the peers (`django/`, `socketio/`).
    #[arg(long, default_value = "bench/peers")]
    pub peers: PathBuf,
    /// The Python with Django Channels installed (the bench script makes a venv).
    #[arg(long, default_value = "bench/.venv/bin/python")]
    pub python: PathBuf,
    /// Pin the server to this core (`taskset -c`); none: not pinned.
    #[arg(long)]
    pub server_core: Option<usize>,
}

/// A server started for one run, killed when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    /// Helpers that belong to the server under test (redis-server for the Redis layer).
    helpers: Vec<Child>,
    data: Option<PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.child).chain(self.helpers.iter_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

impl Server {
    /// CPU time the server's process has used so far (user + system).
    pub fn cpu(&self) -> Duration {
        process_cpu(self.pid)
    }

    /// CPU time of the server and its helpers (the Redis layer's redis-server).
    pub fn cpu_with_helpers(&self) -> Duration {
        self.helpers
            .iter()
            .map(|helper| process_cpu(helper.id()))
            .sum::<Duration>()
            + self.cpu()
    }

    /// Resident memory of the server's process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid)
    }
}

fn command(program: &Path, core: Option<usize>) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// A free loopback port (bound and released; good enough on a quiet machine).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited with {status} before listening");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{what} did not listen on {addr} within 30 s")
}

/// Reads the child's stdout until it says "listening on http://ADDR", then drains the rest.
fn listening_addr(child: &mut Child) -> anyhow::Result<SocketAddr> {
    let stdout = child.stdout.take().context("piped stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("the server exited before listening");
        };
        if let Some(rest) = line?.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            break addr.parse().context("a listening address")?;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(addr)
}

/// Sori's benchmark profile: only the limits a load generator trips over by design are
/// raised (sign-ups and posts per client, sockets per user, subscriptions); the defaults
/// users get are unchanged.
pub fn start(args: &ServerArgs) -> anyhow::Result<Server> {
    match args.target {
        Target::Sori => start_sori(args, &[]),
        Target::DjangoMemory | Target::DjangoRedis => start_django(args),
        Target::Socketio => start_socketio(args),
    }
}

/// Sori on a SQLite database of its own, removed when the server drops.
pub fn start_sori(args: &ServerArgs, extra_env: &[(&str, &str)]) -> anyhow::Result<Server> {
    let data = std::env::temp_dir().join(format!(
        "sori-bench-{}-{}",
        std::process::id(),
        free_port()?
    ));
    std::fs::create_dir_all(&data)?;
    let database_url = format!("sqlite://{}/sori.db", data.display());
    match spawn_sori(args, &database_url, extra_env) {
        Ok(mut server) => {
            server.data = Some(data);
            Ok(server)
        }
        Err(error) => {
            let _ = std::fs::remove_dir_all(&data);
            Err(error)
        }
    }
}

/// Sori on the database at `database_url` (PostgreSQL, shared with other instances), which
/// the caller owns: nothing is removed when the server drops.
pub fn start_sori_on(
    args: &ServerArgs,
    database_url: &str,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<Server> {
    spawn_sori(args, database_url, extra_env)
}

/// Starts Sori with the benchmark profile on `database_url` and returns once it listens (on
/// PostgreSQL that is after the bus's self-test, so the instance already hears the others).
fn spawn_sori(
    args: &ServerArgs,
    database_url: &str,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<Server> {
    let mut command = command(&args.server, args.server_core);
    command
        .env("SORI_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn,sori=info")
        .env("NO_COLOR", "1")
        .env("SORI_SIGN_UP_PER_HOUR", "0")
        .env("SORI_SIGN_IN_PER_MINUTE", "0")
        .env("SORI_MESSAGES_PER_WINDOW", "0")
        .env("SORI_REACTIONS_PER_WINDOW", "0")
        .env("SORI_ROOMS_PER_HOUR", "0")
        .env("SORI_CONNECTIONS_PER_USER", "100000")
        // The connect scenario holds 10,000 sockets at once, the default cap exactly.
        .env("SORI_MAX_CONNECTIONS", "100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let mut child = command.spawn().with_context(|| {
        format!(
            "cannot start {}: build it with `make build`",
            args.server.display()
        )
    })?;
    let addr = listening_addr(&mut child)?;
    Ok(Server {
        addr,
        pid: child.id(),
        child,
        helpers: Vec::new(),
        data: None,
    })
}

fn start_django(args: &ServerArgs) -> anyhow::Result<Server> {
    let mut helpers = Vec::new();
    let layer = if args.target == Target::DjangoRedis {
        let port = free_port()?;
        let mut redis = command(Path::new("redis-server"), args.server_core)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server (apt-get install redis-server)")?;
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            &mut redis,
            "redis-server",
        )?;
        helpers.push(redis);
        ("redis", port)
    } else {
        ("memory", 0)
    };
    let port = free_port()?;
    // Absolute: the child starts in the peer's folder.
    // (The venv's folder, not its python, which is a link out of the venv.)
    let daphne = args
        .python
        .parent()
        .and_then(|bin| std::fs::canonicalize(bin).ok())
        .map(|bin| bin.join("daphne"))
        .context("no Python venv with daphne (run bench/setup-peers.sh)")?;
    let mut child = command(&daphne, args.server_core)
        .args(["-b", "127.0.0.1", "-p", &port.to_string()])
        .arg("chatpeer.asgi:application")
        .current_dir(args.peers.join("django"))
        .env("DJANGO_SETTINGS_MODULE", "chatpeer.settings")
        .env("SORI_PEER_LAYER", layer.0)
        .env("SORI_PEER_REDIS_PORT", layer.1.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} (run bench/setup-peers.sh)",
                daphne.display()
            )
        })?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr, &mut child, "daphne")?;
    Ok(Server {
        addr,
        pid: child.id(),
        child,
        helpers,
        data: None,
    })
}

fn start_socketio(args: &ServerArgs) -> anyhow::Result<Server> {
    let script = args.peers.join("socketio/server.js");
    let mut child = command(Path::new("node"), args.server_core)
        .arg(&script)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start node {}", script.display()))?;
    let addr = listening_addr(&mut child)?;
    Ok(Server {
        addr,
        pid: child.id(),
        child,
        helpers: Vec::new(),
        data: None,
    })
}

/// The fields of `/proc/PID/stat` after the command name, as numbers (0 where a field is
/// not a number, and none for a process that is gone). Field `i` here is field `i + 3` of
/// `proc(5)`: 1 is the parent's pid, 11 and 12 the user and system time, 13 and 14 those of
/// the children it has reaped.
fn stat_fields(pid: u32) -> Vec<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    stat.rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|field| field.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default()
}

/// Clock ticks as time (Linux's `USER_HZ` is 100 on every architecture it runs on here).
fn ticks(fields: &[u64], indexes: &[usize]) -> Duration {
    let sum: u64 = indexes
        .iter()
        .map(|&index| fields.get(index).copied().unwrap_or(0))
        .sum();
    Duration::from_millis(sum * 10)
}

/// User + system CPU time of a process, from `/proc/PID/stat` (clock ticks of 10 ms).
pub fn process_cpu(pid: u32) -> Duration {
    ticks(&stat_fields(pid), &[11, 12])
}

/// The throwaway PostgreSQL server a scenario runs against, found by its port, so its CPU
/// can be read beside the instances'. It reads `/proc` and nothing else: it neither starts
/// nor stops the server (`scripts/with-postgres.sh` does both).
pub struct Postgres {
    postmaster: u32,
}

impl Postgres {
    /// The postmaster listening on `port`: the `postgres` process whose command line has
    /// `-p PORT`, as `pg_ctl -o "-p PORT ..."` starts it (so a server on another port, such
    /// as another engineer's test run, is never counted).
    pub fn on_port(port: u16) -> anyhow::Result<Self> {
        let port = port.to_string();
        for entry in std::fs::read_dir("/proc")? {
            let Some(pid) = entry?
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let args: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
            let is_postgres = args
                .first()
                .is_some_and(|program| program.ends_with(b"/postgres"));
            let on_port = args
                .windows(2)
                .any(|pair| pair[0] == b"-p" && pair[1] == port.as_bytes());
            if is_postgres && on_port {
                return Ok(Self { postmaster: pid });
            }
        }
        bail!("no PostgreSQL server with -p {port} on its command line")
    }

    /// CPU time of the whole server: the postmaster, the processes it runs now (one backend
    /// per connection, the WAL writer, the checkpointer...), and those that have exited
    /// (reaped by the postmaster, so counted in its children's time).
    pub fn cpu(&self) -> Duration {
        let postmaster = stat_fields(self.postmaster);
        let mut total = ticks(&postmaster, &[11, 12, 13, 14]);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return total;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
            else {
                continue;
            };
            let fields = stat_fields(pid);
            if fields.get(1).copied() == Some(u64::from(self.postmaster)) {
                total += ticks(&fields, &[11, 12]);
            }
        }
        total
    }
}

/// CPU time of the whole machine so far, summed over its cores (from the `cpu` line of
/// `/proc/stat`): `busy` is everything but idle, waiting for I/O and stolen; `stolen` is time
/// the hypervisor gave the virtual cores to someone else.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineCpu {
    pub busy: Duration,
    pub stolen: Duration,
}

impl MachineCpu {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .find_map(|line| line.strip_prefix("cpu "))
            .map(|rest| {
                rest.split_whitespace()
                    .map(|field| field.parse().unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        Self {
            busy: ticks(&fields, &[0, 1, 2, 5, 6]),
            stolen: ticks(&fields, &[7]),
        }
    }

    /// What the machine used since `before`.
    pub fn since(before: Self) -> Self {
        let now = Self::now();
        Self {
            busy: now.busy.saturating_sub(before.busy),
            stolen: now.stolen.saturating_sub(before.stolen),
        }
    }
}

/// This process's own CPU time.
pub fn own_cpu() -> Duration {
    process_cpu(std::process::id())
}

/// Resident memory of a process in KiB, from `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}
