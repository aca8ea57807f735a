//! Fuzzes a server session fed random request bytes, transmits, partial write confirmations,
//! publishes and time jumps, checking its invariants. The checks live in
//! `fuzz/bodies/server_session.rs` so that `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

#[path = "../bodies/server_session.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::server_session(data));
