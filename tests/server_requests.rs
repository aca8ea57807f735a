//! How a server session answers requests: error responses for bad heads, the default check,
//! accept and reject, framing, the caller-contract errors, and output that never splits an
//! event when the lent buffer is short.

mod server_support;

use sansse::BufferTooSmall;
use sansse::http::{CHUNK_HEADER_MAX, ErrorResponse, HeadLimits, RequestError, ResponseWriteError};
use sansse::replay::Ring;
use sansse::server::{
    AcceptError, AcceptOptions, CloseReason, Decision, RejectError, ServerConfig, ServerSession,
    SessionEvent, State, StreamStart, TransmitError, WrittenError,
};
use server_support::{at, drain, events, open, read_response, request};

fn error_bytes(response: ErrorResponse<'_>) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let n = response.write(&mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn bad_request_heads_get_their_error_response_then_close() {
    let cases: [(&[u8], HeadLimits, RequestError); 6] = [
        (b"GARBAGE\r\n\r\n", HeadLimits::DEFAULT, RequestError::InvalidRequestLine),
        (b"GET / HTTP/2.0\r\n", HeadLimits::DEFAULT, RequestError::UnsupportedVersion),
        (b"GET / HTTP/1.1\r\n\r\n", HeadLimits::DEFAULT, RequestError::MissingHost),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n",
            HeadLimits::new().with_max_headers(2),
            RequestError::TooManyHeaders,
        ),
        (
            b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n",
            HeadLimits::new().with_max_start_line(32),
            RequestError::RequestLineTooLong,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nX-Padding: 0123456789012345678901234567890123456789\r\n\r\n",
            HeadLimits::new().with_max_head(48),
            RequestError::HeadTooLarge,
        ),
    ];
    let ring = Ring::<4, 256>::new(1);

    for (input, limits, error) in cases {
        let mut storage = [0u8; 256];
        let config = ServerConfig::new().with_head_limits(limits);
        let mut session = ServerSession::new(at(0), &mut storage, config);

        session.handle_bytes(at(1), input);
        session.handle_bytes(at(2), b"more bytes are ignored");

        assert_eq!(session.state(), State::Closing, "{error}");
        assert_eq!(
            drain(&mut session, at(3), &ring),
            error_bytes(error.response()),
            "{error}"
        );
        assert_eq!(
            events(&mut session),
            [SessionEvent::Closed {
                reason: CloseReason::BadRequest { error }
            }]
        );
    }
}

#[test]
fn a_head_larger_than_the_lent_storage_is_refused_with_431() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 48];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());

    session.handle_bytes(at(0), &request(Some("1-1")));

    let (status, _, _) = read_response(&drain(&mut session, at(0), &ring));
    assert_eq!(status, Some(431));
}

#[test]
fn the_request_is_readable_when_ready() {
    let mut storage = [0u8; 512];
    let mut session: ServerSession<'_> =
        ServerSession::new(at(0), &mut storage, ServerConfig::new());

    session.handle_bytes(
        at(0),
        b"GET /events?topic=a HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 3-9\r\nX-Client: 42\r\n\r\n",
    );

    assert_eq!(events(&mut session), [SessionEvent::RequestReady]);
    let head = session.request().unwrap();
    assert_eq!(head.method(), "GET");
    assert_eq!(head.path(), "/events");
    assert_eq!(head.query(), Some("topic=a"));
    assert_eq!(head.last_event_id(), Some("3-9"));
    assert_eq!(head.header("x-client"), Some(&b"42"[..]));
}

#[test]
fn the_default_check_refuses_other_methods_and_media_types() {
    let ring = Ring::<4, 256>::new(1);
    let cases: [(&[u8], Decision, Option<ErrorResponse<'_>>); 4] = [
        (
            b"POST /e HTTP/1.1\r\nHost: h\r\n\r\n",
            Decision::Rejected { status: 405 },
            Some(ErrorResponse::method_not_allowed("GET")),
        ),
        (
            b"GET /e HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n",
            Decision::Rejected { status: 400 },
            Some(ErrorResponse::bad_request()),
        ),
        (
            b"GET /e HTTP/1.1\r\nHost: h\r\nAccept: text/html, */*;q=0.1\r\n\r\n",
            Decision::Accepted {
                start: StreamStart::Live,
            },
            None,
        ),
        (
            b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n",
            Decision::Accepted {
                start: StreamStart::Live,
            },
            None,
        ),
    ];

    for (input, expected, response) in cases {
        let mut storage = [0u8; 256];
        let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
        session.handle_bytes(at(0), input);

        let decision = session.accept(at(0), &ring, AcceptOptions::new());

        assert_eq!(decision, Ok(expected));
        let wire = drain(&mut session, at(0), &ring);
        match response {
            Some(response) => {
                assert_eq!(wire, error_bytes(response));
                assert_eq!(session.state(), State::Closed);
            }
            None => {
                assert!(wire.starts_with(b"HTTP/1.1 200 OK\r\n"));
                assert_eq!(session.state(), State::Streaming);
            }
        }
    }
}

#[test]
fn the_application_may_reject_with_any_error_response() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    session.handle_bytes(at(0), b"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n");

    session.reject(at(1), ErrorResponse::not_found()).unwrap();

    assert_eq!(
        drain(&mut session, at(2), &ring),
        error_bytes(ErrorResponse::not_found())
    );
    assert_eq!(
        events(&mut session),
        [
            SessionEvent::RequestReady,
            SessionEvent::Closed {
                reason: CloseReason::Rejected { status: 404 }
            }
        ]
    );
}

#[test]
fn load_can_be_shed_before_the_head_is_read() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    let busy = ErrorResponse::service_unavailable(Some(core::time::Duration::from_secs(3)));

    session.reject(at(0), busy).unwrap();
    session.handle_bytes(at(1), &request(None));

    assert_eq!(drain(&mut session, at(1), &ring), error_bytes(busy));
    assert_eq!(session.state(), State::Closed);
}

#[test]
fn contract_violations_are_errors_that_change_nothing() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());

    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new()),
        Err(AcceptError::RequestNotReady)
    );
    session.handle_bytes(at(0), &request(None));
    let reserved = [("Content-Encoding", "gzip")];
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new().with_headers(&reserved)),
        Err(AcceptError::InvalidHeaders {
            error: ResponseWriteError::ReservedHeader
        })
    );
    assert_eq!(session.state(), State::AwaitingDecision);
    assert_eq!(
        session.reject(at(0), ErrorResponse::method_not_allowed("not a list")),
        Err(RejectError::InvalidResponse {
            error: ResponseWriteError::InvalidHeaderValue
        })
    );
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new()),
        Ok(Decision::Accepted {
            start: StreamStart::Live
        })
    );
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new()),
        Err(AcceptError::AlreadyAnswered)
    );
    assert_eq!(
        session.reject(at(0), ErrorResponse::not_found()),
        Err(RejectError::AlreadyAnswered)
    );
    assert_eq!(
        session.handle_written(at(0), 1),
        Err(WrittenError::MoreThanHandedOut {
            unconfirmed: 0,
            written: 1
        })
    );
    session.handle_eof(at(1));
    assert_eq!(
        session.accept(at(1), &ring, AcceptOptions::new()),
        Err(AcceptError::Closed)
    );
    assert_eq!(
        session.reject(at(1), ErrorResponse::not_found()),
        Err(RejectError::Closed)
    );
}

#[test]
fn http_1_0_gets_a_close_delimited_stream() {
    let mut ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let config = ServerConfig::new().with_keepalive(None);
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, b"GET /e HTTP/1.0\r\n\r\n");
    ring.publish(None, "a").unwrap();

    let wire = drain(&mut session, at(0), &ring);

    assert_eq!(
        wire,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
          X-Accel-Buffering: no\r\nConnection: close\r\n\r\nid: 1-1\ndata: a\n\n"
    );
}

#[test]
fn close_delimited_framing_can_be_chosen_per_config_or_request() {
    let ring = Ring::<4, 256>::new(1);
    let cors = [("Access-Control-Allow-Origin", "*")];
    for (config, options) in [
        (
            ServerConfig::new().with_close_delimited(true),
            AcceptOptions::new(),
        ),
        (
            ServerConfig::new(),
            AcceptOptions::new().with_close_delimited(true),
        ),
    ] {
        let mut storage = [0u8; 256];
        let mut session = ServerSession::new(at(0), &mut storage, config);
        session.handle_bytes(at(0), &request(None));
        session
            .accept(at(0), &ring, options.with_headers(&cors))
            .unwrap();

        let text = String::from_utf8(drain(&mut session, at(0), &ring)).unwrap();

        assert!(text.contains("Connection: close\r\nAccess-Control-Allow-Origin: *\r\n\r\n"));
        assert!(!text.contains("Transfer-Encoding"));
        assert!(text.ends_with("\r\n\r\n:keepalive 15000\n"));
    }
}

#[test]
fn a_short_buffer_gets_an_event_in_pieces_and_a_tiny_one_the_size_needed() {
    let mut ring = Ring::<4, 1024>::new(1);
    let mut storage = [0u8; 256];
    let config = ServerConfig::new().with_keepalive(None);
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let head_len = drain(&mut session, at(0), &ring).len();
    assert!(head_len > 0);
    let data = "y".repeat(100);
    ring.publish(None, &data).unwrap();
    ring.publish(None, "z").unwrap();

    // Not one byte of the event fits with its chunk framing: refused, untouched.
    let mut tiny = [0xEEu8; CHUNK_HEADER_MAX + 2];
    let result = session.poll_transmit(at(1), &ring, &mut tiny);
    let needed = CHUNK_HEADER_MAX + 2 + 1;
    assert_eq!(
        result,
        Err(TransmitError::BufferTooSmall(BufferTooSmall { needed }))
    );
    assert_eq!(tiny, [0xEE; CHUNK_HEADER_MAX + 2]);
    assert_eq!(session.unconfirmed(), 0);

    // A short buffer takes the event in pieces, each a whole chunk, the second event only
    // once the first is complete.
    let mut body = Vec::new();
    let mut small = [0u8; 64];
    let mut chunks = 0;
    while let Some(n) = session.poll_transmit(at(1), &ring, &mut small).unwrap() {
        let text = &small[..n];
        let line = text.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(core::str::from_utf8(&text[..line]).unwrap(), 16).unwrap();
        assert_eq!(text.len(), line + 2 + size + 2, "one whole chunk");
        body.extend_from_slice(&text[line + 2..line + 2 + size]);
        session.handle_written(at(1), n).unwrap();
        chunks += 1;
    }
    assert!(chunks >= 3, "{chunks} chunks");
    let expected = format!("id: 1-1\ndata: {data}\n\nid: 1-2\ndata: z\n\n");
    assert_eq!(String::from_utf8(body).unwrap(), expected);
}

#[test]
fn several_events_share_one_chunk() {
    let mut ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 256];
    let config = ServerConfig::new().with_keepalive(None);
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);
    for data in ["a", "b", "c"] {
        ring.publish(None, data).unwrap();
    }

    let wire = drain(&mut session, at(0), &ring);

    assert_eq!(
        wire,
        b"33\r\nid: 1-1\ndata: a\n\nid: 1-2\ndata: b\n\nid: 1-3\ndata: c\n\n\r\n"
    );
}

#[test]
fn a_response_head_larger_than_the_buffer_reports_its_size() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    open(&mut session, at(0), &ring, &request(None));

    let mut tiny = [0u8; 16];
    let result = session.poll_transmit(at(0), &ring, &mut tiny);

    assert_eq!(
        result,
        Err(TransmitError::BufferTooSmall(BufferTooSmall {
            needed: 152
        }))
    );
}

#[test]
fn bad_accept_options_are_refused_even_for_a_request_the_checks_would_refuse() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    session.handle_bytes(at(0), b"POST /e HTTP/1.1\r\nHost: h\r\n\r\n");
    let reserved = [("Content-Encoding", "gzip")];

    // The caller's mistake is reported first, and the session waits for a better answer.
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new().with_headers(&reserved)),
        Err(AcceptError::InvalidHeaders {
            error: ResponseWriteError::ReservedHeader
        })
    );
    assert_eq!(session.state(), State::AwaitingDecision);
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new()),
        Ok(Decision::Rejected { status: 405 })
    );
    assert_eq!(session.state(), State::Closing);
}

#[test]
fn a_post_stream_opens_only_when_the_application_allows_any_method() {
    let ring = Ring::<4, 256>::new(1);
    let request: &[u8] =
        b"POST /answer HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\nContent-Length: 0\r\n\r\n";

    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    session.handle_bytes(at(0), request);
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new()),
        Ok(Decision::Rejected { status: 405 })
    );

    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    session.handle_bytes(at(0), request);
    let decision = session.accept(at(0), &ring, AcceptOptions::new().with_any_method(true));
    assert!(
        matches!(decision, Ok(Decision::Accepted { .. })),
        "{decision:?}"
    );

    // The Accept check still holds for any method.
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
    session.handle_bytes(
        at(0),
        b"POST /answer HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n",
    );
    assert_eq!(
        session.accept(at(0), &ring, AcceptOptions::new().with_any_method(true)),
        Ok(Decision::Rejected { status: 400 })
    );
}
