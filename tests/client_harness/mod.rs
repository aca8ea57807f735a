//! A hand-driven shell for `ClientSession` tests: a fake clock, owned copies of every output,
//! and the request bytes of each attempt. Included by the `client_*` test files with
//! `mod client_harness;`.
#![allow(dead_code, unreachable_pub)]

use core::time::Duration;

use sansse::Instant;
use sansse::backoff::BackoffConfig;
use sansse::client::{
    Action, ClientConfig, ClientSession, ClientStorage, CloseReason, ReconnectReason, SessionEvent,
    State,
};

pub const SSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
pub const CHUNKED_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

/// A backoff without jitter, so delays are exact: 1 s doubling to 8 s.
pub const EXACT: BackoffConfig = BackoffConfig::new()
    .with_reconnection_time(Duration::from_secs(1))
    .with_max_backoff(Duration::from_secs(8))
    .with_jitter_percent(0);

/// What `poll_action` said, owned.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Act {
    Connect {
        host: String,
        port: u16,
        cross_origin: bool,
    },
    Disconnect,
    SendPing,
}

/// What `poll_event` said, owned.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Ev {
    Open(u16),
    Retry(u64),
    Redirected(u16),
    Reconnecting {
        delay_ms: u64,
        attempt: u32,
        reason: ReconnectReason,
    },
    WaitingForLink,
    Persist(String),
    Closed(CloseReason),
}

/// An event handed out by `Messages`, owned: (type, data, id).
pub type Msg = (String, String, String);

pub fn msg(event_type: &str, data: &str, id: &str) -> Msg {
    (event_type.to_owned(), data.to_owned(), id.to_owned())
}

pub struct Client {
    pub session: ClientSession<'static>,
    pub now: Instant,
    /// Requests sent, one per connection that got as far as `handle_connected`.
    pub requests: Vec<Vec<u8>>,
    pub actions: Vec<Act>,
    pub events: Vec<Ev>,
    pub skipped: usize,
}

impl Client {
    pub fn new(config: ClientConfig<'static>) -> Self {
        Self::with_seed(config, 1)
    }

    pub fn with_seed(config: ClientConfig<'static>, seed: u64) -> Self {
        let storage: &'static mut ClientStorage = Box::leak(Box::new(ClientStorage::new()));
        let session = ClientSession::new(Instant::ZERO, config, storage.buffers(), seed)
            .expect("valid config");
        let mut client = Self {
            session,
            now: Instant::ZERO,
            requests: Vec::new(),
            actions: Vec::new(),
            events: Vec::new(),
            skipped: 0,
        };
        client.drain();
        client
    }

    /// Drains actions, transmit bytes (appended to the last request) and events.
    pub fn drain(&mut self) {
        while let Some(action) = self.session.poll_action() {
            self.actions.push(match action {
                Action::Connect {
                    host,
                    port,
                    cross_origin,
                } => Act::Connect {
                    host: host.to_owned(),
                    port,
                    cross_origin,
                },
                Action::Disconnect => Act::Disconnect,
                Action::SendPing => Act::SendPing,
                other => panic!("unknown action {other:?}"),
            });
        }
        let mut buf = [0u8; 64];
        while let Some(n) = self.session.poll_transmit(self.now, &mut buf) {
            self.requests
                .last_mut()
                .expect("bytes only after connected")
                .extend_from_slice(&buf[..n]);
        }
        while let Some(event) = self.session.poll_event() {
            self.events.push(match event {
                SessionEvent::Open { status, .. } => Ev::Open(status),
                SessionEvent::RetryChanged(d) => Ev::Retry(d.as_millis() as u64),
                SessionEvent::Redirected { status } => Ev::Redirected(status),
                SessionEvent::Reconnecting { delay, reason } => Ev::Reconnecting {
                    delay_ms: delay.delay.as_millis() as u64,
                    attempt: delay.attempt,
                    reason,
                },
                SessionEvent::WaitingForLink => Ev::WaitingForLink,
                SessionEvent::PersistId(id) => Ev::Persist(id.to_owned()),
                SessionEvent::Closed { reason } => Ev::Closed(reason),
                other => panic!("unknown event {other:?}"),
            });
        }
    }

    /// Takes the actions seen so far.
    pub fn take_actions(&mut self) -> Vec<Act> {
        self.drain();
        core::mem::take(&mut self.actions)
    }

    /// Takes the events seen so far.
    pub fn take_events(&mut self) -> Vec<Ev> {
        self.drain();
        core::mem::take(&mut self.events)
    }

    pub fn at(&mut self, ms: u64) -> &mut Self {
        self.now = Instant::from_millis(ms);
        self
    }

    /// Reports the connection up and returns the request it sent.
    pub fn connected(&mut self) -> String {
        // The `Connect` must have been taken before the shell can report it done.
        self.drain();
        self.requests.push(Vec::new());
        self.session
            .handle_connected(self.now)
            .expect("request written");
        self.drain();
        String::from_utf8(self.requests.last().cloned().unwrap_or_default()).unwrap()
    }

    /// Feeds bytes and drains every message.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Msg> {
        let mut out = Vec::new();
        let mut messages = self.session.handle_bytes(self.now, bytes);
        while let Some(m) = messages.next() {
            match m {
                Ok(e) => out.push(msg(e.event_type(), e.data(), e.id())),
                Err(_) => self.skipped += 1,
            }
        }
        drop(messages);
        self.drain();
        out
    }

    /// Connects, answers with an event-stream head and feeds `body`.
    pub fn open(&mut self, body: &[u8]) -> Vec<Msg> {
        self.connected();
        let mut bytes = SSE_HEAD.to_vec();
        bytes.extend_from_slice(body);
        self.feed(&bytes)
    }

    pub fn eof(&mut self) {
        self.session.handle_eof(self.now);
        self.drain();
    }

    pub fn timeout(&mut self) {
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Jumps to the next deadline and acts on it.
    pub fn fire(&mut self) -> Instant {
        let at = self.session.poll_timeout().expect("a deadline");
        self.now = at;
        self.timeout();
        at
    }

    pub fn state(&self) -> State {
        self.session.state()
    }

    /// The `Last-Event-ID` of the last request, if it had one.
    pub fn last_request_id(&self) -> Option<String> {
        let request = String::from_utf8(self.requests.last()?.clone()).ok()?;
        header(&request, "Last-Event-ID").map(str::to_owned)
    }
}

/// The value of the first header `name` in a request.
pub fn header<'r>(request: &'r str, name: &str) -> Option<&'r str> {
    let head = request.split("\r\n\r\n").next()?;
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

pub fn connect_to(host: &str, port: u16) -> Act {
    Act::Connect {
        host: host.to_owned(),
        port,
        cross_origin: false,
    }
}
