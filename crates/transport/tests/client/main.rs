//! `blaxel-transport` against the real emulator over loopback (and, where the emulator cannot
//! play the part, small loopback servers of the harness): every endpoint, both API versions,
//! the listing stream, credentials, path segments, each fault kind with its retry count read
//! from the emulator's request counters, the breakers, the budget, and what errors and logs
//! may quote.

mod harness;

mod breaker;
mod budget;
mod causes;
mod credentials;
mod endpoints;
mod faults;
mod paths;
mod protocol;
mod redaction;
mod retries;
mod stream;
mod versions;
