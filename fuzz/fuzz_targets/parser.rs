//! Fuzzes the parser: chunking, early-dropped feeds, limits, `finish`, `reset`, and the tokenizer,
//! against a plain model of the spec. The checks live in `fuzz/bodies/parser.rs` so that
//! `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

// The body also offers helpers that only the stable tests use.
#[allow(dead_code)]
#[path = "../bodies/parser.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::parser(data));
