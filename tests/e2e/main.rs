//! End-to-end tests: the emulator and the gateway on 127.0.0.1:0, driven over HTTP.

mod bad_input;
mod batching;
mod contract;
mod errors;
mod faults;
mod grpc;
mod harness;
mod limits;
mod mutations;
mod paging;
mod protection;
mod serving;
mod shapes;
mod subscriptions;
mod tasks;
mod tenancy;
