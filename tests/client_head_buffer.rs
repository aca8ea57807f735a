//! Issue 14: a response head buffer too small for the server's heads is a configuration error,
//! reported once (at construction when no useful head could fit, at run time when a head
//! overflows it), never a reconnect loop.

mod client_harness;

use client_harness::{Act, Client, EXACT, Ev};
use sansse::Instant;
use sansse::client::{
    ClientConfig, ClientSession, ClientStorage, CloseReason, ConfigError, MIN_HEAD_BUFFER, State,
};
use sansse::http::HeadLimits;

const CONFIG: ClientConfig<'static> =
    ClientConfig::new("example.com", "/events").with_backoff(EXACT);

#[test]
fn a_head_buffer_below_the_floor_is_refused_at_construction() {
    assert_eq!(MIN_HEAD_BUFFER, 128);
    let mut small = ClientStorage::<1024, 127, 512, 64>::new();
    let error = ClientSession::new(Instant::ZERO, CONFIG, small.buffers(), 1).unwrap_err();
    assert_eq!(
        error,
        ConfigError::HeadBufferTooSmall {
            available: 127,
            min: MIN_HEAD_BUFFER
        }
    );
    assert!(error.to_string().contains("127"), "{error}");

    let mut floor = ClientStorage::<1024, 128, 512, 64>::new();
    assert!(ClientSession::new(Instant::ZERO, CONFIG, floor.buffers(), 1).is_ok());
}

#[test]
fn a_head_limit_below_the_floor_is_refused_too() {
    let config = CONFIG.with_head_limits(HeadLimits::new().with_max_head(64));
    let mut storage = ClientStorage::<1024, 2048, 512, 64>::new();
    assert_eq!(
        ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap_err(),
        ConfigError::HeadBufferTooSmall {
            available: 64,
            min: MIN_HEAD_BUFFER
        }
    );
}

#[test]
fn a_head_larger_than_the_buffer_closes_the_session_once() {
    let config = CONFIG.with_head_limits(HeadLimits::new().with_max_head(MIN_HEAD_BUFFER));
    let mut client = Client::new(config);
    client.take_actions();
    client.connected();
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n".to_vec();
    head.extend_from_slice(format!("Set-Cookie: {}\r\n\r\n", "c".repeat(100)).as_bytes());
    assert!(client.feed(&head).is_empty());
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::HeadTooLarge {
            limit: MIN_HEAD_BUFFER
        })]
    );
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.session.poll_timeout(), None);
    // Nothing more happens, however long the application waits.
    client.at(3_600_000).timeout();
    assert!(client.take_events().is_empty());
    assert!(client.take_actions().is_empty());
}

#[test]
fn a_head_that_fits_the_floor_opens_the_stream() {
    let config = CONFIG.with_head_limits(HeadLimits::new().with_max_head(MIN_HEAD_BUFFER));
    let mut client = Client::new(config);
    client.connected();
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n";
    assert!(head.len() <= MIN_HEAD_BUFFER);
    client.feed(head);
    assert_eq!(client.take_events(), [Ev::Open(200)]);
}
