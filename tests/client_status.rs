//! What the client does with each kind of response head.

mod client_harness;

use core::time::Duration;

use client_harness::{Act, Client, EXACT, Ev, connect_to, msg};
use sansse::client::{ClientConfig, CloseReason, ReconnectReason, State, TimerReason};
use sansse::http::{Failure, Policy, ResponseError};

const CONFIG: ClientConfig<'static> =
    ClientConfig::new("example.com", "/events").with_backoff(EXACT);

#[test]
fn event_stream_opens_and_delivers() {
    let mut client = Client::new(CONFIG);
    assert_eq!(client.take_actions(), [connect_to("example.com", 80)]);
    client.at(10);
    let request = client.connected();
    assert!(request.starts_with("GET /events HTTP/1.1\r\nHost: example.com\r\n"));
    let got = client.open(b"data: one\n\ndata: two\n\n");
    assert_eq!(got, [msg("message", "one", ""), msg("message", "two", "")]);
    assert_eq!(client.take_events(), [Ev::Open(200)]);
    assert_eq!(client.state(), State::Open);
}

#[test]
fn no_content_stops_for_good() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(b"HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(client.take_events(), [Ev::Closed(CloseReason::NoContent)]);
    assert_eq!(
        client.take_actions(),
        [connect_to("example.com", 80), Act::Disconnect]
    );
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.session.poll_timeout(), None);
    // Nothing brings it back.
    client.at(1_000_000).timeout();
    client.eof();
    assert!(client.feed(b"data: late\n\n").is_empty());
    assert!(client.take_actions().is_empty());
    assert!(client.take_events().is_empty());
}

#[test]
fn wrong_content_type_fails_permanently() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let got = client.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\ndata: x\n\n");
    assert!(got.is_empty());
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::Failed(Failure::NotEventStream))]
    );
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn compressed_stream_fails_permanently() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n",
    );
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::Failed(Failure::ContentCoding))]
    );
}

#[test]
fn client_errors_fail_permanently() {
    for status in [400u16, 401, 403, 404, 410] {
        let mut client = Client::new(CONFIG);
        client.connected();
        client.feed(format!("HTTP/1.1 {status} Nope\r\n\r\n").as_bytes());
        assert_eq!(
            client.take_events(),
            [Ev::Closed(CloseReason::Failed(Failure::Status(status)))],
            "status {status}"
        );
    }
}

#[test]
fn server_errors_are_retried_with_backoff() {
    for status in [500u16, 502, 503, 408, 429] {
        let mut client = Client::new(CONFIG);
        client.connected();
        client.feed(format!("HTTP/1.1 {status} Busy\r\n\r\n").as_bytes());
        assert_eq!(
            client.take_events(),
            [Ev::Reconnecting {
                delay_ms: 1_000,
                attempt: 1,
                reason: ReconnectReason::Status(status),
            }],
            "status {status}"
        );
        assert_eq!(client.state(), State::Waiting);
    }
}

#[test]
fn retry_after_on_503_sets_the_delay() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.at(100).connected();
    client.feed(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\n\r\n");
    assert_eq!(
        client.take_events(),
        [Ev::Reconnecting {
            delay_ms: 10_000,
            attempt: 1,
            reason: ReconnectReason::Status(503),
        }]
    );
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    let deadline = client.session.poll_deadline().unwrap();
    assert_eq!(deadline.at.as_millis(), 10_100);
    assert_eq!(deadline.reason, TimerReason::Reconnect);

    client.at(10_099).timeout();
    assert!(client.take_actions().is_empty());
    client.at(10_100).timeout();
    assert_eq!(client.take_actions(), [connect_to("example.com", 80)]);

    // Retry-After applied to that one delay only: the next failure follows the backoff.
    client.connected();
    client.feed(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
    assert_eq!(
        client.take_events(),
        [Ev::Reconnecting {
            delay_ms: 2_000,
            attempt: 2,
            reason: ReconnectReason::Status(503),
        }]
    );
}

#[test]
fn overridden_policy_retries_and_refuses_as_told() {
    const POLICY: Policy = Policy::new().retry_on(404).no_retry_on(503);
    let config = CONFIG.with_policy(POLICY);

    let mut client = Client::new(config);
    client.connected();
    client.feed(b"HTTP/1.1 404 Not Yet\r\n\r\n");
    assert!(matches!(
        client.take_events()[..],
        [Ev::Reconnecting {
            reason: ReconnectReason::Status(404),
            ..
        }]
    ));

    let mut client = Client::new(config);
    client.connected();
    client.feed(b"HTTP/1.1 503 Retired\r\n\r\n");
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::Failed(Failure::Status(503)))]
    );
}

#[test]
fn malformed_head_is_retried() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(b"ICY 200 OK\r\n\r\n");
    assert_eq!(
        client.take_events(),
        [Ev::Reconnecting {
            delay_ms: 1_000,
            attempt: 1,
            reason: ReconnectReason::InvalidResponse(ResponseError::InvalidStatusLine),
        }]
    );
}

#[test]
fn head_in_pieces_and_interim_responses() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let response = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: Text/Event-Stream; charset=utf-8\r\n\r\nid: 1\ndata: a\n\n";
    let mut got = Vec::new();
    for byte in response.chunks(1) {
        got.extend(client.feed(byte));
    }
    assert_eq!(got, [msg("message", "a", "1")]);
    assert_eq!(client.take_events(), [Ev::Open(200)]);
}

#[test]
fn connect_timeout_covers_connect_and_head() {
    let config = CONFIG.with_connect_timeout(Duration::from_secs(5));
    let mut client = Client::new(config);
    client.take_actions();
    let deadline = client.session.poll_deadline().unwrap();
    assert_eq!(deadline.at.as_millis(), 5_000);
    assert_eq!(deadline.reason, TimerReason::Connect);

    client.at(1_000).connected();
    client.feed(b"HTTP/1.1 200 OK\r\n");
    client.at(4_999).timeout();
    assert_eq!(client.state(), State::Connecting);
    client.at(5_000).timeout();
    assert_eq!(
        client.take_events(),
        [Ev::Reconnecting {
            delay_ms: 1_000,
            attempt: 1,
            reason: ReconnectReason::ConnectTimeout,
        }]
    );
    assert_eq!(client.take_actions(), [Act::Disconnect]);
}

#[test]
fn connect_error_is_retried_and_stale_reports_are_ignored() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.at(3);
    client
        .session
        .handle_error(client.now, sansse::client::ErrorKind::ConnectionRefused);
    client.drain();
    assert_eq!(
        client.take_events(),
        [Ev::Reconnecting {
            delay_ms: 1_000,
            attempt: 1,
            reason: ReconnectReason::Io(sansse::client::ErrorKind::ConnectionRefused),
        }]
    );
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    // A late `connected`, bytes and EOF for the abandoned attempt change nothing.
    client.session.handle_connected(client.now).unwrap();
    assert!(client.feed(b"HTTP/1.1 200 OK\r\n\r\n").is_empty());
    client.eof();
    assert!(client.take_events().is_empty());
    assert!(client.take_actions().is_empty());
    assert_eq!(
        client.session.poll_transmit(client.now, &mut [0u8; 16]),
        None
    );
    assert_eq!(client.state(), State::Waiting);
}
