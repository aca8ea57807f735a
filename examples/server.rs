//! A hub of topics on smol: every `GET /events` stream follows one or more topics of one shared
//! ring, with keep-alives, `Last-Event-ID` resume across its topics and leases; `POST /publish`
//! appends to topics; private topics need a token; `GET /` is a page whose EventSource shows
//! the topics a person picks, live.
//!
//! ```text
//! cargo run --example server --features futures-io-0.3 -- [OPTIONS]
//!
//!   --addr HOST:PORT        where to listen (127.0.0.1:0: a free port)
//!   --epoch N               id epoch, ids are N-<seq> (default: seconds since 1970, mod 2^32)
//!   --retry MS              retry: hint at stream start, and with --drop-after (default 1000)
//!   --keepalive MS          keep-alive comment after MS idle; 0 turns them off (default 15000)
//!   --lease MS              close streams whose client did not POST /ping within MS
//!   --max-streams N         refuse more event streams with 503 and Retry-After (default: what
//!                           the open-file limit allows, raised to its hard limit at start)
//!   --publish-every MS      built-in publisher: event `tick`, data `tick <n>`, from the
//!                           first stream's opening on
//!   --publish-count N       stop the built-in publisher after N events (default: never)
//!   --drop-after N          once N events were published, close every open stream once,
//!                           with a retry hint (fault injection)
//!   --tls-cert FILE         serve https: the certificate chain (PEM, server certificate
//!                           first); needs --tls-key and the `tls` feature
//!   --tls-key FILE          the private key of --tls-cert (PEM)
//!   --topic-token TOPIC=TOKEN  make TOPIC private: following it needs
//!                           `Authorization: Bearer TOKEN` or the cookie `sansse_token=TOKEN`
//!                           (repeatable)
//! ```
//!
//! Over TLS: `cargo run --example server --features tls -- --tls-cert cert.pem --tls-key
//! key.pem`; every endpoint below is then served over `https` only (a plain-HTTP request fails
//! its handshake and is logged), with ALPN `http/1.1`.
//!
//! The first line on stdout is `listening on http://ADDR` (`https://ADDR` with TLS). The connection story goes to stderr,
//! one line per step, each `GET /events` with its client id and `Last-Event-ID`.
//!
//! Endpoints (every response carries `Access-Control-Allow-Origin: *`):
//!
//! - `GET /events[?client=ID][&topic=T..]`: the event stream of the topics named (the default
//!   topic without any), interleaved in publish order. Replays after `Last-Event-ID`, one id for
//!   all of them; a gap event (`sansse-gap`, naming this stream's topics that could not be
//!   replayed) when the ring cannot. A private topic without credentials is refused with `401`,
//!   with wrong ones `403`, before any stream starts; a bad topic name is a `400`.
//! - `POST /publish[?event=NAME][&topic=T..]`: the body (UTF-8, at most 8 KiB, with
//!   `Content-Length`) becomes one event's data, published once to every topic named (the
//!   default topic without any); answers `200` with the new id. `413` when too large, `411`
//!   without a length, `400` for a bad name, topic or body.
//!
//! Memory: one ring of 4096 events in 1 MiB holds the history of every topic (oldest evicted
//! first), so publishing to any number of topics never grows the server; a topic costs
//! nothing once its last event is evicted.
//! - `POST /ping?client=ID`: renews the lease of that client's streams; `204`, or `404` when no
//!   stream of that client is open.
//! - `GET /[?expect=N][&client=ID][&types=a,b]`: the page. With `expect`, once N events arrived
//!   it closes its EventSource and writes one line into `<pre id=result>`:
//!   `ok events=N opens=K errors=E resumed-from=ID,.. ids=ID,.. types=T,..` (or `fail <why> ..`
//!   when sequence numbers skip, repeat or a gap event came). `.ci/interop` reads it from a
//!   headless Chromium's DOM.

use core::cell::{Cell, RefCell};
use core::ops::ControlFlow;
use core::time::Duration;
use std::collections::HashMap;
use std::io::Write as _;
use std::net::TcpListener;

use embedded_io_async::{Read as _, Write as _};
use sansse::Instant;
use sansse::encode::EventName;
use sansse::http::{ErrorResponse, RequestHead};
use sansse::io::server::{Answer, Handler, Served, Server, ServerStorage};
use sansse::io::{FuturesIo, Hub, StdHub, StdTimer};
use sansse::replay::{EventSeq, Interest, PublishError, Ring, Topics};
use sansse::server::{
    AcceptOptions, CloseOptions, ServerConfig, ServerSession, SessionEvent, StreamStart,
};
use sansse::time::StdOrigin;
use smol::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use smol::{Async, LocalExecutor};

/// The shared ring, every topic's history: up to 4096 events in 1 MiB.
type Log = Ring<4096, 1_048_576>;
/// Largest `POST /publish` body.
const MAX_BODY: usize = 8 * 1024;
/// How long a client may take to send a publish body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to complete its TLS handshake: it holds a connection slot.
#[cfg(feature = "tls")]
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

static CORS: [(&str, &str); 1] = [("Access-Control-Allow-Origin", "*")];
/// A `401` carries the challenge RFC 9110 requires, and CORS so a page can read it.
static CHALLENGE: [(&str, &str); 2] = [
    ("WWW-Authenticate", "Bearer"),
    ("Access-Control-Allow-Origin", "*"),
];

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(None) => {
            println!("{USAGE}");
            return;
        }
        Err(Some(message)) => {
            eprintln!("server: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let tls = match Tls::load(&options) {
        Ok(tls) => tls,
        Err(message) => {
            eprintln!("server: {message}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(&options.addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("server: cannot listen on {}: {error}", options.addr);
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound socket has an address");
    let mut stdout = std::io::stdout();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let _ = writeln!(stdout, "listening on {scheme}://{addr}");
    let _ = stdout.flush();

    let app = App::new(options, tls);
    app.log(format_args!(
        "epoch {}, {:?}",
        app.options.epoch, app.options
    ));
    app.log(format_args!(
        "serving up to {} event streams; more get 503 with Retry-After",
        app.max_streams
    ));
    let executor = LocalExecutor::new();
    smol::block_on(executor.run(run(&executor, &app, listener)));
}

/// Accepts connections, and runs the built-in publisher if asked.
async fn run<'a>(executor: &LocalExecutor<'a>, app: &'a App, listener: TcpListener) {
    if let Some(every) = app.options.publish_every {
        executor.spawn(publisher(app, every)).detach();
    }
    let listener = Async::new(listener).expect("a TCP listener can be registered");
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors (EMFILE) most likely: the connection waits in the
                // backlog until a stream ends, and existing streams go on untouched.
                app.log(format_args!("accept failed: {error}"));
                smol::Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        app.connections.set(app.connections.get() + 1);
        app.log(format_args!("#{id} {peer}: connected"));
        executor
            .spawn(async move {
                match &app.tls {
                    None => connection(app, id, stream).await,
                    Some(tls) => {
                        if let Some(stream) = tls.handshake(app, id, stream).await {
                            connection(app, id, stream).await;
                        }
                    }
                }
                app.connections.set(app.connections.get() - 1);
            })
            .detach();
    }
}

/// The TLS side of the server: the acceptor from `--tls-cert` and `--tls-key`.
#[cfg(feature = "tls")]
struct Tls(sansse::io::tls::TlsAcceptor);

#[cfg(feature = "tls")]
impl Tls {
    /// The acceptor, if both flags are given.
    fn load(options: &Options) -> Result<Option<Self>, String> {
        match (&options.tls_cert, &options.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => sansse::io::tls::TlsAcceptor::from_pem_files(cert, key)
                .map(|acceptor| Some(Self(acceptor)))
                .map_err(|error| error.to_string()),
            _ => Err("--tls-cert and --tls-key go together".to_owned()),
        }
    }

    /// The TLS stream over `stream`, or `None` (logged) when the handshake fails or takes
    /// longer than [`HANDSHAKE_TIMEOUT`].
    async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        app: &App,
        id: u64,
        stream: S,
    ) -> Option<sansse::io::tls::ServerTlsStream<S>> {
        let accept = async { Some(self.0.accept(stream).await) };
        let timeout = async {
            smol::Timer::after(HANDSHAKE_TIMEOUT).await;
            None
        };
        match smol::future::or(accept, timeout).await {
            Some(Ok(tls)) => Some(tls.into_inner()),
            Some(Err(error)) => {
                app.log(format_args!("#{id} {error}"));
                None
            }
            None => {
                app.log(format_args!("#{id} TLS handshake timed out"));
                None
            }
        }
    }
}

/// Without the `tls` feature, `--tls-cert` is refused and no stream is ever wrapped.
#[cfg(not(feature = "tls"))]
enum Tls {}

#[cfg(not(feature = "tls"))]
impl Tls {
    fn load(options: &Options) -> Result<Option<Self>, String> {
        match (&options.tls_cert, &options.tls_key) {
            (None, None) => Ok(None),
            _ => Err("--tls-cert/--tls-key need the `tls` feature (--features tls)".to_owned()),
        }
    }

    async fn handshake<S>(&self, _: &App, _: u64, _: S) -> Option<S> {
        match *self {}
    }
}

/// One connection, plain or TLS: the event stream through `serve_with`, or a plain answer
/// after a handoff.
async fn connection<S: AsyncRead + AsyncWrite + Unpin + HalfClose>(app: &App, id: u64, stream: S) {
    let mut io = FuturesIo::new(stream);
    // The default sizes (2 KiB head, 512 B read, 4 KiB write; 6.5 KiB a connection): events
    // larger than the write buffer go out in pieces, so it need not fit the largest one.
    let mut storage = Box::new(ServerStorage::new());
    let mut conn = Conn::new(app, id);
    let served = app
        .server
        .serve_with(&mut io, &app.hub, &mut storage, &mut conn)
        .await;
    match served {
        Ok(Served::Handoff { body }) => {
            let body_start = &storage.received()[body];
            let response = answer(app, id, &mut io, &conn.handed, body_start).await;
            let _ = respond(&mut io, &response).await;
        }
        Ok(_) => {}
        Err(error) => app.log(format_args!("#{id} stopped: {error}")),
    }
}

/// What every connection shares. Single-threaded (one `LocalExecutor`), hence `Cell`s.
struct App {
    options: Options,
    server: Server<'static, StdTimer>,
    /// The TLS acceptor with `--tls-cert`, or `None` for plain HTTP.
    tls: Option<Tls>,
    origin: StdOrigin,
    hub: StdHub<Log>,
    /// Open connections of every kind, for the log.
    connections: Cell<usize>,
    /// Open event streams, which `--max-streams` caps; pages and publishes do not count.
    streams: Cell<usize>,
    /// The cap on `streams`.
    max_streams: usize,
    /// Event streams opened so far; the built-in publisher waits for the first.
    streams_opened: Cell<u64>,
    /// Events published so far, for `--drop-after`.
    published: Cell<u64>,
    /// Drop rounds requested; a stream closes when this passes the round it saw at opening.
    drops: Cell<u64>,
    /// Open streams and ping counts by client id.
    clients: RefCell<HashMap<String, Client>>,
}

#[derive(Default)]
struct Client {
    streams: usize,
    pings: u64,
}

impl App {
    fn new(options: Options, tls: Option<Tls>) -> Self {
        let config = ServerConfig::new()
            .with_retry(options.retry)
            .with_keepalive(options.keepalive)
            .with_lease(options.lease);
        Self {
            server: Server::new().with_config(config),
            tls,
            origin: StdOrigin::now(),
            hub: StdHub::new(Log::new(options.epoch)),
            connections: Cell::new(0),
            streams: Cell::new(0),
            max_streams: options.max_streams.unwrap_or_else(stream_capacity),
            streams_opened: Cell::new(0),
            published: Cell::new(0),
            drops: Cell::new(0),
            clients: RefCell::new(HashMap::new()),
            options,
        }
    }

    /// Publishes to the streams following `topics`; the `--drop-after`-th publish also
    /// closes every stream once.
    fn publish(
        &self,
        topics: &Topics,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        let seq = self.hub.publish_to(topics, name, data)?;
        let id = self.hub.with_log(|log| log.id_of(seq));
        let kind = name.map_or("message", |name| name.as_str());
        self.log(format_args!(
            "publish {} {kind} {topics:?} {data:?}",
            id.as_id().as_str()
        ));
        self.published.set(self.published.get() + 1);
        if self.options.drop_after == Some(self.published.get()) {
            self.log(format_args!("drop-after: closing every open stream once"));
            self.drops.set(self.drops.get() + 1);
            self.hub.notify();
        }
        Ok(seq)
    }

    fn log(&self, message: core::fmt::Arguments<'_>) {
        let ms = self.origin.current().as_millis();
        eprintln!("[{ms:>7}ms] {message}");
    }

    /// The answer past the stream limit: try again after the retry interval.
    fn busy(&self) -> ErrorResponse<'static> {
        let retry = self.options.retry.unwrap_or(Duration::from_secs(1));
        ErrorResponse::service_unavailable(Some(retry)).headers(&CORS)
    }

    /// Whether `request` may follow every topic of `topics`: `401` when a private one is asked
    /// for without any credentials, `403` when the credentials do not open one of them.
    fn authorize(
        &self,
        topics: &Topics,
        request: &RequestHead<'_>,
    ) -> Result<(), ErrorResponse<'static>> {
        let credentials = Credentials::of(request);
        for topic in topics.iter() {
            let Some(token) = self.options.token_of(topic.as_str()) else {
                continue;
            };
            if credentials.is_empty() {
                return Err(ErrorResponse::unauthorized().headers(&CHALLENGE));
            }
            if !credentials.open(token) {
                return Err(ErrorResponse::forbidden().headers(&CORS));
            }
        }
        Ok(())
    }
}

/// Descriptors kept for everything but event streams: stdio, the listener, the reactor, and
/// the pages, publishes and pings served meanwhile.
const RESERVED_FILES: u64 = 256;

/// How many event streams the process can hold: its open-file limit, first raised from the
/// soft to the hard limit (the kernel allows that without privileges), less
/// [`RESERVED_FILES`]. Each stream is one socket.
#[cfg(unix)]
fn stream_capacity() -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    let soft = match setrlimit(Resource::Nofile, raised) {
        Ok(()) => limit.maximum,
        Err(error) => {
            eprintln!("server: cannot raise the open-file limit: {error}");
            limit.current
        }
    };
    // No limit at all: a large, finite cap still refuses cleanly instead of failing accept.
    let soft = soft.unwrap_or(1 << 20);
    usize::try_from(soft.saturating_sub(RESERVED_FILES).max(1)).unwrap_or(usize::MAX)
}

/// Elsewhere the process's limit is not known: a thousand streams.
#[cfg(not(unix))]
fn stream_capacity() -> usize {
    1024
}

/// The tokens a request presents: a bearer token and the `sansse_token` cookie (browsers'
/// EventSource cannot set headers, but sends cookies).
struct Credentials<'a> {
    bearer: Option<&'a [u8]>,
    cookie: Option<&'a [u8]>,
}

impl<'a> Credentials<'a> {
    fn of(request: &RequestHead<'a>) -> Self {
        let bearer = request.header("authorization").and_then(|value| {
            let (scheme, token) = value.split_at(value.len().min(7));
            scheme
                .eq_ignore_ascii_case(b"bearer ")
                .then(|| token.trim_ascii())
        });
        let cookie = request.header("cookie").and_then(|value| {
            value.split(|&b| b == b';').find_map(|pair| {
                pair.trim_ascii()
                    .strip_prefix(b"sansse_token=")
                    .map(<[u8]>::trim_ascii)
            })
        });
        Self { bearer, cookie }
    }

    fn is_empty(&self) -> bool {
        self.bearer.is_none() && self.cookie.is_none()
    }

    /// Whether either credential is `token`.
    fn open(&self, token: &str) -> bool {
        [self.bearer, self.cookie]
            .into_iter()
            .flatten()
            .any(|given| same_secret(given, token.as_bytes()))
    }
}

/// Compares a presented token with a secret in time that does not depend on where they differ,
/// so response timing does not reveal the secret a byte at a time.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != secret.len());
    for (n, &byte) in secret.iter().enumerate() {
        diff |= byte ^ given.get(n).copied().unwrap_or(!byte);
    }
    diff == 0
}

/// The built-in publisher: `tick <n>` every `every`, from the first stream's opening on.
async fn publisher(app: &App, every: Duration) {
    while app.streams_opened.get() == 0 {
        let seen = app.hub.version();
        app.hub.changed(seen, Interest::ALL).await;
    }
    let tick = EventName::new("tick").expect("a valid name");
    let mut n = 0u64;
    while app.options.publish_count.is_none_or(|count| n < count) {
        smol::Timer::after(every).await;
        n += 1;
        if let Err(error) = app.publish(&Topics::default(), Some(tick), &format!("tick {n}")) {
            app.log(format_args!("publish failed: {error}"));
        }
    }
    app.log(format_args!("publisher done after {n} events"));
}

/// The application's side of one connection.
struct Conn<'a> {
    app: &'a App,
    id: u64,
    client: Option<String>,
    streaming: bool,
    drops_seen: u64,
    pings_seen: u64,
    /// What the answer to a handed-back request needs from its head, kept by `decide`: the
    /// head lives in the connection's storage only while `serve_with` runs.
    handed: Handed,
}

/// The parts of a handed-back request head its answer reads.
struct Handed {
    method: String,
    path: String,
    target: String,
    query: Option<String>,
    /// The body's length, or the refusal to send instead, read while the head was at hand.
    body_length: Result<usize, (u16, Vec<u8>)>,
}

impl Handed {
    fn of(request: &RequestHead<'_>) -> Self {
        Self {
            method: request.method().to_owned(),
            path: request.path().to_owned(),
            target: request.target().to_owned(),
            query: request.query().map(str::to_owned),
            body_length: body_length(request),
        }
    }
}

impl Default for Handed {
    fn default() -> Self {
        Self {
            method: String::new(),
            path: String::new(),
            target: String::new(),
            query: None,
            body_length: Ok(0),
        }
    }
}

impl<'a> Conn<'a> {
    fn new(app: &'a App, id: u64) -> Self {
        Self {
            app,
            id,
            client: None,
            streaming: false,
            drops_seen: 0,
            pings_seen: 0,
            handed: Handed::default(),
        }
    }
}

impl<'buf> Handler<'buf> for Conn<'_> {
    fn decide(&mut self, _: Instant, request: &RequestHead<'_>) -> Answer<'buf> {
        let (id, method, path) = (self.id, request.method(), request.path());
        match path {
            "/events" => {
                self.client = query_param(request.query(), "client");
                let topics = Topics::from_query(request.query().unwrap_or(""));
                // The id ends its line and the topics get their own: log readers (.ci/interop,
                // the TLS tests) take everything after `last-event-id=`.
                self.app.log(format_args!(
                    "#{id} {method} /events client={} last-event-id={}",
                    self.client.as_deref().unwrap_or("-"),
                    request.last_event_id().unwrap_or("-"),
                ));
                self.app.log(format_args!("#{id} topics {topics:?}"));
                let Ok(topics) = topics else {
                    return Answer::Reject(ErrorResponse::bad_request().headers(&CORS));
                };
                if self.app.streams.get() >= self.app.max_streams {
                    self.app
                        .log(format_args!("#{id} refused: at the stream limit"));
                    return Answer::Reject(self.app.busy());
                }
                if let Err(refusal) = self.app.authorize(&topics, request) {
                    self.app
                        .log(format_args!("#{id} refused: {}", refusal.status_code()));
                    return Answer::Reject(refusal);
                }
                // The checks answer anything but GET with 405.
                Answer::Follow(AcceptOptions::new().with_headers(&CORS), topics)
            }
            "/" | "/publish" | "/ping" => {
                self.handed = Handed::of(request);
                Answer::Handoff
            }
            _ => {
                self.app.log(format_args!("#{id} {method} {path} -> 404"));
                Answer::Reject(ErrorResponse::not_found().headers(&CORS))
            }
        }
    }

    fn on_event(&mut self, _: Instant, event: SessionEvent) -> ControlFlow<()> {
        let (app, id) = (self.app, self.id);
        match event {
            SessionEvent::Accepted { start } => {
                let how = match start {
                    StreamStart::Live => "live".to_owned(),
                    StreamStart::Replay => "replaying after Last-Event-ID".to_owned(),
                    StreamStart::Gap { gap } => format!("gap ({gap}), then every kept event"),
                    other => format!("{other:?}"),
                };
                app.log(format_args!("#{id} stream open: {how}"));
                self.streaming = true;
                self.drops_seen = app.drops.get();
                if let Some(client) = &self.client {
                    let mut clients = app.clients.borrow_mut();
                    let entry = clients.entry(client.clone()).or_default();
                    entry.streams += 1;
                    self.pings_seen = entry.pings;
                }
                app.streams_opened.set(app.streams_opened.get() + 1);
                app.streams.set(app.streams.get() + 1);
                // Wakes the built-in publisher if it waits for the first stream.
                app.hub.notify();
            }
            SessionEvent::GapSent { gap } => app.log(format_args!("#{id} gap event sent: {gap}")),
            SessionEvent::Closed { reason } => {
                app.log(format_args!("#{id} closed: {reason}"));
                if self.streaming {
                    app.streams.set(app.streams.get() - 1);
                }
                if let (true, Some(client)) = (self.streaming, &self.client) {
                    let mut clients = app.clients.borrow_mut();
                    if let Some(entry) = clients.get_mut(client) {
                        entry.streams -= 1;
                        if entry.streams == 0 {
                            clients.remove(client);
                        }
                    }
                }
                self.streaming = false;
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn poll_commands(&mut self, now: Instant, session: &mut ServerSession<'buf>) {
        if !self.streaming {
            return;
        }
        let app = self.app;
        if app.drops.get() != self.drops_seen {
            self.drops_seen = app.drops.get();
            app.log(format_args!(
                "#{} dropping the stream (--drop-after)",
                self.id
            ));
            let retry = app.options.retry.unwrap_or(Duration::from_millis(1000));
            let _ = session.close_with(now, CloseOptions::new().with_retry(retry));
        }
        let Some(client) = &self.client else {
            return;
        };
        let pings = app.clients.borrow().get(client).map_or(0, |c| c.pings);
        if pings != self.pings_seen {
            self.pings_seen = pings;
            if let Err(error) = session.renew_lease(now) {
                app.log(format_args!("#{} lease not renewed: {error}", self.id));
            }
        }
    }
}

/// Answers a request handed back by `serve`: the page, a publish or a ping.
async fn answer<S: AsyncRead + AsyncWrite + Unpin + HalfClose>(
    app: &App,
    id: u64,
    io: &mut FuturesIo<S>,
    request: &Handed,
    body_start: &[u8],
) -> Vec<u8> {
    let (method, path) = (request.method.as_str(), request.path.as_str());
    let (status, response) = match (method, path) {
        ("GET", "/") => (200, page(app)),
        ("POST", "/publish") => publish(app, io, request, body_start).await,
        ("POST", "/ping") => ping(app, request),
        (_, "/") => (405, error_bytes(ErrorResponse::method_not_allowed("GET"))),
        _ => (405, error_bytes(ErrorResponse::method_not_allowed("POST"))),
    };
    app.log(format_args!(
        "#{id} {method} {} -> {status}",
        request.target
    ));
    response
}

/// The length of a `POST /publish` body, or the answer that refuses it.
///
/// The length comes from the crate's strict reader (RFC 9112 section 6.3): `+4`, `-1`, two
/// different values or a value past `u64::MAX` are a 400, because a server that guessed would
/// read the body boundary differently from a proxy in front of it (request smuggling). Two
/// identical values are one length, as RFC 9110 section 8.6 allows. A chunked body is refused
/// with 411 rather than decoded.
fn body_length(request: &RequestHead<'_>) -> Result<usize, (u16, Vec<u8>)> {
    if request.header("transfer-encoding").is_some() {
        return Err((
            411,
            plain(411, "Length Required", "send a Content-Length\n"),
        ));
    }
    let Ok(length) = request.content_length() else {
        return Err((400, error_bytes(ErrorResponse::bad_request())));
    };
    match usize::try_from(length.unwrap_or(0)) {
        Ok(length) if length <= MAX_BODY => Ok(length),
        _ => {
            let text = format!("at most {MAX_BODY} bytes\n");
            Err((413, plain(413, "Content Too Large", &text)))
        }
    }
}

/// `POST /publish[?event=NAME]`: the body becomes one event's data.
async fn publish<S: AsyncRead + AsyncWrite + Unpin>(
    app: &App,
    io: &mut FuturesIo<S>,
    request: &Handed,
    body_start: &[u8],
) -> (u16, Vec<u8>) {
    let length = match &request.body_length {
        Ok(length) => *length,
        Err(refusal) => return refusal.clone(),
    };
    let name = query_param(request.query.as_deref(), "event");
    let name = match name.as_deref().map(EventName::new) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(_)) => return (400, plain(400, "Bad Request", "bad event name\n")),
    };
    let topics = match Topics::from_query(request.query.as_deref().unwrap_or("")) {
        Ok(topics) => topics,
        Err(error) => return (400, plain(400, "Bad Request", &format!("{error}\n"))),
    };
    let mut body = body_start[..body_start.len().min(length)].to_vec();
    let read_rest = async {
        let mut buf = [0u8; 1024];
        while body.len() < length {
            let want = (length - body.len()).min(buf.len());
            match io.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => body.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    let timeout = async {
        smol::Timer::after(BODY_TIMEOUT).await;
        false
    };
    if !smol::future::or(read_rest, timeout).await {
        return (408, plain(408, "Request Timeout", "body incomplete\n"));
    }
    let Ok(data) = core::str::from_utf8(&body) else {
        return (400, plain(400, "Bad Request", "body is not UTF-8\n"));
    };
    match app.publish(&topics, name, data) {
        Ok(seq) => {
            let id = app.hub.with_log(|log| log.id_of(seq));
            (200, plain(200, "OK", &format!("{}\n", id.as_id().as_str())))
        }
        Err(error) => {
            app.log(format_args!("publish failed: {error}"));
            (503, error_bytes(ErrorResponse::service_unavailable(None)))
        }
    }
}

/// `POST /ping?client=ID`: renews the lease of that client's streams.
fn ping(app: &App, request: &Handed) -> (u16, Vec<u8>) {
    let Some(client) = query_param(request.query.as_deref(), "client") else {
        return (400, plain(400, "Bad Request", "ping needs ?client=ID\n"));
    };
    let mut clients = app.clients.borrow_mut();
    let Some(entry) = clients.get_mut(&client) else {
        return (404, error_bytes(ErrorResponse::not_found().headers(&CORS)));
    };
    entry.pings += 1;
    drop(clients);
    // Wakes the client's streams, which renew their leases in poll_commands.
    app.hub.notify();
    (204, error_bytes(ErrorResponse::no_content().headers(&CORS)))
}

/// Writes a whole response, then closes gracefully: the write side first (for TLS, a
/// `close_notify` alert, then the TCP write side), then whatever the client still sends is
/// read (for a second at most) so that closing does not reset the connection under a
/// response the client has not read yet.
async fn respond<S: AsyncRead + AsyncWrite + Unpin + HalfClose>(
    io: &mut FuturesIo<S>,
    response: &[u8],
) -> std::io::Result<()> {
    io.write_all(response).await?;
    io.flush().await?;
    // `close` sends TLS's close_notify, but on a plain `Async<TcpStream>` it only flushes:
    // the TCP write side is shut explicitly, or the client would wait for the drain below.
    io.get_mut().close().await?;
    io.get_ref().shutdown_write()?;
    let drain = async {
        let mut buf = [0u8; 1024];
        while let Ok(1..) = io.read(&mut buf).await {
            // Reads that never wait would keep the executor's only thread here while a client
            // keeps sending: let the other connections go first.
            smol::future::yield_now().await;
        }
    };
    smol::future::or(drain, async {
        smol::Timer::after(Duration::from_secs(1)).await;
    })
    .await;
    Ok(())
}

/// Shuts the TCP write side under a stream, plain or TLS, so the client reads the end of a
/// response while the server still drains what the client sends.
trait HalfClose {
    fn shutdown_write(&self) -> std::io::Result<()>;
}

impl HalfClose for Async<std::net::TcpStream> {
    fn shutdown_write(&self) -> std::io::Result<()> {
        self.get_ref().shutdown(std::net::Shutdown::Write)
    }
}

#[cfg(feature = "tls")]
impl<S: HalfClose> HalfClose for sansse::io::tls::ServerTlsStream<S> {
    fn shutdown_write(&self) -> std::io::Result<()> {
        self.get_ref().0.shutdown_write()
    }
}

/// An error response the crate writes, with the CORS header.
fn error_bytes(response: ErrorResponse<'_>) -> Vec<u8> {
    let response = response.headers(&CORS);
    let mut out = vec![0u8; response.encoded_len().unwrap_or(512)];
    let n = response.write(&mut out).unwrap_or(0);
    out.truncate(n);
    out
}

/// A response the crate has no writer for (200, 408, 411, 413), as plain text.
fn plain(status: u16, reason: &str, body: &str) -> Vec<u8> {
    with_body(status, reason, "text/plain; charset=utf-8", body)
}

fn with_body(status: u16, reason: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The page, with the lease interval its pings must beat.
fn page(app: &App) -> Vec<u8> {
    let lease = app.options.lease.map_or(0, |lease| lease.as_millis());
    let html = PAGE.replace("__LEASE_MS__", &lease.to_string());
    with_body(200, "OK", "text/html; charset=utf-8", &html)
}

/// The value of `name` in a query string, percent-decoded (`+` is a space).
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Two hex digits exactly: `from_str_radix` alone would also take a sign (`%+5`).
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| core::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug)]
struct Options {
    addr: String,
    epoch: u32,
    retry: Option<Duration>,
    keepalive: Option<Duration>,
    lease: Option<Duration>,
    /// `--max-streams`; `None`: what the open-file limit allows.
    max_streams: Option<usize>,
    publish_every: Option<Duration>,
    publish_count: Option<u64>,
    drop_after: Option<u64>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    /// Private topics and their tokens.
    topic_tokens: Vec<(String, Secret)>,
}

/// A token, kept out of the start-up log that prints the options.
struct Secret(String);

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<secret>")
    }
}

const USAGE: &str = "usage: server [--addr HOST:PORT] [--epoch N] [--retry MS] [--keepalive MS] \
                     [--lease MS] [--max-streams N] [--publish-every MS] [--publish-count N] \
                     [--drop-after N] [--tls-cert FILE --tls-key FILE] [--topic-token TOPIC=TOKEN]..";

impl Options {
    /// The token of a private topic.
    fn token_of(&self, topic: &str) -> Option<&str> {
        self.topic_tokens
            .iter()
            .find(|(private, _)| private == topic)
            .map(|(_, token)| token.0.as_str())
    }

    /// The options, or `Err(None)` for `--help`, or what is wrong.
    fn parse(args: impl Iterator<Item = String>) -> Result<Self, Option<String>> {
        Self::parse_flags(args).map_err(|message| (message != "--help").then_some(message))
    }

    fn parse_flags(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let since_1970 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        let mut options = Self {
            addr: "127.0.0.1:0".to_owned(),
            // Truncated on purpose: the epoch only has to differ from the previous run's.
            epoch: since_1970 as u32,
            retry: Some(Duration::from_millis(1000)),
            keepalive: Some(Duration::from_secs(15)),
            lease: None,
            max_streams: None,
            publish_every: None,
            publish_count: None,
            drop_after: None,
            tls_cert: None,
            tls_key: None,
            topic_tokens: Vec::new(),
        };
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err("--help".to_owned());
            }
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{flag}: not a number: {value}"))
            };
            let millis = || number().map(Duration::from_millis);
            match flag.as_str() {
                "--addr" => options.addr = value.clone(),
                "--epoch" => {
                    options.epoch = u32::try_from(number()?).map_err(|_| "--epoch: too large")?
                }
                "--retry" => options.retry = Some(millis()?),
                "--keepalive" => options.keepalive = Some(millis()?).filter(|d| !d.is_zero()),
                "--lease" => options.lease = Some(millis()?),
                // `--max-connections` is the old name: it capped streams and requests alike.
                "--max-streams" | "--max-connections" => {
                    options.max_streams = Some(usize::try_from(number()?).unwrap_or(usize::MAX));
                }
                "--publish-every" => options.publish_every = Some(millis()?),
                "--publish-count" => options.publish_count = Some(number()?),
                "--drop-after" => options.drop_after = Some(number()?),
                "--tls-cert" => options.tls_cert = Some(value.clone()),
                "--tls-key" => options.tls_key = Some(value.clone()),
                "--topic-token" => {
                    let (topic, token) = value
                        .split_once('=')
                        .filter(|(topic, token)| {
                            sansse::replay::Topic::new(topic).is_ok() && !token.is_empty()
                        })
                        .ok_or(format!("--topic-token: not TOPIC=TOKEN: {value}"))?;
                    options
                        .topic_tokens
                        .push((topic.to_owned(), Secret(token.to_owned())));
                }
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        Ok(options)
    }
}

/// The page. Plain script, no dependencies; `__LEASE_MS__` is replaced when served.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>sansse hub</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; }
  table { border-collapse: collapse; }
  td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
  #status { color: #555; }
</style>
<h1>sansse hub</h1>
<form id="follow">
  <label>follow topics <input name="topics" placeholder="default" size="30"></label>
  <label>token <input name="token" type="password" size="12"></label>
  <button>follow</button>
</form>
<form id="publish">
  <label>publish to <input name="topics" placeholder="default" size="20"></label>
  <label>data <input name="data" size="30"></label>
  <button>publish</button>
</form>
<p id="status">connecting</p>
<pre id="result"></pre>
<table><thead><tr><th>type</th><th>id</th><th>data</th></tr></thead><tbody id="events"></tbody></table>
<script>
const LEASE_MS = __LEASE_MS__;
const query = new URLSearchParams(location.search);
const expect = Number(query.get('expect') || 0);
const client = query.get('client') || 'page-' + Math.random().toString(36).slice(2, 10);
const types = new Set(['message', 'tick', 'sansse-gap', ...(query.get('types') || '').split(',').filter(Boolean)]);
// Topics come as repeated `topic` parameters, the way `/events` takes them.
const topics = query.getAll('topic');
const topicQuery = (names) => names.map((t) => '&topic=' + encodeURIComponent(t)).join('');
const splitNames = (text) => text.split(',').map((t) => t.trim()).filter(Boolean);
const seen = [], resumedFrom = [];
let opens = 0, errors = 0, lastId = '', done = false;
const status = (text) => {
  const following = topics.length ? topics.join(', ') : 'default';
  document.getElementById('status').textContent = `${text} (client ${client}, topics ${following})`;
};

// Following other topics reloads the page with them; a token goes in the cookie the server
// reads, since EventSource cannot send an Authorization header.
const follow = document.getElementById('follow');
follow.topics.value = topics.join(', ');
follow.onsubmit = (event) => {
  event.preventDefault();
  if (follow.token.value) document.cookie = 'sansse_token=' + encodeURIComponent(follow.token.value) + '; path=/; SameSite=Strict';
  location.search = '?client=' + encodeURIComponent(client) + topicQuery(splitNames(follow.topics.value));
};
const publish = document.getElementById('publish');
publish.onsubmit = async (event) => {
  event.preventDefault();
  const response = await fetch('/publish?x=1' + topicQuery(splitNames(publish.topics.value)), { method: 'POST', body: publish.data.value });
  status(`published: ${response.status} ${(await response.text()).trim()}`);
};

const source = new EventSource('/events?client=' + encodeURIComponent(client) + topicQuery(topics));
source.onopen = () => {
  opens += 1;
  // The browser resumes with the last id it saw, which the server logs.
  if (opens > 1) resumedFrom.push(lastId || '-');
  status(`open (connection ${opens})`);
};
source.onerror = () => { errors += 1; if (!done) status('reconnecting'); };
for (const type of types) {
  source.addEventListener(type, (event) => {
    lastId = event.lastEventId;
    seen.push({ type: event.type, id: event.lastEventId, data: event.data });
    const row = document.getElementById('events').insertRow();
    for (const text of [event.type, event.lastEventId, event.data]) row.insertCell().textContent = text;
    if (expect && seen.length >= expect) finish();
  });
}

// With a lease, ping well within it so the server keeps this page's stream.
if (LEASE_MS > 0) setInterval(() => fetch('/ping?client=' + encodeURIComponent(client), { method: 'POST' }), LEASE_MS / 3);

// Closing the source ends the request, which also lets a headless browser's virtual time run
// out and dump the DOM.
function finish() {
  if (done) return;
  done = true;
  source.close();
  const problems = [];
  // Ids count every topic's events: one broadcast is contiguous, a few topics only increase.
  const seqs = seen.map((event) => Number(event.id.split('-')[1]));
  for (let i = 1; i < seqs.length; i++) {
    const next = topics.length ? seqs[i] > seqs[i - 1] : seqs[i] === seqs[i - 1] + 1;
    if (!next) problems.push(`seq-${seqs[i - 1]}-then-${seqs[i]}`);
  }
  if (seen.some((event) => event.type === 'sansse-gap')) problems.push('gap-event');
  const verdict = problems.length ? 'fail ' + problems.join(',') : 'ok';
  document.getElementById('result').textContent = [
    verdict,
    `events=${seen.length}`,
    `opens=${opens}`,
    `errors=${errors}`,
    `resumed-from=${resumedFrom.join(',') || '-'}`,
    `ids=${seen.map((event) => event.id).join(',')}`,
    `types=${[...new Set(seen.map((event) => event.type))].join(',')}`,
  ].join(' ');
  status('done');
}
</script>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use sansse::http::{HeadLimits, HeadStatus, RequestReader};

    /// The status `body_length` answers a `POST /publish` with these header lines, or 200 with
    /// the length it accepted.
    fn status_for(lines: &[&str]) -> (u16, usize) {
        let mut input = String::from("POST /publish HTTP/1.1\r\nHost: h\r\n");
        for line in lines {
            input.push_str(line);
            input.push_str("\r\n");
        }
        input.push_str("\r\n");
        let mut storage = [0u8; 1024];
        let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
        let status = reader.handle_bytes(input.as_bytes());
        assert!(matches!(status, Ok(HeadStatus::Complete { .. })));
        match body_length(&reader.head().unwrap()) {
            Ok(length) => (200, length),
            Err((status, _)) => (status, 0),
        }
    }

    #[test]
    fn publish_takes_a_plain_length() {
        assert_eq!(status_for(&["Content-Length: 4"]), (200, 4));
        assert_eq!(status_for(&[]), (200, 0));
    }

    #[test]
    fn publish_refuses_a_signed_length() {
        assert_eq!(status_for(&["Content-Length: +4"]).0, 400);
        assert_eq!(status_for(&["Content-Length: -1"]).0, 400);
    }

    #[test]
    fn publish_refuses_two_different_lengths() {
        let lines = ["Content-Length: 4", "Content-Length: 5"];
        assert_eq!(status_for(&lines).0, 400);
        assert_eq!(status_for(&["Content-Length: 4, 5"]).0, 400);
    }

    #[test]
    fn publish_accepts_two_identical_lengths_as_one() {
        let lines = ["Content-Length: 4", "Content-Length: 4"];
        assert_eq!(status_for(&lines), (200, 4));
    }

    #[test]
    fn publish_refuses_a_length_past_u64_max_and_caps_large_ones() {
        assert_eq!(status_for(&["Content-Length: 18446744073709551616"]).0, 400);
        assert_eq!(status_for(&["Content-Length: 18446744073709551615"]).0, 413);
        assert_eq!(status_for(&["Content-Length: 8193"]).0, 413);
    }

    #[test]
    fn publish_refuses_a_chunked_body() {
        assert_eq!(status_for(&["Transfer-Encoding: chunked"]).0, 411);
    }

    #[test]
    fn percent_decoding_takes_two_hex_digits_only() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%+5"), "% 5");
        assert_eq!(percent_decode("%-1"), "%-1");
    }
}
