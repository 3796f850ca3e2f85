//! Upstream timestamps (RFC 3339 text, kept as sent in the models) parsed where a value is needed.
//!
//! Every timestamp of a page is parsed when an answer is written (the GraphQL `DateTime` scalar,
//! the protobuf `Timestamp`): 14 per execution on the every-field page. The shape Blaxel sends,
//! `2026-05-31T23:59:20Z` with an optional fraction and an optional numeric offset, is read by a
//! few integer operations here; anything else goes to chrono's RFC 3339 parser, which decides
//! (and gives the error).

use chrono::{DateTime, Utc};

/// Parses an upstream timestamp (RFC 3339, any offset such as `Z` or `+00:00`) into UTC.
///
/// Upstream timestamps are kept as sent in the models; call this where a parsed value is needed.
/// Surrounding whitespace is ignored.
///
/// # Errors
/// The chrono parse error for anything that is not RFC 3339.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    let raw = raw.trim();
    match common_shape(raw.as_bytes())
        .and_then(|(secs, nanos)| DateTime::from_timestamp(secs, nanos))
    {
        Some(at) => Ok(at),
        None => DateTime::parse_from_rfc3339(raw).map(|t| t.with_timezone(&Utc)),
    }
}

/// [`parse_timestamp`] as seconds since the Unix epoch and nanoseconds (what a protobuf
/// `Timestamp` holds): the common shape without building a date at all. Nanoseconds reach past
/// 999,999,999 only for a leap second, as chrono reads it.
///
/// # Errors
/// As [`parse_timestamp`].
pub fn parse_unix_timestamp(raw: &str) -> Result<(i64, u32), chrono::ParseError> {
    let raw = raw.trim();
    match common_shape(raw.as_bytes()) {
        Some(at) => Ok(at),
        None => {
            DateTime::parse_from_rfc3339(raw).map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
        }
    }
}

/// True when `raw` is `YYYY-MM-DDTHH:MM:SSZ` with every field in range: the form chrono writes
/// for a UTC instant in whole seconds, which a reader can pass on as it is.
pub fn is_canonical_timestamp(raw: &str) -> bool {
    raw.len() == 20 && common_shape(raw.as_bytes()).is_some()
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM)` with every field in range (seconds 0..=59), as
/// seconds since the Unix epoch and nanoseconds, else
/// `None` (chrono then reads what RFC 3339 also allows: `t`, a space, leap seconds, long
/// fractions, or fails).
fn common_shape(b: &[u8]) -> Option<(i64, u32)> {
    const SHAPE: &[u8; 19] = b"0000-00-00T00:00:00";
    let (head, mut rest) = b.split_first_chunk::<19>()?;
    if rest.is_empty() {
        return None;
    }
    // One pass over the fixed part, digits where the shape has '0', else the shape's byte.
    let mut ok = true;
    for (c, s) in head.iter().zip(SHAPE) {
        ok &= if *s == b'0' {
            c.wrapping_sub(b'0') < 10
        } else {
            c == s
        };
    }
    if !ok {
        return None;
    }
    let n = |i: usize| u32::from(head[i] - b'0') * 10 + u32::from(head[i + 1] - b'0');
    let (year, month, day) = (n(0) * 100 + n(2), n(5), n(8));
    let (hour, minute, second) = (n(11), n(14), n(17));
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut nanos = 0u32;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&tail[..n])? * 10u32.pow(9 - n as u32);
        rest = &tail[n..];
    }
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (two_digits(&[*h1, *h2], 0)?, two_digits(&[*m1, *m2], 0)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some((local - offset, nanos))
}

/// The value of the two ASCII decimal digits at `at`, `None` if either is not one.
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let (tens, units) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
    (tens < 10 && units < 10).then(|| u32::from(tens) * 10 + u32::from(units))
}

/// The value of ASCII decimal digits, `None` if any byte is not one.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono(raw: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(raw.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// chrono's reading as seconds and nanoseconds.
    fn unix(raw: &str) -> Option<(i64, u32)> {
        chrono(raw).map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
    }

    #[test]
    fn the_common_shape_reads_as_chrono_does() {
        for raw in [
            "2026-05-31T23:59:20Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "0000-03-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00.5+05:30",
            "2026-05-01T12:00:00+02:00",
            "2026-05-01T00:00:00-23:59",
            "2026-05-01T10:00:00.123456Z",
            "2000-02-29T00:00:00.1Z",
            "  2026-05-31T23:59:20Z\n",
        ] {
            let fast = common_shape(raw.trim().as_bytes());
            assert!(fast.is_some(), "{raw} is the common shape");
            let fast = fast.and_then(|(secs, nanos)| DateTime::from_timestamp(secs, nanos));
            assert_eq!(fast, chrono(raw), "{raw}");
            assert_eq!(parse_timestamp(raw).ok(), chrono(raw), "{raw}");
            assert_eq!(parse_unix_timestamp(raw).ok(), unix(raw), "{raw}");
        }
    }

    #[test]
    fn everything_else_is_left_to_chrono() {
        for raw in [
            "2026-05-31t23:59:20z",
            "2026-05-31 23:59:20Z",
            "2016-12-31T23:59:60Z",
            "2026-05-31T23:59:20.1234567891Z",
            "2026-05-31T23:59:20",
            "2026-05-31T23:59:20.Z",
            "2026-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-05-31T24:00:00Z",
            "2026-05-31T23:60:00Z",
            "2026-05-31T23:59:20+24:00",
            "2026-05-31T23:59:20+0200",
            "2026-05-31T23:59:20Zjunk",
            "+2026-05-31T23:59:20Z",
            "２026-05-31T23:59:20Z",
            "yesterday",
            "",
        ] {
            assert_eq!(common_shape(raw.as_bytes()), None, "{raw}");
            assert_eq!(parse_timestamp(raw).ok(), chrono(raw), "{raw}");
            assert_eq!(parse_unix_timestamp(raw).ok(), unix(raw), "{raw}");
        }
    }

    proptest::proptest! {
        /// Any text in and around the shape: the same instant as chrono, or the same refusal.
        #[test]
        fn parses_as_chrono_does(
            raw in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,11})?(Z|z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?"
        ) {
            proptest::prop_assert_eq!(parse_timestamp(&raw).ok(), chrono(&raw), "{}", raw);
            proptest::prop_assert_eq!(parse_unix_timestamp(&raw).ok(), unix(&raw), "{}", raw);
        }

        /// Every instant chrono writes reads back to itself.
        #[test]
        fn round_trips_what_chrono_writes(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000, offset in -86_399i32..86_399) {
            let at = DateTime::from_timestamp(secs, nanos).unwrap();
            let tz = chrono::FixedOffset::east_opt(offset / 60 * 60).unwrap();
            for text in [
                at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                at.with_timezone(&tz).to_rfc3339_opts(chrono::SecondsFormat::Nanos, false),
                at.with_timezone(&tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            ] {
                let expected = chrono(&text);
                proptest::prop_assert_eq!(parse_timestamp(&text).ok(), expected, "{}", text);
                proptest::prop_assert_eq!(parse_unix_timestamp(&text).ok(), unix(&text), "{}", text);
            }
        }
    }
}
