//! The gRPC server: tonic's own (it enforces `grpc-timeout`, keeps HTTP/2 connections alive and
//! ages them out so long-lived mesh connections rebalance), on its own listener beside the
//! GraphQL one, with `grpc.health.v1.Health` and server reflection (v1 and v1alpha).
//!
//! Health: the overall status `""` and each service are NOT_SERVING until the upstream answers
//! (the same readiness check as `/readyz`, shared with it), follow it afterwards, and turn
//! NOT_SERVING again when the drain starts, so balancers stop sending new calls while the
//! in-flight ones finish.

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;
use tonic::{
    codec::CompressionEncoding,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tracing::{info, warn};

use super::{
    GrpcFace, proto,
    server::{
        job_execution_service_server::JobExecutionServiceServer,
        job_service_server::JobServiceServer,
    },
};
use crate::{AppState, http::health::readiness};

/// HTTP/2 PING interval on idle connections (keepalive).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a PING may stay unanswered before the connection is closed.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Age after which a connection is asked to go away (GOAWAY), so clients reconnect and spread
/// over replicas.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(300);
/// How long an aged connection's calls may still run.
pub const MAX_CONNECTION_AGE_GRACE: Duration = Duration::from_secs(30);
/// How often the health status follows the upstream while not ready, and once ready.
pub const HEALTH_INTERVAL: (Duration, Duration) =
    (Duration::from_millis(250), Duration::from_secs(5));

/// The services of the gRPC listener, by their full names.
pub const SERVICES: [&str; 2] = [
    "blaxel.jobs.v1.JobExecutionService",
    "blaxel.jobs.v1.JobService",
];

/// A gRPC server ready to serve.
pub struct GrpcServer {
    face: GrpcFace,
    state: AppState,
}

impl GrpcServer {
    /// The server over the same state (client, limits, readiness) as the GraphQL face.
    pub fn new(state: AppState) -> Self {
        Self {
            face: GrpcFace::from_state(&state),
            state,
        }
    }

    /// Serves on `listener` until `shutdown` completes, then reports NOT_SERVING and drains the
    /// calls in flight.
    ///
    /// # Errors
    /// The transport error that stopped the server.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), tonic::transport::Error> {
        let (reporter, health) = tonic_health::server::health_reporter();
        set_all(&reporter, ServingStatus::NotServing).await;
        let follow = tokio::spawn(follow_upstream(self.state.clone(), reporter.clone()));
        let reflection_v1 = reflection()
            .build_v1()
            .expect("the built-in descriptor sets decode");
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .expect("the built-in descriptor sets decode");
        let gzip = CompressionEncoding::Gzip;
        let executions = JobExecutionServiceServer::new(self.face.clone())
            .accept_compressed(gzip)
            .send_compressed(gzip);
        let jobs = JobServiceServer::new(self.face)
            .accept_compressed(gzip)
            .send_compressed(gzip);
        let request_timeout = self.state.limits().request_timeout;
        let watcher = self.state.watcher().clone();
        let drain = async move {
            shutdown.await;
            follow.abort();
            // Watch streams end (UNAVAILABLE, STREAM_CLOSED) so the drain can complete.
            watcher.drain();
            set_all(&reporter, ServingStatus::NotServing).await;
            info!("gRPC: draining in-flight calls (health NOT_SERVING)");
        };
        Server::builder()
            // Request id, span, access line and metrics of every call.
            .layer(super::access::AccessLayer)
            // Calls without `grpc-timeout` are bounded by the request timeout; the handlers
            // answer first (DEADLINE_EXCEEDED), this is the backstop.
            .timeout(request_timeout + Duration::from_secs(1))
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .max_connection_age(MAX_CONNECTION_AGE)
            .max_connection_age_grace(MAX_CONNECTION_AGE_GRACE)
            .layer(tower::util::MapRequestLayer::new(
                super::deadline::stamp::<tonic::body::Body>,
            ))
            // Innermost: encoded answers sent as their frame (no copy into tonic's buffer).
            .layer(tower::util::MapResponseLayer::new(super::wire::send_framed))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(executions)
            .add_service(jobs)
            .serve_with_incoming_shutdown(
                // No Nagle: HTTP/2 writes a response's HEADERS and DATA apart, and a delayed ACK
                // would hold the second for 40 ms.
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                drain,
            )
            .await
    }
}

/// Serves the gRPC face over `state` on `listener` until `shutdown` (see [`GrpcServer::serve`]).
///
/// # Errors
/// The transport error that stopped the server.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    GrpcServer::new(state).serve(listener, shutdown).await
}

/// Reflection over the protos, the error details (`google.rpc.*`, so clients decode them) and
/// health.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Sets the overall status and every service's to `status`.
async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in SERVICES {
        reporter.set_service_status(service, status).await;
    }
}

/// Keeps the health status on the upstream's readiness until aborted.
async fn follow_upstream(state: AppState, reporter: HealthReporter) {
    let mut ready = false;
    loop {
        match readiness(&state).await {
            Ok(()) if !ready => {
                ready = true;
                set_all(&reporter, ServingStatus::Serving).await;
                info!("gRPC health: SERVING (upstream ready)");
            }
            Err(why) if ready => {
                ready = false;
                set_all(&reporter, ServingStatus::NotServing).await;
                warn!("gRPC health: NOT_SERVING ({why})");
            }
            _ => {}
        }
        tokio::time::sleep(if ready {
            HEALTH_INTERVAL.1
        } else {
            HEALTH_INTERVAL.0
        })
        .await;
    }
}
