//! Shared by the hostile-peer tests: the crate's paved-path server (`Server::serve`, default
//! buffers, the default timer, a config of the test's own) on smol over loopback, with the
//! fate of every connection recorded; raw blocking clients; and the process's file-descriptor
//! count and resident set size, read from `/proc/self`.
#![allow(dead_code)]

use core::net::SocketAddr;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::Instant as StdInstant;

use sansse::io::server::{Answer, ServeError, Served, Server};
use sansse::io::{FuturesIo, StdHub};
use sansse::replay::{Cursor, TopicLog};
use sansse::server::{AcceptOptions, CloseReason, ServerConfig};

use crate::server_support::{Listener, Seen, Wire};

/// Longest any single wait may take before the test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(8);

/// One connection's end, as the server saw it.
#[derive(Debug)]
pub(crate) struct Ended {
    /// The request target, empty when no head was read.
    pub(crate) target: String,
    /// What `serve` returned.
    pub(crate) served: Result<Served, ServeError>,
    /// When it returned.
    pub(crate) at: StdInstant,
}

impl Ended {
    /// The close reason, when the session closed.
    pub(crate) fn reason(&self) -> Option<CloseReason> {
        match &self.served {
            Ok(Served::Closed { reason }) => Some(*reason),
            _ => None,
        }
    }
}

/// What the test sees of the running server.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    /// Connections whose `serve` is running.
    pub(crate) live: AtomicUsize,
    /// Requests answered (decide called).
    pub(crate) decided: AtomicUsize,
    pub(crate) ended: Mutex<Vec<Ended>>,
}

impl Running {
    /// Waits until `done` holds for the ended connections; fails after [`PATIENCE`].
    pub(crate) fn wait_ended(&self, what: &str, done: impl Fn(&[Ended]) -> bool) {
        wait(what, || done(&self.ended.lock().unwrap()));
    }

    /// The ends of connections whose target is `target`.
    pub(crate) fn reasons_for(&self, target: &str) -> Vec<Option<CloseReason>> {
        self.ended
            .lock()
            .unwrap()
            .iter()
            .filter(|ended| ended.target == target)
            .map(Ended::reason)
            .collect()
    }
}

/// Polls `done` every 2 ms until it holds; fails the test after [`PATIENCE`].
pub(crate) fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let start = StdInstant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs the paved-path server for `hub` with `config` on a thread of its own (one smol
/// `LocalExecutor`, one task per connection) while `test` runs; then stops it, which drops
/// the listener and every connection's task and socket. Every request is accepted as an event
/// stream.
pub(crate) fn with_server<L>(
    hub: &StdHub<L>,
    config: ServerConfig<'static>,
    test: impl FnOnce(&Running),
) where
    L: TopicLog<Cursor = Cursor> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let running = Running {
        addr: listener.local_addr().unwrap(),
        live: AtomicUsize::new(0),
        decided: AtomicUsize::new(0),
        ended: Mutex::new(Vec::new()),
    };
    let server = Server::new().with_config(config);
    let (stop, stopped) = smol::channel::bounded::<()>(1);
    std::thread::scope(|scope| {
        let (running, server) = (&running, &server);
        scope.spawn(move || {
            let listener = smol::Async::new(listener).unwrap();
            let executor = smol::LocalExecutor::new();
            let accept = async {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    running.live.fetch_add(1, Ordering::SeqCst);
                    executor
                        .spawn(connection(stream, hub, server, running))
                        .detach();
                }
            };
            smol::block_on(executor.run(smol::future::or(accept, async {
                let _ = stopped.recv().await;
            })));
        });
        // Stops the server when the test ends, also by a failed assertion.
        let _stop = Stop(stop);
        test(running);
    });
}

struct Stop(smol::channel::Sender<()>);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

async fn connection<L, T>(
    stream: smol::Async<TcpStream>,
    hub: &StdHub<L>,
    server: &Server<'static, T>,
    running: &Running,
) where
    L: TopicLog<Cursor = Cursor>,
    T: sansse::io::Timer + Clone,
{
    let mut target = String::new();
    let served = server
        .serve(FuturesIo::new(stream), hub, |request| {
            target = request.target().to_owned();
            running.decided.fetch_add(1, Ordering::SeqCst);
            Answer::Accept(AcceptOptions::new())
        })
        .await;
    running.ended.lock().unwrap().push(Ended {
        target,
        served,
        at: StdInstant::now(),
    });
    running.live.fetch_sub(1, Ordering::SeqCst);
}

/// As [`with_server`], with the blocking shell: `Server::serve_blocking` on a thread per
/// connection. When `test` ends, every client must be gone: the server wakes its idle
/// connections (a notify) until each has noticed, then stops.
pub(crate) fn with_blocking_server<L>(
    hub: &StdHub<L>,
    config: ServerConfig<'static>,
    test: impl FnOnce(&Running),
) where
    L: TopicLog<Cursor = Cursor> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let running = Running {
        addr: listener.local_addr().unwrap(),
        live: AtomicUsize::new(0),
        decided: AtomicUsize::new(0),
        ended: Mutex::new(Vec::new()),
    };
    let server = Server::new().with_config(config);
    let stop = core::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (running, server, stop) = (&running, &server, &stop);
        scope.spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                running.live.fetch_add(1, Ordering::SeqCst);
                scope.spawn(move || {
                    let mut target = String::new();
                    let served = server.serve_blocking(stream, hub, |request| {
                        target = request.target().to_owned();
                        running.decided.fetch_add(1, Ordering::SeqCst);
                        Answer::Accept(AcceptOptions::new())
                    });
                    running.ended.lock().unwrap().push(Ended {
                        target,
                        served,
                        at: StdInstant::now(),
                    });
                    running.live.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        // Stops the server when the test ends, also by a failed assertion.
        let _stop = StopBlocking {
            stop,
            running,
            wake: &|| hub.notify(),
        };
        test(running);
    });
}

struct StopBlocking<'a> {
    stop: &'a core::sync::atomic::AtomicBool,
    running: &'a Running,
    wake: &'a dyn Fn(),
}

impl Drop for StopBlocking<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.running.addr);
        // Idle connections notice their client left when woken.
        let start = StdInstant::now();
        while self.running.live.load(Ordering::SeqCst) > 0 && start.elapsed() < PATIENCE {
            (self.wake)();
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// An EventSource-like request head for `target`.
pub(crate) fn get(target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n\r\n"
    )
}

/// Connects and sends `request` in one write.
pub(crate) fn connect(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    stream
}

/// How reading a connection ended.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum End {
    /// The server closed it (end of stream).
    Eof,
    /// The server reset it (it closed with unread bytes from us).
    Reset,
}

/// Reads until the server closes the connection; fails after [`PATIENCE`]. Returns the bytes
/// and how it ended.
pub(crate) fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, End) {
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let start = StdInstant::now();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        assert!(
            start.elapsed() < PATIENCE,
            "the server kept the connection open"
        );
        match stream.read(&mut buf) {
            Ok(0) => return (bytes, End::Eof),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                return (bytes, End::Reset);
            }
            Err(error) => panic!("read failed: {error}"),
        }
    }
}

/// An EventSource-like reader of one connection: the crate's response reader, body decoder
/// and parser, kept across reads.
pub(crate) struct EventReader {
    pub(crate) stream: TcpStream,
    wire: Wire<'static>,
    listener: Listener,
    ended: Option<End>,
}

impl EventReader {
    /// Reads the response to what was sent on `stream`. (Leaks 2 KiB of head storage: fine
    /// for the few readers a test makes.)
    pub(crate) fn new(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let storage: &'static mut [u8; 2048] = Box::leak(Box::new([0u8; 2048]));
        Self {
            stream,
            wire: Wire::new(storage),
            listener: Listener::new(),
            ended: None,
        }
    }

    /// Reads until `done` holds for everything seen so far or the connection ends;
    /// `on_progress` hears the count of events after every read. Fails after `patience`.
    pub(crate) fn read_until(
        &mut self,
        patience: Duration,
        mut on_progress: impl FnMut(usize),
        done: impl Fn(&[Seen]) -> bool,
    ) -> Reading {
        let mut buf = vec![0u8; 64 * 1024];
        let start = StdInstant::now();
        while self.ended.is_none() && !done(&self.listener.seen) {
            assert!(
                start.elapsed() < patience,
                "gave up after {:?}; saw {} items",
                start.elapsed(),
                self.listener.seen.len()
            );
            match self.stream.read(&mut buf) {
                Ok(0) => self.ended = Some(End::Eof),
                Ok(n) => {
                    let listener = &mut self.listener;
                    self.wire.feed(&buf[..n], |body| listener.feed(body));
                    on_progress(event_count(&self.listener.seen));
                }
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                    self.ended = Some(End::Reset);
                }
                Err(error) => panic!("read failed: {error}"),
            }
        }
        Reading {
            status: self.wire.status(),
            seen: self.listener.seen.clone(),
            body_ended: self.wire.ended,
            ended: self.ended,
            took: start.elapsed(),
        }
    }

    /// Reads until `count` events were seen in all.
    pub(crate) fn read_events(&mut self, count: usize) -> Reading {
        self.read_until(PATIENCE, |_| {}, |seen| event_count(seen) >= count)
    }
}

/// What [`read_events`] saw.
#[derive(Debug)]
pub(crate) struct Reading {
    pub(crate) status: Option<u16>,
    pub(crate) seen: Vec<Seen>,
    /// The chunked body's last chunk arrived.
    pub(crate) body_ended: bool,
    /// The connection ended (instead of `done` holding).
    pub(crate) ended: Option<End>,
    pub(crate) took: Duration,
}

impl Reading {
    /// The events seen, as (type, data, id).
    pub(crate) fn events(&self) -> Vec<(String, String, String)> {
        self.seen
            .iter()
            .filter_map(|seen| match seen {
                Seen::Event {
                    event_type,
                    data,
                    id,
                } => Some((event_type.clone(), data.clone(), id.clone())),
                _ => None,
            })
            .collect()
    }
}

/// How many events are among `seen`.
pub(crate) fn event_count(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|seen| matches!(seen, Seen::Event { .. }))
        .count()
}

/// Open file descriptors of this process (the directory listing's own descriptor included,
/// the same in every count).
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// This process's resident set size in bytes (`VmRSS` in `/proc/self/status`).
pub(crate) fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// What an SSE client reads back for `data` after the encoder split it on every CR, LF and
/// CRLF and the parser joined the lines with LF (WHATWG: each of them is one line break).
pub(crate) fn normalised(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

/// The payloads that try to break out of one event's `data`.
pub(crate) const HOSTILE_PAYLOADS: [&str; 12] = [
    "a\rb",
    "a\nb",
    "a\r\nb",
    "\n\ndata: injected",
    "\r\rid: 9",
    "x\r\n\r\nevent: evil\r\ndata: injected\r\n\r\n",
    "nul \0 inside\0",
    "ends with CR\r",
    "ends with LF\n",
    "\r\n",
    "",
    "retry: 1\n: comment\nid: 9\n\n",
];

/// One request on a connection of its own (`Content-Length` set, `body` as text); the status
/// and the response body once the server closes.
#[allow(
    dead_code,
    reason = "not every test that uses this module sends plain requests"
)]
pub(crate) fn request_once(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}
