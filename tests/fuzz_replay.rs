//! Replays the fuzz corpora, seeds and saved artifacts through the fuzz target bodies on stable,
//! so every input the fuzzer ever kept or crashed on runs in `cargo test`.
//!
//! Each directory under `fuzz/corpus/`, `fuzz/seeds/` and `fuzz/artifacts/` is named after its
//! target; a directory with no body here fails the test, so a new target cannot go unreplayed.

#[allow(dead_code)]
#[path = "../fuzz/bodies/parser.rs"]
mod parser_body;
#[path = "../fuzz/bodies/request_head.rs"]
mod request_head_body;
#[path = "../fuzz/bodies/server_session.rs"]
mod server_session_body;

#[allow(dead_code)]
#[path = "../fuzz/bodies/client.rs"]
mod client_body;

#[path = "../fuzz/bodies/response_head.rs"]
mod response_head_body;

#[path = "../fuzz/bodies/chunked.rs"]
mod chunked_body;

#[path = "../fuzz/bodies/encode_roundtrip.rs"]
mod encode_roundtrip_body;

#[allow(dead_code)]
#[path = "../fuzz/bodies/topics.rs"]
mod topics_body;

use core::panic::AssertUnwindSafe;
use std::fs;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

/// A fuzz target and the body its wrapper calls.
struct Target {
    name: &'static str,
    body: fn(&[u8]),
}

const TARGETS: &[Target] = &[
    Target {
        name: "parser",
        body: parser_body::parser,
    },
    Target {
        name: "client",
        body: client_body::client,
    },
    Target {
        name: "request_head",
        body: request_head_body::request_head,
    },
    Target {
        name: "server_session",
        body: server_session_body::server_session,
    },
    Target {
        name: "response_head",
        body: response_head_body::response_head,
    },
    Target {
        name: "chunked",
        body: chunked_body::chunked,
    },
    Target {
        name: "encode_roundtrip",
        body: encode_roundtrip_body::encode_roundtrip,
    },
    Target {
        name: "topics",
        body: topics_body::topics,
    },
];

#[test]
fn every_target_has_a_non_empty_corpus() {
    for target in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target.name);
        let files = inputs(&dir);
        assert!(
            !files.is_empty(),
            "{} holds no inputs; the replay would pass on nothing",
            dir.display()
        );
    }
}

#[test]
fn corpus_seeds_and_artifacts_replay_without_panic() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for kind in ["corpus", "seeds", "artifacts"] {
        let root = fuzz_dir().join(kind);
        let Ok(entries) = fs::read_dir(&root) else {
            // Only `artifacts` may be absent: it exists once the fuzzer has found something.
            assert_eq!(kind, "artifacts", "{} is missing", root.display());
            continue;
        };
        for entry in entries {
            let dir = entry.expect("readable directory entry").path();
            if !dir.is_dir() {
                continue;
            }
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(target) = TARGETS.iter().find(|target| target.name == name) else {
                panic!("{} has no body in tests/fuzz_replay.rs", dir.display());
            };
            for file in inputs(&dir) {
                let data = fs::read(&file).expect("readable input");
                if catch_unwind(AssertUnwindSafe(|| (target.body)(&data))).is_err() {
                    failures.push(file);
                }
                replayed += 1;
            }
        }
    }
    assert!(failures.is_empty(), "bodies panicked on {failures:#?}");
    assert!(replayed > 0, "no input replayed");
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The input files of one target directory; dotfiles (libFuzzer's locks, `.gitkeep`) excluded.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            path.is_file()
                && !path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}
