//! Custom scalars.

use async_graphql::{InputValueError, InputValueResult, Result, Scalar, ScalarType, Value};

use crate::error::{Code, error};

/// A point in time, RFC 3339 in UTC (e.g. `2026-05-01T10:00:00Z`). Upstream timestamps are
/// parsed with any offset (`+00:00` too) and served normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => blaxel_models::parse_timestamp(s)
                .map(DateTime)
                .map_err(|e| InputValueError::custom(format!("not an RFC 3339 timestamp: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Parses an optional upstream timestamp. An unparseable value fails this field alone
/// (`UPSTREAM_ERROR`), not the page; an empty string reads as absent.
pub fn timestamp(raw: Option<&str>) -> Result<Option<DateTime>> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => blaxel_models::parse_timestamp(s)
            .map(|t| Some(DateTime(t)))
            .map_err(|e| {
                error(
                    Code::UpstreamError,
                    format!("upstream sent a timestamp that is not RFC 3339 ({s:?}): {e}"),
                )
            }),
    }
}
