//! `io::embedded_tls` (the firmware TLS, embedded-tls 0.19, no_std and no allocator) on the
//! host, with a CA and certificates made at run time by rcgen.
//!
//! Checks: the crate's pull `Client`, with a `TlsLink`'s connector where a plain client has
//! its TCP connector, receives the events of the crate's TLS server (`examples/server
//! --tls-cert --tls-key`, the real binary) and, after the server drops every stream once,
//! reconnects over TLS with `Last-Event-ID` and gets the rest with no gap and no repeat.
//! Against the crate's `TlsAcceptor`: a pinned CA that did not sign the server, a certificate
//! for another host and (with a clock) an expired certificate are each refused with a
//! certificate error; without a clock the expired one is accepted, as the docs warn; and
//! `insecure_no_verification` accepts an unknown issuer. Every wait is bounded.
#![cfg(all(feature = "embedded-tls", feature = "tls"))]

mod example_binary;

use core::net::SocketAddr;
use core::time::Duration;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};
use sansse::client::{ClientConfig, ReconnectReason, SessionEvent};
use sansse::io::FuturesIo;
use sansse::io::client::{Client, ClientMemory, Connect as _, Item};
use sansse::io::embedded_tls::{TlsClock, TlsLink, TlsLinkError, Verification};
use sansse::io::tls::TlsAcceptor;

/// Longest a whole run may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The record buffers of the pump: a full TLS record for reading, and room for the
/// ClientHello and the request for writing.
const RECORD_READ: usize = 16_640;
const RECORD_WRITE: usize = 4096;

/// A test CA: its certificate in DER (what `Verification::pinned_ca` takes) and its signer.
struct Pki {
    ca_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

/// A server certificate and its key, in PEM.
struct Leaf {
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_der = params.self_signed(&key).unwrap().der().to_vec();
        Self {
            ca_der,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` signed by this CA (ECDSA P-256, rcgen's default); `expired`
    /// backdates it to 2000.
    fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        Leaf {
            cert_pem: params.signed_by(&key, &self.issuer).unwrap().pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// The wall clock, for the verifier's validity dates.
struct SystemClock;

impl TlsClock for SystemClock {
    fn now() -> Option<u64> {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        since.ok().map(|since| since.as_secs())
    }
}

/// Opens the TCP connections of the pump, on smol.
async fn tcp(host: &str, port: u16) -> std::io::Result<FuturesIo<smol::net::TcpStream>> {
    let stream = smol::net::TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(FuturesIo::new(stream))
}

/// Runs `body` with a pump for `link` beside it, failing the test after [`PATIENCE`].
fn with_pump<T, Clock: TlsClock>(
    link: &TlsLink,
    verification: &Verification<'_, Clock>,
    body: impl Future<Output = T>,
) -> T {
    let (mut record_read, mut record_write) = (vec![0; RECORD_READ], vec![0; RECORD_WRITE]);
    let mut rng = rand_core::OsRng;
    let connect = async |host: &str, port: u16| tcp(host, port).await;
    let pump = link.run(
        connect,
        &mut rng,
        verification,
        &mut record_read,
        &mut record_write,
    );
    smol::block_on(smol::future::or(
        smol::future::or(body, async { match pump.await {} }),
        async {
            smol::Timer::after(PATIENCE).await;
            panic!("no result within {PATIENCE:?}");
        },
    ))
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("sansse-embedded-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `examples/server` over TLS as a child process, killed when dropped; its log lines
/// (stderr) are collected.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(leaf: &Leaf, dir: &TempDir, args: &[&str]) -> Self {
        let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
        std::fs::write(&cert, &leaf.cert_pem).unwrap();
        std::fs::write(&key, &leaf.key_pem).unwrap();
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
    }
}

#[test]
fn the_pull_client_receives_and_resumes_over_embedded_tls_from_the_crates_tls_server() {
    let pki = Pki::new("sansse embedded-tls test CA");
    let leaf = pki.leaf(&["localhost"], false);
    let dir = TempDir::new("resume");
    // Eight ticks 50 ms apart from the first stream on; after the third, every open stream is
    // closed once, with a 100 ms retry hint.
    let server = Server::start(
        &leaf,
        &dir,
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
    let link: TlsLink = TlsLink::new();
    let verification = Verification::pinned_ca(&pki.ca_der).with_clock::<SystemClock>();

    let mut memory = ClientMemory::new();
    let config = ClientConfig::new("localhost", "/events").with_port(server.port);
    let mut client = Client::new(config, link.connector(), &mut memory).expect("config fits");
    let mut ids = Vec::new();
    let mut data = Vec::new();
    let mut reconnects = Vec::new();
    let mut id_before_reconnect = None;
    with_pump(&link, &verification, async {
        while let Some(item) = client.next().await {
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
                    id_before_reconnect.get_or_insert_with(|| ids.last().cloned());
                }
                _ => {}
            }
        }
    });

    let expected: Vec<String> = (1..=8).map(|n| format!("tick {n}")).collect();
    assert_eq!(data, expected, "every tick once, in order: {ids:?}");
    assert_eq!(reconnects.len(), 1, "{reconnects:?}");
    assert!(
        !matches!(reconnects[0], ReconnectReason::Io(_)),
        "the drop is an end of stream, not a TLS failure: {:?}",
        reconnects[0]
    );
    // The second request resumed after the last event the first stream delivered.
    let resumed_from = id_before_reconnect
        .flatten()
        .expect("events before the drop");
    assert_eq!(server.last_event_ids(), ["-".to_owned(), resumed_from]);
}

/// Serves TLS handshakes with `leaf` on a loopback port (the crate's `TlsAcceptor`), holding
/// each connection a while, until the test process ends.
fn handshake_server(leaf: &Leaf) -> u16 {
    let acceptor = TlsAcceptor::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes())
        .expect("a usable certificate");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let executor = smol::Executor::new();
        smol::block_on(executor.run(async {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                executor
                    .spawn(async move {
                        let tls = acceptor.accept(stream).await;
                        smol::Timer::after(Duration::from_secs(2)).await;
                        drop(tls);
                    })
                    .detach();
            }
        }));
    });
    port
}

/// One connect through a fresh link to `host` on `port`.
fn dial<Clock: TlsClock>(
    host: &str,
    port: u16,
    verification: &Verification<'_, Clock>,
) -> Result<(), TlsLinkError> {
    let link: TlsLink = TlsLink::new();
    with_pump(&link, verification, async {
        link.connector().connect(host, port).await.map(drop)
    })
}

#[test]
fn a_server_signed_by_another_ca_is_refused() {
    let (ours, theirs) = (Pki::new("ours"), Pki::new("theirs"));
    let port = handshake_server(&theirs.leaf(&["localhost"], false));

    let refused = dial("localhost", port, &Verification::pinned_ca(&ours.ca_der))
        .expect_err("an unknown issuer");

    assert!(refused.is_certificate(), "{refused:?}");
    assert_eq!(
        embedded_io::Error::kind(&refused),
        embedded_io::ErrorKind::InvalidData
    );
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let pki = Pki::new("ca");
    let port = handshake_server(&pki.leaf(&["elsewhere.test"], false));

    let refused = dial("localhost", port, &Verification::pinned_ca(&pki.ca_der))
        .expect_err("a wrong host name");

    assert!(refused.is_certificate(), "{refused:?}");
}

#[test]
fn an_expired_certificate_is_refused_with_a_clock_and_accepted_without_one() {
    let pki = Pki::new("ca");
    let port = handshake_server(&pki.leaf(&["localhost"], true));

    let with_clock = Verification::pinned_ca(&pki.ca_der).with_clock::<SystemClock>();
    let refused = dial("localhost", port, &with_clock).expect_err("expired in 2001");
    assert!(refused.is_certificate(), "{refused:?}");

    // What the module docs warn about: no clock, no dates.
    dial("localhost", port, &Verification::pinned_ca(&pki.ca_der))
        .expect("dates are not checked without a clock");
}

#[test]
fn insecure_no_verification_accepts_any_server() {
    let (ours, theirs) = (Pki::new("ours"), Pki::new("theirs"));
    let port = handshake_server(&theirs.leaf(&["elsewhere.test"], false));
    // The verifying choice refuses this server...
    assert!(dial("localhost", port, &Verification::pinned_ca(&ours.ca_der)).is_err());

    // ... and the one named for what it does lets it through.
    dial("localhost", port, &Verification::insecure_no_verification())
        .expect("nothing is verified");
}
