//! The gateway cursor decoder (`after:` arguments, untrusted): never panics, and whatever it
//! accepts encodes back to a cursor that decodes to the same position.
//!
//! Input: 8 bytes of expected query fingerprint, then the cursor text, so that the fuzzer can
//! get past the fingerprint check.
#![no_main]

use blaxel_gateway::cursor::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (fingerprint, raw) = data.split_at(8);
    let fingerprint: [u8; 8] = fingerprint.try_into().unwrap();
    let Ok(raw) = std::str::from_utf8(raw) else {
        return;
    };
    if let Ok(position) = decode(raw, fingerprint) {
        let again = encode(fingerprint, &position);
        assert_eq!(decode(&again, fingerprint), Ok(position));
    }
});
