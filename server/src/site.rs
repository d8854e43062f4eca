//! Server-side rendering and server functions: the Leptos half of the router.

use std::net::SocketAddr;
use std::sync::OnceLock;

use app::backend::auth::RequestUser;
use app::{App, shell};
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};

use crate::config::Config;
use crate::state::AppState;

/// The name cargo-leptos gives the bundle (`pkg/sori.js`, `.wasm`, `.css`): the `name` in the
/// workspace's `[[workspace.metadata.leptos]]`.
const OUTPUT_NAME: &str = "sori";

/// Leptos options built from Sori's config, so the binary needs nothing from the build tool.
/// Under `cargo leptos watch` the tool's `LEPTOS_ENV` and `LEPTOS_RELOAD_PORT` switch on live
/// reload.
pub fn leptos_options(config: &Config, bound: SocketAddr) -> LeptosOptions {
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("DEV" | "dev" | "development") => Env::DEV,
        _ => Env::PROD,
    };
    let reload_port = std::env::var("LEPTOS_RELOAD_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3001);
    LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_root().to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(bound)
        .reload_port(reload_port)
        .env(env)
        .build()
}

/// The page routes, listed once per process.
///
/// Listing them renders the whole app in a reactive root of its own. Done while another
/// instance in the same process is rendering pages (the integration tests boot a server per
/// test, on parallel threads), it left some of that instance's page requests waiting forever:
/// 85 of 1,200 `/settings` requests hung while a second thread booted servers in a loop, and
/// none of 3,000 once the list was made once. The routes never change, so nothing is lost.
static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();

/// Pages, server functions (`/api/...`), and the static files of the built site.
pub fn routes(state: &AppState) -> Router<AppState> {
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let backend = state.backend.clone();
    let provide = move || {
        provide_context(backend.clone());
        provide_context(RequestUser::default());
        crate::security_headers::provide_request_nonce();
    };

    let shell_options = state.leptos.clone();

    // Besides the pages, this registers every `#[server]` function at its endpoint, with the
    // same context, so pages and server functions see the same backend.
    Router::new()
        .leptos_routes_with_context(state, routes, provide.clone(), move || {
            shell(shell_options.clone())
        })
        // Files of the built site, else the app's "not found" page with status 404.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide, shell))
}
