//! The per-connection side of live operations, shared by the WebSocket and SSE transports: an
//! async-graphql [`Executor`] that gives every operation of a connection the connection's
//! caller, its subscription slots and a fresh set of DataLoaders.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{Data, Executor, Request, Response};
use futures::stream::BoxStream;

use super::AppState;
use crate::{caller::Caller, loader::RequestLoader, watch::ConnectionSlots};

/// Executes the operations of one connection (a WebSocket, an SSE request).
#[derive(Clone)]
pub struct LiveExecutor {
    state: AppState,
    caller: Arc<Mutex<Caller>>,
    slots: ConnectionSlots,
}

impl LiveExecutor {
    /// The executor of a connection opened by `caller`.
    pub fn new(state: AppState, caller: Caller) -> Self {
        let slots = state.watcher().connection();
        Self {
            state,
            caller: Arc::new(Mutex::new(caller)),
            slots,
        }
    }

    /// Replaces the connection's caller (the WebSocket `connection_init` payload names one).
    pub fn set_caller(&self, caller: Caller) {
        *self.caller.lock().unwrap_or_else(PoisonError::into_inner) = caller;
    }

    /// The connection's caller.
    pub fn caller(&self) -> Caller {
        self.caller
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `request` with the connection's data: the caller, the subscription slots and loaders of
    /// its own (an operation's answers are never served to another operation).
    fn prepare(&self, request: Request) -> Request {
        let caller = self.caller();
        let limits = self.state.limits();
        let loader = RequestLoader::new(
            self.state.client().clone(),
            caller.credentials.clone(),
            limits.per_request_concurrency,
            limits.max_upstream_calls,
            self.state.in_flight().cloned(),
            crate::graphql::projection::of_document(&request.query),
        );
        request
            .data(caller)
            .data(Arc::new(loader))
            .data(self.slots.clone())
    }
}

impl Executor for LiveExecutor {
    async fn execute(&self, request: Request) -> Response {
        self.state.schema().execute(self.prepare(request)).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        self.state.schema().execute_stream_with_session_data(
            self.prepare(request),
            session_data.unwrap_or_default(),
        )
    }
}
