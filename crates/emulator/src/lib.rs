//! `blaxel-emulator`: an in-memory emulator of Blaxel's control-plane jobs API
//! (`https://api.blaxel.ai/v0`), faithful to its documented contract, awkward corners included.
//!
//! It serves the `/v0/jobs*` paths of the reference OpenAPI excerpt with seeded, deterministic
//! data, plus a control API for tests (`/_emulator/*`: request counts, fault injection, a
//! virtual clock). The gateway embeds it as its default upstream; tests start it on
//! `127.0.0.1:0` with [`spawn`]:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = blaxel_emulator::spawn(blaxel_emulator::EmulatorConfig::default()).await?;
//! let url = format!("{}/jobs/data-processing-job/executions?limit=20", emu.base_url());
//! // GET url with `Authorization: Bearer dev-token` and `Blaxel-Version: 2026-04-28`.
//! emu.emulator().advance_clock(3600);
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Where the contract is silent the behaviour follows `DESIGN.md` (Emulator section); the
//! remaining choices are documented on the items below and in the crate's README.
//!
//! - Versions: `Blaxel-Version` absent means `2026-04-16` (legacy: bare arrays, `offset`/`limit`,
//!   `cursor`/`sort`/`q` ignored, `createdAt` desc); `>= 2026-04-28` gives `{data, meta}` and
//!   cursors; a malformed version or one outside [`EmulatorConfig::valid_versions`] is a 400
//!   `{"error": "invalid_api_version", "message": ...}` (no `code`, as the docs show).
//! - Checks run in this order: version (400), token (401), workspace (403), job or execution
//!   (404), then parameters (400).
//! - Every other error is the flat `{"code": <status>, "error": "...", "message": "..."}`.
//! - API version 2026-09-22 (the official Python SDK's default) adds `spec.taskCount`,
//!   `spec.tasksRef` (large executions, see [`EmulatorConfig::inline_tasks_max`]) and
//!   `meta.totalIsPartial` (see [`EmulatorConfig::total_count_limit`]).
//!
//! For test suites: [`route`] names every route as its stats/fault key, [`Fault::on`] builds
//! faults, and [`DEMO_TOKEN`] / [`DEMO_WORKSPACE`] are the default credential.

mod api;
mod config;
mod cursor;
mod faults;
mod net;
mod rendered;
pub mod route;
mod seed;
mod server;
mod state;
mod store;
mod timeline;

pub use config::{DEMO_TOKEN, DEMO_WORKSPACE, EmulatorConfig, KNOWN_VERSIONS};
pub use faults::{Fault, FaultBody, FaultError};
pub use server::{EmulatorHandle, router, serve, spawn};
pub use state::{Emulator, Stats};
