//! The gRPC face: package `blaxel.jobs.v1` (protos in `schema/proto/`), served by tonic on its
//! own listener beside the GraphQL one.
//!
//! Like the GraphQL face it only translates: a call's metadata becomes a [`Caller`] (the same
//! headers, `authorization` / `x-blaxel-authorization` and `x-blaxel-workspace`), its arguments
//! become the core's [`crate::pagination::PageArgs`] and names ([`args`]), reads go through a
//! per-call [`RequestLoader`] and [`crate::pagination::paginate`] (page tokens are the gateway's
//! own cursors), the REST models become proto messages in one place ([`convert`]), and every
//! [`crate::error::Error`] becomes a rich `google.rpc.Status` ([`status`]). The client's
//! `grpc-timeout` bounds the work ([`deadline`]). [`serve()`] runs the server with health and
//! reflection.
//!
//! [`proto`] is also the Rust client other services link:
//!
//! ```no_run
//! use blaxel_gateway::grpc::proto::{
//!     ListJobExecutionsRequest, job_execution_service_client::JobExecutionServiceClient,
//! };
//!
//! # async fn list() -> Result<(), Box<dyn std::error::Error>> {
//! let mut client = JobExecutionServiceClient::connect("http://127.0.0.1:50051").await?;
//! let mut request = tonic::Request::new(ListJobExecutionsRequest {
//!     parent: "jobs/data-processing-job".into(),
//!     page_size: 20,
//!     ..Default::default()
//! });
//! request.metadata_mut().insert("authorization", "Bearer dev-token".parse()?);
//! request.set_timeout(std::time::Duration::from_secs(2));
//! let page = client.list_job_executions(request).await?.into_inner();
//! println!("{} of {}; next: {}", page.job_executions.len(), page.total_size, page.next_page_token);
//! # Ok(())
//! # }
//! ```

pub mod access;
pub mod args;
pub mod convert;
pub mod deadline;
#[cfg(test)]
mod drift;
mod executions;
mod jobs;
pub mod mapping;
pub mod serve;
pub mod status;
pub mod tape;
pub mod transcode;
mod watch;
pub mod wire;
mod write;

use std::{sync::Arc, time::Duration};

use blaxel_transport::{Client, ExecutionProjection};

pub use serve::{GrpcServer, serve};
use status::Failure;

use crate::{
    AppState,
    caller::Caller,
    fairness::{Fairness, Turn},
    limits::Limits,
    loader::{InFlight, RequestLoader},
    pagination::Contract,
};

/// Messages and clients generated from `schema/proto/blaxel/jobs/v1/*.proto`.
#[allow(missing_docs, clippy::all, rust_2018_idioms)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/blaxel.jobs.v1.rs"));

    /// The encoded `FileDescriptorSet` of the protos and their imports (server reflection).
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/blaxel_jobs_v1.bin"));
}

/// The services' servers generated from the same protos, over [`proto`]'s messages and
/// [`wire`]'s answers.
#[allow(missing_docs, clippy::all, rust_2018_idioms)]
pub mod server {
    include!(concat!(env!("OUT_DIR"), "/server/blaxel.jobs.v1.rs"));
}

/// The gRPC services over the core: implements `JobExecutionService` and `JobService`. Cheap to
/// clone.
#[derive(Clone)]
pub struct GrpcFace {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    limits: Limits,
    contract: Contract,
    /// Per-credential turns, shared with the GraphQL face.
    fairness: Arc<Fairness>,
    /// The shared pollers (the same as the GraphQL subscriptions').
    watcher: crate::watch::Watcher,
    /// Watch streams per client connection.
    connections: watch::Connections,
    /// Upstream reads in flight (`--upstream-dedupe`), shared with the GraphQL face.
    in_flight: Option<InFlight>,
}

/// What one call works with: who calls, the call's loaders, and its time budget.
pub(crate) struct Call {
    pub(crate) caller: Caller,
    pub(crate) loader: RequestLoader,
    pub(crate) budget: Duration,
    /// Held while the call runs: the caller's share of the gateway.
    _turn: Turn,
}

impl GrpcFace {
    /// The face over the upstream `client` with `limits`, watching through `watcher` (the
    /// configured `Blaxel-Version` decides the listing contract).
    pub fn new(
        client: Client,
        limits: Limits,
        watcher: crate::watch::Watcher,
        fairness: Arc<Fairness>,
    ) -> Self {
        let in_flight = limits.upstream_dedupe.then(InFlight::default);
        Self::build(client, limits, watcher, fairness, in_flight)
    }

    fn build(
        client: Client,
        limits: Limits,
        watcher: crate::watch::Watcher,
        fairness: Arc<Fairness>,
        in_flight: Option<InFlight>,
    ) -> Self {
        let contract = Contract::of(client.config().api_version);
        Self {
            inner: Arc::new(Inner {
                client,
                limits,
                fairness,
                contract,
                watcher,
                connections: watch::Connections::default(),
                in_flight,
            }),
        }
    }

    /// The face over the same client, limits, pollers and per-credential turns as the GraphQL
    /// face.
    pub fn from_state(state: &AppState) -> Self {
        Self::build(
            state.client().clone(),
            *state.limits(),
            state.watcher().clone(),
            Arc::clone(state.fairness()),
            state.in_flight().cloned(),
        )
    }

    /// The upstream client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Reads and answers in flight across calls (`--upstream-dedupe`), shared with GraphQL.
    pub(crate) fn in_flight(&self) -> Option<&InFlight> {
        self.inner.in_flight.as_ref()
    }

    /// A call's caller (a malformed credential header is UNAUTHENTICATED, a malformed workspace
    /// INVALID_ARGUMENT), its fresh loaders and its budget.
    /// Waits, within the call's budget, for the caller's turn (see [`crate::fairness`]); the
    /// wait is taken from the budget the call then has.
    pub(crate) async fn call<T>(&self, request: &tonic::Request<T>) -> Result<Call, Failure> {
        let metadata = request.metadata();
        let arrived = request
            .extensions()
            .get::<deadline::Arrival>()
            .map_or_else(tokio::time::Instant::now, |a| a.0);
        let client = &self.inner.client;
        let caller = Caller::from_headers(
            AsRef::<http::HeaderMap>::as_ref(metadata),
            client.config().workspace.as_deref(),
        )
        .map_err(|e| Failure::from(crate::error::Error::from(e)))?;
        // The call's span (see `access`): the workspace, never the token.
        if !caller.workspace.is_empty() {
            tracing::Span::current().record("workspace", caller.workspace.as_str());
        }
        let loader = RequestLoader::new(
            client.clone(),
            caller.credentials.clone(),
            self.inner.limits.per_request_concurrency,
            self.inner.limits.max_upstream_calls,
            self.inner.in_flight.clone(),
            // Messages carry every field of an execution.
            ExecutionProjection::ALL,
        );
        let budget = deadline::budget(
            deadline::grpc_timeout(metadata),
            self.inner.limits.request_timeout,
        );
        let until = arrived + budget;
        let turn = tokio::time::timeout_at(until, self.inner.fairness.enter(&caller))
            .await
            .map_err(|_| deadline::exceeded(budget))?;
        Ok(Call {
            caller,
            loader,
            budget: until.saturating_duration_since(tokio::time::Instant::now()),
            _turn: turn,
        })
    }
}

/// One page of a listing in proto terms.
pub(crate) struct ProtoPage<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_page_token: String,
    pub(crate) total_size: i32,
    pub(crate) total_size_is_partial: bool,
}

/// The paging arguments every list request carries (AIP-132, AIP-158).
pub(crate) struct ListArgs<'a> {
    pub(crate) page_size: i32,
    pub(crate) page_token: &'a str,
    pub(crate) order_by: &'a str,
    pub(crate) query: &'a str,
}

impl GrpcFace {
    /// Reads `args` and serves one page of `listing` within the call's budget.
    pub(crate) async fn list<L: crate::pagination::Listing, T>(
        &self,
        call: &Call,
        listing: &L,
        args: ListArgs<'_>,
        convert: impl Fn(&L::Item) -> T,
    ) -> Result<ProtoPage<T>, Failure> {
        self.list_within(call, call.budget, listing, args, convert)
            .await
    }

    /// [`GrpcFace::list`] within `budget` (what is left of the call's budget).
    pub(crate) async fn list_within<L: crate::pagination::Listing, T>(
        &self,
        call: &Call,
        budget: Duration,
        listing: &L,
        args: ListArgs<'_>,
        convert: impl Fn(&L::Item) -> T,
    ) -> Result<ProtoPage<T>, Failure> {
        let sort = args::order_by(args.order_by)?;
        let page = args::page_args(
            args.page_size,
            args.page_token,
            args.query,
            self.inner.limits.max_first,
        )?;
        deadline::within(budget, call.page(self, listing, &page, sort, convert)).await
    }
}

impl Call {
    /// Serves one page of `listing` through the core: the token's binding is checked before any
    /// upstream call (a token of other arguments is INVALID_ARGUMENT, reason CURSOR_INVALID),
    /// and a page of up to 100 costs one upstream call.
    pub(crate) async fn page<L: crate::pagination::Listing, T>(
        &self,
        face: &GrpcFace,
        listing: &L,
        args: &crate::pagination::PageArgs,
        sort: blaxel_models::PaginationSort,
        convert: impl Fn(&L::Item) -> T,
    ) -> Result<ProtoPage<T>, Failure> {
        let paginated = crate::pagination::paginate(
            listing,
            &self.loader,
            &self.caller,
            face.inner.contract,
            args,
            sort,
            // Each page converted as it arrives and let go before the next is read.
            |page, index| convert(&page.items[index]),
        )
        .await
        .map_err(|e| {
            let field = match e {
                crate::pagination::PaginateError::Cursor(_)
                | crate::pagination::PaginateError::OtherContract => Some("page_token"),
                _ => None,
            };
            let failure = Failure::from(crate::error::Error::paginate("page_token", e));
            match field {
                Some(field) => failure.field(field),
                None => failure,
            }
        })?;
        let next_page_token = if paginated.slice.has_next_page {
            paginated.cursor(&paginated.slice.end)
        } else {
            String::new()
        };
        let slice = paginated.slice;
        Ok(ProtoPage {
            items: slice.edges.into_iter().map(|e| e.node).collect(),
            next_page_token,
            total_size: args::total_size(slice.total),
            total_size_is_partial: slice.total_is_partial.unwrap_or(false),
        })
    }
}
