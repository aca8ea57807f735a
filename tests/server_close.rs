//! How a server session ends: graceful close (last event, retry hint, end of body), closing
//! before a request was accepted, and the abrupt ends reported by the transport.

mod server_support;

use core::time::Duration;

use embedded_io::ErrorKind;
use sansse::encode::{EventName, Message};
use sansse::http::ErrorResponse;
use sansse::replay::Ring;
use sansse::server::{
    CloseError, CloseOptions, CloseReason, ServerConfig, ServerSession, SessionEvent, State,
};
use server_support::{Seen, at, drain, events, open, read_response, request};

fn config() -> ServerConfig<'static> {
    ServerConfig::new().with_keepalive(None)
}

#[test]
fn graceful_close_writes_the_last_event_the_retry_hint_and_the_last_chunk() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(None));
    let head = drain(&mut session, at(0), &ring);
    let bye = Message::new("restarting").with_name(EventName::new("bye").unwrap());

    session
        .close_with(
            at(5),
            CloseOptions::new()
                .with_event(bye)
                .with_retry(Duration::from_secs(5)),
        )
        .unwrap();

    assert_eq!(session.state(), State::Closing);
    let mut buf = [0u8; 256];
    let n = session
        .poll_transmit(at(6), &ring, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(
        &buf[..n],
        b"2a\r\nevent: bye\ndata: restarting\n\nretry: 5000\n\n\r\n0\r\n\r\n"
    );
    assert_eq!(session.poll_transmit(at(6), &ring, &mut buf), Ok(None));

    // Closed only once every byte is confirmed, in as many pieces as the transport likes.
    session.handle_written(at(7), n - 1).unwrap();
    assert_eq!(events(&mut session), []);
    session.handle_written(at(8), 1).unwrap();
    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed {
            reason: CloseReason::Requested
        }]
    );

    let mut wire = head;
    wire.extend_from_slice(&buf[..n]);
    let (_, listener, ended) = read_response(&wire);
    assert!(ended);
    assert_eq!(
        listener.seen,
        [Seen::event("bye", "restarting", ""), Seen::Retry(5_000)]
    );
}

#[test]
fn close_drops_events_not_yet_written() {
    let mut ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);
    ring.publish(None, "unsent").unwrap();

    session.close_with(at(1), CloseOptions::new()).unwrap();

    assert_eq!(drain(&mut session, at(1), &ring), b"0\r\n\r\n");
    assert_eq!(session.state(), State::Closed);
}

#[test]
fn close_before_the_first_poll_still_sends_the_head_first() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let config = config().with_retry(Some(Duration::from_secs(1)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));

    session.close_with(at(0), CloseOptions::new()).unwrap();

    let wire = drain(&mut session, at(0), &ring);
    assert!(wire.starts_with(b"HTTP/1.1 200 OK\r\n"));
    // The stream-start retry hint is dropped along with everything else not yet written.
    assert!(wire.ends_with(b"chunked\r\n\r\n0\r\n\r\n"));
}

#[test]
fn close_delimited_streams_end_without_a_terminator() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, b"GET /e HTTP/1.0\r\n\r\n");
    let _ = drain(&mut session, at(0), &ring);

    session
        .close_with(
            at(1),
            CloseOptions::new().with_retry(Duration::from_millis(250)),
        )
        .unwrap();

    assert_eq!(drain(&mut session, at(1), &ring), b"retry: 250\n\n");
    assert_eq!(session.close_reason(), Some(CloseReason::Requested));
}

#[test]
fn closing_with_nothing_left_to_write_is_immediate() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, b"GET /e HTTP/1.0\r\n\r\n");
    let _ = drain(&mut session, at(0), &ring);

    session.close_with(at(1), CloseOptions::new()).unwrap();

    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed {
            reason: CloseReason::Requested
        }]
    );
}

#[test]
fn closing_before_accepting_answers_503_with_retry_after() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    session.handle_bytes(at(0), b"GET /e HTTP/1.1\r\n");

    session
        .close_with(
            at(1),
            CloseOptions::new().with_retry(Duration::from_secs(30)),
        )
        .unwrap();

    let mut expected = [0u8; 256];
    let n = ErrorResponse::service_unavailable(Some(Duration::from_secs(30)))
        .write(&mut expected)
        .unwrap();
    assert_eq!(drain(&mut session, at(1), &ring), &expected[..n]);
    assert_eq!(session.close_reason(), Some(CloseReason::Requested));
}

#[test]
fn closing_with_options_twice_is_an_error() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(None));

    session.close_with(at(0), CloseOptions::new()).unwrap();

    assert_eq!(
        session.close_with(at(0), CloseOptions::new()),
        Err(CloseError::AlreadyClosing)
    );
    let _ = drain(&mut session, at(0), &ring);
    assert_eq!(
        session.close_with(at(0), CloseOptions::new()),
        Err(CloseError::Closed)
    );
}

#[test]
fn transport_ends_close_at_once_with_their_reason() {
    let ring = Ring::<4, 256>::new(1);
    let cases = [
        (CloseReason::PeerClosed, 0),
        (
            CloseReason::Io {
                kind: ErrorKind::BrokenPipe,
            },
            1,
        ),
        (
            CloseReason::Io {
                kind: ErrorKind::ConnectionReset,
            },
            2,
        ),
    ];

    for (reason, input) in cases {
        let mut storage = [0u8; 256];
        let mut session = ServerSession::new(at(0), &mut storage, config());
        open(&mut session, at(0), &ring, &request(None));
        let mut buf = [0u8; 512];
        let _ = session.poll_transmit(at(0), &ring, &mut buf).unwrap();

        match input {
            0 => session.handle_eof(at(1)),
            1 => session.handle_error(at(1), ErrorKind::BrokenPipe),
            _ => session.handle_error(at(1), ErrorKind::ConnectionReset),
        }

        assert_eq!(events(&mut session), [SessionEvent::Closed { reason }]);
        assert!(!reason.is_graceful());
        assert_eq!(session.poll_transmit(at(2), &ring, &mut buf), Ok(None));
        assert_eq!(session.poll_timeout(), None);
        // Later inputs are ignored.
        session.handle_bytes(at(3), b"x");
        assert_eq!(session.handle_written(at(3), 1_000), Ok(()));
        assert_eq!(events(&mut session), []);
    }
}

#[test]
fn close_is_a_no_op_once_closing_while_close_with_says_its_options_went_unused() {
    let ring = Ring::<4, 256>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(None));
    drain(&mut session, at(0), &ring);

    session.close(at(1));
    session.close(at(2));

    assert_eq!(session.state(), State::Closing);
    assert_eq!(
        session.close_with(
            at(2),
            CloseOptions::new().with_retry(Duration::from_secs(1))
        ),
        Err(CloseError::AlreadyClosing)
    );
    let tail = drain(&mut session, at(3), &ring);
    assert_eq!(tail, b"0\r\n\r\n", "one end of body, no retry hint");
    assert_eq!(session.close_reason(), Some(CloseReason::Requested));
    session.close(at(4));
    assert_eq!(
        session.close_with(at(4), CloseOptions::new()),
        Err(CloseError::Closed)
    );
}
