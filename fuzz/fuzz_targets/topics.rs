//! Fuzzes the topic router of the replay ring: fuzz-chosen publishes to topic sets, readers
//! following sets of topics reading between them, and resumes with every kind of id, checked
//! against a plain model. The checks live in `fuzz/bodies/topics.rs` so that
//! `tests/fuzz_replay.rs` can replay the corpus on stable.
#![no_main]

// The body also offers the script encoder that only the stable tests use.
#[allow(dead_code)]
#[path = "../bodies/topics.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::topics(data));
