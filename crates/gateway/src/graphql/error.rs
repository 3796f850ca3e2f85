//! The gateway's [`Error`] as a GraphQL error: the message, and `extensions.code` with the details
//! (`upstreamStatus`, `retryAfter`, `limit`, `max`).

use async_graphql::{Context, ErrorExtensions as _};

use crate::error::Error;

/// `err` as an async-graphql error with its `extensions`.
pub fn to_graphql(err: Error) -> async_graphql::Error {
    let Error {
        code,
        message,
        upstream_status,
        retry_after,
        limit,
    } = err;
    async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", code.as_str());
        if let Some(status) = upstream_status {
            e.set("upstreamStatus", status);
        }
        if let Some(secs) = retry_after {
            e.set("retryAfter", secs);
        }
        if let Some((name, max)) = limit {
            e.set("limit", name);
            e.set("max", max);
        }
    })
}

/// `BAD_USER_INPUT` with `message`, as a GraphQL error.
pub fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    to_graphql(Error::bad_input(message))
}

/// Serves a failed nullable field as `null` in place, its error added to the response's `errors`
/// with the field's path. async-graphql 7.2 would leave the key out of the object instead, which
/// typed clients (normalised caches, generated types) read as a malformed response.
pub fn or_null<T>(
    ctx: &Context<'_>,
    result: async_graphql::Result<Option<T>>,
) -> async_graphql::Result<Option<T>> {
    result.or_else(|e| {
        ctx.add_error(ctx.set_error_path(e.into_server_error(ctx.item.pos)));
        Ok(None)
    })
}
