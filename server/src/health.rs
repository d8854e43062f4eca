//! Probes for load balancers and orchestrators.
//!
//! `/healthz` is liveness: the process is up and serving HTTP. It touches no database and
//! ignores the Host header, so a probe that dials an IP address still gets 200.
//! `/readyz` is readiness: the database answers, so requests can be served.

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

async fn liveness() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.backend.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness: the database did not answer");
            let body = json!({ "status": "unavailable", "reason": "database" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
