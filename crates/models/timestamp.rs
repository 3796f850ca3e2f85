//! Upstream timestamps (RFC 3339 text, kept as sent in the models) parsed where a value is needed.
//!
//! Every timestamp of a page is parsed when an answer is written (the GraphQL `DateTime` scalar,
//! the protobuf `Timestamp`): 14 per execution on the every-field page. The shape Blaxel sends,
//! `2026-05-31T23:59:20Z` with an optional fraction and an optional numeric offset, is read by a
//! few integer operations here, and the canonical form (`Z`, whole seconds) is remembered per
//! thread once read ([`SEEN`]); anything else goes to chrono's RFC 3339 parser, which decides
//! (and gives the error).

use std::cell::RefCell;

use chrono::{DateTime, Utc};

/// Parses an upstream timestamp (RFC 3339, any offset such as `Z` or `+00:00`) into UTC.
///
/// Upstream timestamps are kept as sent in the models; call this where a parsed value is needed.
/// Surrounding whitespace is ignored.
///
/// # Errors
/// The chrono parse error for anything that is not RFC 3339.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    let raw = trim(raw);
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
    let raw = trim(raw);
    match common_shape(raw.as_bytes()) {
        Some(at) => Ok(at),
        None => {
            DateTime::parse_from_rfc3339(raw).map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
        }
    }
}

/// `str::trim`, without its walk over the ends' characters when both ends are ASCII that is
/// not whitespace (as every timestamp Blaxel sends is).
fn trim(raw: &str) -> &str {
    let plain = |c: u8| c.is_ascii() && !char::from(c).is_whitespace();
    match raw.as_bytes() {
        [first, .., last] if plain(*first) && plain(*last) => raw,
        _ => raw.trim(),
    }
}

/// True when `raw` is `YYYY-MM-DDTHH:MM:SSZ` with every field in range: the form chrono writes
/// for a UTC instant in whole seconds, which a reader can pass on as it is.
pub fn is_canonical_timestamp(raw: &str) -> bool {
    canonical_unix_seconds(raw).is_some()
}

/// The instant of `raw` in seconds since the Unix epoch when it is the canonical form (see
/// [`is_canonical_timestamp`]), else `None`: what [`parse_unix_timestamp`] reads of it (its
/// nanoseconds are 0), without the trimming and the other shapes' tests before the common case.
pub fn canonical_unix_seconds(raw: &str) -> Option<i64> {
    canonical_seconds(raw.as_bytes())
}

/// Slots of [`SEEN`]: a page of 20 executions from the emulator holds 603 timestamps, 114 of
/// them distinct, and a page asked for again holds the same ones.
const SEEN_SLOTS: usize = 256;
const _: () = assert!(
    SEEN_SLOTS.is_power_of_two(),
    "a slot is the hash's high bits"
);

/// A canonical text and its instant, in seconds since the Unix epoch.
type Seen = ([u8; 20], i64);

thread_local! {
    /// Canonical timestamps read on this thread, by a hash of their text (one per slot, the
    /// last one read wins; 8 kB). The tasks of an execution share its timestamps, and a page
    /// is written again for every request that asks for it, so most readings repeat one made
    /// a moment before: a hit costs a hash and a 20-byte comparison instead of a reading
    /// (`fixed_part` and `days_from_civil`, about 200 instructions). All zeros is no text's.
    static SEEN: RefCell<Box<[Seen; SEEN_SLOTS]>> =
        RefCell::new(Box::new([([0; 20], 0); SEEN_SLOTS]));
}

/// The instant of `b` when it is `YYYY-MM-DDTHH:MM:SSZ` with every field in range (the
/// canonical form, see [`is_canonical_timestamp`]), else `None`; remembered in [`SEEN`].
fn canonical_seconds(b: &[u8]) -> Option<i64> {
    let text: &[u8; 20] = b.try_into().ok()?;
    let word = |at: usize| u64::from_le_bytes(*text[at..].first_chunk::<8>().unwrap_or(&[0; 8]));
    // Three words cover the text; multiplied, their high bits pick a slot.
    let hash = (word(0) ^ word(4).rotate_left(19) ^ word(12).rotate_left(41))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let slot = (hash >> (64 - SEEN_SLOTS.trailing_zeros())) as usize;
    let known = SEEN.with_borrow(|seen| (seen[slot].0 == *text).then_some(seen[slot].1));
    if known.is_some() {
        return known;
    }
    let (head, [b'Z']) = text.split_first_chunk::<19>()? else {
        return None;
    };
    let secs = seconds_of(fixed_part(head)?);
    SEEN.with_borrow_mut(|seen| seen[slot] = (*text, secs));
    Some(secs)
}

/// Seconds since the Unix epoch of the fields [`fixed_part`] reads, taken as UTC.
fn seconds_of([year, month, day, hour, minute, second]: [u32; 6]) -> i64 {
    let days = days_from_civil(i64::from(year), month, day);
    days * 86_400 + i64::from(hour * 3600 + minute * 60 + second)
}

/// The fields of `YYYY-MM-DDTHH:MM:SS`: year, month, day, hour, minute, second, each in range
/// (seconds 0..=59), else `None`.
fn fixed_part(head: &[u8; 19]) -> Option<[u32; 6]> {
    // Three overlapping words: `YYYY-MM-`, `DDTHH:MM` and `HH:MM:SS`.
    let word = |at: usize| *head[at..].first_chunk::<8>().unwrap_or(&[0; 8]);
    const DATE: Shape = Shape::new(b"0000-00-");
    const DAY: Shape = Shape::new(b"00T00:00");
    const TIME: Shape = Shape::new(b"00:00:00");
    let date = DATE.read(word(0))?;
    let day = DAY.read(word(8))?;
    let time = TIME.read(word(11))?;
    let n = |d: [u8; 8], i: usize| u32::from(d[i]) * 10 + u32::from(d[i + 1]);
    let (year, month, day) = (n(date, 0) * 100 + n(date, 2), n(date, 5), n(day, 0));
    let (hour, minute, second) = (n(time, 0), n(time, 3), n(time, 6));
    let valid = (1..=12).contains(&month)
        && day != 0
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    valid.then_some([year, month, day, hour, minute, second])
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM)` with every field in range (seconds 0..=59), as
/// seconds since the Unix epoch and nanoseconds, else
/// `None` (chrono then reads what RFC 3339 also allows: `t`, a space, leap seconds, long
/// fractions, or fails).
fn common_shape(b: &[u8]) -> Option<(i64, u32)> {
    if b.len() == 20 {
        // Only `Z` completes the fixed part in one byte: the canonical form, remembered.
        return canonical_seconds(b).map(|secs| (secs, 0));
    }
    let (head, mut rest) = b.split_first_chunk::<19>()?;
    if rest.is_empty() {
        return None;
    }
    let fields = fixed_part(head)?;
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
    Some((seconds_of(fields) - offset, nanos))
}

/// Eight bytes of the fixed part: an ASCII digit wherever the pattern has `0`, the pattern's
/// own byte elsewhere, tested as one 64-bit word instead of eight bytes (a page of 20
/// executions holds about 600 timestamps, and a gRPC answer writes each).
struct Shape {
    /// 0xFF at the digits' places.
    digits: u64,
    /// The pattern's bytes at the other places, 0 at the digits'.
    literal: u64,
}

impl Shape {
    const fn new(pattern: &[u8; 8]) -> Self {
        let (mut digits, mut literal, mut i) = (0u64, 0u64, 0);
        while i < 8 {
            if pattern[i] == b'0' {
                digits |= 0xFF << (8 * i);
            } else {
                literal |= (pattern[i] as u64) << (8 * i);
            }
            i += 1;
        }
        Self { digits, literal }
    }

    /// The digits' values (0..=9) at the digits' places and 0 elsewhere, or `None` when `bytes`
    /// does not fit the pattern.
    #[inline]
    fn read(&self, bytes: [u8; 8]) -> Option<[u8; 8]> {
        let word = u64::from_le_bytes(bytes);
        // '0'..='9' xor 0x30 is 0..=9; any other byte gets a high nibble, at once or once 6 is
        // added (0x3A..=0x3F give 0x0A..=0x0F). Once no value exceeds 0x0F, adding 6 carries
        // nowhere.
        let values = (word ^ 0x3030_3030_3030_3030) & self.digits;
        let high = 0xF0F0_F0F0_F0F0_F0F0 & self.digits;
        let bad = (values | values.wrapping_add(0x0606_0606_0606_0606)) & high;
        (bad == 0 && word & !self.digits == self.literal).then(|| values.to_le_bytes())
    }
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

    /// What [`is_canonical_timestamp`] answers: chrono reads `raw` and writes it back unchanged
    /// in whole seconds and UTC (a leap second aside, which goes through chrono).
    fn canonical(raw: &str) -> bool {
        chrono(raw).is_some_and(|t| {
            t.timestamp_subsec_nanos() < 1_000_000_000
                && t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) == raw
        })
    }

    /// What [`canonical_unix_seconds`] answers: chrono's seconds of a canonical text.
    fn canonical_secs(raw: &str) -> Option<i64> {
        canonical(raw)
            .then(|| chrono(raw).map(|t| t.timestamp()))
            .flatten()
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
            assert_eq!(is_canonical_timestamp(raw), canonical(raw), "{raw}");
            assert_eq!(canonical_unix_seconds(raw), canonical_secs(raw), "{raw}");
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
            "2026-05-31T23:59:20z",
            "2026-05-31T23:59:20 ",
            "+2026-05-31T23:59:20Z",
            "２026-05-31T23:59:20Z",
            "yesterday",
            "",
        ] {
            assert_eq!(common_shape(raw.as_bytes()), None, "{raw}");
            assert_eq!(parse_timestamp(raw).ok(), chrono(raw), "{raw}");
            assert_eq!(parse_unix_timestamp(raw).ok(), unix(raw), "{raw}");
            assert_eq!(is_canonical_timestamp(raw), canonical(raw), "{raw}");
            assert_eq!(canonical_unix_seconds(raw), canonical_secs(raw), "{raw}");
        }
    }

    /// Each byte of the fixed part and of the `Z` replaced by every byte value: read exactly
    /// when it keeps the shape (a digit where the shape has one, the shape's own byte
    /// elsewhere), and then as chrono reads it; never past a wrong byte (the word-wide test of
    /// `Shape::read`); canonical exactly when chrono writes it back unchanged.
    #[test]
    fn every_byte_of_the_fixed_part_is_checked() {
        let base = *b"2024-02-29T12:34:56Z";
        for at in 0..20 {
            for byte in 0..=255u8 {
                let mut raw = base;
                raw[at] = byte;
                let fits = if b"0000-00-00T00:00:00Z"[at] == b'0' {
                    byte.is_ascii_digit()
                } else {
                    byte == base[at]
                };
                let fast = common_shape(&raw);
                if let Ok(text) = std::str::from_utf8(&raw) {
                    assert_eq!(is_canonical_timestamp(text), canonical(text), "{text}");
                    assert_eq!(canonical_unix_seconds(text), canonical_secs(text), "{text}");
                }
                if !fits {
                    assert_eq!(fast, None, "{at}: {byte:#04x}");
                    continue;
                }
                let text = std::str::from_utf8(&raw).unwrap();
                assert_eq!(fast, unix(text), "{text}");
            }
        }
    }

    /// The thread's memo ([`SEEN`]) answers as a reading does: 2,000 instants (more than its
    /// slots, so slots are taken over) read, then read again in reverse, each as chrono reads
    /// it; a text one byte away from a remembered one (`z`, a 13th month, a 61st minute) is
    /// never taken for it.
    #[test]
    fn remembered_readings_answer_as_fresh_ones() {
        let texts: Vec<String> = (0..2000_i64)
            .map(|i| {
                DateTime::from_timestamp(1_780_000_000 + i * 7919, 0)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
            .collect();
        for text in texts.iter().chain(texts.iter().rev()) {
            assert_eq!(text.len(), 20, "{text}");
            assert_eq!(parse_unix_timestamp(text).ok(), unix(text), "{text}");
            assert_eq!(parse_timestamp(text).ok(), chrono(text), "{text}");
            assert!(is_canonical_timestamp(text), "{text}");
            for (at, byte) in [(19, b'z'), (5, b'1'), (6, b'3'), (14, b'6'), (15, b'1')] {
                let mut near = text.clone().into_bytes();
                near[at] = byte;
                let near = String::from_utf8(near).unwrap();
                if near == *text {
                    continue;
                }
                assert_eq!(is_canonical_timestamp(&near), canonical(&near), "{near}");
                assert_eq!(
                    canonical_unix_seconds(&near),
                    canonical_secs(&near),
                    "{near}"
                );
                assert_eq!(parse_unix_timestamp(&near).ok(), unix(&near), "{near}");
            }
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_as_str_trim_does() {
        for raw in [
            "\u{b}2026-05-31T23:59:20Z",
            "2026-05-31T23:59:20Z\u{b}",
            "\u{2003}2026-05-31T23:59:20Z\u{3000}",
            "\t2026-05-31T23:59:20Z\r\n",
            "\u{85}2026-05-31T23:59:20Z",
            "2026-05-31T23:59:20Z\u{a0}",
            "2026-05-31T23:59:20Zé",
        ] {
            assert_eq!(trim(raw), raw.trim(), "{raw:?}");
            assert_eq!(parse_unix_timestamp(raw).ok(), unix(raw), "{raw:?}");
            assert_eq!(parse_timestamp(raw).ok(), chrono(raw), "{raw:?}");
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
            proptest::prop_assert_eq!(is_canonical_timestamp(&raw), canonical(&raw), "{}", raw);
            proptest::prop_assert_eq!(canonical_unix_seconds(&raw), canonical_secs(&raw), "{}", raw);
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
