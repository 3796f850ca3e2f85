//! Contract suite: drives a running emulator over HTTP (`spawn()` on `127.0.0.1:0`) and checks
//! every documented behaviour of the jobs API, plus the control API and faults. One test binary,
//! one module per area, all on the shared [`harness`].

mod control;
mod cursors;
mod executions;
mod faults;
mod harness;
mod jobs;
mod listing;
mod seed;
mod tasks;
mod versions;
