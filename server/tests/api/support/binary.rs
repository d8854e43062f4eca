//! The real `sori` binary as a child process, for the tests that kill it (`chaos`, and
//! `instances_failure`, which kills one of two instances): a `TestApp` runs inside the test
//! process, where SIGKILL cannot reach it alone.
//!
//! [`Sori::start`] runs the binary with the given environment and waits, with a deadline,
//! until it logs the address it bound; [`Sori::kill`] sends SIGKILL and reaps it. Dropping a
//! `Sori` kills it too, so a failed test leaves no server behind. It reads nothing of the
//! server's log but that address (the rest is drained, so the server never blocks on it).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a start may take: migrations, and a PostgreSQL store's first connections.
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Sori {
    child: Child,
    /// The address it listens on, `127.0.0.1:PORT`.
    pub addr: String,
}

impl Sori {
    /// Runs the binary in `dir` with `envs` added to the test's environment (set
    /// `SORI_ADDR` and `DATABASE_URL` there), and returns once it is listening.
    pub fn start(dir: &Path, envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sori"));
        command
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (bound, listening) = mpsc::channel();
        // A thread of its own reads the log: a blocking read could not keep a deadline.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { return };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = bound.send(addr.to_owned());
                    break;
                }
            }
            // Keep draining the log so the server never blocks on a full pipe.
            for _ in lines {}
        });
        match listening.recv_timeout(START_DEADLINE) {
            Ok(addr) => Self { child, addr },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("the server did not log its address within {START_DEADLINE:?}: {status:?}")
            }
        }
    }

    /// `http://` and the address, for a browser.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for Sori {
    fn drop(&mut self) {
        // Already gone after `kill`; either way nothing is left running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
