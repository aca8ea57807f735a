//! Shared by the hostile-server tests of the client shells: a one-connection-at-a-time server
//! on loopback whose every connection runs a hostile script, stopped (and every socket closed)
//! when the test drops it; the process's resident set size; and a lock that runs these tests
//! one at a time, so that one test's memory does not show up in another's measurement.

#![allow(dead_code)]

use core::net::SocketAddr;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// A `200` head that opens an event stream (no framing header: the body runs to the close).
pub(crate) const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

/// How long one socket operation of the server waits before it checks whether to stop.
const TICK: Duration = Duration::from_millis(20);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the lock that runs the tests of one binary one at a time (a failed test poisons it;
/// the next one takes it anyway).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a hostile script may do with a connection, after the request head was read.
pub(crate) struct Conn<'a> {
    stream: &'a mut TcpStream,
    stop: &'a AtomicBool,
    sent: &'a AtomicU64,
}

impl Conn<'_> {
    /// Writes all of `bytes`; `false` once the client has gone (or the test is over).
    pub(crate) fn send(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.stream.write(bytes) {
                Ok(0) => return false,
                Ok(n) => {
                    self.sent.fetch_add(n as u64, Ordering::Relaxed);
                    bytes = &bytes[n..];
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Sends `bytes` again and again, up to `total` bytes; `false` once the client has gone.
    pub(crate) fn send_repeated(&mut self, bytes: &[u8], total: u64) -> bool {
        let mut left = total;
        while left > 0 {
            let n = usize::try_from(left.min(bytes.len() as u64)).unwrap();
            if !self.send(&bytes[..n]) {
                return false;
            }
            left -= n as u64;
        }
        true
    }

    /// Says nothing until the client closes the connection (or the test is over); discards
    /// whatever the client sends.
    pub(crate) fn hold(&mut self) {
        let mut sink = [0u8; 256];
        while !self.stop.load(Ordering::Relaxed) {
            match self.stream.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

/// A hostile server: runs `script` on every connection it accepts, one connection at a time.
pub(crate) struct Hostile {
    pub(crate) addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    /// Starts the server on a thread of its own. With `read_request`, each connection's request
    /// head is read before the script runs.
    pub(crate) fn start(
        read_request: bool,
        script: impl Fn(&mut Conn<'_>) + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicU64::new(0));
        let requests = Arc::<Mutex<Vec<String>>>::default();
        let thread = {
            let (stop, accepted, sent) = (stop.clone(), accepted.clone(), sent.clone());
            let requests = requests.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                            continue;
                        }
                        Err(e) => panic!("accept: {e}"),
                    };
                    accepted.fetch_add(1, Ordering::Relaxed);
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(TICK)).unwrap();
                    stream.set_write_timeout(Some(TICK)).unwrap();
                    if read_request {
                        match read_head(&mut stream, &stop) {
                            Some(head) => requests.lock().unwrap().push(head),
                            None => continue,
                        }
                    }
                    script(&mut Conn {
                        stream: &mut stream,
                        stop: &stop,
                        sent: &sent,
                    });
                    // The stream drops (closes) here, before the next accept.
                }
                // The listener drops here.
            })
        };
        Self {
            addr,
            stop,
            accepted,
            sent,
            requests,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The request heads read so far, in order.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Bytes the client's kernel took from this server so far, over all connections.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Hostile {
    /// Stops the server and waits for its thread: every socket it had is closed after this.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panic of the server thread fails the test, unless the test is failing already.
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the hostile server panicked");
            }
        }
    }
}

/// Reads up to the blank line that ends a request head; `None` if the client left first.
fn read_head(stream: &mut TcpStream, stop: &AtomicBool) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut byte) {
            Ok(0) => return None,
            Ok(_) => {
                head.push(byte[0]);
                if head.ends_with(b"\r\n\r\n") {
                    return Some(String::from_utf8_lossy(&head).into_owned());
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    None
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

/// Open file descriptors of this process.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
