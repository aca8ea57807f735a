//! Body framing: chunked, `Content-Length` and close-delimited bodies, however they are split.

mod client_harness;

use client_harness::{Client, EXACT, Ev, Msg, msg};
use proptest::prelude::*;
use sansse::client::{ClientConfig, ReconnectReason, State};
use sansse::http::{BodyError, encode_chunk, encode_last_chunk};

const CONFIG: ClientConfig<'static> =
    ClientConfig::new("example.com", "/events").with_backoff(EXACT);

const EVENTS: &[u8] = b"id: 1\nevent: greet\ndata: hello\r\n\r\n:keepalive 15000\ndata: two\ndata: lines\n\nretry: 4000\nid: 2\ndata: \xF0\x9F\x8E\x89\n\n";

fn expected() -> Vec<Msg> {
    vec![
        msg("greet", "hello", "1"),
        msg("message", "two\nlines", "1"),
        msg("message", "\u{1F389}", "2"),
    ]
}

/// A chunked response carrying `EVENTS` in chunks of `size` bytes, and the last chunk.
fn chunked(size: usize) -> Vec<u8> {
    let mut out = client_harness::CHUNKED_HEAD.to_vec();
    for piece in EVENTS.chunks(size) {
        let mut buf = vec![0u8; piece.len() + 32];
        let n = encode_chunk(piece, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    let mut buf = [0u8; 16];
    let n = encode_last_chunk(&mut buf).unwrap();
    out.extend_from_slice(&buf[..n]);
    out
}

fn content_length() -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n",
        EVENTS.len()
    )
    .into_bytes();
    out.extend_from_slice(EVENTS);
    out.extend_from_slice(b"data: after the body\n\n");
    out
}

fn close_delimited() -> Vec<u8> {
    [client_harness::SSE_HEAD, EVENTS].concat()
}

/// Feeds `response` in pieces cut at `cuts` and returns the messages.
fn feed_split(client: &mut Client, response: &[u8], cuts: &[usize]) -> Vec<Msg> {
    let mut got = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain([response.len()].iter()) {
        let cut = cut.clamp(at, response.len());
        got.extend(client.feed(&response[at..cut]));
        at = cut;
    }
    got
}

#[test]
fn chunked_body_ends_with_its_last_chunk() {
    for size in [1, 2, 7, 64, EVENTS.len()] {
        let mut client = Client::new(CONFIG);
        client.connected();
        assert_eq!(client.feed(&chunked(size)), expected(), "chunks of {size}");
        assert_eq!(
            client.session.idle_limit(),
            None,
            "closed after the last chunk"
        );
        let events = client.take_events();
        assert_eq!(
            events,
            [
                Ev::Open(200),
                Ev::Retry(4_000),
                Ev::Reconnecting {
                    delay_ms: 4_000,
                    attempt: 1,
                    reason: ReconnectReason::BodyEnded,
                }
            ]
        );
        assert_eq!(client.session.last_event_id(), "2");
    }
}

#[test]
fn content_length_body_ends_at_its_length() {
    let mut client = Client::new(CONFIG);
    client.connected();
    // Bytes after the announced length are not part of the stream.
    assert_eq!(client.feed(&content_length()), expected());
    assert_eq!(client.state(), State::Waiting);
}

#[test]
fn close_delimited_body_ends_with_the_connection() {
    let mut client = Client::new(CONFIG);
    client.connected();
    assert_eq!(client.feed(&close_delimited()), expected());
    assert_eq!(client.state(), State::Open);
    client.eof();
    assert!(matches!(
        client.take_events().pop(),
        Some(Ev::Reconnecting {
            reason: ReconnectReason::Eof,
            ..
        })
    ));
}

#[test]
fn malformed_chunk_reconnects() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let mut bytes = client_harness::CHUNKED_HEAD.to_vec();
    bytes.extend_from_slice(b"a\r\ndata: ok\n\n\r\nzz\r\ndata: never\n\n");
    assert_eq!(client.feed(&bytes), [msg("message", "ok", "")]);
    assert_eq!(
        client.take_events().pop(),
        Some(Ev::Reconnecting {
            delay_ms: 1_000,
            attempt: 1,
            reason: ReconnectReason::InvalidBody(BodyError::InvalidChunkSize),
        })
    );
}

#[test]
fn every_single_cut_gives_the_same_messages() {
    for response in [chunked(5), content_length(), close_delimited()] {
        for cut in 0..=response.len() {
            let mut client = Client::new(CONFIG);
            client.connected();
            assert_eq!(
                feed_split(&mut client, &response, &[cut]),
                expected(),
                "cut {cut}"
            );
        }
    }
}

#[test]
fn fields_pending_at_the_end_of_a_read_survive_it() {
    // The read ends right after an output (the retry), with an id and a type still pending.
    let mut client = Client::new(CONFIG);
    client.open(b"id: 7\nevent: e\nretry: 414\n");
    assert_eq!(client.feed(b"data: x\n\n"), [msg("e", "x", "7")]);

    let mut client = Client::new(CONFIG);
    client.open(b"id: 7\nevent: e\nretry: 414\n");
    assert!(client.feed(b"\r").is_empty());
    assert_eq!(client.session.last_event_id(), "7");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn splitting_never_changes_the_messages(
        kind in 0usize..3,
        size in 1usize..40,
        mut cuts in proptest::collection::vec(0usize..400, 0..24),
    ) {
        let response = match kind {
            0 => chunked(size),
            1 => content_length(),
            _ => close_delimited(),
        };
        cuts.sort_unstable();
        let mut client = Client::new(CONFIG);
        client.connected();
        prop_assert_eq!(feed_split(&mut client, &response, &cuts), expected());
        prop_assert_eq!(client.session.idle_limit().is_none(), kind != 2);
    }
}
