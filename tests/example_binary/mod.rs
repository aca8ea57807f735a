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

/// `examples/server` as a child process on a free loopback port, killed when dropped.
#[allow(
    dead_code,
    reason = "not every test that builds examples runs the server"
)]
pub(crate) struct ExampleServer {
    child: std::process::Child,
    /// Where it listens.
    pub(crate) addr: core::net::SocketAddr,
}

#[allow(
    dead_code,
    reason = "not every test that builds examples runs the server"
)]
impl ExampleServer {
    /// Starts it with `args` (plus `--addr 127.0.0.1:0`) and waits for its first line.
    pub(crate) fn start(args: &[&str]) -> Self {
        use std::io::BufRead as _;
        let binary = build_example("server");
        let mut child = Command::new(&binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok());
        // Killed by the guard also when the first line is not what was expected.
        let server = Self {
            addr: addr.unwrap_or(core::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            child,
        };
        assert!(addr.is_some(), "unexpected first line {line:?}");
        server
    }

    /// The child's resident set size in bytes (`VmRSS` in `/proc/PID/status`).
    pub(crate) fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS in kB");
        kib * 1024
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
