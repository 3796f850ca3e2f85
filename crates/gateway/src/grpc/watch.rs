//! `WatchJobExecution`: a stream over the core's shared pollers ([`crate::watch::Watcher`], the
//! same ones the GraphQL subscription uses): the current state first, then each change; the
//! stream completes after a terminal state, or ends with one error status (NOT_FOUND,
//! UNAUTHENTICATED, ... or UNAVAILABLE with reason `STREAM_CLOSED` when the gateway drains or
//! the stream reached its maximum lifetime: watch again).
//!
//! Streams per HTTP/2 connection are counted by the client's address (one TCP connection each),
//! per credential by the watcher. A client `grpc-timeout` bounds the whole stream: it ends with
//! DEADLINE_EXCEEDED just before the deadline.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use futures::StreamExt as _;
use tonic::{Request, Response, Status};

use super::{
    GrpcFace, args::parse_name, convert, deadline, executions::EXECUTION_NAME,
    executions::EXECUTION_TYPE, executions::ExecutionStream, proto, status::Failure,
};
use crate::watch::ConnectionSlots;

/// The stream slots of each client connection (by its address), for the per-connection limit.
#[derive(Default)]
pub(super) struct Connections(Mutex<HashMap<SocketAddr, ConnectionSlots>>);

impl Connections {
    /// The slots of the connection at `peer`; forgets connections with no stream open.
    fn slots(&self, peer: Option<SocketAddr>) -> ConnectionSlots {
        let Some(peer) = peer else {
            return ConnectionSlots::default();
        };
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|addr, slots| *addr == peer || slots.open() > 0);
        map.entry(peer).or_default().clone()
    }
}

/// `WatchJobExecution` (see the module docs).
pub(super) async fn watch(
    face: &GrpcFace,
    request: Request<proto::WatchJobExecutionRequest>,
) -> Result<Response<ExecutionStream>, Status> {
    let call = face.call(&request).await?;
    let name = request.get_ref().name.clone();
    let [job, id] = parse_name("name", &name, EXECUTION_NAME)?;
    let slots = face.inner.connections.slots(request.remote_addr());
    let stream = face
        .inner
        .watcher
        .watch(&call.caller, job, id, &slots)
        .map_err(Failure::from)?;
    let resource = name.clone();
    let states = stream.map(move |item| match item {
        Ok(execution) => Ok(convert::execution(&execution)),
        Err(e) => Err(Status::from(
            Failure::from(e).resource(EXECUTION_TYPE, &resource),
        )),
    });
    // Only a client deadline bounds a stream (the request timeout is for unary calls).
    let stream: ExecutionStream = match deadline::grpc_timeout(request.metadata()) {
        None => states.boxed(),
        Some(timeout) => {
            let budget = deadline::budget(Some(timeout), Duration::MAX);
            let until = tokio::time::Instant::now() + budget;
            // The states until the budget is spent, then one DEADLINE_EXCEEDED and the end.
            futures::stream::unfold(Some(states), move |states| async move {
                let mut states = states?;
                match tokio::time::timeout_at(until, states.next()).await {
                    Ok(Some(item)) => Some((item, Some(states))),
                    Ok(None) => None,
                    Err(_) => Some((Err(Status::from(deadline::exceeded(budget))), None)),
                }
            })
            .boxed()
        }
    };
    Ok(Response::new(stream))
}
