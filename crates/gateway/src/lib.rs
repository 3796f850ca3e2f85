//! `blaxel-gateway`: a GraphQL gateway serving Blaxel job executions as a Relay connection.

pub mod cursor;
pub mod pagination;
