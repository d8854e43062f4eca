//! A PostgreSQL server of one test's own, for the tests that restart the server under running
//! instances: the shared one that `scripts/with-postgres.sh` starts serves every other test
//! at the same time, so it is never restarted.
//!
//! [`PostgresServer::start`] does what `with-postgres.sh` does: Debian's binaries (the newest
//! `/usr/lib/postgresql/*/bin`, or `PG_BIN`), `initdb` in a new temporary directory (as the
//! `postgres` user when the test runs as root, since initdb refuses root), trust
//! authentication, fsync off, a free port on 127.0.0.1. [`PostgresServer::restart`] stops it
//! in the given mode and starts it again on the same port and data, so clients reconnect
//! to the address they had. Dropping the value stops the server with `-m immediate` and
//! removes its directory, also while a failed test unwinds. Every wait has a deadline: a
//! server that does not come up fails the test with its log, never hangs it.
//!
//! It makes no databases or users (the URL names the `postgres` database, which a test may
//! use as its own). [`stored`] reads what a database holds for a room, on this server or
//! the shared one, for the tests' no-gap, no-duplicate checks.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `pg_ctl` may take to start, stop or restart the server (its own `-t`); the
/// process itself gets a few seconds more before it is killed.
const PG_CTL_WAIT_SECS: u64 = 30;

/// How a restart stops the server before starting it again (`pg_ctl -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every session is ended with an error ("terminating connection due to administrator
    /// command"), open transactions roll back, and a checkpoint is written.
    Fast,
    /// The server quits at once, as in a crash; the next start runs crash recovery.
    Immediate,
}

impl Shutdown {
    fn mode(self) -> &'static str {
        match self {
            Shutdown::Fast => "fast",
            Shutdown::Immediate => "immediate",
        }
    }
}

/// A running PostgreSQL server that this value owns.
pub struct PostgresServer {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    /// Whether every command runs as the `postgres` user (the test runs as root).
    as_server_user: bool,
    /// Removed after the server is stopped, in `drop`.
    dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Initialises and starts a new server. Blocking work runs off the test's runtime, so
    /// servers it already runs keep serving.
    pub async fn start() -> Self {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .expect("starting PostgreSQL does not panic")
    }

    fn start_blocking() -> Self {
        let bin = binaries();
        let dir = tempfile::Builder::new()
            .prefix("sori-postgres.")
            .tempdir()
            .expect("a temporary directory for PostgreSQL");
        let as_server_user = is_root();
        if as_server_user {
            let chowned = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(
                chowned.success(),
                "cannot give {} to the postgres user",
                dir.path().display()
            );
        }
        let mut server = Self {
            data: dir.path().join("data"),
            log: dir.path().join("log"),
            bin,
            port: 0,
            as_server_user,
            dir,
        };
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(&server.data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        let output = server.dir.path().join("initdb.out");
        write_output_to(&mut initdb, &output);
        if let Err(error) = run_within(&mut initdb, deadline()) {
            let output = std::fs::read_to_string(&output).unwrap_or_default();
            panic!("initdb failed: {error}\n{output}");
        }
        // A port free now may be taken before the server binds it (by another test doing the
        // same), so a failed start is tried again on another port.
        for _ in 0..5 {
            server.port = free_port();
            if server.pg_ctl(&["start"]).is_ok() {
                return server;
            }
        }
        panic!(
            "PostgreSQL did not start on five ports; its log:\n{}",
            server.log_text()
        );
    }

    /// The URL of the server's `postgres` database, for `DATABASE_URL`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server in `mode` and starts it again on the same port; returns once it
    /// accepts connections. Runs off the test's runtime, so the instances on it notice the
    /// outage as it happens.
    pub async fn restart(&self, mode: Shutdown) {
        self.pg_ctl_off_runtime(&["-m", mode.mode(), "restart"], "restart")
            .await;
    }

    /// Stops the server in `mode` and leaves it down, until [`PostgresServer::start_again`].
    pub async fn stop(&self, mode: Shutdown) {
        self.pg_ctl_off_runtime(&["-m", mode.mode(), "stop"], "stop")
            .await;
    }

    /// Starts a stopped server again on the same port; returns once it accepts connections.
    pub async fn start_again(&self) {
        self.pg_ctl_off_runtime(&["start"], "start").await;
    }

    async fn pg_ctl_off_runtime(&self, args: &[&str], what: &str) {
        let mut command = self.pg_ctl_command(args);
        let done = tokio::task::spawn_blocking(move || run_within(&mut command, deadline()))
            .await
            .expect("pg_ctl does not panic");
        if let Err(error) = done {
            panic!(
                "PostgreSQL did not {what}: {error}; its log:\n{}",
                self.log_text()
            );
        }
    }

    /// Runs `pg_ctl ARGS` on this server with its settings, within the deadline.
    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        run_within(&mut self.pg_ctl_command(args), deadline())
    }

    fn pg_ctl_command(&self, args: &[&str]) -> Command {
        // fsync off and no full-page writes: a crash loses nothing anyone wants to keep.
        // The socket directory is the server's own (the default one may not be writable).
        let settings = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", &PG_CTL_WAIT_SECS.to_string()])
            .arg("-l")
            .arg(&self.log)
            .args(["-o", &settings])
            .args(args);
        write_output_to(&mut command, &self.dir.path().join("pg_ctl.out"));
        command
    }

    /// `program` from the binaries' directory, as the `postgres` user when needed.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_server_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|error| format!("(no log: {error})"))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // The pid file exists from the server's start until it stops, so this also stops a
        // server that pg_ctl gave up waiting for. Immediate: the data is removed next, so a
        // clean shutdown would be wasted time. Never panic here (a failed test may be
        // unwinding); the directory goes with `dir` right after.
        if self.data.join("postmaster.pid").exists()
            && let Err(error) = self.pg_ctl(&["-m", "immediate", "stop"])
        {
            eprintln!(
                "could not stop the test's PostgreSQL in {}: {error}",
                self.dir.path().display()
            );
        }
    }
}

/// Appends `command`'s output to `file`. Never a pipe: the server that `pg_ctl` starts
/// inherits it, and a reader waiting for its end would wait for the server to stop.
fn write_output_to(command: &mut Command, file: &Path) {
    let output = File::options()
        .create(true)
        .append(true)
        .open(file)
        .expect("the output file opens");
    let errors = output.try_clone().expect("the file handle is duplicated");
    command.stdin(Stdio::null()).stdout(output).stderr(errors);
}

/// The directory of PostgreSQL's binaries: `PG_BIN`, else the newest installed version.
fn binaries() -> PathBuf {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return PathBuf::from(bin);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed: run 'scripts/setup.sh --test' as root (or \
             'apt-get install postgresql'), or point PG_BIN at its bin directory"
        ),
    }
}

/// Whether this process runs as root (`/proc/self` belongs to the process's user).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|proc| proc.uid() == 0)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    probe.local_addr().expect("a bound address").port()
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(PG_CTL_WAIT_SECS + 10)
}

/// Runs `command` to its end, killing it if it is still running at `deadline`.
fn run_within(command: &mut Command, deadline: Instant) -> Result<(), String> {
    let mut child = command.spawn().map_err(|error| error.to_string())?;
    loop {
        match child.try_wait().map_err(|error| error.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("{command:?} ended with {status}")),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{command:?} did not finish in time"));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// How many messages and events the database at `url` holds for `room`, and the room's
/// counter: with posts only, all three are equal when nothing was lost or duplicated.
pub async fn stored(url: &str, room: app::model::RoomId) -> Stored {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .expect("the test reaches its database");
    let (messages, events, last_seq): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM messages WHERE room_id = $1), \
                (SELECT count(*) FROM room_events WHERE room_id = $1), \
                (SELECT last_seq FROM rooms WHERE id = $1)",
    )
    .bind(room.0)
    .fetch_one(&mut connection)
    .await
    .expect("the counts are read");
    connection.close().await.ok();
    Stored {
        messages,
        events,
        last_seq,
    }
}

/// What [`stored`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub messages: i64,
    pub events: i64,
    pub last_seq: i64,
}
