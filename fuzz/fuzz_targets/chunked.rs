//! Fuzzes the chunked body decoder against a whole-input reference de-chunker, on raw bytes and on
//! well-formed bodies built from the input, plus the chunk encoders' round trip. The checks live in
//! `fuzz/bodies/chunked.rs` so that `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

#[path = "../bodies/chunked.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::chunked(data));
