//! Every rule for the id a reconnect resumes from.

mod client_harness;

use client_harness::{CHUNKED_HEAD, Client, EXACT, Ev, SSE_HEAD, msg};
use sansse::client::{ClientConfig, ReconnectReason, State};

const CONFIG: ClientConfig<'static> =
    ClientConfig::new("example.com", "/events").with_backoff(EXACT);

/// Ends the connection and reconnects; returns the `Last-Event-ID` of the new request.
fn reconnect(client: &mut Client) -> Option<String> {
    client.eof();
    client.fire();
    client.connected();
    client.last_request_id()
}

#[test]
fn no_header_until_there_is_an_id() {
    let mut client = Client::new(CONFIG);
    client.open(b"data: no id\n\n");
    assert!(!client.connected_request_has_id(0));
    assert_eq!(reconnect(&mut client), None);
}

#[test]
fn id_survives_reconnects() {
    let mut client = Client::new(CONFIG);
    client.open(b"id: 7\ndata: a\n\n");
    assert_eq!(reconnect(&mut client), Some("7".to_owned()));
    // And the next one, with no new events in between.
    client.feed(SSE_HEAD);
    assert_eq!(reconnect(&mut client), Some("7".to_owned()));
}

#[test]
fn id_survives_events_without_id() {
    let mut client = Client::new(CONFIG);
    let got = client.open(b"id: 7\ndata: a\n\ndata: b\n\nevent: x\ndata: c\n\n");
    assert_eq!(
        got,
        [
            msg("message", "a", "7"),
            msg("message", "b", "7"),
            msg("x", "c", "7")
        ]
    );
    assert_eq!(reconnect(&mut client), Some("7".to_owned()));
}

#[test]
fn explicit_empty_id_clears_it() {
    for clear in [&b"id\n"[..], b"id:\n", b"id: \n"] {
        let mut client = Client::new(CONFIG);
        let mut body = b"id: 7\ndata: a\n\n".to_vec();
        body.extend_from_slice(clear);
        body.extend_from_slice(b"data: b\n\n");
        let got = client.open(&body);
        assert_eq!(got, [msg("message", "a", "7"), msg("message", "b", "")]);
        assert_eq!(reconnect(&mut client), None, "{clear:?}");
    }
}

#[test]
fn id_only_block_sets_the_id() {
    let mut client = Client::new(CONFIG);
    assert!(client.open(b"id: 9\n\n").is_empty());
    assert_eq!(reconnect(&mut client), Some("9".to_owned()));
}

/// WHATWG HTML §9.2.6, "dispatch the event": the last event ID string is set from the buffer
/// *before* the empty data buffer makes the dispatch return, so an id-only block sets the resume
/// id, also after lines of garbage (unknown fields, NULs, invalid UTF-8) that the parser ignores.
/// The client fuzz target once flagged this as a fault; the target's model was wrong (see
/// `fuzz/README.md`), and this is the rule it now follows.
#[test]
fn an_id_only_block_after_garbage_sets_the_resume_id() {
    let mut client = Client::new(CONFIG);
    let got = client.open(b"\0\0\0\0\xff\xff\xff6\xff\xffa\n\nid: 2\ndat55 b\n\n");
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(client.session.last_event_id(), "2");
    assert_eq!(client.session.resume_id(), "2");
    assert_eq!(reconnect(&mut client), Some("2".to_owned()));
}

#[test]
fn id_of_a_partial_event_cut_by_the_disconnect_is_never_taken() {
    let mut client = Client::new(CONFIG);
    let got = client.open(b"id: 7\ndata: a\n\nid: 8\ndata: cut");
    assert_eq!(got, [msg("message", "a", "7")]);
    assert_eq!(client.session.last_event_id(), "7");
    assert_eq!(reconnect(&mut client), Some("7".to_owned()));
}

#[test]
fn partial_message_is_discarded_on_retry() {
    let mut client = Client::new(CONFIG);
    client.open(b"id: 1\ndata: first\n\nid: 2\ndata: half of it\n");
    client.eof();
    client.fire();
    client.connected();
    // Had the partial event survived, this blank line would dispatch it.
    let got = client.feed(&[SSE_HEAD, b"\ndata: fresh\n\n"].concat());
    assert_eq!(got, [msg("message", "fresh", "1")]);
}

#[test]
fn partial_message_is_discarded_when_the_body_ends() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let mut bytes = CHUNKED_HEAD.to_vec();
    bytes.extend_from_slice(b"f\r\nid: 3\ndata: x\n\n\r\n9\r\nid: 4\ndat\r\n0\r\n\r\n");
    assert_eq!(client.feed(&bytes), [msg("message", "x", "3")]);
    assert!(matches!(
        client.take_events()[..],
        [
            Ev::Open(200),
            Ev::Reconnecting {
                reason: ReconnectReason::BodyEnded,
                ..
            }
        ]
    ));
    client.fire();
    client.connected();
    assert_eq!(client.last_request_id(), Some("3".to_owned()));
}

#[test]
fn id_with_nul_is_ignored() {
    let mut client = Client::new(CONFIG);
    let got = client.open(b"id: 5\ndata: a\n\nid: 6\0\ndata: b\n\n");
    assert_eq!(got, [msg("message", "a", "5"), msg("message", "b", "5")]);
    assert_eq!(reconnect(&mut client), Some("5".to_owned()));
}

/// Issue 14: the id of an event too large for the parser is committed, so a reconnect never asks
/// for it again (a stream that ends after it would otherwise loop: skip, reconnect, skip).
#[test]
fn id_of_a_skipped_oversized_event_is_taken() {
    let mut client = Client::new(CONFIG);
    let big = format!("id: 2\ndata: {}\n\n", "x".repeat(5000));
    let body = [
        b"id: 1\ndata: a\n\n".as_slice(),
        big.as_bytes(),
        b"data: b\n\n",
    ]
    .concat();
    let got = client.open(&body);
    assert_eq!(got, [msg("message", "a", "1"), msg("message", "b", "2")]);
    assert_eq!(client.skipped, 1);
    assert_eq!(reconnect(&mut client), Some("2".to_owned()));
}

#[test]
fn initial_id_is_sent_on_the_first_attempt_and_kept() {
    let mut client = Client::new(CONFIG.with_last_event_id("41"));
    client.connected();
    assert_eq!(client.last_request_id(), Some("41".to_owned()));
    // Events without id report it.
    assert_eq!(
        client.feed(&[SSE_HEAD, b"data: a\n\n"].concat()),
        [msg("message", "a", "41")]
    );
    assert_eq!(reconnect(&mut client), Some("41".to_owned()));
}

#[test]
fn undrained_messages_reconnect_from_the_last_event_seen() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let bytes = [
        SSE_HEAD,
        b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n",
    ]
    .concat();
    let mut messages = client.session.handle_bytes(client.now, &bytes);
    let first = messages.next().unwrap().unwrap();
    assert_eq!(first.id(), "1");
    drop(messages);
    client.drain();
    let events = client.take_events();
    assert!(
        matches!(
            events[..],
            [
                Ev::Open(200),
                Ev::Reconnecting {
                    reason: ReconnectReason::Undelivered,
                    ..
                }
            ]
        ),
        "{events:?}"
    );
    assert_eq!(client.session.last_event_id(), "1");
    client.fire();
    client.connected();
    assert_eq!(client.last_request_id(), Some("1".to_owned()));
}

#[test]
fn undrained_messages_with_nothing_left_to_deliver_keep_the_connection() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let bytes = [
        SSE_HEAD,
        b"id: 1\ndata: a\n\n: just a comment\nid: 2\n\nretry: 5000\n",
    ]
    .concat();
    let mut messages = client.session.handle_bytes(client.now, &bytes);
    assert_eq!(messages.next().unwrap().unwrap().id(), "1");
    drop(messages);
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.take_events(), [Ev::Open(200), Ev::Retry(5000)]);
    // The id-only block after the event was applied.
    assert_eq!(client.session.last_event_id(), "2");
    // Looked at once, even if not kept, counts as delivered.
    let mut messages = client
        .session
        .handle_bytes(client.now, b"data: glanced at\n\n");
    let _ = messages.next();
    drop(messages);
    assert_eq!(client.state(), State::Open);
    // A message never looked at is not lost: the session reconnects to get it again.
    let never_polled = client
        .session
        .handle_bytes(client.now, b"id: 3\ndata: dropped\n\n");
    drop(never_polled);
    assert_eq!(client.state(), State::Waiting);
    assert_eq!(client.session.last_event_id(), "2");
}

#[test]
fn an_event_too_large_once_decoded_left_unread_costs_no_reconnect() {
    let mut client = Client::new(CONFIG);
    client.connected();
    // 1300 invalid bytes fit the data region raw, but not as 3900 bytes of U+FFFD.
    let bytes = [
        SSE_HEAD,
        b"id: 1\ndata: a\n\nid: 2\ndata: ",
        &[0xFF; 1300],
        b"\n\n",
    ]
    .concat();
    let mut messages = client.session.handle_bytes(client.now, &bytes);
    assert_eq!(messages.next().unwrap().unwrap().id(), "1");
    drop(messages);
    assert_eq!(client.state(), State::Open);
    // Skipped once decoded, its id committed as for any skipped event.
    assert_eq!(client.session.last_event_id(), "2");
    assert_eq!(client.take_events(), [Ev::Open(200)]);
}

#[test]
fn id_a_header_cannot_carry_is_not_sent() {
    let mut client = Client::new(CONFIG);
    let got = client.open(b"id: a\x01b\ndata: x\n\n");
    assert_eq!(got, [msg("message", "x", "a\u{1}b")]);
    assert_eq!(reconnect(&mut client), None);
    assert_eq!(client.state(), State::Connecting);
}

impl Client {
    fn connected_request_has_id(&self, index: usize) -> bool {
        String::from_utf8_lossy(&self.requests[index]).contains("Last-Event-ID")
    }
}
