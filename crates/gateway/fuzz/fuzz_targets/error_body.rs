//! Upstream error bodies (any non-2xx answer, untrusted): flat, nested or garbage, decoded
//! into `ApiErrorBody` and displayed, never a panic.
#![no_main]

use blaxel_transport::ApiErrorBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = ApiErrorBody::from_bytes(data);
    let _ = body.to_string();
    assert!(body.raw.len() <= 4 * blaxel_transport::SNIPPET_BYTES);
});
