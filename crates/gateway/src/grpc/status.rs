//! Gateway errors as gRPC statuses (AIP-193): a `google.rpc.Status` whose code carries the
//! error's meaning (an upstream 404 is NOT_FOUND, not gRPC's HTTP-transport UNIMPLEMENTED), with
//! details built by `tonic-types`:
//!
//! - `ErrorInfo` always: `reason` is the GraphQL `extensions.code` ([`Code::as_str`]), `domain`
//!   is [`DOMAIN`], `metadata` holds `upstreamStatus`, `retryAfterSeconds`, `limit` and `max`
//!   when known;
//! - `RetryInfo` on RESOURCE_EXHAUSTED and UNAVAILABLE when the upstream said when (or the
//!   circuit breaker knows);
//! - `BadRequest` on INVALID_ARGUMENT, naming the request field;
//! - `ResourceInfo` on NOT_FOUND, naming the resource.

use std::{collections::HashMap, time::Duration};

use tonic::{Code as GrpcCode, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{Code, Error};

/// `ErrorInfo.domain` of every error of the gateway.
pub const DOMAIN: &str = "blaxel-gateway";

/// A gateway [`Error`] with what only the gRPC face knows: the request field it is about and the
/// resource it names.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The error, as every face has it (boxed: a `Result` with a failure stays small).
    pub error: Box<Error>,
    /// The request field at fault (`page_token`, `parent`, ...), for `BadRequest`.
    pub field: Option<&'static str>,
    /// `(resource type, resource name)`, for `ResourceInfo` (e.g.
    /// `("blaxel.jobs.v1.JobExecution", "jobs/j/executions/x")`).
    pub resource: Option<(&'static str, String)>,
}

impl Failure {
    /// The same failure, about request field `field`.
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// The same failure, about resource `name` of type `kind`.
    pub fn resource(mut self, kind: &'static str, name: impl Into<String>) -> Self {
        self.resource = Some((kind, name.into()));
        self
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error: Box::new(error),
            field: None,
            resource: None,
        }
    }
}

/// `INVALID_ARGUMENT` (reason `BAD_USER_INPUT`) about request field `field`.
pub fn invalid(field: &'static str, message: impl Into<String>) -> Failure {
    Failure::from(Error::bad_input(message)).field(field)
}

/// The gRPC code of a gateway error: its meaning, not its HTTP status.
pub fn grpc_code(err: &Error) -> GrpcCode {
    match err.code {
        Code::BadUserInput | Code::CursorInvalid => GrpcCode::InvalidArgument,
        Code::Unauthenticated => GrpcCode::Unauthenticated,
        Code::Forbidden => GrpcCode::PermissionDenied,
        Code::NotFound => GrpcCode::NotFound,
        Code::CursorExpired | Code::FailedPrecondition => GrpcCode::FailedPrecondition,
        // The gateway ended a live stream (drain, maximum lifetime): watch again.
        Code::StreamClosed => GrpcCode::Unavailable,
        Code::RateLimited | Code::QueryTooComplex => GrpcCode::ResourceExhausted,
        Code::UpstreamTimeout => GrpcCode::DeadlineExceeded,
        Code::UpstreamUnavailable => GrpcCode::Unavailable,
        Code::UpstreamError => match err.upstream_status {
            Some(400 | 422) => GrpcCode::InvalidArgument,
            Some(409) => GrpcCode::AlreadyExists,
            Some(412) => GrpcCode::FailedPrecondition,
            Some(s) if s >= 502 => GrpcCode::Unavailable,
            _ => GrpcCode::Internal,
        },
    }
}

impl From<Failure> for Status {
    fn from(f: Failure) -> Status {
        let err = &f.error;
        let code = grpc_code(err);
        let mut metadata = HashMap::new();
        if let Some(status) = err.upstream_status {
            metadata.insert("upstreamStatus".to_owned(), status.to_string());
        }
        if let Some(secs) = err.retry_after {
            metadata.insert("retryAfterSeconds".to_owned(), secs.to_string());
        }
        if let Some((limit, max)) = err.limit {
            metadata.insert("limit".to_owned(), limit.to_owned());
            metadata.insert("max".to_owned(), max.to_string());
        }
        let mut details = ErrorDetails::new();
        details.set_error_info(err.code.as_str(), DOMAIN, metadata);
        if matches!(code, GrpcCode::ResourceExhausted | GrpcCode::Unavailable)
            && let Some(secs) = err.retry_after
        {
            details.set_retry_info(Some(Duration::from_secs(secs)));
        }
        if code == GrpcCode::InvalidArgument {
            details.add_bad_request_violation(f.field.unwrap_or_default(), err.message.clone());
        }
        if code == GrpcCode::NotFound
            && let Some((kind, name)) = &f.resource
        {
            details.set_resource_info(*kind, name.clone(), "", err.message.clone());
        }
        Status::with_error_details(code, err.message.clone(), details)
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        Failure::from(err).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meaning_not_http() {
        let with_status = |status| Error {
            upstream_status: Some(status),
            ..Error::new(Code::UpstreamError, "x")
        };
        assert_eq!(
            grpc_code(&Error::new(Code::NotFound, "x")),
            GrpcCode::NotFound
        );
        assert_eq!(grpc_code(&with_status(409)), GrpcCode::AlreadyExists);
        assert_eq!(grpc_code(&with_status(500)), GrpcCode::Internal);
        assert_eq!(
            grpc_code(&Error::new(Code::CursorExpired, "x")),
            GrpcCode::FailedPrecondition
        );
    }

    #[test]
    fn details_follow_the_code() {
        let limited = Error {
            retry_after: Some(7),
            upstream_status: Some(429),
            ..Error::new(Code::RateLimited, "slow down")
        };
        let status = Status::from(limited);
        assert_eq!(status.code(), GrpcCode::ResourceExhausted);
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(info.reason, "RATE_LIMITED");
        assert_eq!(info.domain, DOMAIN);
        assert_eq!(info.metadata["retryAfterSeconds"], "7");
        assert_eq!(
            details.retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(7))
        );
        let status = Status::from(invalid("page_size", "negative"));
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "page_size"
        );
        assert_eq!(details.error_info().unwrap().reason, "BAD_USER_INPUT");
        let status = Status::from(
            Failure::from(Error::new(Code::NotFound, "gone"))
                .resource("blaxel.jobs.v1.Job", "jobs/x"),
        );
        let details = status.get_error_details();
        assert_eq!(details.resource_info().unwrap().resource_name, "jobs/x");
    }
}
