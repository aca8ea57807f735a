//! The request each attempt sends: method, headers, body, queued output.

mod client_harness;

use client_harness::{Client, EXACT, Ev, header};
use sansse::BufferTooSmall;
use sansse::Instant;
use sansse::client::{
    ClientConfig, ClientSession, ClientStorage, CloseReason, ConfigError, MAX_HEADERS,
    RequestBuildError, State,
};
use sansse::http::RequestWriteError;

const HEADERS: &[(&str, &str)] = &[("X-Device", "42"), ("Accept-Language", "de")];

const CONFIG: ClientConfig<'static> = ClientConfig::new("example.com", "/events")
    .with_method("POST")
    .with_body(b"subscribe=a,b")
    .with_headers(HEADERS)
    .with_backoff(EXACT);

const EXPECTED: &str = "POST /events HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\n\
     Cache-Control: no-cache\r\nX-Device: 42\r\nAccept-Language: de\r\n\
     Content-Length: 13\r\n\r\nsubscribe=a,b";

#[test]
fn headers_and_body_are_resent_on_every_attempt() {
    let mut client = Client::new(CONFIG);
    assert_eq!(client.connected(), EXPECTED);
    // Three ways to lose a connection; each attempt sends the same request.
    client.feed(b"HTTP/1.1 503 Busy\r\n\r\n");
    client.fire();
    assert_eq!(client.connected(), EXPECTED);
    client.feed(client_harness::SSE_HEAD);
    client.eof();
    client.fire();
    assert_eq!(client.connected(), EXPECTED);
    client
        .session
        .handle_error(client.now, sansse::client::ErrorKind::ConnectionReset);
    client.fire();
    assert_eq!(client.connected(), EXPECTED);
    assert_eq!(client.requests.len(), 4);
}

#[test]
fn per_attempt_headers_follow_the_configured_ones_and_are_not_kept() {
    let mut client = Client::new(CONFIG.with_method("GET"));
    client.requests.push(Vec::new());
    client
        .session
        .handle_connected_with_headers(client.now, &[("Authorization", "Bearer one")])
        .unwrap();
    client.drain();
    let first = String::from_utf8(client.requests[0].clone()).unwrap();
    assert!(first.contains("X-Device: 42\r\nAccept-Language: de\r\nAuthorization: Bearer one\r\n"));

    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    client.fire();
    client.requests.push(Vec::new());
    let token = String::from("Bearer two");
    client
        .session
        .handle_connected_with_headers(client.now, &[("Authorization", &token)])
        .unwrap();
    drop(token);
    client.drain();
    let second = String::from_utf8(client.requests[1].clone()).unwrap();
    assert_eq!(header(&second, "Authorization"), Some("Bearer two"));

    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    client.fire();
    assert_eq!(header(&client.connected(), "Authorization"), None);
}

#[test]
fn request_leaves_through_a_small_buffer_in_order() {
    let mut client = Client::new(CONFIG);
    client.session.handle_connected(Instant::ZERO).unwrap();
    let mut sent = Vec::new();
    let mut buf = [0u8; 7];
    while let Some(n) = client.session.poll_transmit(client.now, &mut buf) {
        assert!(n > 0 && n <= 7);
        sent.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8(sent).unwrap(), EXPECTED);
    assert_eq!(client.session.poll_transmit(client.now, &mut buf), None);
}

#[test]
fn nothing_to_transmit_before_connected() {
    let mut client = Client::new(CONFIG);
    assert_eq!(
        client.session.poll_transmit(client.now, &mut [0u8; 64]),
        None
    );
    assert_eq!(client.state(), State::Connecting);
}

#[test]
fn queued_request_is_forgotten_when_the_connection_drops() {
    let mut client = Client::new(CONFIG);
    client.session.handle_connected(Instant::ZERO).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(client.session.poll_transmit(client.now, &mut buf), Some(10));
    client.eof();
    assert_eq!(client.session.poll_transmit(client.now, &mut buf), None);
}

#[test]
fn too_many_headers_close_the_session() {
    let mut client = Client::new(CONFIG);
    let extra = [("X-A", "1"); MAX_HEADERS - 1];
    assert_eq!(
        client
            .session
            .handle_connected_with_headers(client.now, &extra),
        Err(RequestBuildError::TooManyHeaders { max: MAX_HEADERS })
    );
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::Request(
            RequestBuildError::TooManyHeaders { max: MAX_HEADERS }
        ))]
    );
}

#[test]
fn reserved_header_is_refused_at_construction() {
    let mut storage = ClientStorage::<1024, 512, 512, 64>::new();
    let config = ClientConfig::new("h", "/").with_headers(&[("Last-Event-ID", "1")]);
    assert_eq!(
        ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap_err(),
        ConfigError::Request(RequestBuildError::Write(RequestWriteError::ReservedHeader))
    );
}

#[test]
fn transmit_buffer_must_hold_the_head_with_the_longest_id() {
    // Head without id: 79 bytes; `Last-Event-ID: ` + 64 + CRLF adds 81.
    let config = ClientConfig::new("h", "/");
    let mut fits = ClientStorage::<4096, 512, 160, 64>::new();
    assert!(ClientSession::new(Instant::ZERO, config, fits.buffers(), 1).is_ok());
    let mut short = ClientStorage::<4096, 512, 159, 64>::new();
    assert_eq!(
        ClientSession::new(Instant::ZERO, config, short.buffers(), 1).unwrap_err(),
        ConfigError::Request(RequestBuildError::Write(RequestWriteError::BufferTooSmall(
            BufferTooSmall { needed: 160 }
        )))
    );
}

#[test]
fn initial_id_longer_than_the_parser_accepts_is_refused() {
    let long = "x".repeat(65).leak();
    let mut storage: ClientStorage = ClientStorage::new();
    let config = ClientConfig::new("h", "/").with_last_event_id(long);
    assert_eq!(
        ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap_err(),
        ConfigError::LastEventIdTooLong { max: 64 }
    );
}
