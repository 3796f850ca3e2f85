//! End-to-end tests: the emulator and the gateway on 127.0.0.1:0, driven over HTTP.

mod abuse;
mod bad_input;
mod batching;
mod browser;
mod contract;
mod dedupe;
mod deploy;
mod errors;
mod faults;
mod frontend;
mod grpc;
mod harness;
mod limits;
mod live_clients;
mod mutations;
mod observability;
mod paging;
mod protection;
mod serving;
mod shapes;
mod subscriptions;
mod tasks;
mod tenancy;
