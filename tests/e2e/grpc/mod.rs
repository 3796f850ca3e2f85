//! The gRPC face end to end: the generated tonic client over loopback against a gateway's gRPC
//! listener over the emulator. A harness of its own ([`GrpcEnv`]) beside the GraphQL one.

mod errors;
mod interop;
mod live;
mod reads;
mod serving;
mod sharing;

use std::{net::SocketAddr, time::Duration};

use blaxel_emulator::{EmulatorConfig, EmulatorHandle};
use blaxel_gateway::{
    AppState, Config,
    grpc::proto::{
        ListJobExecutionsRequest, ListJobExecutionsResponse,
        job_execution_service_client::JobExecutionServiceClient,
        job_service_client::JobServiceClient,
    },
};
use blaxel_transport::Client;
use tokio::sync::oneshot;
use tonic::{
    Code, Request, Status,
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
};
use tonic_types::{ErrorDetails, StatusExt};

use crate::harness::options;

/// The reference job of the emulator's demo data.
pub const JOB: &str = "data-processing-job";

/// An emulator and a gateway's gRPC listener over it.
pub struct GrpcEnv {
    /// The emulator.
    pub emulator: EmulatorHandle,
    /// The gRPC listener's address.
    pub addr: SocketAddr,
    /// The gateway's state (shared with a GraphQL listener, when a test starts one).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    /// The server task; ends after a drain.
    pub task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl Drop for GrpcEnv {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl GrpcEnv {
    /// Emulator with `emulator`, gateway with the e2e defaults.
    pub async fn start(emulator: EmulatorConfig) -> GrpcEnv {
        Self::with(emulator, options()).await
    }

    /// Emulator with `emulator`, gateway with `config`; the gRPC server on 127.0.0.1:0 (the bound
    /// listener is handed over).
    pub async fn with(emulator: EmulatorConfig, config: Config) -> GrpcEnv {
        let emulator = blaxel_emulator::spawn(emulator).await.expect("emulator");
        Self::over(emulator, config).await
    }

    /// A gateway with `config` over a running `emulator` (set its faults first to meet the
    /// gateway's very first upstream call).
    pub async fn over(emulator: EmulatorHandle, config: Config) -> GrpcEnv {
        let client = Client::new(config.client_config(&emulator.base_url())).expect("client");
        let state = AppState::new(client, config.limits(), None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(blaxel_gateway::grpc::serve(
            listener,
            state.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        GrpcEnv {
            emulator,
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A new HTTP/2 channel to the listener.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("the gRPC listener accepts")
    }

    /// A `JobExecutionService` client on a new channel.
    pub async fn executions(&self) -> JobExecutionServiceClient<Channel> {
        JobExecutionServiceClient::new(self.channel().await)
    }

    /// A `JobExecutionService` client that leaves deadlines to the server: tonic's channel cuts a
    /// call at its `grpc-timeout` itself (CANCELLED), racing the server's DEADLINE_EXCEEDED
    /// answer sent [`blaxel_gateway::grpc::deadline::MARGIN`] earlier, and a loaded machine
    /// loses that race. This one waits for what the server answers.
    pub fn executions_without_client_deadline(&self) -> JobExecutionServiceClient<RawH2> {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http();
        JobExecutionServiceClient::with_origin(
            client,
            format!("http://{}", self.addr).parse().unwrap(),
        )
    }

    /// A `JobService` client on a new channel.
    pub async fn jobs(&self) -> JobServiceClient<Channel> {
        JobServiceClient::new(self.channel().await)
    }

    /// The first page of `JOB`'s executions, `page_size` long, with the default credential.
    pub async fn first_page(&self, page_size: i32) -> ListJobExecutionsResponse {
        self.executions()
            .await
            .list_job_executions(ListJobExecutionsRequest {
                parent: format!("jobs/{JOB}"),
                page_size,
                ..Default::default()
            })
            .await
            .expect("the first page")
            .into_inner()
    }

    /// The execution ids of [`GrpcEnv::first_page`].
    pub async fn first_ids(&self, page_size: i32) -> Vec<String> {
        let page = self.first_page(page_size).await;
        page.job_executions.into_iter().map(|e| e.id).collect()
    }

    /// Starts a GraphQL listener over the same state (client, pollers) on 127.0.0.1:0; returns
    /// its `/graphql` URL and its task (abort it when done).
    pub async fn graphql(&self) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/graphql", listener.local_addr().unwrap());
        let task = tokio::spawn(blaxel_gateway::serve(
            listener,
            self.state.clone(),
            std::future::pending(),
        ));
        (url, task)
    }

    /// Upstream requests counted on `route` since the last reset.
    pub fn upstream(&self, route: &str) -> u64 {
        self.emulator.emulator().requests(route)
    }

    /// Resets the emulator's request counts.
    pub fn reset(&self) {
        self.emulator.emulator().reset_stats();
    }

    /// Starts the drain (health NOT_SERVING, then the server stops once calls end).
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// HTTP/2 over plain TCP, without tonic's client-side deadline.
pub type RawH2 = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    tonic::body::Body,
>;

/// `message` with metadata `pairs` (credentials, workspace).
pub fn request<T>(message: T, pairs: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(message);
    for (key, value) in pairs {
        request
            .metadata_mut()
            .insert(*key, MetadataValue::try_from(*value).unwrap());
    }
    request
}

/// Asserts `status` has `code` and an `ErrorInfo` of the gateway's domain with `reason`;
/// returns its details.
pub fn assert_status(status: &Status, code: Code, reason: &str) -> ErrorDetails {
    assert_eq!(status.code(), code, "{status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "blaxel-gateway");
    details
}
