//! Starts a real Sori on a free loopback port with a fresh database, the way `main` does.
//! The modules play everything around it: `browser` and `socket` are the clients, `chat`
//! the steps of a conversation, `binary` the real `sori` process (for the tests that kill
//! it), `postgres` a PostgreSQL server of a test's own (for the tests that restart it) and
//! `proxy` nginx and Caddy from the shipped configurations in front of instances.

pub mod binary;
pub mod browser;
pub mod chat;
pub mod forwarder;
pub mod postgres;
pub mod proxy;
pub mod raw_http;
pub mod socket;

use std::net::SocketAddr;
use std::time::Duration;

use app::backend::clock::Clock;
use server::{Application, Config};
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: app::backend::Backend,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<()>>,
    // Dropped last: the database lives here.
    _data: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a test configuration adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_with_clock(Clock::system(), adjust).await
    }

    /// Spawns one instance on a PostgreSQL database that others may share (each test gets
    /// its database from `app::backend::store::scratch`).
    pub async fn spawn_on_postgres(database_url: &str, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_with(|config| {
            config.store.database_url = database_url.to_owned();
            adjust(config);
        })
        .await
    }

    /// Spawns with the given clock (a manual one lets a test move time forward).
    pub async fn spawn_with_clock(clock: Clock, adjust: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::for_tests(&data.path().join("sori.db"));
        adjust(&mut config);
        let application = Application::build_with_clock(config, clock)
            .await
            .expect("the app boots");
        let addr = application.local_addr();
        let backend = application.backend().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(application.run_until(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        Self {
            addr,
            backend,
            client,
            stop: Some(stop),
            running: Some(running),
            _data: data,
        }
    }

    /// A new browser with no cookies, pointed at this server.
    pub fn browser(&self) -> browser::Browser {
        browser::Browser::new(&format!("http://{}", self.addr))
    }

    /// The origin browsers use for this server.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Opens a socket as `browser` would, from the right origin.
    pub async fn socket(&self, browser: &browser::Browser) -> socket::Socket {
        let origin = self.origin();
        socket::Socket::open(self.addr, browser.cookie.as_deref(), Some(&origin))
            .await
            .expect("the socket opens")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Triggers a graceful shutdown and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            running.await.expect("the server task ends cleanly");
        }
    }
}

/// `/readyz`'s status and reason, polled until `wanted` or 10 s.
pub async fn readiness_becomes(app: &TestApp, wanted: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = app.client.get(app.url("/readyz")).send().await.unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        if status == wanted {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
