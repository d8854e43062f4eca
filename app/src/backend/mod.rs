//! The server-side services that server functions and the server crate share.
//!
//! - [`auth`], [`rooms`], [`messages`]: the services that decide (who may do what, the
//!   delivery contract). Server functions and the socket call them; they call the store and
//!   the hub.
//! - [`hub`]: fan-out to open sockets, with [`presence`]; no I/O, never blocks.
//! - [`relay`]: with a store shared by several instances, orders every room's committed
//!   events into the hub once, whichever instance wrote them; [`revocation`] ends access
//!   on every instance's hub; [`roster`] keeps who is present through which instance in
//!   the database; [`bus`] carries the hints, the revocations, presence and typing
//!   between instances over PostgreSQL; [`instance_id`] names this run.
//! - [`markdown`]: a message's source into its rendered form, once per post or edit.
//! - [`search`]: the text a message search indexes (Korean split into pairs) and a typed
//!   query read as literal words, for both stores.
//! - [`store`]: persistence behind the `Store` traits (records in, records out; no frames).
//! - Edges: [`request`] (the HTTP request being served), [`client_addr`], [`cross_site`],
//!   [`rate_limit`], [`clock`], [`internal_error`].
//!
//! Arrows point one way: `api` → `backend` → (`error`, `model`, `protocol`). Nothing here
//! imports `api`, and the store knows neither the hub nor the wire frames.
//!
//! This whole tree is compiled only with the `ssr` feature; `lib.rs` gates it once, so nothing
//! inside needs its own `cfg`. It knows nothing about HTTP routing or sockets: the `server`
//! crate owns the process, the listener and the WebSocket, and hands a [`Backend`] to every
//! request through Leptos context.

pub mod auth;
pub mod bus;
pub mod client_addr;
pub mod clock;
pub mod cross_site;
pub mod hub;
pub mod ingress;
pub mod instance_id;
pub mod internal_error;
pub mod markdown;
pub mod messages;
pub mod presence;
pub mod rate_limit;
pub mod relay;
pub mod request;
pub mod revocation;
pub mod rooms;
pub mod roster;
pub mod search;
pub mod store;

use std::sync::Arc;
use std::time::Instant;

use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::model::{RoomId, StatusReport};
use auth::SessionCookie;
use auth::{Accounts, AuthConfig, CurrentUser};
use bus::Ends;
use clock::Clock;
use hub::{Hub, HubLimits, RealtimeConfig};
use ingress::Ingress;
use instance_id::InstanceId;
use messages::{Messages, MessagesConfig};
use presence::ShareQueue;
use relay::Relay;
use request::RequestContext;
use revocation::{REVOCATION_QUEUE, Revocations};
use rooms::{Rooms, RoomsConfig};
use roster::Roster;
use store::Store;

/// Cheap, clonable handles to every service. One is built at boot and cloned into each
/// request's context; cloning copies a few `Arc`s.
#[derive(Clone)]
pub struct Backend {
    store: Arc<dyn Store>,
    accounts: Arc<Accounts>,
    rooms: Arc<Rooms>,
    messages: Arc<Messages>,
    hub: Arc<Hub>,
    revocations: Arc<Revocations>,
    realtime: Arc<RealtimeConfig>,
    ingress: Arc<Ingress>,
    instance: InstanceId,
    /// Present when the store is shared with other instances.
    relay: Option<Arc<Relay>>,
    /// Present when the store is shared with other instances.
    roster: Option<Arc<Roster>>,
}

/// The service settings a [`Backend`] is built from; part of the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct BackendConfig {
    pub auth: AuthConfig,
    pub rooms: RoomsConfig,
    pub messages: MessagesConfig,
    pub realtime: RealtimeConfig,
}

impl Backend {
    /// Builds the services of the only instance on its store; call it inside the Tokio
    /// runtime (it starts the presence timer). Committed changes go straight to the hub.
    pub fn new(
        store: Arc<dyn Store>,
        config: &BackendConfig,
        public_origin: &str,
        clock: Clock,
    ) -> Self {
        Self::build(store, config, public_origin, clock, None).0
    }

    /// Builds the services of one instance among several on a shared store, known to the
    /// others by `roster`'s instance id: committed changes go through a [`Relay`], which
    /// offers a hint for the others; ended access is offered to them as well as ended here;
    /// and presence is shared. The returned [`Ends`] are what the bus connects.
    pub fn relayed(
        store: Arc<dyn Store>,
        config: &BackendConfig,
        public_origin: &str,
        clock: Clock,
        roster: Arc<Roster>,
    ) -> (Self, Ends) {
        let (backend, ends) = Self::build(store, config, public_origin, clock, Some(roster));
        // `build` makes the ends whenever it is given a roster, as it is here.
        (backend, ends.expect("a relayed backend has the bus's ends"))
    }

    fn build(
        store: Arc<dyn Store>,
        config: &BackendConfig,
        public_origin: &str,
        clock: Clock,
        roster: Option<Arc<Roster>>,
    ) -> (Self, Option<Ends>) {
        let limits = HubLimits::from(&config.realtime);
        let shared = roster.as_ref().map(|_| ShareQueue::new(bus::SHARE_QUEUE));
        let hub = Arc::new(Hub::new(
            limits,
            shared.as_ref().map(|(queue, _)| queue.clone()),
        ));
        // Runs for as long as the hub exists (the server's lifetime).
        Hub::start_presence_timer(&hub);
        let hints = roster
            .as_ref()
            .map(|_| tokio::sync::mpsc::channel(bus::HINT_QUEUE));
        let revoked = roster
            .as_ref()
            .map(|_| tokio::sync::mpsc::channel(REVOCATION_QUEUE));
        let relay = hints.as_ref().map(|(hints, _)| {
            Arc::new(Relay::new(store.clone(), hub.clone(), Some(hints.clone())))
        });
        let revocations = Arc::new(Revocations::new(
            hub.clone(),
            store.clone(),
            revoked.as_ref().map(|(revoked, _)| revoked.clone()),
        ));
        let rooms = Arc::new(Rooms::new(
            store.clone(),
            revocations.clone(),
            &config.rooms,
            clock.clone(),
        ));
        let backend = Self {
            accounts: Arc::new(Accounts::new(
                store.clone(),
                revocations.clone(),
                &config.auth,
                clock.clone(),
            )),
            messages: Arc::new(Messages::new(
                store.clone(),
                rooms.clone(),
                hub.clone(),
                &config.messages,
                clock,
                relay.clone(),
            )),
            rooms,
            hub: hub.clone(),
            revocations: revocations.clone(),
            realtime: Arc::new(config.realtime.clone()),
            store,
            ingress: Arc::new(Ingress::new(
                public_origin,
                config.auth.trusted_proxies.clone(),
            )),
            instance: roster
                .as_ref()
                .map_or_else(InstanceId::random, |roster| roster.instance()),
            relay: relay.clone(),
            roster: roster.clone(),
        };
        let ends = match (roster, relay, hints, revoked, shared) {
            (
                Some(roster),
                Some(relay),
                Some((_, hints)),
                Some((_, revoked)),
                Some((share, shared)),
            ) => Some(Ends {
                relay,
                hints,
                revocations,
                revoked,
                hub,
                roster,
                share,
                shared,
            }),
            _ => None,
        };
        (backend, ends)
    }

    /// The backend of the request being served. The server provides it to every server
    /// function and every rendered page; its absence is a wiring bug, reported as internal.
    pub fn from_context() -> Result<Self, ApiError> {
        leptos::prelude::use_context::<Backend>().ok_or_else(|| {
            tracing::error!("no Backend in the Leptos context: the server did not provide it");
            ApiError::Internal
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Where access is ended; the bus applies the other instances' revocations through it.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    pub fn realtime(&self) -> &RealtimeConfig {
        &self.realtime
    }

    /// This run's id, fresh at every start (reported by `/healthz`).
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// The relay, when other instances share the store; sockets track their rooms with it.
    pub fn relay(&self) -> Option<&Relay> {
        self.relay.as_deref()
    }

    /// With other instances on the store: reads who they have in `room` into the hub, so a
    /// socket about to be sent the "Online" list gets theirs too. A room already read is
    /// kept current by notifications and beats, so it is not read again. A failed read is
    /// logged; the next one that succeeds announces whoever the list lacked.
    pub async fn see_presence_elsewhere(&self, room: RoomId) {
        let Some(roster) = &self.roster else {
            return;
        };
        if self.hub.knows_presence_elsewhere(room) {
            return;
        }
        if let Err(error) = roster.refresh(&self.hub, &[room]).await {
            tracing::warn!(%error, %room, "presence: cannot read who is in the room elsewhere");
        }
    }

    /// The origin browsers use to reach this server, e.g. `https://chat.example.org`, as
    /// configured (an https request expects it on https, see [`Ingress`]).
    pub fn public_origin(&self) -> &str {
        self.ingress.public_origin()
    }

    /// How requests reach this server: the public origin and the trusted proxies.
    pub fn ingress(&self) -> &Ingress {
        &self.ingress
    }

    /// The session cookie for the request being served (`Secure` and `__Host-` if https).
    pub fn session_cookie(&self, request: &RequestContext) -> SessionCookie {
        self.accounts.cookie(request.arrival(&self.ingress).https)
    }

    /// Who is making the request being served, if anyone is signed in. When the session's
    /// expiry slides forward, the cookie is re-issued so the browser keeps it as long.
    pub async fn current_user(&self) -> Result<Option<CurrentUser>, ApiError> {
        match leptos::prelude::use_context::<auth::RequestUser>() {
            Some(memo) => memo.get_or_look_up(|| self.look_up_user()).await,
            None => self.look_up_user().await,
        }
    }

    async fn look_up_user(&self) -> Result<Option<CurrentUser>, ApiError> {
        let request = RequestContext::current()?;
        let https = request.arrival(&self.ingress).https;
        let Some(found) = self.accounts.authenticate(request.headers(), https).await? else {
            return Ok(None);
        };
        let cookie = self.accounts.cookie(https);
        if let Some(token) = cookie.read(request.headers()).filter(|_| found.refreshed) {
            request.set_cookie(&cookie.reissue(token));
        }
        Ok(Some(found.user))
    }

    /// Like [`Backend::current_user`], but anonymous requests are refused.
    pub async fn require_user(&self) -> Result<CurrentUser, ApiError> {
        self.current_user().await?.ok_or(ApiError::Unauthenticated)
    }

    /// The backend of the request being served and its signed-in user: how every server
    /// function that acts for someone starts. Anonymous requests are refused.
    pub async fn signed_in() -> Result<(Self, CurrentUser), ApiError> {
        let backend = Self::from_context()?;
        let user = backend.require_user().await?;
        Ok((backend, user))
    }

    /// The status the home page shows: version, database latency and instance age.
    pub async fn status(&self) -> Result<StatusReport, ApiError> {
        let started = Instant::now();
        let instance = self.store.instance().await.map_err(|error| {
            tracing::warn!(%error, "status: the database did not answer");
            ApiError::Unavailable
        })?;
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            instance_created_ms: instance.created_ms,
        })
    }
}

/// Errors leaving a plain axum handler (such as an extractor's rejection) are answered with
/// their status and the same JSON a server function would send.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = http::StatusCode::from_u16(self.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}
