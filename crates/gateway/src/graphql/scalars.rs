//! Custom scalars.

use async_graphql::{InputValueError, InputValueResult, Result, Scalar, ScalarType, Value};

use super::error::to_graphql;
use crate::error::{Code, Error};

/// A point in time, RFC 3339 in UTC (e.g. `2026-05-01T10:00:00Z`). Upstream timestamps are
/// parsed with any offset (`+00:00` too) and served normalised.
///
/// Held as its normalised text (what `to_rfc3339_opts(SecondsFormat::AutoSi, true)` prints), so
/// that an upstream timestamp already in that form is served as is, without a parse and a
/// reformat (see `canonical`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime(String);

impl DateTime {
    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised text, by value.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<chrono::DateTime<chrono::Utc>> for DateTime {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        Self(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => normalise(s)
                .map_err(|e| InputValueError::custom(format!("not an RFC 3339 timestamp: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// `raw` in its normalised form: as is when it already is ([`canonical`]), else parsed (with
/// any offset) and reformatted.
fn normalise(raw: &str) -> Result<DateTime, chrono::ParseError> {
    if canonical(raw) {
        Ok(DateTime(raw.to_owned()))
    } else {
        blaxel_models::parse_timestamp(raw).map(DateTime::from)
    }
}

/// True when `s` is exactly what chrono would print for it, `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole
/// seconds, a real date of the proleptic Gregorian calendar), so chrono would accept it
/// ([`blaxel_models::is_canonical_timestamp`]). Anything else (a leap second, other offsets,
/// fractions, lowercase, whitespace, an invalid date) is `false` and goes through chrono.
fn canonical(s: &str) -> bool {
    blaxel_models::is_canonical_timestamp(s)
}

/// Parses an optional upstream timestamp. An unparseable value fails this field alone
/// (`UPSTREAM_ERROR`), not the page; an empty string reads as absent.
pub fn timestamp(raw: Option<&str>) -> Result<Option<DateTime>> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => normalise(s).map(Some).map_err(|e| {
            to_graphql(Error::new(
                Code::UpstreamError,
                format!("upstream sent a timestamp that is not RFC 3339 ({s:?}): {e}"),
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{canonical, timestamp};

    /// What the slow path (chrono) makes of `s`.
    fn chrono_form(s: &str) -> Option<String> {
        blaxel_models::parse_timestamp(s)
            .ok()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }

    #[test]
    fn canonical_forms_take_the_fast_path() {
        for s in [
            "2026-05-31T23:59:20Z",
            "2026-01-01T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2026-04-30T00:00:00Z",
            "2026-12-28T12:34:56Z",
            "1970-01-01T00:00:00Z",
            "0001-02-03T04:05:06Z",
            "9999-12-28T23:59:59Z",
        ] {
            assert!(canonical(s), "{s}");
            assert_eq!(chrono_form(s).as_deref(), Some(s), "{s}");
            assert_eq!(timestamp(Some(s)).unwrap().unwrap().as_str(), s);
        }
    }

    #[test]
    fn everything_else_goes_through_chrono() {
        for s in [
            // Valid, but not in the served form, or not checked here.
            "2026-05-31T23:59:20+00:00",
            "2026-05-31T23:59:20.5Z",
            "2026-05-31T23:59:20.000Z",
            "2026-05-31t23:59:20z",
            "2026-05-31 23:59:20Z",
            " 2026-05-31T23:59:20Z",
            "2026-05-31T23:59:20Z ",
            "2016-12-31T23:59:60Z",
            // Invalid.
            "2026-02-30T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-13-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-01-10T24:00:00Z",
            "2026-01-10T23:60:00Z",
            "2026-01-10T23:00:61Z",
            "2026-01-1aT00:00:00Z",
            "+026-01-10T00:00:00Z",
            "2026-01-10T00:00:00",
            "2026-01-10T00:00:0Z",
            "2026-01-10T00:00:00Zx",
            "2026\u{e9}1-10T00:00:00Z",
            "",
            "not a timestamp",
        ] {
            assert!(!canonical(s), "{s}");
            // The answer is chrono's, normalised, or an error.
            match timestamp(Some(s)) {
                Ok(Some(t)) => assert_eq!(Some(t.as_str().to_owned()), chrono_form(s), "{s}"),
                Ok(None) => assert!(s.trim().is_empty(), "{s}"),
                Err(_) => assert_eq!(chrono_form(s), None, "{s}"),
            }
        }
        assert_eq!(
            timestamp(Some("2026-05-31T23:59:20+00:00"))
                .unwrap()
                .unwrap()
                .as_str(),
            "2026-05-31T23:59:20Z"
        );
        assert_eq!(
            timestamp(Some("2026-05-31T23:59:20.500+00:00"))
                .unwrap()
                .unwrap()
                .as_str(),
            "2026-05-31T23:59:20.500Z"
        );
        assert!(timestamp(Some("2026-02-30T00:00:00Z")).is_err());
    }

    /// The fast path takes exactly the strings chrono accepts and prints back unchanged (leap
    /// seconds aside): a sweep over the fields' ranges, and past them.
    #[test]
    fn fast_path_agrees_with_chrono() {
        let mut fast = 0;
        for year in [
            0, 1, 4, 100, 999, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9999,
        ] {
            for month in 0..=13 {
                for day in [0, 1, 9, 10, 27, 28, 29, 30, 31, 32] {
                    for (hour, minute, second) in [
                        (0, 0, 0),
                        (23, 59, 59),
                        (24, 0, 0),
                        (0, 60, 0),
                        (0, 0, 60),
                        (12, 7, 9),
                    ] {
                        let s = format!(
                            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
                        );
                        let same = chrono_form(&s).as_deref() == Some(s.as_str());
                        assert_eq!(canonical(&s), same && second < 60, "{s}");
                        fast += usize::from(same);
                    }
                }
            }
        }
        assert!(fast > 1000, "{fast}");
    }

    proptest! {
        /// The fast path never disagrees with chrono: on timestamp-shaped text (digits anywhere,
        /// including impossible dates, times and separators) and on arbitrary text, the served
        /// value is chrono's normalised form, or an error exactly when chrono fails.
        #[test]
        fn fast_path_agrees_with_chrono_on_generated_text(
            y in 0u32..10_000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62,
            sec in 0u32..62, t in prop::sample::select(vec!['T', 't', ' ']),
            z in prop::sample::select(vec!["Z", "z", "+00:00", "-01:30", ".5Z", ""]),
            noise in ".{0,30}",
        ) {
            let shaped = format!("{y:04}-{mo:02}-{d:02}{t}{h:02}:{mi:02}:{sec:02}{z}");
            for s in [shaped.as_str(), noise.as_str()] {
                if canonical(s) {
                    prop_assert_eq!(chrono_form(s), Some(s.to_owned()));
                }
                match timestamp(Some(s)) {
                    Ok(Some(served)) => prop_assert_eq!(Some(served.as_str().to_owned()), chrono_form(s)),
                    Ok(None) => prop_assert!(s.trim().is_empty()),
                    Err(_) => prop_assert_eq!(chrono_form(s), None),
                }
            }
        }
    }
}
