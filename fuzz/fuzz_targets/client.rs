//! Fuzzes the whole client session: heads, bodies in every framing and split, early drops,
//! EOFs, errors, acks, link changes and time jumps, against a reference parser and the backoff's
//! bounds. The checks live in `fuzz/bodies/client.rs` so that `tests/fuzz_replay.rs` can replay
//! the corpus on stable.
#![no_main]

// The body also offers helpers that only the stable tests use.
#[allow(dead_code)]
#[path = "../bodies/client.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::client(data));
