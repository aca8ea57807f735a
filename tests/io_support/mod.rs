//! Shared by the shell tests: an EventSource-like client on a blocking `std::net::TcpStream`
//! that reads with the crate's response-head reader, body decoder and event parser.
#![allow(dead_code)]

use core::net::SocketAddr;
use core::time::Duration;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant as StdInstant;

use crate::server_support::{Listener, Seen, Wire};

/// Longest any single wait in these tests may take before the test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);

/// An EventSource-like blocking client.
pub(crate) struct Client {
    pub(crate) stream: TcpStream,
    pub(crate) storage: Box<[u8; 2048]>,
    pub(crate) listener: Listener,
    pub(crate) body: Vec<u8>,
    pub(crate) status: Option<u16>,
    pub(crate) wire_ended: bool,
    /// Bytes read and not yet given to the wire reader.
    pub(crate) received: Vec<u8>,
}

impl Client {
    pub(crate) fn connect(addr: SocketAddr, path: &str, last_event_id: Option<&str>) -> Self {
        let mut stream = TcpStream::connect(addr).unwrap();
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             Cache-Control: no-cache\r\n"
        );
        if let Some(id) = last_event_id {
            request.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Self {
            stream,
            storage: Box::new([0; 2048]),
            listener: Listener::new(),
            body: Vec::new(),
            status: None,
            wire_ended: false,
            received: Vec::new(),
        }
    }

    /// Reads until `done` holds for what the client saw; fails the test after [`PATIENCE`].
    pub(crate) fn wait_for(&mut self, done: impl Fn(&[Seen]) -> bool) {
        let start = StdInstant::now();
        while !done(&self.listener.seen) {
            assert!(
                start.elapsed() < PATIENCE,
                "gave up waiting; saw {:?}",
                self.listener.seen
            );
            if self.read_some() == Some(0) {
                panic!("server closed early; saw {:?}", self.listener.seen);
            }
        }
    }

    /// Reads until the server closes the connection.
    pub(crate) fn read_to_end(&mut self) {
        let start = StdInstant::now();
        while self.read_some() != Some(0) {
            assert!(
                start.elapsed() < PATIENCE,
                "the server kept the connection open"
            );
        }
    }

    /// One read: `Some(n)` bytes (0 at the end), `None` when nothing came within 20 ms.
    pub(crate) fn read_some(&mut self) -> Option<usize> {
        let mut buf = [0u8; 1024];
        let n = match self.stream.read(&mut buf) {
            Ok(n) => n,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(error) => panic!("read failed: {error}"),
        };
        self.received.extend_from_slice(&buf[..n]);
        let mut wire = Wire::new(&mut self.storage[..]);
        let mut body = Vec::new();
        // The wire reader is rebuilt from everything received so far: simple, and these
        // responses are small.
        wire.feed(&self.received, |bytes| body.extend_from_slice(bytes));
        self.status = wire.status();
        self.wire_ended = wire.ended;
        if body.len() > self.body.len() {
            self.listener.feed(&body[self.body.len()..]);
            self.body = body;
        }
        Some(n)
    }
}

/// The events among what the client saw, as (type, data, id).
pub(crate) fn events(seen: &[Seen]) -> Vec<(String, String, String)> {
    seen.iter()
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

/// How many bare keep-alive comments (`:`) the client saw.
pub(crate) fn keepalives(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|seen| **seen == Seen::Comment(String::new()))
        .count()
}
