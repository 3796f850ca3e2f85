//! Gateway cursors: opaque, versioned, self-contained, bound to the query.
//!
//! A gateway cursor names a position in one listing: "the items that follow this edge". It holds
//! no server state, so any replica, or a restarted gateway, resumes from it.
//!
//! Wire form: base64url (no padding) of a small binary record
//!
//! ```text
//! byte 0      version (1)
//! bytes 1..9  fingerprint: first 8 bytes of SHA-256 over the query binding (job, sort, q, workspace, mode)
//! byte 9      kind: 0 = upstream cursor position, 1 = legacy offset
//! kind 0:     u8 skip (items of that upstream page already consumed, 0..=200), u8 anchor length,
//!             the anchor (id of the item before the position, UTF-8, may be empty), then the
//!             upstream cursor as UTF-8 to the end ("" = the first page)
//! kind 1:     u64 big-endian offset
//! ```
//!
//! The upstream (Blaxel) cursor is opaque to us and bound by the upstream to the same query; the
//! gateway checks its own binding first, so a cursor used with other arguments is rejected before
//! any upstream call.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::Contract;

/// Version byte of the current cursor format.
pub const CURSOR_VERSION: u8 = 1;
/// Longest encoded cursor accepted, in bytes (bounds decoding work on hostile input).
pub const MAX_CURSOR_LEN: usize = 4096;
/// Largest `skip` a cursor may carry: the upstream's largest page (200 for `/jobs`).
pub const MAX_SKIP: u8 = 200;

/// Where a listing resumes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Position {
    /// Cursor pagination (`Blaxel-Version` >= 2026-04-28): the upstream page that starts at
    /// `cursor` (empty = the first page), after its first `skip` items.
    Upstream {
        /// The upstream `cursor` query parameter; empty for the first page.
        cursor: String,
        /// Items of that page already returned.
        skip: u8,
        /// Id of the item right before the position (the edge's own item), when `skip > 0`:
        /// a resume finds it again if items were inserted or removed ahead of it (at most
        /// [`MAX_ANCHOR_LEN`] bytes; longer ids are not anchored).
        anchor: String,
    },
    /// Legacy offset pagination: the item at this offset (0-based).
    Offset(u64),
}

/// Longest anchor stored in a cursor, bytes.
pub const MAX_ANCHOR_LEN: usize = 255;

/// What a cursor is bound to. Two queries with equal bindings may share cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The listing: `"executions"` or `"jobs"`.
    pub listing: &'a str,
    /// Job name for executions; empty for jobs.
    pub job: &'a str,
    /// Upstream sort wire form, e.g. `createdAt:desc`.
    pub sort: &'a str,
    /// Normalised search query (the transport's `normalise_query`).
    pub query: &'a str,
    /// Workspace the caller named (header or configured default); empty when none.
    pub workspace: &'a str,
    /// The upstream's listing contract (a cursor of one never serves the other).
    pub contract: Contract,
}

impl Binding<'_> {
    /// The 8-byte fingerprint stored in cursors.
    pub fn fingerprint(&self) -> [u8; 8] {
        let mut h = Sha256::new();
        for part in [
            self.listing,
            self.job,
            self.sort,
            self.query,
            self.workspace,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.update([u8::from(self.contract == Contract::Legacy)]);
        let digest = h.finalize();
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&digest[..8]);
        fp
    }
}

/// Why a cursor string was rejected. Each maps to `CURSOR_INVALID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not base64url, too long, or too short.
    #[error("cursor is not a cursor issued by this gateway")]
    Malformed,
    /// Issued by another cursor format version.
    #[error(
        "cursor format version {0} is not supported (this gateway issues version {CURSOR_VERSION})"
    )]
    Version(u8),
    /// Issued for another query (job, sort, query, workspace or API mode).
    #[error(
        "cursor was issued for another query: use it with the same job, sort, query and workspace"
    )]
    Mismatch,
}

/// Encodes a cursor for `position` under the binding's fingerprint.
pub fn encode(fingerprint: [u8; 8], position: &Position) -> String {
    let mut buf = Vec::with_capacity(16 + upstream_len(position));
    buf.push(CURSOR_VERSION);
    buf.extend_from_slice(&fingerprint);
    match position {
        Position::Upstream {
            cursor,
            skip,
            anchor,
        } => {
            buf.push(0);
            buf.push(*skip);
            let anchor = if anchor.len() <= MAX_ANCHOR_LEN {
                anchor.as_bytes()
            } else {
                &[]
            };
            buf.push(anchor.len() as u8);
            buf.extend_from_slice(anchor);
            buf.extend_from_slice(cursor.as_bytes());
        }
        Position::Offset(offset) => {
            buf.push(1);
            buf.extend_from_slice(&offset.to_be_bytes());
        }
    }
    URL_SAFE_NO_PAD.encode(buf)
}

fn upstream_len(position: &Position) -> usize {
    match position {
        Position::Upstream { cursor, anchor, .. } => cursor.len() + anchor.len() + 1,
        Position::Offset(_) => 8,
    }
}

/// Decodes `raw` and checks it against `expected` (the fingerprint of the current query).
///
/// # Errors
/// [`CursorError`] for anything but a well-formed cursor of this version and this query.
pub fn decode(raw: &str, expected: [u8; 8]) -> Result<Position, CursorError> {
    if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
        return Err(CursorError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .map_err(|_| CursorError::Malformed)?;
    let (&version, rest) = bytes.split_first().ok_or(CursorError::Malformed)?;
    if version != CURSOR_VERSION {
        return Err(CursorError::Version(version));
    }
    if rest.len() < 9 {
        return Err(CursorError::Malformed);
    }
    let (fp, rest) = rest.split_at(8);
    if fp != expected {
        return Err(CursorError::Mismatch);
    }
    match rest {
        [0, skip, anchor_len, rest @ ..]
            if *skip <= MAX_SKIP && usize::from(*anchor_len) <= rest.len() =>
        {
            let (anchor, cursor) = rest.split_at(usize::from(*anchor_len));
            let text = |b: &[u8]| {
                std::str::from_utf8(b)
                    .map(str::to_owned)
                    .map_err(|_| CursorError::Malformed)
            };
            Ok(Position::Upstream {
                cursor: text(cursor)?,
                skip: *skip,
                anchor: text(anchor)?,
            })
        }
        [1, offset @ ..] if offset.len() == 8 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(offset);
            Ok(Position::Offset(u64::from_be_bytes(be)))
        }
        _ => Err(CursorError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn binding() -> Binding<'static> {
        Binding {
            listing: "executions",
            job: "data-processing-job",
            sort: "createdAt:desc",
            query: "",
            workspace: "my-workspace",
            contract: Contract::Cursor,
        }
    }

    #[test]
    fn round_trips_both_kinds() {
        let fp = binding().fingerprint();
        for pos in [
            Contract::Cursor.start(),
            Position::Upstream {
                cursor: "eyJwIjoxfQ==/+".into(),
                skip: 7,
                anchor: "exec-abc123".into(),
            },
            Position::Offset(0),
            Position::Offset(u64::MAX),
        ] {
            let raw = encode(fp, &pos);
            assert!(
                raw.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(decode(&raw, fp), Ok(pos));
        }
    }

    #[test]
    fn binding_covers_every_argument() {
        let base = binding();
        let variants = [
            Binding {
                job: "job-1",
                ..base
            },
            Binding {
                sort: "name:asc",
                ..base
            },
            Binding {
                query: "abc",
                ..base
            },
            Binding {
                workspace: "other",
                ..base
            },
            Binding {
                contract: Contract::Legacy,
                ..base
            },
            Binding {
                listing: "jobs",
                ..base
            },
        ];
        let raw = encode(base.fingerprint(), &Contract::Cursor.start());
        for other in variants {
            assert_ne!(other.fingerprint(), base.fingerprint(), "{other:?}");
            assert_eq!(
                decode(&raw, other.fingerprint()),
                Err(CursorError::Mismatch)
            );
        }
        // Length-prefixed parts: moving a character between parts changes the fingerprint.
        let a = Binding {
            job: "ab",
            sort: "c",
            ..base
        };
        let b = Binding {
            job: "a",
            sort: "bc",
            ..base
        };
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn rejects_other_versions_and_garbage() {
        let fp = binding().fingerprint();
        let raw = encode(fp, &Position::Offset(3));
        let mut bytes = URL_SAFE_NO_PAD.decode(&raw).unwrap();
        bytes[0] = 2;
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode(&bytes), fp),
            Err(CursorError::Version(2))
        );
        for bad in ["", "!!!", "AQ", "a+b/c=", &"A".repeat(MAX_CURSOR_LEN + 1)] {
            assert!(decode(bad, fp).is_err(), "{bad:?}");
        }
        // skip beyond the largest upstream page
        let mut bytes = URL_SAFE_NO_PAD
            .decode(encode(fp, &Contract::Cursor.start()))
            .unwrap();
        bytes[10] = MAX_SKIP + 1;
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode(&bytes), fp),
            Err(CursorError::Malformed)
        );
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(raw in ".{0,300}") {
            let _ = decode(&raw, binding().fingerprint());
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let raw = URL_SAFE_NO_PAD.encode(&bytes);
            let _ = decode(&raw, binding().fingerprint());
            // Standard base64 with padding and '+' '/' is not our alphabet.
            let std = base64::engine::general_purpose::STANDARD.encode(&bytes);
            if std.contains(['+', '/', '=']) {
                prop_assert!(decode(&std, binding().fingerprint()).is_err());
            }
        }

        #[test]
        fn round_trip_any_position(cursor in ".{0,200}", anchor in ".{0,60}", skip in 0u8..=MAX_SKIP, offset in any::<u64>()) {
            let fp = binding().fingerprint();
            let up = Position::Upstream { cursor, skip, anchor };
            prop_assert_eq!(decode(&encode(fp, &up), fp), Ok(up));
            prop_assert_eq!(decode(&encode(fp, &Position::Offset(offset)), fp), Ok(Position::Offset(offset)));
        }

        #[test]
        fn truncated_or_tampered_cursors_are_rejected_or_stay_in_binding(
            cut in 0usize..20, flip in 0usize..64, bit in 0u8..8,
        ) {
            let fp = binding().fingerprint();
            let raw = encode(fp, &Position::Upstream { cursor: "upstream-cursor".into(), skip: 3, anchor: "exec-1".into() });
            let truncated = &raw[..cut.min(raw.len())];
            if truncated != raw {
                // A prefix decodes only when it still holds a full record of our fingerprint.
                if let Ok(pos) = decode(truncated, fp) {
                    let is_upstream = matches!(pos, Position::Upstream { .. });
                    prop_assert!(is_upstream);
                }
            }
            let mut bytes = URL_SAFE_NO_PAD.decode(&raw).unwrap();
            let i = flip % bytes.len();
            bytes[i] ^= 1 << bit;
            let tampered = URL_SAFE_NO_PAD.encode(&bytes);
            if i < 9 {
                // version or fingerprint bits: always rejected
                prop_assert!(decode(&tampered, fp).is_err());
            }
        }
    }
}
