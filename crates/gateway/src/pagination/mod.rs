//! Forward pagination over the upstream's page cursors: the core of the gateway, below every face.
//!
//! A face (a GraphQL connection, a gRPC list method) hands [`paginate`] validated [`PageArgs`]
//! and a [`Listing`] (executions, jobs, tasks). The rest happens here, once:
//!
//! - [`cursor`]: the gateway's own cursors (Relay edge cursors, gRPC page tokens): opaque,
//!   versioned, self-contained, bound to the listing, its scope, sort, query, workspace and
//!   [`Contract`]; checked before any upstream call;
//! - [`slice`](mod@slice): the mapping of "`first` items after this position" onto upstream pages, with a
//!   position for every item, so that any edge resumes in one upstream call;
//! - [`listing`]: the generic path from arguments to a [`Slice`] through the request's loader.

pub mod args;
pub mod cursor;
pub mod listing;
pub mod slice;

use blaxel_models::ApiVersion;

pub use args::{ArgsError, DEFAULT_FIRST, PageArgs};
pub use cursor::{Binding, CursorError, Position};
pub use listing::{
    EncodedJobExecutions, JobExecutionTasks, JobExecutions, Jobs, Listing, PaginateError,
    Paginated, paginate,
};
pub use slice::{InPage, PageRequest, Slice, SliceEdge, SliceError, fetch_slice};

/// Which listing contract the upstream speaks, decided once at startup from the configured
/// `Blaxel-Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    /// `Blaxel-Version` >= 2026-04-28: `{data, meta}` envelopes, `cursor`/`nextCursor`, `sort`, `q`.
    Cursor,
    /// Older versions: bare arrays, `offset`/`limit`, no sort nor search (newest first).
    Legacy,
}

impl Contract {
    /// The contract of `version`.
    pub fn of(version: ApiVersion) -> Self {
        if version.is_paginated() {
            Contract::Cursor
        } else {
            Contract::Legacy
        }
    }

    /// The position of a listing's first item under this contract.
    pub fn start(self) -> Position {
        match self {
            Contract::Cursor => Position::Upstream {
                cursor: String::new(),
                skip: 0,
                anchor: String::new(),
            },
            Contract::Legacy => Position::Offset(0),
        }
    }
}
