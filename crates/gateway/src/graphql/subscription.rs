//! The root subscription: live executions, translated onto [`crate::watch`].

use std::sync::Arc;

use async_graphql::{Context, Result, Subscription as SubscriptionRoot};
use futures::{Stream, StreamExt as _};

use super::{error::to_graphql, execution::JobExecution, query::check_names};
use crate::{
    caller::Caller,
    loader::RequestLoader,
    watch::{ConnectionSlots, Watcher},
};

/// The root subscription.
pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// One execution, live: its current state first, then one event per change (status,
    /// stats, task states), completing after a terminal status (`SUCCEEDED`, `FAILED`,
    /// `CANCELLED`, `TIMEOUT`). The gateway polls the API (every `--subscription-poll-ms`,
    /// one poller shared by every subscriber of the execution with the same credential). Ends
    /// with one error event: `NOT_FOUND` (the execution disappeared), `UNAUTHENTICATED` /
    /// `FORBIDDEN` (credential revoked), the upstream's code after repeated failures,
    /// `STREAM_CLOSED` (gateway draining, or the subscription's maximum lifetime: subscribe
    /// again), `RATE_LIMITED` (too many subscriptions on the connection or credential).
    /// Served over WebSocket at `/graphql` (`graphql-transport-ws`, `graphql-ws`) and over
    /// Server-Sent Events (`POST /graphql` with `Accept: text/event-stream`).
    async fn job_execution_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] job_name: String,
        #[graphql(desc = "Execution id (`metadata.id`).")] id: String,
    ) -> Result<impl Stream<Item = Result<JobExecution>> + use<>> {
        check_names(&[("jobName", &job_name), ("id", &id)])?;
        let watcher = ctx.data_unchecked::<Watcher>();
        let caller = ctx.data_unchecked::<Caller>();
        let slots = ctx
            .data_opt::<ConnectionSlots>()
            .cloned()
            .unwrap_or_default();
        let loader = ctx.data_opt::<Arc<RequestLoader>>().cloned();
        let states = watcher
            .watch(caller, &job_name, &id, &slots)
            .map_err(to_graphql)?;
        Ok(states.then(move |state| {
            let loader = loader.clone();
            async move {
                // Fields of this state that load more (large executions' tasks) read anew.
                if let Some(loader) = loader {
                    loader.forget().await;
                }
                state.map(JobExecution::single).map_err(to_graphql)
            }
        }))
    }
}
