//! The blocking client over TLS (`BlockingClient::with_tls`, rustls), with a CA and
//! certificates made at run time by rcgen.
//!
//! Checks: against the crate's TLS server (`examples/server --tls-cert --tls-key`, the real
//! binary) it receives the events and, after the server drops every stream once, reconnects
//! over TLS with `Last-Event-ID` and gets the rest with no gap and no repeat; against the
//! crate's `TlsAcceptor`, an unknown issuer and a certificate for another host are refused,
//! retried with backoff as a failed connect, and named by `tls_error()`; a redirect to
//! `https://` closes the session as unsupported, and one to `http://` is tried over TLS, so
//! the plain server sees a ClientHello and never a request. Every run is bounded.
#![cfg(feature = "tls")]

mod example_binary;

use core::net::SocketAddr;
use core::time::Duration;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sansse::client::{ClientConfig, ReconnectReason, SessionEvent};
use sansse::io::client::{BlockingClient, ClientMemory, Item};
use sansse::io::tls::{TlsAcceptor, TlsConfig, TlsConnector, TlsError};

/// Longest a whole run may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A test CA, in PEM, and its signer.
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

    /// A certificate for `names` and its key, in PEM.
    fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A connector trusting this CA only.
    fn connector(&self) -> TlsConnector {
        TlsConnector::new(
            TlsConfig::without_roots()
                .with_ca_pem(self.ca_pem.as_bytes())
                .unwrap(),
        )
    }
}

/// Runs `body` on a thread of its own and returns its result, failing after [`PATIENCE`].
fn bounded<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(body());
    });
    result
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("no result within {PATIENCE:?}"))
}

/// `examples/server` over TLS as a child process, killed when dropped; its log lines
/// (stderr) are collected.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

impl Server {
    fn start(cert_pem: &str, key_pem: &str, args: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("sansse-blocking-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        let binary = example_binary::build_example("server");
        let mut child = Command::new(&binary)
            .args(["--addr", "127.0.0.1:0", "--epoch", "7", "--keepalive", "0"])
            .args(args)
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                lines.lock().unwrap().push(line);
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on https://")
            .and_then(|addr| addr.parse::<SocketAddr>().ok())
            .map(|addr| addr.port());
        let server = Self {
            child,
            port: port.unwrap_or(0),
            log,
            dir,
        };
        assert!(port.is_some(), "unexpected first line {line:?}");
        server
    }

    /// The `Last-Event-ID` of every `GET /events` the server logged, in order (`-` for none).
    fn last_event_ids(&self) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains("GET /events"))
            .filter_map(|line| line.split("last-event-id=").nth(1))
            .map(|id| id.trim().to_owned())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_blocking_client_receives_and_resumes_over_tls_from_the_crates_tls_server() {
    let pki = Pki::new("sansse blocking TLS test CA");
    let (cert, key) = pki.leaf(&["localhost"]);
    let server = Server::start(
        &cert,
        &key,
        &[
            "--publish-every",
            "50",
            "--publish-count",
            "8",
            "--drop-after",
            "3",
            "--retry",
            "100",
        ],
    );
    let (port, connector) = (server.port, pki.connector());

    let (data, reconnects, resumed_from, tls_error) = bounded(move || {
        let mut memory = ClientMemory::new();
        let config = ClientConfig::new("localhost", "/events").with_port(port);
        let mut client = BlockingClient::new(config, &mut memory)
            .unwrap()
            .with_tls(connector);
        let (mut ids, mut data, mut reconnects) = (Vec::new(), Vec::new(), Vec::new());
        let mut resumed_from = None;
        while let Some(item) = client.next() {
            match item {
                Item::Event(event) => {
                    ids.push(event.id().to_owned());
                    data.push(event.data().to_owned());
                    if ids.len() == 8 {
                        client.close();
                    }
                }
                Item::Story(SessionEvent::Reconnecting { reason, .. }) => {
                    reconnects.push(reason);
                    resumed_from.get_or_insert_with(|| ids.last().cloned());
                }
                _ => {}
            }
        }
        let tls_error = client.tls_error().map(ToString::to_string);
        (data, reconnects, resumed_from.flatten(), tls_error)
    });

    let expected: Vec<String> = (1..=8).map(|n| format!("tick {n}")).collect();
    assert_eq!(data, expected);
    assert_eq!(reconnects.len(), 1, "{reconnects:?}");
    assert_eq!(tls_error, None);
    let resumed_from = resumed_from.expect("events before the drop");
    assert_eq!(server.last_event_ids(), ["-".to_owned(), resumed_from]);
}

/// Serves TLS handshakes with the certificate `(cert, key)` on a loopback port (the crate's
/// `TlsAcceptor`), until the test process ends.
fn handshake_server(cert: &str, key: &str) -> u16 {
    let acceptor = TlsAcceptor::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let executor = smol::Executor::new();
        smol::block_on(executor.run(async {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                executor
                    .spawn(async move { drop(acceptor.accept(stream).await) })
                    .detach();
            }
        }));
    });
    port
}

/// Connects once to `port` as `host` with `connector`, and returns the first reconnect's
/// reason and the client's `tls_error()` then.
fn refused(host: &'static str, port: u16, connector: TlsConnector) -> (ReconnectReason, TlsError) {
    bounded(move || {
        let mut memory = ClientMemory::new();
        let config = ClientConfig::new(host, "/events").with_port(port);
        let mut client = BlockingClient::new(config, &mut memory)
            .unwrap()
            .with_tls(connector);
        loop {
            match client.next() {
                Some(Item::Story(SessionEvent::Reconnecting { reason, .. })) => {
                    let error = client.tls_error().expect("a handshake error");
                    let error = match error {
                        TlsError::UnknownIssuer { host } => {
                            TlsError::UnknownIssuer { host: host.clone() }
                        }
                        TlsError::WrongHost { host } => TlsError::WrongHost { host: host.clone() },
                        other => panic!("unexpected {other:?}"),
                    };
                    return (reason, error);
                }
                Some(Item::Event(_)) => panic!("an event from a refused server"),
                Some(_) => {}
                None => panic!("closed without a reconnect"),
            }
        }
    })
}

#[test]
fn an_unknown_issuer_is_refused_retried_and_named() {
    let (ours, theirs) = (Pki::new("ours"), Pki::new("theirs"));
    let (cert, key) = theirs.leaf(&["localhost"]);
    let port = handshake_server(&cert, &key);

    let (reason, error) = refused("localhost", port, ours.connector());

    assert_eq!(
        reason,
        ReconnectReason::Io(embedded_io::ErrorKind::InvalidData)
    );
    assert!(
        matches!(&error, TlsError::UnknownIssuer { host } if host == "localhost"),
        "{error:?}"
    );
}

#[test]
fn a_certificate_for_another_host_is_refused_and_named() {
    let pki = Pki::new("ca");
    let (cert, key) = pki.leaf(&["elsewhere.test"]);
    let port = handshake_server(&cert, &key);

    let (reason, error) = refused("localhost", port, pki.connector());

    assert_eq!(
        reason,
        ReconnectReason::Io(embedded_io::ErrorKind::InvalidData)
    );
    assert!(matches!(error, TlsError::WrongHost { .. }), "{error:?}");
}

/// Answers every request over TLS with a `307` to `location(port)`, where `port` is its own
/// loopback port, until the test process ends.
fn redirecting_server(
    cert: &str,
    key: &str,
    location: impl Fn(u16) -> String + Send + 'static,
) -> u16 {
    let acceptor = TlsAcceptor::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let response = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
        location(port)
    );
    std::thread::spawn(move || {
        let executor = smol::Executor::new();
        smol::block_on(executor.run(async {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, response) = (acceptor.clone(), response.clone());
                executor
                    .spawn(async move {
                        use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let mut tls = tls.into_inner();
                        let mut head = Vec::new();
                        let mut buf = [0u8; 512];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match tls.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let _ = tls.write_all(response.as_bytes()).await;
                        let _ = tls.flush().await;
                        smol::Timer::after(Duration::from_secs(1)).await;
                    })
                    .detach();
            }
        }));
    });
    port
}

/// Pulls items until the first reconnect or the end, and returns the stories seen.
fn stories(host: &'static str, port: u16, connector: TlsConnector) -> Vec<String> {
    bounded(move || {
        let mut memory = ClientMemory::new();
        let config = ClientConfig::new(host, "/events").with_port(port);
        let mut client = BlockingClient::new(config, &mut memory)
            .unwrap()
            .with_tls(connector);
        let mut seen = Vec::new();
        while let Some(item) = client.next() {
            match item {
                Item::Story(story @ SessionEvent::Reconnecting { .. }) => {
                    seen.push(format!("{story:?}"));
                    client.close();
                }
                Item::Story(story) => seen.push(format!("{story:?}")),
                Item::Event(_) => panic!("an event from a redirecting server"),
                _ => {}
            }
        }
        seen
    })
}

#[test]
fn a_redirect_to_https_closes_the_session_as_unsupported() {
    let pki = Pki::new("ca");
    let (cert, key) = pki.leaf(&["localhost"]);
    let port = redirecting_server(&cert, &key, |port| format!("https://localhost:{port}/next"));

    let seen = stories("localhost", port, pki.connector());

    assert!(
        seen.last()
            .is_some_and(|last| last.contains("UnsupportedRedirect")),
        "{seen:?}"
    );
}

#[test]
fn a_redirect_to_http_is_followed_over_tls_never_in_plain_text() {
    let pki = Pki::new("ca");
    let (cert, key) = pki.leaf(&["localhost"]);
    // A plain-HTTP server that records the first bytes of each connection.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let recorder = Arc::clone(&received);
    std::thread::spawn(move || {
        use std::io::Read as _;
        for stream in plain.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 16];
            let n = stream.read(&mut buf).unwrap_or(0);
            recorder.lock().unwrap().push(buf[..n].to_vec());
        }
    });
    let port = redirecting_server(&cert, &key, move |_| {
        format!("http://localhost:{plain_port}/next")
    });

    let seen = stories("localhost", port, pki.connector());

    assert!(
        seen.iter().any(|story| story.contains("Redirected")),
        "{seen:?}"
    );
    // The TLS attempt on the plain port failed, and the session went on to retry it.
    assert!(
        seen.iter().any(|story| story.contains("Reconnecting")),
        "{seen:?}"
    );
    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "the redirect was not followed");
    for first in received.iter() {
        // 0x16: a TLS handshake record (the ClientHello), never `GET `.
        assert_eq!(first.first(), Some(&0x16), "{first:?}");
    }
}
