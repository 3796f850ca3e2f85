//! Opaque pagination cursors.
//!
//! Wire form: base64url (no padding) of `JSON payload || tag`, where the tag is the first 12
//! bytes of SHA-256(secret || payload) (a keyed hash: enough to detect tampering in an emulator;
//! not a MAC to defend a real service with). The payload holds the query fingerprint
//! (workspace, listing, job, execution, sort, normalised `q`, status filter; never `limit`), the
//! sort key of the last item returned, and the issue time on the virtual clock.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Cursor lifetime on the virtual clock, seconds (24 h).
pub(crate) const CURSOR_TTL_SECS: i64 = 86_400;
const TAG_LEN: usize = 12;

/// The position a cursor resumes after: the sort key of the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// createdAt in Unix seconds for `createdAt:*` sorts, 0 for `name:*`.
    #[serde(rename = "t")]
    pub time: i64,
    /// The name or id of the last item (the tie-breaker for `createdAt:*`).
    #[serde(rename = "n")]
    pub name: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u8,
    f: String,
    p: Position,
    i: i64,
}

/// Why a cursor was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorError {
    /// Not a cursor of ours, tampered with, or bound to another query -> `invalid_cursor`.
    Invalid,
    /// Older than [`CURSOR_TTL_SECS`] -> `cursor_expired`.
    Expired,
}

/// Encodes and checks cursors with one secret.
#[derive(Debug, Clone)]
pub(crate) struct Cursors {
    secret: [u8; 32],
}

/// The query a cursor is bound to.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    d[..12].iter().map(|b| format!("{b:02x}")).collect()
}

impl Cursors {
    /// Cursors keyed by the emulator seed (deterministic across restarts with the same seed).
    pub(crate) fn new(seed: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"blaxel-emulator cursor secret");
        h.update(seed.to_be_bytes());
        Self {
            secret: h.finalize().into(),
        }
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(payload);
        let d = h.finalize();
        let mut out = [0; TAG_LEN];
        out.copy_from_slice(&d[..TAG_LEN]);
        out
    }

    /// A cursor resuming after `position`, for the query `fingerprint`, issued at `now`.
    pub(crate) fn encode(&self, fingerprint: &str, position: Position, now: i64) -> String {
        let payload = Payload {
            v: 1,
            f: fingerprint.to_owned(),
            p: position,
            i: now,
        };
        let mut bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let tag = self.tag(&bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks a cursor against the query `fingerprint` at `now` and returns its position.
    pub(crate) fn decode(
        &self,
        raw: &str,
        fingerprint: &str,
        now: i64,
    ) -> Result<Position, CursorError> {
        if raw.len() > 4096 {
            return Err(CursorError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| CursorError::Invalid)?;
        if bytes.len() <= TAG_LEN {
            return Err(CursorError::Invalid);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        if self.tag(payload) != tag {
            return Err(CursorError::Invalid);
        }
        let payload: Payload = serde_json::from_slice(payload).map_err(|_| CursorError::Invalid)?;
        if payload.v != 1 || payload.f != fingerprint {
            return Err(CursorError::Invalid);
        }
        if now - payload.i > CURSOR_TTL_SECS || payload.i > now {
            return Err(CursorError::Expired);
        }
        Ok(payload.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let c = Cursors::new(1);
        let pos = Position {
            time: 5,
            name: "exec-1".into(),
        };
        let f = fingerprint(&["ws", "job"]);
        let tok = c.encode(&f, pos.clone(), 100);
        assert_eq!(c.decode(&tok, &f, 100), Ok(pos));
        assert_eq!(
            c.decode(&tok, &fingerprint(&["ws", "other"]), 100),
            Err(CursorError::Invalid)
        );
        assert_eq!(
            c.decode(&tok, &f, 100 + CURSOR_TTL_SECS + 1),
            Err(CursorError::Expired)
        );
        assert_eq!(c.decode("garbage!", &f, 100), Err(CursorError::Invalid));
        let mut bytes = URL_SAFE_NO_PAD.decode(&tok).unwrap();
        bytes[3] ^= 1;
        assert_eq!(
            c.decode(&URL_SAFE_NO_PAD.encode(bytes), &f, 100),
            Err(CursorError::Invalid)
        );
        assert_eq!(
            Cursors::new(2).decode(&tok, &f, 100),
            Err(CursorError::Invalid)
        );
    }
}
