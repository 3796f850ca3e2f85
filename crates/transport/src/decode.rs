//! How a successful answer's body becomes a value: serde_json driven by a seed ([`Json`]), or a
//! caller's own reader that tries a faster reading first and leaves the body to serde_json
//! when it cannot vouch for the result.

use serde::de::DeserializeSeed;

/// Reads a 2xx body (the whole of it, as received) into a value.
///
/// An implementation other than [`Json`] must answer exactly what `Json` with its seed would:
/// the same value, or the same error (the transport quotes the error's text to callers and
/// decides retries on [`serde_json::Error::is_eof`]).
pub trait Decode: Clone {
    /// What the body reads as.
    type Value;

    /// Whether the exchange lets the worker run its other tasks before this decode. Reading
    /// the body wakes the upstream connection's task, which then waits on the worker behind
    /// the decode; for a long decode (a page of executions transcoded, about 100 µs) the next
    /// wake (the answer's) pushes it out and wakes a second worker on the answer's path. With
    /// the yield the connection's task runs first, and the other worker wakes while the decode
    /// runs: one gRPC page call at one connection went from 4.2 to 3.5 context switches.
    const YIELD_FIRST: bool = false;

    /// The body's value.
    ///
    /// # Errors
    /// The body is not JSON or not the value's shape: serde_json's error, with its position.
    fn decode(self, body: &[u8]) -> serde_json::Result<Self::Value>;
}

/// serde_json over the body, the seed shaping the value (`PhantomData::<T>` reads a `T` as it
/// is; [`blaxel_models::ExecutionProjection`] trims executions as they are read).
#[derive(Debug, Clone, Copy)]
pub struct Json<S>(pub S);

impl<S, T> Decode for Json<S>
where
    S: for<'de> DeserializeSeed<'de, Value = T> + Clone,
{
    type Value = T;

    fn decode(self, body: &[u8]) -> serde_json::Result<T> {
        // The body checked as UTF-8 once (a fast pass), then read as text: read as bytes,
        // serde_json checks every string it reads again (about 4 % of a page request's
        // instructions). A body that is not UTF-8 is read as bytes, for the error's position.
        match std::str::from_utf8(body) {
            Ok(text) => seeded(serde_json::Deserializer::from_str(text), self.0),
            Err(_) => seeded(serde_json::Deserializer::from_slice(body), self.0),
        }
    }
}

/// The whole input decoded by `seed`: what `serde_json::from_str` does for a type.
fn seeded<'de, R, S>(mut de: serde_json::Deserializer<R>, seed: S) -> serde_json::Result<S::Value>
where
    R: serde_json::de::Read<'de>,
    S: DeserializeSeed<'de>,
{
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}
