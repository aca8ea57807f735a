//! Fuzzes the request-head reader (split invariance, limits) and the server session's answer to
//! what it reads. The checks live in `fuzz/bodies/request_head.rs` so that
//! `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

#[path = "../bodies/request_head.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::request_head(data));
