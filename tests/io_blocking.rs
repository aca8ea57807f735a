//! The blocking server loop (`io::server::serve_blocking`), one thread per connection over
//! loopback TCP, against the same blocking EventSource-like client as the async loop's tests.
//!
//! Checks: events arrive and a resume replays exactly; keep-alives arrive on time and a client
//! that left is noticed at the next one; a client that never finishes its request head is
//! dropped at the head timeout. Every wait is bounded.

mod io_support;
mod server_support;

use core::net::SocketAddr;
use core::ops::ControlFlow;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Instant as StdInstant;

use io_support::{Client, events, keepalives};
use sansse::Instant;
use sansse::http::RequestHead;
use sansse::io::StdHub;
use sansse::io::server::{self, Answer, Handler, ServerStorage};
use sansse::replay::Ring;
use sansse::server::{
    AcceptOptions, CloseOptions, CloseReason, ServerConfig, ServerSession, SessionEvent,
};
use server_support::Seen;

type Log = Ring<64, 16_384>;

#[test]
fn events_arrive_and_a_resume_replays_exactly() {
    let hub = StdHub::new(Log::new(4));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut first = Client::connect(server.addr, "/events", None);
        first.wait_for(|seen| !seen.is_empty());
        for n in 1..=3 {
            hub.publish(None, &format!("event {n}")).unwrap();
        }
        first.wait_for(|seen| events(seen).len() == 3);
        drop(first);

        let mut second = Client::connect(server.addr, "/events", Some("4-2"));
        second.wait_for(|seen| events(seen).len() == 1);
        hub.publish(None, "event 4").unwrap();
        second.wait_for(|seen| events(seen).len() == 2);

        let ids: Vec<String> = events(&second.listener.seen)
            .into_iter()
            .map(|(_, data, id)| format!("{id} {data}"))
            .collect();
        assert_eq!(ids, ["4-3 event 3", "4-4 event 4"]);
    });
}

#[test]
fn keep_alives_arrive_on_time_and_a_client_that_left_is_noticed_at_the_next() {
    let hub = StdHub::new(Log::new(1));
    let config = ServerConfig::new().with_keepalive(Some(Duration::from_millis(100)));
    with_server(&hub, config, |server| {
        let mut client = Client::connect(server.addr, "/events", None);
        client.wait_for(|seen| seen.contains(&Seen::Comment("keepalive 100".into())));
        let opened = StdInstant::now();
        client.wait_for(|seen| keepalives(seen) == 2);
        let second = opened.elapsed();

        drop(client);
        server.wait_for_close(CloseReason::PeerClosed, Duration::from_millis(500));

        assert!(
            second >= Duration::from_millis(190),
            "second after {second:?}"
        );
        assert!(
            second < Duration::from_millis(700),
            "second after {second:?}"
        );
    });
}

#[test]
fn a_request_head_that_never_ends_is_dropped_at_the_head_timeout() {
    let hub = StdHub::new(Log::new(1));
    let config = ServerConfig::new().with_head_timeout(Duration::from_millis(100));
    with_server(&hub, config, |server| {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        std::io::Write::write_all(&mut stream, b"GET /events HTTP/1.1\r\nHost:").unwrap();

        server.wait_for_close(CloseReason::HeadTimeout, Duration::from_millis(600));
    });
}

// ---------------------------------------------------------------------------------------------

struct Server {
    addr: SocketAddr,
    story: Mutex<Vec<(StdInstant, SessionEvent)>>,
    stopping: AtomicBool,
}

impl Server {
    /// Waits until some session closed for `expected`, at most `within`.
    fn wait_for_close(&self, expected: CloseReason, within: Duration) {
        let start = StdInstant::now();
        loop {
            let story = self.story.lock().unwrap();
            if story
                .iter()
                .any(|(_, event)| *event == SessionEvent::Closed { reason: expected })
            {
                return;
            }
            assert!(start.elapsed() < within, "no {expected:?} in {story:?}");
            drop(story);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Runs an accept thread and one thread per connection while `test` runs; then closes every
/// session and waits for all threads.
fn with_server(hub: &StdHub<Log>, config: ServerConfig<'static>, test: impl FnOnce(&Server)) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let server = Server {
        addr: listener.local_addr().unwrap(),
        story: Mutex::new(Vec::new()),
        stopping: AtomicBool::new(false),
    };
    std::thread::scope(|scope| {
        let server = &server;
        scope.spawn(move || {
            while !server.stopping.load(Ordering::SeqCst) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                scope.spawn(move || {
                    let mut storage = ServerStorage::<1024, 64, 4096>::sized();
                    let mut handler = TestHandler { server };
                    let _ = server::Server::new()
                        .with_config(config)
                        .serve_blocking_with(&mut stream, hub, &mut storage, &mut handler);
                });
            }
        });
        let _stop = Stop(server, hub);
        test(server);
    });
}

/// Ends every session when the test ends, also by a failed assertion, so the scope can join.
struct Stop<'s>(&'s Server, &'s StdHub<Log>);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.stopping.store(true, Ordering::SeqCst);
        self.1.notify();
    }
}

struct TestHandler<'s> {
    server: &'s Server,
}

impl<'buf> Handler<'buf> for TestHandler<'_> {
    fn decide(&mut self, _: Instant, _: &RequestHead<'_>) -> Answer<'buf> {
        Answer::Accept(AcceptOptions::new())
    }

    fn on_event(&mut self, _: Instant, event: SessionEvent) -> ControlFlow<()> {
        let mut story = self.server.story.lock().unwrap();
        story.push((StdInstant::now(), event));
        ControlFlow::Continue(())
    }

    fn poll_commands(&mut self, now: Instant, session: &mut ServerSession<'buf>) {
        if self.server.stopping.load(Ordering::SeqCst) {
            let _ = session.close_with(now, CloseOptions::new());
        }
    }
}
