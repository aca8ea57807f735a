//! The client shells against a tiny scripted HTTP server on loopback: the pull [`Client`] on
//! smol and on tokio (through `tokio-util`'s compat layer, with the crate's `StdTimer`), and
//! the `BlockingClient` on std threads.
//!
//! Checks: events arrive with their ids and the application stops when it likes; a server
//! that drops the connection mid-event is reconnected to with `Last-Event-ID`, and nothing is
//! delivered twice; a stream that goes silent past the idle limit sized from the server's
//! keep-alive announcement is reconnected; `204` ends the client for good; per-attempt headers
//! reach every request. Every wait is bounded: a broken client fails within seconds instead of
//! hanging.

use core::net::SocketAddr;
use core::time::Duration;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant as StdInstant;

use sansse::backoff::BackoffConfig;
use sansse::client::{CloseReason, ReconnectReason, SessionEvent};
use sansse::heartbeat::IdleConfig;
use sansse::io::client::{BlockingClient, Connect};
use sansse::io::{FuturesIo, StdTimer, Timer};
use sansse::time::StdOrigin;
use sansse::{Client, ClientConfig, ClientItem, ClientMemory, Event};
use tokio_util::compat::TokioAsyncReadCompatExt;

/// The longest a whole test may run before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

const HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

/// The executors every async test runs on.
#[derive(Clone, Copy, Debug)]
enum Rt {
    Smol,
    Tokio,
}

/// One test per executor.
macro_rules! on_both {
    ($name:ident, $smol:ident, $tokio:ident) => {
        #[test]
        fn $smol() {
            $name(Rt::Smol);
        }

        #[test]
        fn $tokio() {
            $name(Rt::Tokio);
        }
    };
}

on_both!(
    events_arrive_until_the_application_stops,
    events_arrive_until_the_application_stops_on_smol,
    events_arrive_until_the_application_stops_on_tokio
);
fn events_arrive_until_the_application_stops(rt: Rt) {
    let server = Server::start(vec![vec![
        Step::Send(format!(
            "{HEAD}retry: 50\nid: 1\ndata: one\n\nid: 2\nevent: tick\ndata: two\n\n"
        )),
        Step::Hold,
    ]]);
    let mut recorder = Recorder::stopping_after(2);

    let ended = run_async(rt, config(&server), &mut recorder);

    assert_eq!(ended, Ended::Stopped);
    assert_eq!(
        recorder.events,
        [event("message", "one", "1"), event("tick", "two", "2")]
    );
    assert!(matches!(recorder.story[0], Story::Open));
    assert_eq!(server.requests().len(), 1);
    assert!(!server.requests()[0].contains("Last-Event-ID"));
}

on_both!(
    a_dropped_connection_is_resumed_with_last_event_id,
    a_dropped_connection_is_resumed_with_last_event_id_on_smol,
    a_dropped_connection_is_resumed_with_last_event_id_on_tokio
);
fn a_dropped_connection_is_resumed_with_last_event_id(rt: Rt) {
    let server = Server::start(vec![
        // Event 3 is cut off by the close: its id must not count.
        vec![Step::Send(format!(
            "{HEAD}retry: 50\nid: 1\ndata: one\n\nid: 2\ndata: two\n\nid: 3\ndata: thr"
        ))],
        vec![
            Step::Send(format!("{HEAD}id: 3\ndata: three\n\nid: 4\ndata: four\n\n")),
            Step::Hold,
        ],
    ]);
    let mut recorder = Recorder::stopping_after(4);

    let ended = run_async(rt, config(&server), &mut recorder);

    assert_eq!(ended, Ended::Stopped);
    let ids: Vec<&str> = recorder.events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].contains("\r\nLast-Event-ID: 2\r\n"),
        "{}",
        requests[1]
    );
    assert!(
        recorder
            .story
            .iter()
            .any(|s| matches!(s, Story::Reconnecting(ReconnectReason::Eof))),
        "{:?}",
        recorder.story
    );
}

on_both!(
    a_silent_stream_is_reconnected_after_the_announced_idle_limit,
    a_silent_stream_is_reconnected_after_the_announced_idle_limit_on_smol,
    a_silent_stream_is_reconnected_after_the_announced_idle_limit_on_tokio
);
fn a_silent_stream_is_reconnected_after_the_announced_idle_limit(rt: Rt) {
    let server = Server::start(vec![
        // Announces 100 ms keep-alives, sends one event, then says nothing and keeps the
        // connection open: a half-open connection, as far as the client can tell.
        vec![
            Step::Send(format!(
                "{HEAD}retry: 50\n:keepalive 100\nid: 7\ndata: last words\n\n"
            )),
            Step::Hold,
        ],
        vec![
            Step::Send(format!("{HEAD}id: 8\ndata: back\n\n")),
            Step::Hold,
        ],
    ]);
    let mut recorder = Recorder::stopping_after(2);
    // Idle limit: 100 ms * 2 + 50 ms.
    let idle = IdleConfig::new()
        .with_margin(Duration::from_millis(50))
        .with_announced_bounds(Duration::from_millis(10), Duration::from_secs(10));
    let started = StdInstant::now();

    let ended = run_async(rt, config(&server).with_idle(idle), &mut recorder);

    assert_eq!(ended, Ended::Stopped);
    let ids: Vec<&str> = recorder.events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(ids, ["7", "8"]);
    let idle = recorder.story.iter().find_map(|s| match s {
        Story::Reconnecting(ReconnectReason::Idle(expired)) => Some(expired.limit),
        _ => None,
    });
    assert_eq!(idle, Some(Duration::from_millis(250)));
    // 250 ms of silence and a 50 ms retry (plus jitter) at least; far less than the default
    // 60 s limit, which would fail the test by its patience.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(server.requests()[1].contains("\r\nLast-Event-ID: 7\r\n"));
}

on_both!(
    no_content_ends_the_client_for_good,
    no_content_ends_the_client_for_good_on_smol,
    no_content_ends_the_client_for_good_on_tokio
);
fn no_content_ends_the_client_for_good(rt: Rt) {
    let server = Server::start(vec![vec![Step::Send(
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n".into(),
    )]]);
    let mut recorder = Recorder::stopping_after(usize::MAX);

    let ended = run_async(rt, config(&server), &mut recorder);

    assert_eq!(
        ended,
        Ended::Closed {
            reason: CloseReason::NoContent
        }
    );
    assert!(matches!(recorder.story.last(), Some(Story::Closed)));
}

on_both!(
    attempt_headers_reach_every_request,
    attempt_headers_reach_every_request_on_smol,
    attempt_headers_reach_every_request_on_tokio
);
fn attempt_headers_reach_every_request(rt: Rt) {
    let server = Server::start(vec![
        vec![Step::Send(format!("{HEAD}retry: 50\nid: 1\ndata: one\n\n"))],
        vec![
            Step::Send(format!("{HEAD}id: 2\ndata: two\n\n")),
            Step::Hold,
        ],
    ]);
    let mut recorder = Recorder::stopping_after(2);
    recorder.token = Some(("Authorization", "Bearer fresh"));

    run_async(rt, config(&server), &mut recorder);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in requests {
        assert!(
            request.contains("\r\nAuthorization: Bearer fresh\r\n"),
            "{request}"
        );
    }
}

on_both!(
    an_unreachable_server_is_retried_until_it_answers,
    an_unreachable_server_is_retried_until_it_answers_on_smol,
    an_unreachable_server_is_retried_until_it_answers_on_tokio
);
fn an_unreachable_server_is_retried_until_it_answers(rt: Rt) {
    // Bind, note the port, close: connects are refused until the server starts on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let session_config = ClientConfig::new("127.0.0.1", "/events")
        .with_port(addr.port())
        .with_backoff(fast_backoff());
    let mut recorder = Recorder::stopping_after(1);
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let listener = TcpListener::bind(addr).unwrap();
        Server::serve(
            listener,
            vec![vec![
                Step::Send(format!("{HEAD}id: 1\ndata: finally\n\n")),
                Step::Hold,
            ]],
            Arc::default(),
        );
    });

    let ended = run_async(rt, session_config, &mut recorder);

    assert_eq!(ended, Ended::Stopped);
    assert_eq!(recorder.events, [event("message", "finally", "1")]);
    assert!(
        recorder
            .story
            .iter()
            .any(|s| matches!(s, Story::Reconnecting(ReconnectReason::Io(_))))
    );
    late.join().unwrap();
}

#[test]
fn the_blocking_client_resumes_after_a_drop_and_after_silence() {
    let server = Server::start(vec![
        vec![Step::Send(format!(
            "{HEAD}retry: 50\n:keepalive 100\nid: 1\ndata: one\n\nid: 2\ndata: tw"
        ))],
        vec![
            Step::Send(format!("{HEAD}:keepalive 100\nid: 2\ndata: two\n\n")),
            Step::Hold,
        ],
        vec![
            Step::Send(format!("{HEAD}id: 3\ndata: three\n\n")),
            Step::Hold,
        ],
    ]);
    let idle = IdleConfig::new()
        .with_margin(Duration::from_millis(50))
        .with_announced_bounds(Duration::from_millis(10), Duration::from_secs(10));
    let session_config = config(&server).with_idle(idle);
    let mut recorder = Recorder::stopping_after(3);
    let mut memory = ClientMemory::<4096, 2048, 1024, 512, 512, 64>::new();
    let mut client =
        BlockingClient::with_memory(session_config, StdOrigin::now(), 11, &mut memory).unwrap();

    let started = StdInstant::now();
    let mut ended = Ended::Stopped;
    while let Some(item) = client.next() {
        assert!(
            started.elapsed() < PATIENCE,
            "the client did not end within {PATIENCE:?}"
        );
        match item {
            ClientItem::Event(event) => {
                recorder.record(&event);
                if recorder.events.len() >= recorder.limit {
                    client.close();
                }
            }
            ClientItem::Story(SessionEvent::Closed { reason }) if reason != CloseReason::Local => {
                ended = Ended::Closed { reason };
            }
            ClientItem::Story(story) => recorder.hear(story),
            _ => {}
        }
    }

    assert_eq!(ended, Ended::Stopped);
    let ids: Vec<&str> = recorder.events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let requests = server.requests();
    assert!(
        requests[1].contains("\r\nLast-Event-ID: 1\r\n"),
        "{}",
        requests[1]
    );
    assert!(
        requests[2].contains("\r\nLast-Event-ID: 2\r\n"),
        "{}",
        requests[2]
    );
    let reasons: Vec<&Story> = recorder
        .story
        .iter()
        .filter(|s| matches!(s, Story::Reconnecting(_)))
        .collect();
    assert!(
        matches!(reasons[0], Story::Reconnecting(ReconnectReason::Eof)),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[1], Story::Reconnecting(ReconnectReason::Idle(_))),
        "{reasons:?}"
    );
}

#[test]
fn the_blocking_client_hands_back_a_wait_for_the_link_instead_of_blocking() {
    let server = Server::start(vec![vec![
        Step::Send(format!("{HEAD}id: 1\ndata: one\n\n")),
        Step::Hold,
    ]]);
    let mut memory = ClientMemory::new();
    let mut client = BlockingClient::new(config(&server), &mut memory).unwrap();

    client.link_down();
    for _ in 0..3 {
        let item = client.next();
        assert!(
            matches!(item, Some(ClientItem::Story(SessionEvent::WaitingForLink))),
            "{item:?}"
        );
    }
    assert!(server.requests().is_empty());
    client.link_up();
    let mut recorder = Recorder::stopping_after(1);
    while let Some(item) = client.next() {
        if let ClientItem::Event(event) = item {
            recorder.record(&event);
            client.close();
        }
    }
    assert_eq!(recorder.events, [event("message", "one", "1")]);
}

// ---------------------------------------------------------------------------------------------

/// A fast backoff for tests: 50 ms, doubling to 200 ms.
fn fast_backoff() -> BackoffConfig {
    BackoffConfig::new()
        .with_reconnection_time(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(200))
}

fn config(server: &Server) -> ClientConfig<'static> {
    ClientConfig::new("127.0.0.1", "/events")
        .with_port(server.addr.port())
        .with_backoff(fast_backoff())
}

fn event(event_type: &str, data: &str, id: &str) -> (String, String, String) {
    (event_type.into(), data.into(), id.into())
}

/// Runs the pull client on `rt` against the server in `config`, bounded by [`PATIENCE`].
fn run_async(rt: Rt, config: ClientConfig<'static>, recorder: &mut Recorder) -> Ended {
    match rt {
        Rt::Smol => smol::block_on(bounded(drive(
            config,
            async |host: &str, port: u16| {
                let stream = smol::net::TcpStream::connect((host, port)).await?;
                Ok::<_, std::io::Error>(FuturesIo::new(stream))
            },
            recorder,
        ))),
        Rt::Tokio => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(bounded(drive(
                config,
                async |host: &str, port: u16| {
                    let stream = tokio::net::TcpStream::connect((host, port)).await?;
                    Ok::<_, std::io::Error>(FuturesIo::new(stream.compat()))
                },
                recorder,
            ))),
    }
}

/// Pulls items into `recorder` until it has its events (then the application closes) or the
/// client ends.
async fn drive<C: Connect>(
    config: ClientConfig<'static>,
    connect: C,
    recorder: &mut Recorder,
) -> Ended {
    // A small receive buffer, so events also arrive split over reads.
    let mut memory = ClientMemory::<4096, 2048, 1024, 512, 16, 256>::new();
    let mut client = Client::with_timer(config, connect, StdTimer::new(), 5, &mut memory).unwrap();
    let mut stopped = false;
    while let Some(item) = client.next().await {
        match item {
            ClientItem::Event(event) => {
                recorder.record(&event);
                if recorder.events.len() >= recorder.limit {
                    stopped = true;
                    client.close();
                }
            }
            ClientItem::Skipped(skipped) => panic!("no event is too large here: {skipped}"),
            ClientItem::Connected { .. } => {
                let token: Vec<(&str, &str)> = recorder.token.into_iter().collect();
                client.attempt_headers(&token).unwrap();
            }
            ClientItem::Story(SessionEvent::Closed { reason }) if !stopped => {
                recorder.story.push(Story::Closed);
                return Ended::Closed { reason };
            }
            ClientItem::Story(story) => recorder.hear(story),
            _ => {}
        }
    }
    Ended::Stopped
}

/// Runs `run` on whatever executor polls it, failing after [`PATIENCE`]; the deadline is the
/// crate's own runtime-agnostic timer.
async fn bounded(run: impl Future<Output = Ended>) -> Ended {
    smol::future::or(run, async {
        let mut timer = StdTimer::new();
        let deadline = timer.now() + PATIENCE;
        timer.sleep_until(deadline).await;
        panic!("the client did not end within {PATIENCE:?}");
    })
    .await
}

/// How a client run ended.
#[derive(Debug, PartialEq)]
enum Ended {
    /// The application closed it (after its events).
    Stopped,
    /// The session closed for good by itself.
    Closed { reason: CloseReason },
}

/// What the application heard of the story, owned.
#[derive(Debug)]
enum Story {
    Open,
    Reconnecting(ReconnectReason),
    Closed,
    Other,
}

/// Records events and the story; stops after `limit` events.
struct Recorder {
    limit: usize,
    events: Vec<(String, String, String)>,
    story: Vec<Story>,
    token: Option<(&'static str, &'static str)>,
}

impl Recorder {
    fn stopping_after(limit: usize) -> Self {
        Self {
            limit,
            events: Vec::new(),
            story: Vec::new(),
            token: None,
        }
    }
}

impl Recorder {
    fn record(&mut self, event: &Event<'_>) {
        self.events.push((
            event.event_type().into(),
            event.data().into(),
            event.id().into(),
        ));
    }

    fn hear(&mut self, event: SessionEvent<'_>) {
        self.story.push(match event {
            SessionEvent::Open { .. } => Story::Open,
            SessionEvent::Reconnecting { reason, .. } => Story::Reconnecting(reason),
            SessionEvent::Closed { .. } => Story::Closed,
            _ => Story::Other,
        });
    }
}

/// One thing the scripted server does on a connection.
enum Step {
    Send(String),
    /// Keep the connection open without a word until the client closes it.
    Hold,
}

/// A server that answers its n-th connection with the n-th script, after reading the request
/// head, and records every request head.
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(scripts: Vec<Vec<Step>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::<Mutex<Vec<String>>>::default();
        let recorded = Arc::clone(&requests);
        // Detached: it ends with the test process, or when its scripts run out.
        std::thread::spawn(move || Self::serve(listener, scripts, recorded));
        Self { addr, requests }
    }

    fn serve(listener: TcpListener, scripts: Vec<Vec<Step>>, requests: Arc<Mutex<Vec<String>>>) {
        let mut held = Vec::new();
        for script in scripts {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            requests.lock().unwrap().push(read_head(&mut stream));
            for step in script {
                match step {
                    Step::Send(bytes) => stream.write_all(bytes.as_bytes()).unwrap(),
                    // Kept open (and silent) until the scripts run out.
                    Step::Hold => held.push(stream.try_clone().unwrap()),
                }
            }
        }
        // Wait for the client to leave the last held connection.
        if let Some(mut last) = held.pop() {
            let _ = last.read(&mut [0u8; 64]);
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads up to the blank line that ends a request head.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}
