//! The async server loop (`io::server::serve`) on smol over loopback TCP, against a plain
//! blocking `std::net::TcpStream` client that reads the response with the crate's own
//! response-head reader, body decoder and event parser.
//!
//! Checks: published events arrive with their ids and types; keep-alive comments arrive on
//! time when nothing is published; a reconnect with `Last-Event-ID` replays exactly the events
//! after it; timers (lease) and application commands (close) end streams as configured; a
//! request that is not an event stream is handed back with the body bytes already read. Every
//! wait is bounded: a broken loop fails a test within seconds instead of hanging.

mod io_support;
mod server_support;

use core::net::SocketAddr;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Instant as StdInstant;

use io_support::{Client, PATIENCE, events, keepalives};
use sansse::Instant;
use sansse::encode::EventName;
use sansse::http::{ErrorResponse, RequestHead};
use sansse::io::server::{Answer, Handler, Served, serve};
use sansse::io::{FuturesIo, StdHub, StdTimer, Timer};
use sansse::replay::Ring;
use sansse::server::{
    AcceptOptions, CloseOptions, CloseReason, ServerConfig, ServerSession, SessionEvent,
};
use sansse::time::StdOrigin;
use server_support::Seen;

type Log = Ring<64, 16_384>;

#[test]
fn published_events_arrive_with_ids_and_types() {
    let hub = StdHub::new(Log::new(3));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut client = Client::connect(server.addr, "/events", None);
        client.wait_for(|seen| seen.contains(&Seen::Comment("keepalive 15000".into())));

        hub.publish(None, "one").unwrap();
        hub.publish(Some(EventName::new("tick").unwrap()), "two\nlines")
            .unwrap();
        client.wait_for(|seen| events(seen).len() == 2);

        assert_eq!(
            events(&client.listener.seen),
            [
                ("message".into(), "one".into(), "3-1".into()),
                ("tick".into(), "two\nlines".into(), "3-2".into()),
            ]
        );
        assert_eq!(client.status, Some(200));
    });
}

#[test]
fn keep_alive_comments_arrive_on_time_when_nothing_is_published() {
    let hub = StdHub::new(Log::new(1));
    let config = ServerConfig::new().with_keepalive(Some(Duration::from_millis(100)));
    with_server(&hub, config, |server| {
        let mut client = Client::connect(server.addr, "/events", None);
        client.wait_for(|seen| seen.contains(&Seen::Comment("keepalive 100".into())));
        hub.publish(None, "last word").unwrap();
        client.wait_for(|seen| events(seen).len() == 1);
        let published = StdInstant::now();

        client.wait_for(|seen| keepalives(seen) == 1);
        let first = published.elapsed();
        client.wait_for(|seen| keepalives(seen) == 3);
        let third = published.elapsed();

        // Due 100 ms after the last write, then every 100 ms; the lower bounds allow for the
        // event itself reaching the client a little after the server wrote it.
        assert!(first >= Duration::from_millis(90), "first after {first:?}");
        assert!(first < Duration::from_millis(400), "first after {first:?}");
        assert!(third >= Duration::from_millis(290), "third after {third:?}");
        assert!(third < Duration::from_millis(900), "third after {third:?}");
    });
}

#[test]
fn a_reconnect_with_last_event_id_replays_exactly_the_events_after_it() {
    let hub = StdHub::new(Log::new(9));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut first = Client::connect(server.addr, "/events", None);
        first.wait_for(|seen| seen.iter().any(|s| matches!(s, Seen::Comment(_))));
        for n in 1..=3 {
            hub.publish(None, &format!("event {n}")).unwrap();
        }
        first.wait_for(|seen| events(seen).len() == 3);
        let last_id = first.listener.last_event_id().unwrap();
        drop(first);
        // Published while the client is away.
        hub.publish(None, "event 4").unwrap();
        hub.publish(None, "event 5").unwrap();

        let mut second = Client::connect(server.addr, "/events", Some(&last_id));
        second.wait_for(|seen| events(seen).len() == 2);
        hub.publish(None, "event 6").unwrap();
        second.wait_for(|seen| events(seen).len() == 3);

        assert_eq!(last_id, "9-3");
        let data: Vec<String> = events(&second.listener.seen)
            .into_iter()
            .map(|(_, data, id)| format!("{id} {data}"))
            .collect();
        assert_eq!(data, ["9-4 event 4", "9-5 event 5", "9-6 event 6"]);
        server.wait_for_close(CloseReason::PeerClosed);
    });
}

#[test]
fn a_lease_that_is_not_renewed_ends_the_stream() {
    let hub = StdHub::new(Log::new(1));
    let config = ServerConfig::new().with_lease(Some(Duration::from_millis(150)));
    with_server(&hub, config, |server| {
        let mut client = Client::connect(server.addr, "/events", None);
        let opened = StdInstant::now();

        client.read_to_end();

        let lasted = opened.elapsed();
        assert!(lasted >= Duration::from_millis(140), "lasted {lasted:?}");
        assert!(lasted < Duration::from_secs(2), "lasted {lasted:?}");
        server.wait_for_close_matching(|reason| matches!(reason, CloseReason::LeaseExpired { .. }));
    });
}

#[test]
fn a_close_command_ends_the_stream_gracefully_with_a_retry_hint() {
    let hub = StdHub::new(Log::new(1));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut client = Client::connect(server.addr, "/events", None);
        client.wait_for(|seen| !seen.is_empty());

        server.close_all.store(true, Ordering::SeqCst);
        hub.notify();
        client.read_to_end();

        assert!(
            client.wire_ended,
            "the chunked body ended with its last chunk"
        );
        assert_eq!(client.listener.seen.last(), Some(&Seen::Retry(250)));
        server.wait_for_close(CloseReason::Requested);
    });
}

#[test]
fn a_request_that_is_not_an_event_stream_is_handed_back_with_its_body() {
    let hub = StdHub::new(Log::new(1));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .write_all(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();

        assert_eq!(answer, "handed back POST /publish with body \"hello\"");
    });
}

#[test]
fn other_paths_get_the_handlers_error_response() {
    let hub = StdHub::new(Log::new(1));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut client = Client::connect(server.addr, "/nowhere", None);
        client.read_to_end();

        assert_eq!(client.status, Some(404));
        server.wait_for_close(CloseReason::Rejected { status: 404 });
    });
}

// ---------------------------------------------------------------------------------------------

/// What the test sees of the server: its address, the story of every connection, a switch
/// that makes every handler close its session.
struct Server {
    addr: SocketAddr,
    story: Mutex<Vec<SessionEvent>>,
    close_all: AtomicBool,
}

impl Server {
    fn wait_for_close(&self, expected: CloseReason) {
        self.wait_for_close_matching(|reason| *reason == expected);
    }

    fn wait_for_close_matching(&self, wanted: impl Fn(&CloseReason) -> bool) {
        let start = StdInstant::now();
        loop {
            let closed =
                self.story.lock().unwrap().iter().any(
                    |event| matches!(event, SessionEvent::Closed { reason } if wanted(reason)),
                );
            if closed {
                return;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no such close in {:?}",
                self.story.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Runs a smol server for `hub` on its own thread while `test` runs, then stops it.
fn with_server(hub: &StdHub<Log>, config: ServerConfig<'static>, test: impl FnOnce(&Server)) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server {
        addr: listener.local_addr().unwrap(),
        story: Mutex::new(Vec::new()),
        close_all: AtomicBool::new(false),
    };
    let (stop, stopped) = smol::channel::bounded::<()>(1);
    std::thread::scope(|scope| {
        let server = &server;
        scope.spawn(move || {
            let listener = smol::Async::new(listener).unwrap();
            let executor = smol::LocalExecutor::new();
            let accept = async {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    executor
                        .spawn(connection(stream, hub, config, server))
                        .detach();
                }
            };
            smol::block_on(executor.run(smol::future::or(accept, async {
                let _ = stopped.recv().await;
            })));
        });
        // Stops the server when the test ends, also by a failed assertion: the scope waits for
        // the server thread before it passes the panic on.
        let _stop = Stop(stop);
        test(server);
    });
}

struct Stop(smol::channel::Sender<()>);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

async fn connection(
    stream: smol::Async<std::net::TcpStream>,
    hub: &StdHub<Log>,
    config: ServerConfig<'static>,
    server: &Server,
) {
    let mut timer = StdTimer::with_origin(StdOrigin::now());
    let mut io = FuturesIo::new(stream);
    let mut storage = [0u8; 1024];
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 4096]);
    let mut session = ServerSession::new(timer.now(), &mut storage, config);
    let mut handler = TestHandler {
        server,
        closing: false,
    };
    let served = serve(
        &mut io,
        &mut timer,
        hub,
        &mut session,
        &mut handler,
        &mut rx,
        &mut tx,
    )
    .await;
    if let Ok(Served::Handoff { body }) = served {
        let request = session.request().unwrap();
        let answer = format!(
            "handed back {} {} with body {:?}",
            request.method(),
            request.path(),
            String::from_utf8_lossy(&rx[body])
        );
        let _ = embedded_io_async::Write::write_all(&mut io, answer.as_bytes()).await;
    }
}

struct TestHandler<'s> {
    server: &'s Server,
    closing: bool,
}

impl<'buf> Handler<'buf> for TestHandler<'_> {
    fn decide(&mut self, _: Instant, request: &RequestHead<'_>) -> Answer<'buf> {
        match request.path() {
            "/events" => Answer::Accept(AcceptOptions::new()),
            "/publish" => Answer::Handoff,
            _ => Answer::Reject(ErrorResponse::not_found()),
        }
    }

    fn on_event(&mut self, _: Instant, event: SessionEvent) {
        self.server.story.lock().unwrap().push(event);
    }

    fn poll_commands(&mut self, now: Instant, session: &mut ServerSession<'buf>) {
        if self.server.close_all.load(Ordering::SeqCst) && !self.closing {
            self.closing = true;
            let _ = session.close(
                now,
                CloseOptions::new().with_retry(Duration::from_millis(250)),
            );
        }
    }
}
