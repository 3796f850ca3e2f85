//! The control API under `/_emulator` (stats, faults, virtual clock); the in-process twin is
//! [`Emulator`]'s methods.

use axum::{body::Bytes, extract::State, http::StatusCode, response::Response};
use serde::{Deserialize, Serialize};

use super::{
    ApiError,
    error::{ApiResult, json},
};
use crate::{Emulator, Fault, timeline::ts};

/// `GET /_emulator/stats`.
pub(crate) async fn stats(State(emu): State<Emulator>) -> Response {
    json(StatusCode::OK, &emu.stats(), 512)
}

/// `POST /_emulator/reset-stats`: 204.
pub(crate) async fn reset_stats(State(emu): State<Emulator>) -> StatusCode {
    emu.reset_stats();
    StatusCode::NO_CONTENT
}

/// `POST /_emulator/faults`: replaces the fault list; 400 for a body that is not a list of
/// faults or a fault that could never fire (unknown route key, status outside 100..=599, ...).
pub(crate) async fn set_faults(State(emu): State<Emulator>, body: Bytes) -> ApiResult {
    let faults: Vec<Fault> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("expected a JSON list of faults: {e}")))?;
    let n = faults.len();
    emu.try_set_faults(faults)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "faults": n }),
        32,
    ))
}

/// `DELETE /_emulator/faults`: 204.
pub(crate) async fn clear_faults(State(emu): State<Emulator>) -> StatusCode {
    emu.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockRequest {
    advance_seconds: i64,
}

#[derive(Serialize)]
struct ClockResponse {
    now: String,
}

/// `GET /_emulator/clock`: `{"now": RFC 3339}`.
pub(crate) async fn clock(State(emu): State<Emulator>) -> Response {
    let now = ClockResponse {
        now: ts(emu.now_secs()),
    };
    json(StatusCode::OK, &now, 48)
}

/// `POST /_emulator/clock` `{"advanceSeconds": N}` (N >= 0): `{"now": RFC 3339}`.
pub(crate) async fn advance_clock(State(emu): State<Emulator>, body: Bytes) -> ApiResult {
    let r = serde_json::from_slice::<ClockRequest>(&body)
        .map_err(|e| ApiError::bad_request(format!("expected {{\"advanceSeconds\": N}}: {e}")))?;
    if r.advance_seconds < 0 {
        return Err(ApiError::bad_request(
            "advanceSeconds must be >= 0: the clock never goes back",
        ));
    }
    emu.advance_clock(r.advance_seconds);
    Ok(clock(State(emu)).await)
}
