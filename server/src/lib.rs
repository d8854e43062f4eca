//! # The Sori server
//!
//! The process around the shared `app` crate: it reads the [`Config`], opens the store, binds
//! the listener, serves pages, server functions and probes, and shuts down gracefully.
//!
//! ## Layout
//! - [`config`]: the one configuration struct (flags and environment).
//! - `site`: Leptos options and the routes that render pages and run server functions.
//! - `health`: `/healthz` and `/readyz`.
//! - `body_limit`: the cap on request bodies (413 with a typed error).
//! - `guard`: layers every request passes: the cross-site check on state-changing requests
//!   and the mapping of server-function errors to their HTTP status.
//! - `security_headers`: the CSP (with a per-request nonce), HSTS on https and the other
//!   security headers, on every response.
//! - `request_timeout`: 408 for a request not answered in time.
//! - `serve`: the accept loop: caps on open connections (in all and per address) and the
//!   header-read timeout, against slow clients.
//! - `state`: the handles every handler shares.
//! - `ws`: the `/ws` endpoint, one socket per tab (fan-out itself is `app::backend::hub`),
//!   and `/ws/probe`, the diagnostic socket.
//! - [`shutdown`]: the signal that starts a graceful shutdown.
//! - [`doctor`]: `sori doctor URL`, which checks a deployment from outside.
//!
//! ## One boot path
//! [`Application::build`] turns a config into a bound server; [`Application::run_until`] serves
//! until a shutdown future completes. `main`, the integration tests (port 0, a temporary
//! database) and the benchmarks all start Sori this way.

mod body_limit;
pub mod config;
pub mod doctor;
mod guard;
mod health;
mod request_timeout;
mod security_headers;
mod serve;
pub mod shutdown;
mod site;
mod state;
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::Backend;
use app::backend::bus::{self, Bus, BusError};
use app::backend::clock::Clock;
use app::backend::instance_id::InstanceId;
use app::backend::store::{self, OpenError};
use axum::Router;
use tokio::net::TcpListener;

pub use config::{Config, ConfigError};
use state::AppState;

/// Why Sori could not start. Each message is the one line an operator sees: what is wrong
/// and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(
        "cannot listen on {addr}: the address is already in use; stop the other process or \
         choose another address with --addr or SORI_ADDR"
    )]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}; choose another address with --addr or SORI_ADDR")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A server that is bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    public_origin: String,
    router: Router,
    backend: Backend,
    config: Config,
    /// Running while the store is shared with other instances; dropping it stops it.
    bus: Option<Arc<Bus>>,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Opens the store (applying migrations), binds the listener and assembles the routes.
    pub async fn build(config: Config) -> Result<Self, BootError> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`Application::build`] with a given clock, so tests can move time forward.
    pub async fn build_with_clock(config: Config, clock: Clock) -> Result<Self, BootError> {
        let addr = config.listen_addr()?;
        // Validate the origin before touching the disk, so a typo fails fast.
        if config.public_origin.is_some() {
            config.public_origin(addr)?;
        }
        let store = store::open(&config.store).await?;
        // Messages stored before the search index existed are indexed in the background;
        // new ones are indexed as they are written.
        tokio::spawn(app::backend::messages::index_backlog(store.clone()));
        // What tells databases apart from outside (`/healthz`, `/ws/probe`): a random id
        // written once, when the database is created.
        let database = match store.instance().await {
            Ok(instance) => instance.database_id,
            Err(error) => {
                tracing::warn!(%error, "cannot read the instance row; /healthz names no database");
                "unknown".to_owned()
            }
        };
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                BootError::AddrInUse { addr }
            } else {
                BootError::Listen { addr, source }
            }
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| BootError::Listen { addr, source })?;
        let public_origin = config.public_origin(local_addr)?;

        let (backend, bus) = if config.shares_the_store() {
            let roster = bus::roster(
                &config.bus,
                &config.store.database_url,
                InstanceId::random(),
            );
            let roster = Arc::new(roster.await?);
            let (backend, ends) =
                Backend::relayed(store, &config.backend(), &public_origin, clock, roster);
            let bus = Bus::start(&config.bus, &config.store.database_url, ends).await?;
            (backend, Some(Arc::new(bus)))
        } else {
            let backend = Backend::new(store, &config.backend(), &public_origin, clock);
            (backend, None)
        };
        let probes = ws::probe::Probes::new(config.probe.clone(), database);
        if let Some(bus) = &bus {
            probes.hear_from(bus);
        }
        let (stopping, shutdown) = tokio::sync::watch::channel(false);
        let frame_budgets = ws::frame_budget::FrameBudgets::new(
            config.realtime.frames_per_second,
            config.realtime.frame_burst,
        );
        let state = AppState {
            probes,
            frame_budgets,
            leptos: site::leptos_options(&config, local_addr),
            backend: backend.clone(),
            bus: bus.clone(),
            shutdown,
        };
        let router = Router::new()
            .merge(health::routes())
            .merge(ws::routes())
            .merge(site::routes(&state))
            .layer(axum::middleware::from_fn(guard::error_status))
            // After the cross-site check (a refused request's body is never read).
            .layer(axum::middleware::from_fn_with_state(
                body_limit::BodyLimits::new(config.http.max_body_bytes),
                body_limit::limit_body,
            ))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                guard::cross_site,
            ))
            .layer(axum::middleware::from_fn_with_state(
                config.http.request_timeout(),
                request_timeout::limit_duration,
            ))
            // Outermost, so every answer carries the headers, a refusal or a 408 too.
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                security_headers::security_headers,
            ))
            .with_state(state);

        Ok(Self {
            listener,
            local_addr,
            public_origin,
            router,
            backend,
            config,
            bus,
            stopping,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The services, for tests that look inside (the hub's connection count, say).
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The origin browsers are expected to use.
    pub fn public_origin(&self) -> &str {
        &self.public_origin
    }

    /// Serves until `shutdown` completes, then stops accepting, lets open requests finish
    /// within the configured grace period, and closes the store.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let grace = self.config.shutdown_grace();
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let sockets = self.stopping.clone();
        let signal = async move {
            shutdown.await;
            // Upgraded sockets are not HTTP requests the server waits for: tell them to
            // close (1012, so clients reconnect at once to the next instance).
            sockets.send_replace(true);
            // The receiver lives until the drain deadline below has been armed.
            let _ = stopping_tx.send(());
        };
        let limits = serve::ConnectionLimits {
            max_connections: self.config.http.max_connections,
            max_per_address: self.config.http.max_connections_per_address,
            header_read_timeout: self.config.http.header_read_timeout(),
            unlimited_peers: self.backend.ingress().trusted_proxies().to_vec(),
        };
        let serve = serve::serve(self.listener, self.router, limits, signal);
        let serve = std::pin::pin!(serve);

        tokio::select! {
            () = serve => {}
            () = async {
                // Once shutdown starts, open requests get `grace` to finish.
                let _ = stopping_rx.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "open requests did not finish within the grace period");
            }
        }
        // Give sockets a moment to send their close frames before the store goes away.
        let deadline = tokio::time::Instant::now() + grace.min(std::time::Duration::from_secs(2));
        while self.backend.hub().connection_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // The bus goes first: its tasks read through the store.
        if let Some(bus) = &self.bus {
            bus.farewell(self.config.backend().realtime.presence_grace())
                .await;
            bus.stop();
        }
        self.backend.store().close().await;
        tracing::info!("stopped");
    }
}
