//! Issue 14, hostile peers: a response head with more header lines than the configured limit is
//! a limit the same server will hit again on every reconnect, so the session reports it once and
//! stops (`CloseReason::TooManyHeaders`), as it does for a head over the head buffer, instead of
//! reconnecting for ever. A head at the limit opens.

mod client_harness;

use client_harness::{Act, Client, EXACT, Ev};
use sansse::client::{ClientConfig, CloseReason, State};
use sansse::http::HeadLimits;

const CONFIG: ClientConfig<'static> = ClientConfig::new("example.com", "/events")
    .with_backoff(EXACT)
    .with_head_limits(HeadLimits::new().with_max_headers(4));

/// A `200` event-stream head with `extra` header lines after `Content-Type`.
fn head_with(extra: usize) -> Vec<u8> {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n".to_vec();
    for n in 0..extra {
        head.extend_from_slice(format!("X-{n}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn too_many_header_lines_close_the_session_once() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.connected();

    assert!(client.feed(&head_with(4)).is_empty());

    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::TooManyHeaders { limit: 4 })]
    );
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    assert_eq!(client.state(), State::Closed);
    // No reconnect, however long the application waits.
    client.at(3_600_000).timeout();
    assert!(client.take_events().is_empty());
    assert!(client.take_actions().is_empty());
    assert!(
        CloseReason::TooManyHeaders { limit: 4 }
            .to_string()
            .contains('4')
    );
}

#[test]
fn a_head_at_the_header_line_limit_opens() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.connected();

    client.feed(&head_with(3));

    assert_eq!(client.take_events(), [Ev::Open(200)]);
}
