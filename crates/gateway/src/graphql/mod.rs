//! The GraphQL face: the schema (queries, connections, Relay's `Node`), its resolvers, the
//! operation limits and the parsed-document cache. Resolvers only translate: arguments into
//! [`crate::pagination`] and loader calls, [`crate::error::Error`]s into GraphQL errors.
//!
//! Object types mirror the upstream models and borrow from the decoded upstream pages: nothing is
//! copied between the models and the response. Executions in connections are answered by one
//! synchronous walk of their selection set ([`walk`]); both it and the async-graphql resolvers are
//! generated from one field list per type ([`fields`]).

// First: its macros are used by the object types below.
#[macro_use]
pub mod fields;

pub mod connection;
pub mod cost;
pub mod documents;
pub mod error;
pub mod execution;
pub mod extension;
pub mod job;
pub mod json;
pub mod mutation;
pub mod node;
pub mod order;
pub mod prerender;
pub mod projection;
pub mod query;
pub mod rendered;
pub mod scalars;
pub mod subscription;
pub mod validated;
pub mod walk;

use async_graphql::{Schema, SchemaBuilder};

pub use connection::{JobConnection, JobExecutionConnection};
pub use execution::JobExecution;
pub use job::Job;
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

use crate::{limits::Limits, pagination::Contract, watch::Watcher};

/// The gateway's schema type.
pub type GatewaySchema = Schema<Query, Mutation, Subscription>;

/// Settings every resolver reads, stored in the schema data.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Largest `first` served (following upstream pages past 100).
    pub max_first: u32,
    /// The upstream's listing contract.
    pub contract: Contract,
}

/// The schema builder with its types, without data or limits.
pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation, Subscription)
}

/// The schema with its settings and operation limits; mutations call the upstream through
/// `watcher`'s client, subscriptions watch through `watcher`.
pub fn schema(limits: &Limits, contract: Contract, watcher: &Watcher) -> GatewaySchema {
    builder()
        .data(Settings {
            max_first: limits.max_first,
            contract,
        })
        .data(watcher.client().clone())
        .data(watcher.clone())
        .extension(extension::LimitsExtension::new(*limits))
        .finish()
}

/// The SDL the gateway serves at `/schema.graphql` and checks in at `schema/gateway.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// A fragment bomb for tests: `root` (which spreads `...F0`), then `levels` fragments on `on`,
/// each spreading the next four times, the last selecting `leaf`: 4^`levels` selections once
/// expanded.
#[cfg(test)]
pub(crate) fn fragment_bomb(root: &str, on: &str, levels: usize, leaf: &str) -> String {
    let mut document = root.to_owned();
    for level in 0..levels {
        let next = level + 1;
        document.push_str(&format!(
            " fragment F{level} on {on} {{ ...F{next} ...F{next} ...F{next} ...F{next} }}"
        ));
    }
    document.push_str(&format!(" fragment F{levels} on {on} {{ {leaf} }}"));
    document
}

#[cfg(test)]
mod tests {
    /// The checked-in SDL (`schema/gateway.graphql`, a name DESIGN.md fixes, so not an insta
    /// `.snap`) matches the code. Same workflow as the insta snapshots: `INSTA_UPDATE=always`
    /// writes the file, and with `CI=true` it is never written.
    #[test]
    fn sdl_matches_checked_in_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/gateway.graphql");
        let sdl = super::sdl();
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if !ci && std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") {
            std::fs::write(path, &sdl).unwrap();
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == sdl,
            "schema/gateway.graphql differs from the schema in code: run `INSTA_UPDATE=always cargo test -p blaxel-gateway sdl_matches` and review the diff"
        );
    }
}
