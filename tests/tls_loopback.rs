//! `io::tls` with real components over loopback: a CA and certificates made at run time with
//! rcgen, the crate's async server (`serve`) behind a `TlsAcceptor` on smol, and a client that
//! connects through a `TlsConnector` and reads the stream with the crate's own response reader,
//! body decoder and event parser.
//!
//! Checks: events arrive over TLS, by host name and by IP address; a reconnect with
//! `Last-Event-ID` resumes after it; an unknown issuer, a certificate for another host and an
//! expired certificate each fail the handshake with their own `TlsError`; a plain-TCP client
//! gets no events from the TLS server, and a TLS client against a plain server gets an error,
//! never plain text; one connect step serves `http://` and `https://`; the platform store
//! (`SSL_CERT_FILE`, in a child process) supplies roots. Every wait is bounded.

mod server_support;

use core::cell::RefCell;
use core::net::SocketAddr;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::Mutex;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};
use sansse::StdHub;
use sansse::client::{ClientConfig, ReconnectReason, SessionEvent};
use sansse::http::RequestHead;
use sansse::io::FuturesIo;
use sansse::io::StdTimer;
use sansse::io::client::{Client, ClientMemory, Item};
use sansse::io::server::{Answer, Server};
use sansse::io::tls::{TlsAcceptor, TlsConfig, TlsConnector, TlsError};
use sansse::replay::Ring;
use sansse::server::AcceptOptions;
use sansse::server::ServerConfig;
use server_support::read_response;
use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Log = Ring<64, 16_384>;

/// Longest any single wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A test CA, and a certificate with its key in PEM.
struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

struct Leaf {
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    /// A CA named `name`: CAs with one name would be told apart only by their signatures.
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

    /// A server certificate for `names`, signed by this CA; `expired` backdates it to 2000.
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

    /// A connector trusting the public roots and this CA.
    fn connector(&self) -> TlsConnector {
        TlsConnector::new(
            TlsConfig::new()
                .with_ca_pem(self.ca_pem.as_bytes())
                .unwrap(),
        )
    }
}

/// A running server: where it listens, its hub, what it saw, and a way to drop its streams.
struct TestServer {
    addr: SocketAddr,
    hub: &'static StdHub<Log>,
    handshake_errors: &'static Mutex<Vec<String>>,
    /// The `Last-Event-ID` of every request, in order.
    last_event_ids: &'static Mutex<Vec<Option<String>>>,
    /// Incremented to drop every open connection (abruptly, no `close_notify`).
    drops: &'static AtomicU64,
}

impl TestServer {
    /// Drops every open connection.
    fn drop_connections(&self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Serves `/events` on a thread of its own, over TLS with `leaf` (or plain TCP without),
/// until the test process ends.
fn start_server(leaf: Option<&Leaf>, epoch: u32) -> TestServer {
    let acceptor = leaf.map(|leaf| {
        TlsAcceptor::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
    });
    let hub: &'static StdHub<Log> = Box::leak(Box::new(StdHub::new(Log::new(epoch))));
    let handshake_errors: &'static Mutex<Vec<String>> = Box::leak(Box::default());
    let last_event_ids: &'static Mutex<Vec<Option<String>>> = Box::leak(Box::default());
    let drops: &'static AtomicU64 = Box::leak(Box::default());
    // A short retry hint, so that reconnects take milliseconds.
    let server: &'static Server<'static, StdTimer> = Box::leak(Box::new(
        Server::new().with_config(ServerConfig::new().with_retry(Some(Duration::from_millis(20)))),
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let executor = smol::Executor::new();
        smol::block_on(executor.run(async {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                executor
                    .spawn(async move {
                        let accept = |request: &RequestHead<'_>| {
                            let id = request.last_event_id().map(str::to_owned);
                            last_event_ids.lock().unwrap().push(id);
                            Answer::Accept(AcceptOptions::new())
                        };
                        let generation = drops.load(Ordering::SeqCst);
                        let dropped = async {
                            while drops.load(Ordering::SeqCst) == generation {
                                smol::Timer::after(Duration::from_millis(5)).await;
                            }
                        };
                        let serve = async {
                            match acceptor {
                                None => drop(server.serve(FuturesIo::new(tcp), hub, accept).await),
                                Some(acceptor) => match acceptor.accept(tcp).await {
                                    Ok(tls) => drop(server.serve(tls, hub, accept).await),
                                    Err(error) => handshake_errors.lock().unwrap().push(format!(
                                        "{error}; is certificate: {}",
                                        error.is_certificate()
                                    )),
                                },
                            }
                        };
                        smol::future::or(serve, dropped).await;
                    })
                    .detach();
            }
        }));
    });
    TestServer {
        addr,
        hub,
        handshake_errors,
        last_event_ids,
        drops,
    }
}

/// Runs `future` on smol, failing the test after [`PATIENCE`].
fn bounded<T>(future: impl Future<Output = T>) -> T {
    smol::block_on(smol::future::or(future, async {
        smol::Timer::after(PATIENCE).await;
        panic!("gave up after {PATIENCE:?}");
    }))
}

/// The first handshake error the server saw, once it saw one.
fn first_handshake_error(server: &TestServer) -> String {
    bounded(async {
        loop {
            if let Some(seen) = server.handshake_errors.lock().unwrap().first() {
                return seen.clone();
            }
            smol::Timer::after(Duration::from_millis(10)).await;
        }
    })
}

/// Connects TCP to `addr`, then TLS for `host`.
async fn connect(
    connector: &TlsConnector,
    host: &str,
    addr: SocketAddr,
) -> Result<FuturesIo<sansse::io::tls::ClientTlsStream<smol::net::TcpStream>>, TlsError> {
    let tcp = smol::net::TcpStream::connect(addr)
        .await
        .map_err(TlsError::Io)?;
    connector.connect(host, tcp).await
}

/// An EventSource-like request for `/events`.
fn request(host: &str, last_event_id: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "GET /events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n"
    );
    if let Some(id) = last_event_id {
        head.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Sends the request over `stream`; once the response head says 200, runs `on_open`, then
/// reads until `want` events came. Returns them as (type, data, id).
async fn stream_events<S>(
    stream: &mut S,
    request: &[u8],
    want: usize,
    on_open: impl FnOnce(),
) -> Vec<(String, String, String)>
where
    S: embedded_io_async::Read + embedded_io_async::Write,
    S::Error: core::fmt::Debug,
{
    stream.write_all(request).await.unwrap();
    stream.flush().await.unwrap();
    let mut received = Vec::new();
    let mut on_open = Some(on_open);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert_ne!(n, 0, "the server closed the stream early");
        received.extend_from_slice(&buf[..n]);
        let (status, listener, _) = read_response(&received);
        if status.is_some() {
            assert_eq!(status, Some(200));
            if let Some(on_open) = on_open.take() {
                on_open();
            }
        }
        let events = listener.events();
        if events.len() >= want {
            return events;
        }
    }
}

fn event(data: &str, id: &str) -> (String, String, String) {
    ("message".to_owned(), data.to_owned(), id.to_owned())
}

#[test]
fn events_arrive_over_tls_and_a_reconnect_resumes_after_last_event_id() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost", "127.0.0.1"], false)), 7);
    let connector = pki.connector();
    let hub = server.hub;

    let first = bounded(async {
        let mut tls = connect(&connector, "localhost", server.addr).await.unwrap();
        stream_events(&mut tls, &request("localhost", None), 3, || {
            for data in ["one", "two", "three"] {
                hub.publish(None, data).unwrap();
            }
        })
        .await
    });
    // Published while no client is connected: only a resume can deliver these.
    hub.publish(None, "four").unwrap();
    hub.publish(None, "five").unwrap();
    let resumed = bounded(async {
        let mut tls = connect(&connector, "localhost", server.addr).await.unwrap();
        stream_events(&mut tls, &request("localhost", Some("7-3")), 2, || {}).await
    });

    assert_eq!(
        first,
        [
            event("one", "7-1"),
            event("two", "7-2"),
            event("three", "7-3")
        ]
    );
    assert_eq!(resumed, [event("four", "7-4"), event("five", "7-5")]);
    assert!(server.handshake_errors.lock().unwrap().is_empty());
}

#[test]
fn an_ip_address_host_is_verified_against_the_ip_entry() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost", "127.0.0.1"], false)), 2);
    let hub = server.hub;

    let events = bounded(async {
        let mut tls = connect(&pki.connector(), "127.0.0.1", server.addr)
            .await
            .unwrap();
        stream_events(&mut tls, &request("127.0.0.1", None), 1, || {
            hub.publish(None, "by address").unwrap();
        })
        .await
    });

    assert_eq!(events, [event("by address", "2-1")]);
}

#[test]
fn a_server_of_an_unknown_ca_is_refused_as_unknown_issuer() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost"], false)), 1);
    let stranger = Pki::new("stranger CA");

    // Neither the public roots alone nor another private CA vouch for this server.
    let public_only = bounded(connect(
        &TlsConnector::new(TlsConfig::new()),
        "localhost",
        server.addr,
    ));
    let other_ca = bounded(connect(&stranger.connector(), "localhost", server.addr));

    for result in [public_only, other_ca] {
        let error = result.expect_err("the handshake must fail");
        assert!(
            matches!(&error, TlsError::UnknownIssuer { host } if host == "localhost"),
            "{error:?}"
        );
        assert!(error.is_certificate());
        assert_eq!(
            error.to_string(),
            "TLS: the certificate of localhost is not signed by a trusted CA (unknown issuer)"
        );
    }
}

#[test]
fn a_certificate_for_another_host_is_refused_as_wrong_host() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["example.org"], false)), 1);

    let by_name = bounded(connect(&pki.connector(), "localhost", server.addr));
    let by_address = bounded(connect(&pki.connector(), "127.0.0.1", server.addr));

    let error = by_name.expect_err("the handshake must fail");
    assert!(
        matches!(&error, TlsError::WrongHost { host } if host == "localhost"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "TLS: the certificate presented by localhost is for another host name"
    );
    let error = by_address.expect_err("the handshake must fail");
    assert!(
        matches!(&error, TlsError::WrongHost { host } if host == "127.0.0.1"),
        "{error:?}"
    );
}

#[test]
fn an_expired_certificate_is_refused_as_expired() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost"], true)), 1);

    let result = bounded(connect(&pki.connector(), "localhost", server.addr));

    let error = result.expect_err("the handshake must fail");
    assert!(
        matches!(&error, TlsError::Expired { host } if host == "localhost"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "TLS: the certificate of localhost has expired"
    );
    // The server hears the client's alert, as a protocol error, not a certificate one.
    let seen = first_handshake_error(&server);
    assert!(seen.starts_with("TLS handshake failed: "), "{seen}");
    assert!(seen.ends_with("is certificate: false"), "{seen}");
}

#[test]
fn a_plain_tcp_client_gets_no_events_from_the_tls_server() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost"], false)), 1);
    server.hub.publish(None, "secret").unwrap();

    let reply = bounded(async {
        let mut tcp = smol::net::TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(&request("localhost", Some("1-0")))
            .await
            .unwrap();
        let mut reply = Vec::new();
        // The server answers with a TLS alert at most, then closes.
        let _ = tcp.read_to_end(&mut reply).await;
        reply
    });

    let text = String::from_utf8_lossy(&reply);
    assert!(!text.contains("HTTP/1.1"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let (status, listener, _) = read_response(&reply);
    assert_eq!(status, None);
    assert!(listener.events().is_empty());
    let seen = first_handshake_error(&server);
    assert!(seen.starts_with("TLS handshake failed: "), "{seen}");
}

#[test]
fn a_tls_client_against_a_plain_server_fails_instead_of_falling_back() {
    let server = start_server(None, 1);
    server.hub.publish(None, "plain").unwrap();

    let result = bounded(connect(
        &Pki::new("sansse test CA").connector(),
        "localhost",
        server.addr,
    ));

    let error = result.expect_err("a plain server cannot complete a handshake");
    assert!(
        matches!(error, TlsError::Protocol(_) | TlsError::Io(_)),
        "{error:?}"
    );
    assert!(!error.is_certificate());
}

#[test]
fn a_host_that_is_no_name_is_refused_before_connecting() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost"], false)), 1);

    let result = bounded(connect(&pki.connector(), "not a host!", server.addr));

    let error = result.expect_err("an invalid name cannot be verified");
    assert!(
        matches!(&error, TlsError::InvalidHostName { host } if host == "not a host!"),
        "{error:?}"
    );
}

#[test]
fn pem_without_a_certificate_or_key_is_a_typed_error() {
    let pki = Pki::new("sansse test CA");
    let leaf = pki.leaf(&["localhost"], false);

    let no_ca = TlsConfig::new().with_ca_pem(b"not pem").err();
    let no_key = TlsAcceptor::from_pem(leaf.cert_pem.as_bytes(), b"").err();
    let swapped = TlsAcceptor::from_pem(leaf.key_pem.as_bytes(), leaf.cert_pem.as_bytes()).err();
    let missing = TlsConfig::new().with_ca_file("/nonexistent/ca.pem").err();

    assert!(
        matches!(
            no_ca,
            Some(TlsError::Pem {
                what: "certificate",
                ..
            })
        ),
        "{no_ca:?}"
    );
    assert!(
        matches!(
            no_key,
            Some(TlsError::Pem {
                what: "private key",
                ..
            })
        ),
        "{no_key:?}"
    );
    assert!(
        matches!(
            swapped,
            Some(TlsError::Pem {
                what: "certificate",
                ..
            })
        ),
        "{swapped:?}"
    );
    let missing = missing.expect("no such file");
    assert!(matches!(missing, TlsError::File { .. }), "{missing:?}");
    assert!(missing.to_string().contains("/nonexistent/ca.pem"));
    let with_ca = TlsConfig::without_roots().with_ca_pem(pki.ca_pem.as_bytes());
    assert_eq!(with_ca.unwrap().root_count(), 1);
}

#[test]
fn one_connect_step_serves_http_and_https_urls() {
    let pki = Pki::new("sansse test CA");
    let plain = start_server(None, 4);
    let tls = start_server(Some(&pki.leaf(&["localhost"], false)), 5);
    let connector = pki.connector();

    let mut runs = Vec::new();
    for (secure, server) in [(false, &plain), (true, &tls)] {
        let hub = server.hub;
        runs.push(bounded(async {
            let tcp = smol::net::TcpStream::connect(server.addr).await.unwrap();
            let mut stream = connector
                .connect_maybe(secure, "localhost", tcp)
                .await
                .unwrap();
            let is_tls = stream.get_ref().is_tls();
            let events = stream_events(&mut stream, &request("localhost", None), 1, || {
                hub.publish(None, "either way").unwrap();
            })
            .await;
            (is_tls, events)
        }));
    }

    assert_eq!(
        runs,
        [
            (false, vec![event("either way", "4-1")]),
            (true, vec![event("either way", "5-1")]),
        ]
    );
}

/// Set in the child process of [`platform_roots_are_read_from_the_platform_store`]: the
/// directory holding the files the parent wrote.
const CHILD_DIR: &str = "SANSSE_TLS_PLATFORM_CHILD";

#[test]
fn platform_roots_are_read_from_the_platform_store() {
    // The platform store is process-wide state (SSL_CERT_FILE), so the check runs in a child
    // process of this test binary with the variable set to a file holding the test CA.
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let dir = std::path::Path::new(&dir);
        let config = TlsConfig::without_roots().with_platform_roots().unwrap();
        assert_eq!(config.root_count(), 1, "only SSL_CERT_FILE's CA");
        let acceptor = TlsAcceptor::from_pem_files(dir.join("cert.pem"), dir.join("key.pem"));
        let leaf = Leaf {
            cert_pem: std::fs::read_to_string(dir.join("cert.pem")).unwrap(),
            key_pem: std::fs::read_to_string(dir.join("key.pem")).unwrap(),
        };
        assert!(acceptor.is_ok(), "{acceptor:?}");
        let server = start_server(Some(&leaf), 6);
        let hub = server.hub;
        let events = bounded(async {
            let mut tls = connect(&TlsConnector::new(config), "localhost", server.addr)
                .await
                .unwrap();
            stream_events(&mut tls, &request("localhost", None), 1, || {
                hub.publish(None, "trusted by the platform").unwrap();
            })
            .await
        });
        assert_eq!(events, [event("trusted by the platform", "6-1")]);
        return;
    }
    let pki = Pki::new("sansse platform CA");
    let leaf = pki.leaf(&["localhost"], false);
    let dir = std::env::temp_dir().join(format!("sansse-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(dir.join("cert.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &leaf.key_pem).unwrap();

    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "platform_roots_are_read_from_the_platform_store",
            "--nocapture",
        ])
        .env(CHILD_DIR, &dir)
        .env("SSL_CERT_FILE", dir.join("ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    // The child ran the test, not zero tests.
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn the_pull_client_receives_and_resumes_over_tls_through_the_connector() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost", "127.0.0.1"], false)), 8);
    let connector = pki.connector();
    let hub = server.hub;

    let (seen, opens) = bounded(async {
        let config = ClientConfig::new("localhost", "/events").with_port(server.addr.port());
        // The whole https connect step: TCP from the caller's runtime, then TLS.
        let connect = async |host: &str, port: u16| -> Result<_, TlsError> {
            let tcp = smol::net::TcpStream::connect((host, port)).await?;
            connector.connect(host, tcp).await
        };
        let mut memory = ClientMemory::new();
        let mut client = Client::new(config, connect, &mut memory).unwrap();
        let (mut seen, mut opens) = (Vec::new(), 0);
        while let Some(item) = client.next().await {
            match item {
                Item::Story(SessionEvent::Open { .. }) => {
                    opens += 1;
                    let data = if opens == 1 {
                        ["one", "two"]
                    } else {
                        ["four", "five"]
                    };
                    for data in data {
                        hub.publish(None, data).unwrap();
                    }
                }
                Item::Story(SessionEvent::Reconnecting { .. }) if opens == 1 => {
                    // Published while the client is away: only a resume delivers it.
                    hub.publish(None, "three").unwrap();
                }
                Item::Event(event) => {
                    seen.push(event.data().to_owned() + "@" + event.id());
                    if seen.len() == 2 {
                        server.drop_connections();
                    }
                    if seen.len() == 5 {
                        break;
                    }
                }
                _ => {}
            }
        }
        (seen, opens)
    });

    assert_eq!(
        seen,
        ["one@8-1", "two@8-2", "three@8-3", "four@8-4", "five@8-5"]
    );
    assert_eq!(opens, 2);
    assert_eq!(
        *server.last_event_ids.lock().unwrap(),
        [None, Some("8-2".to_owned())]
    );
}

#[test]
fn the_pull_client_application_learns_which_certificate_check_failed() {
    let pki = Pki::new("sansse test CA");
    let server = start_server(Some(&pki.leaf(&["localhost"], true)), 1);
    let connector = pki.connector();
    // The client session sees only an error kind; the connect step keeps the typed error
    // for the application, which stops instead of retrying a certificate that cannot pass.
    let failure: RefCell<Option<TlsError>> = RefCell::new(None);

    let reason = bounded(async {
        let config = ClientConfig::new("localhost", "/events").with_port(server.addr.port());
        let connect = async |host: &str, port: u16| {
            let tcp = smol::net::TcpStream::connect((host, port))
                .await
                .map_err(|error| embedded_io::Error::kind(&error))?;
            connector.connect(host, tcp).await.map_err(|error| {
                let kind = embedded_io::Error::kind(&error);
                failure.replace(Some(error));
                kind
            })
        };
        let mut memory = ClientMemory::new();
        let mut client = Client::new(config, connect, &mut memory).unwrap();
        while let Some(item) = client.next().await {
            if let Item::Story(SessionEvent::Reconnecting { reason, .. }) = item {
                if failure
                    .borrow()
                    .as_ref()
                    .is_some_and(TlsError::is_certificate)
                {
                    return reason;
                }
            }
        }
        panic!("the client ended without a reconnect");
    });

    assert_eq!(
        reason,
        ReconnectReason::Io(embedded_io::ErrorKind::InvalidData)
    );
    let failure = failure
        .into_inner()
        .expect("the connect step kept the error");
    assert!(
        matches!(&failure, TlsError::Expired { host } if host == "localhost"),
        "{failure:?}"
    );
    assert!(server.last_event_ids.lock().unwrap().is_empty());
}
