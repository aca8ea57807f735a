//! `examples/client` over `https://`, run as the real binary against a TLS server on loopback
//! (the crate's `TlsAcceptor` in front of a scripted SSE responder), with a CA and certificates
//! made at run time by rcgen.
//!
//! Checks: with `--cacert` the client prints the events, and after the server drops the
//! connection it reconnects over TLS with `Last-Event-ID` and prints the rest; without the CA
//! (unknown issuer) and against a certificate for another host it says so once and exits with
//! status 5 instead of retrying; an unusable `--cacert` file exits with status 6.
//!
//! The example is built by cargo with the features this test was built with (a no-op after
//! `cargo test`, which builds the examples first). Every run of it is bounded and killed at the
//! end.
#![cfg(feature = "tls")]

mod example_binary;

use core::net::SocketAddr;
use core::time::Duration;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sansse::io::tls::TlsAcceptor;
use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Longest any run of the example may take before it is killed and the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The exit status the example documents for a refused certificate.
const EXIT_CERTIFICATE_REFUSED: i32 = 5;
/// The exit status the example documents for an unusable `--cacert` file.
const EXIT_BAD_CACERT: i32 = 6;

/// A test CA: its certificate in PEM and what signs with it.
struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Self {
            ca_pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// An acceptor presenting a certificate for `names`, signed by this CA.
    fn acceptor(&self, names: &[&str]) -> TlsAcceptor {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let cert_pem = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap()
            .pem();
        TlsAcceptor::from_pem(cert_pem.as_bytes(), key.serialize_pem().as_bytes()).unwrap()
    }

    /// The CA certificate in a file of its own, for `--cacert`.
    fn ca_file(&self, dir: &TempDir) -> PathBuf {
        let path = dir.0.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "sansse-client-example-tls-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// The `Last-Event-ID` of every request that got through the handshake, in order.
    last_event_ids: Vec<Option<String>>,
    /// How many handshakes failed.
    failed_handshakes: usize,
}

/// Serves an SSE stream over TLS on a loopback port, on a thread of its own, until the test
/// process ends: the first connection gets events 1 and 2 and is then dropped without
/// `close_notify`; every later one gets the events after its `Last-Event-ID` and stays open.
fn start_server(acceptor: TlsAcceptor) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen_by_server = Arc::clone(&seen);
    std::thread::spawn(move || {
        let executor = smol::Executor::new();
        smol::block_on(executor.run(async {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let seen = Arc::clone(&seen_by_server);
                executor
                    .spawn(async move {
                        let mut tls = match acceptor.accept(tcp).await {
                            Ok(tls) => tls.into_inner(),
                            Err(_) => {
                                seen.lock().unwrap().failed_handshakes += 1;
                                return;
                            }
                        };
                        let Some(head) = read_head(&mut tls).await else {
                            return;
                        };
                        let last_event_id = head.lines().find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("last-event-id")
                                .then(|| value.trim().to_owned())
                        });
                        let first = {
                            let mut seen = seen.lock().unwrap();
                            seen.last_event_ids.push(last_event_id.clone());
                            seen.last_event_ids.len() == 1
                        };
                        let after: u32 = last_event_id.and_then(|id| id.parse().ok()).unwrap_or(0);
                        let mut body = String::from(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                             Cache-Control: no-cache\r\n\r\nretry: 100\n\n",
                        );
                        let last = if first { 2 } else { 3 };
                        for id in after + 1..=last {
                            body.push_str(&format!("id: {id}\ndata: event {id}\n\n"));
                        }
                        if tls.write_all(body.as_bytes()).await.is_err()
                            || tls.flush().await.is_err()
                        {
                            return;
                        }
                        if first {
                            // Dropped abruptly: the client must reconnect and resume.
                            return;
                        }
                        smol::Timer::after(PATIENCE).await;
                    })
                    .detach();
            }
        }));
    });
    (addr, seen)
}

/// The request head, up to the blank line; `None` if the peer goes away first.
async fn read_head<S: smol::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 << 10 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

/// How a run of the example ended.
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs the example with `args`, killing it (and failing) after [`PATIENCE`].
fn run_client(args: &[&str]) -> Run {
    let binary = example_binary::build_example("client");
    let mut child = Command::new(&binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!("client {args:?} still running after {PATIENCE:?}; stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        status: status.code().expect("exited, not killed by a signal"),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn url(addr: SocketAddr) -> String {
    format!("https://localhost:{}/events", addr.port())
}

#[test]
fn with_cacert_the_example_prints_events_and_resumes_after_a_drop_over_tls() {
    let pki = Pki::new("sansse example test CA");
    let dir = TempDir::new("resume");
    let ca = pki.ca_file(&dir);
    let (addr, seen) = start_server(pki.acceptor(&["localhost"]));

    let run = run_client(&[&url(addr), "--cacert", path(&ca), "--max-events", "3"]);

    assert_eq!(run.status, 0, "stderr:\n{}", run.stderr);
    let events: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.contains("\"data\""))
        .collect();
    assert_eq!(
        events,
        [
            r#"{"type":"message","data":"event 1","id":"1"}"#,
            r#"{"type":"message","data":"event 2","id":"2"}"#,
            r#"{"type":"message","data":"event 3","id":"3"}"#,
        ],
        "stdout:\n{}",
        run.stdout
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.last_event_ids,
        [None, Some("2".to_owned())],
        "the reconnect resumes after the last id, over TLS"
    );
    assert_eq!(seen.failed_handshakes, 0);
    assert!(
        run.stderr.contains("resuming after id \"2\""),
        "stderr:\n{}",
        run.stderr
    );
}

#[test]
fn without_the_ca_the_example_reports_an_unknown_issuer_once_and_exits_5() {
    let pki = Pki::new("sansse example test CA");
    let (addr, seen) = start_server(pki.acceptor(&["localhost"]));

    let run = run_client(&[&url(addr)]);

    assert_eq!(
        run.status, EXIT_CERTIFICATE_REFUSED,
        "stderr:\n{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .matches(
                "TLS: the certificate of localhost is not signed by a trusted CA (unknown issuer)"
            )
            .count(),
        1,
        "stderr:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("reconnecting"),
        "stderr:\n{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing is read from a refused server");
    // The server learns of the refusal when it reads the client's alert or its close, which
    // may come after the example exited: wait for it, then make sure no second one follows.
    let start = std::time::Instant::now();
    while seen.lock().unwrap().failed_handshakes == 0 && start.elapsed().as_secs() < 5 {
        std::thread::sleep(core::time::Duration::from_millis(10));
    }
    std::thread::sleep(core::time::Duration::from_millis(200));
    let seen = seen.lock().unwrap();
    assert!(seen.last_event_ids.is_empty(), "no request went out");
    assert_eq!(seen.failed_handshakes, 1, "one attempt, not a retry loop");
}

#[test]
fn a_certificate_for_another_host_ends_the_example_with_status_5() {
    let pki = Pki::new("sansse example test CA");
    let dir = TempDir::new("wrong-host");
    let ca = pki.ca_file(&dir);
    let (addr, seen) = start_server(pki.acceptor(&["other.example"]));

    let run = run_client(&[&url(addr), "--cacert", path(&ca)]);

    assert_eq!(
        run.status, EXIT_CERTIFICATE_REFUSED,
        "stderr:\n{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .matches("TLS: the certificate presented by localhost is for another host name")
            .count(),
        1,
        "stderr:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("reconnecting"),
        "stderr:\n{}",
        run.stderr
    );
    assert!(seen.lock().unwrap().last_event_ids.is_empty());
}

#[test]
fn an_unusable_cacert_file_is_reported_with_status_6() {
    let dir = TempDir::new("bad-cacert");
    let not_pem = dir.0.join("not-a-cert.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let missing = dir.0.join("missing.pem");

    for (file, says) in [
        (&not_pem, "no usable certificate"),
        (&missing, "cannot read"),
    ] {
        // Port 9 (discard): never reached, the file is read first.
        let run = run_client(&["https://localhost:9/events", "--cacert", path(file)]);

        assert_eq!(run.status, EXIT_BAD_CACERT, "stderr:\n{}", run.stderr);
        assert!(run.stderr.contains("--cacert"), "stderr:\n{}", run.stderr);
        assert!(run.stderr.contains(says), "stderr:\n{}", run.stderr);
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}
