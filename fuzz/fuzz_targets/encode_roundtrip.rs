//! Fuzzes the event-stream encoder through the parser: field validation, exact sizes, `write_to`
//! against `encode`, and encode-then-parse as the identity the spec allows. The checks live in
//! `fuzz/bodies/encode_roundtrip.rs` so that `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

#[path = "../bodies/encode_roundtrip.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::encode_roundtrip(data));
