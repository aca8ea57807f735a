//! Builds one of the crate's examples with the features and profile of the test that asks, so
//! tests can run the real binary as a child process.

use std::path::PathBuf;
use std::process::Command;

/// Builds `examples/NAME` into the target directory this test was built in, with this test's
/// features and profile, and returns the binary's path.
pub(crate) fn build_example(name: &str) -> PathBuf {
    let features: Vec<&str> = [
        ("std", cfg!(feature = "std")),
        ("alloc", cfg!(feature = "alloc")),
        ("defmt", cfg!(feature = "defmt")),
        ("embassy-time", cfg!(feature = "embassy-time")),
        (
            "embedded-io-async-0.7",
            cfg!(feature = "embedded-io-async-0.7"),
        ),
        ("futures-io-0.3", cfg!(feature = "futures-io-0.3")),
        ("tls", cfg!(feature = "tls")),
        ("embedded-tls", cfg!(feature = "embedded-tls")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    // target/<profile>/deps/<this test> -> target/<profile>/examples/NAME
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--offline", "--example", name])
        .args(["--no-default-features", "--features", &features.join(",")]);
    // Into the directory this test was built in, wherever that is.
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    if profile_dir.ends_with("release") {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "cargo build --example {name} failed");
    let binary = profile_dir.join("examples").join(name);
    assert!(binary.exists(), "no {}", binary.display());
    binary
}
