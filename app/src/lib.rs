//! # Sori's shared crate
//!
//! One crate, two targets: compiled with `ssr` it renders pages and runs server functions
//! inside the `server` binary; compiled with `hydrate` (by `frontend`) it runs in the browser
//! as WebAssembly and takes over the server-rendered page.
//!
//! # Layout
//!
//! ```text
//! pages, components ──► api ──► backend (ssr only) ──► error, model, protocol
//!        │                        ├─ auth, rooms, messages   the services that decide
//!        └──► realtime            ├─ hub, presence           fan-out, no I/O
//!              (browser side)     └─ store                   Store traits, SqliteStore
//! ```
//!
//! - [`model`]: domain values validated at the edge (`RoomName::parse`, ...), returning a
//!   [`model::FieldError`], and the views server functions return. Both targets.
//! - [`protocol`]: the wire protocol of `/ws`, closed serde enums with golden tests.
//! - [`error`]: [`error::ApiError`], the one error every server function returns.
//! - [`api`]: server functions, the typed HTTP API (`/api/...`). Their bodies only adapt:
//!   they find the [`backend`] in the request context and let its services decide.
//! - [`backend`] (`ssr` only): the services, the hub and the store. This is the one place
//!   server-only code lives in this crate; the `server` crate owns the process around it.
//! - [`doctor`]: the `/doctor` page's connection checks, run from the browser against the
//!   diagnostic socket `/ws/probe`.
//! - [`realtime`]: the browser's socket, feeds and outbox. Its decisions are plain modules
//!   tested natively; one `browser` module holds the JavaScript glue.
//! - `pages` and `components`: the UI. They render state and call server functions; they
//!   contain no business logic and no `cfg`.
//! - `response`: the two lines that differ between the targets when a page sets its status.
//!
//! Arrows point one way, left to right: `backend` never imports `api`, `model` and
//! `protocol` import neither, and the store returns records, never frames.
//!
//! The shell ([`shell`]) and the root component ([`App`]) are here.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod components;
pub mod doctor;
#[cfg(all(test, feature = "ssr"))]
mod edge_properties;
pub mod error;
pub mod model;
mod pages;
pub mod protocol;
pub mod realtime;
mod response;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use components::header::SiteHeader;
use components::hydration::HydrationMarker;
use components::rooms_nav::RoomsNav;
use components::rooms_state::provide_rooms_state;
use components::session::provide_session;
use pages::{
    BrowseRoomsPage, DeleteAccountPage, DeleteRoomPage, DoctorPage, HomePage, InvitePage,
    LoginPage, MentionsPage, NewRoomPage, NotFoundPage, RegisterPage, RoomMembersPage, RoomPage,
    RoomSettingsPage, SearchPage, SettingsPage,
};

/// The HTML document around the app. Rendered on the server only; the browser hydrates its
/// `<body>`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The root component: document metadata, the page frame and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/sori.css" />
        <HydrationMarker />
        <Router>
            <Session>
                <SiteHeader />
                <div class="layout">
                <RoomsNav />
                <main id="main" class="site-main">
                    <Routes fallback=NotFoundPage>
                        // Every page renders with `SsrMode::Async`: it waits for its data
                        // before sending anything, so the status (404, a redirect to sign in)
                        // is decided before the first byte, and the complete page works
                        // without JavaScript (streamed fragments would need a script).
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                        <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async />
                        <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                        <Route path=path!("/doctor") view=DoctorPage ssr=SsrMode::Async />
                        <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async />
                        <Route
                            path=path!("/settings/delete-account")
                            view=DeleteAccountPage
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("/mentions") view=MentionsPage ssr=SsrMode::Async />
                        <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async />
                        <Route path=path!("/rooms") view=BrowseRoomsPage ssr=SsrMode::Async />
                        <Route path=path!("/rooms/new") view=NewRoomPage ssr=SsrMode::Async />
                        <Route path=path!("/rooms/:id") view=RoomPage ssr=SsrMode::Async />
                        <Route
                            path=path!("/rooms/:id/members")
                            view=RoomMembersPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/rooms/:id/settings")
                            view=RoomSettingsPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/rooms/:id/delete")
                            view=DeleteRoomPage
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("/invite/:token") view=InvitePage ssr=SsrMode::Async />
                    </Routes>
                </main>
                </div>
            </Session>
        </Router>
    }
}

/// Provides the signed-in user to everything inside it (it must sit inside the router).
#[component]
fn Session(children: Children) -> impl IntoView {
    let session = provide_session();
    provide_rooms_state();
    let me = Signal::derive(move || session.user.get().and_then(Result::ok).flatten());
    let realtime = realtime::provide_realtime(me);
    view! {
        // Every page's title ends in "Sori", led by the unread count when there is one.
        <Title formatter=move |page: String| {
            realtime::notify::page_title(&page, realtime.total_unread())
        } />
        {children()}
    }
}
