//! Upstream page decoding (`GET /jobs/{jobId}/executions` bodies, untrusted): the envelope
//! `{data, meta}` or the legacy bare array into `Page<JobExecution>`, never a panic.
#![no_main]

use blaxel_models::{JobExecution, Page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<Page<JobExecution>>(data) {
        // The accessors the gateway reads must not panic either.
        let _ = (page.next_cursor(), page.total(), page.items.len());
        for item in &page.items {
            let _ = serde_json::to_vec(item);
        }
    }
});
