//! The HTTP face: the routing table of the `/v0` API and of the control API, the per-route
//! layer (request counts and faults), and the handlers, one module per resource.

use axum::{
    Router,
    extract::{Request, State},
    http::{Method, StatusCode, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
};

use crate::{Emulator, faults, route};

mod control;
mod create;
mod error;
mod executions;
mod jobs;
mod listing;
mod request;
mod tasks;

pub(crate) use error::ApiError;

/// The app: every `/v0` route under its [`route`] key, the control API, `/healthz`, and a JSON
/// 404 for anything else.
pub(crate) fn routes(emu: Emulator) -> Router {
    // The layer counts and faults by key; keys of one path share its template, so the layer
    // gets the template and prefixes the request's method (which also names 405s and HEADs).
    let v0 = |key: &'static str, mr: MethodRouter<Emulator>| {
        let layer = middleware::from_fn_with_state((emu.clone(), route::template(key)), v0_layer);
        (route::template(key), mr.layer(layer))
    };
    let table = [
        v0(route::LIST_JOBS, get(jobs::list_jobs)),
        v0(route::GET_JOB, get(jobs::get_job)),
        v0(
            route::LIST_EXECUTIONS,
            get(executions::list_executions).post(create::create_execution),
        ),
        v0(
            route::GET_EXECUTION,
            get(executions::get_execution).delete(executions::cancel_execution),
        ),
        v0(route::LIST_TASKS, get(tasks::list_tasks)),
        v0(route::LIST_REVISIONS, get(jobs::list_revisions)),
    ];
    table
        .into_iter()
        .fold(Router::new(), |r, (path, mr)| r.route(path, mr))
        .route("/_emulator/stats", get(control::stats))
        .route("/_emulator/reset-stats", post(control::reset_stats))
        .route(
            "/_emulator/faults",
            post(control::set_faults).delete(control::clear_faults),
        )
        .route(
            "/_emulator/clock",
            get(control::clock).post(control::advance_clock),
        )
        .route("/healthz", get(|| async { "ok" }))
        .fallback(fallback)
        .with_state(emu)
}

/// Counts every `/v0` request under `METHOD template` and applies the fault that fires for it.
async fn v0_layer(
    State((emu, template)): State<(Emulator, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let key = format!("{} {template}", req.method());
    emu.count(&key);
    match emu.pick_fault(&key) {
        None => next.run(req).await,
        Some(fault) => faults::apply(fault, req, |r| next.run(r)).await,
    }
}

async fn fallback(State(emu): State<Emulator>, method: Method, uri: Uri) -> Response {
    if uri.path() == "/v0" || uri.path().starts_with("/v0/") {
        emu.count(&format!("{method} /v0/{{*path}}"));
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", uri.path()),
    )
    .into_response()
}
