//! Fuzzes the client's response-head reader: split invariance, limits, sticky errors, accessors,
//! `classify`, and the canonical round trip of every head it accepts. The checks live in
//! `fuzz/bodies/response_head.rs` so that `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

#[path = "../bodies/response_head.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::response_head(data));
