//! Probes for load balancers and orchestrators.
//!
//! `/healthz` is liveness: the process is up and serving HTTP. It touches no database and
//! ignores the Host header, so a probe that dials an IP address still gets 200. It names the
//! instance that answered (a fresh id per start), so behind a load balancer an operator can
//! tell which one that was, and the database it uses (the `instance` row's creation time,
//! read once at boot), so instances that do not share one can be told apart.
//! `/readyz` is readiness: the database answers, so requests can be served, and, with
//! other instances on the database, the bus's listening connection is up (without it this
//! instance would hear of others' messages only at catch-up).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(liveness))
        .route("/readyz", get(readiness))
}

async fn liveness(State(state): State<AppState>) -> Json<serde_json::Value> {
    let instance = state.backend.instance().to_string();
    let database = state.probes.database.to_string();
    Json(json!({ "status": "ok", "instance": instance, "database": database }))
}

async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if let Err(error) = state.backend.store().ping().await {
        tracing::warn!(%error, "readiness: the database did not answer");
        let body = json!({ "status": "unavailable", "reason": "database" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    if state.bus.as_ref().is_some_and(|bus| !bus.is_listening()) {
        tracing::warn!("readiness: the bus's listening connection is down");
        let body = json!({ "status": "unavailable", "reason": "listener" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    (StatusCode::OK, Json(json!({ "status": "ready" })))
}
