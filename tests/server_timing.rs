//! Server-session timers under a fake clock, exact to the millisecond: keep-alive, client
//! lease, request-head timeout (slowloris) and write stall. Each deadline is checked one
//! millisecond before (nothing happens) and at the instant (it fires).

mod server_support;

use core::time::Duration;

use sansse::heartbeat::parse_keepalive_announcement;
use sansse::replay::Ring;
use sansse::server::{
    CloseReason, Deadline, LeaseError, ServerConfig, ServerSession, SessionEvent, State,
    TimerReason,
};
use server_support::{Seen, at, drain, events, open, read_response, request};

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn deadline(ms: u64, reason: TimerReason) -> Option<Deadline> {
    Some(Deadline { at: at(ms), reason })
}

#[test]
fn keepalive_comment_is_due_exactly_one_interval_after_the_last_write() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_keepalive(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(100), &ring, &request(None));
    assert!(!drain(&mut session, at(100), &ring).is_empty());

    assert_eq!(
        session.poll_deadline(),
        deadline(1_100, TimerReason::KeepAlive)
    );
    session.handle_timeout(at(1_099));
    assert_eq!(drain(&mut session, at(1_099), &ring), b"");

    session.handle_timeout(at(1_100));
    assert_eq!(drain(&mut session, at(1_100), &ring), b"2\r\n:\n\r\n");
    assert_eq!(session.poll_timeout(), Some(at(2_100)));
}

#[test]
fn every_write_rearms_the_keepalive() {
    let mut ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_keepalive(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);

    ring.publish(None, "x").unwrap();
    let event = drain(&mut session, at(700), &ring);

    assert_eq!(event, b"11\r\nid: 1-1\ndata: x\n\n\r\n");
    assert_eq!(session.poll_timeout(), Some(at(1_700)));
    session.handle_timeout(at(1_000));
    session.handle_timeout(at(1_699));
    assert_eq!(drain(&mut session, at(1_699), &ring), b"");
    session.handle_timeout(at(1_700));
    assert_eq!(drain(&mut session, at(1_700), &ring), b"2\r\n:\n\r\n");
}

#[test]
fn a_due_keepalive_is_written_once_however_often_the_timeout_is_handled() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_keepalive(Some(ms(500)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);

    session.handle_timeout(at(500));
    session.handle_timeout(at(500));
    session.handle_timeout(at(501));

    assert_eq!(drain(&mut session, at(501), &ring), b"2\r\n:\n\r\n");
    assert_eq!(session.poll_timeout(), Some(at(1_001)));
}

#[test]
fn polling_at_the_deadline_writes_the_keepalive_without_handle_timeout() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_keepalive(Some(ms(500)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);

    assert_eq!(drain(&mut session, at(499), &ring), b"");
    assert_eq!(drain(&mut session, at(500), &ring), b"2\r\n:\n\r\n");
}

#[test]
fn stream_start_announces_the_keepalive_interval_after_the_retry_hint() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new()
        .with_keepalive(Some(ms(12_345)))
        .with_retry(Some(ms(2_500)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));

    let (status, listener, _) = read_response(&drain(&mut session, at(0), &ring));

    assert_eq!(status, Some(200));
    assert_eq!(
        listener.seen,
        [Seen::Retry(2_500), Seen::Comment("keepalive 12345".into())]
    );
    assert_eq!(
        parse_keepalive_announcement("keepalive 12345"),
        Some(ms(12_345))
    );
}

#[test]
fn keepalives_off_means_no_announcement_and_no_timer() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_keepalive(None);
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));

    let (_, listener, _) = read_response(&drain(&mut session, at(0), &ring));

    assert_eq!(listener.seen, []);
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn lease_lapses_exactly_one_duration_after_the_last_renewal() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new()
        .with_lease(Some(ms(5_000)))
        .with_keepalive(Some(ms(60_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);
    assert_eq!(session.poll_deadline(), deadline(5_000, TimerReason::Lease));

    session.renew_lease(at(3_000)).unwrap();

    assert_eq!(session.poll_deadline(), deadline(8_000, TimerReason::Lease));
    session.handle_timeout(at(7_999));
    assert_eq!(session.state(), State::Streaming);
    session.handle_timeout(at(8_000));
    let [SessionEvent::Closed { reason }] = events(&mut session)[..] else {
        panic!("expected one Closed event");
    };
    let CloseReason::LeaseExpired { expired } = reason else {
        panic!("expected a lease expiry, got {reason:?}");
    };
    assert_eq!(expired.renewed_at, at(3_000));
    assert_eq!(expired.duration, ms(5_000));
    assert_eq!(
        session.renew_lease(at(8_001)),
        Err(LeaseError::Expired { expired })
    );
    assert_eq!(drain(&mut session, at(8_001), &ring), b"");
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn lease_renewal_at_the_deadline_is_too_late() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_lease(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));

    assert_eq!(session.renew_lease(at(999)), Ok(()));
    assert!(matches!(
        session.renew_lease(at(1_999)),
        Err(LeaseError::Expired { .. })
    ));
    assert_eq!(session.state(), State::Closed);
}

#[test]
fn lease_errors_say_why_nothing_was_renewed() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let mut without: ServerSession<'_> =
        ServerSession::new(at(0), &mut storage, ServerConfig::new());
    assert_eq!(without.renew_lease(at(0)), Err(LeaseError::Disabled));

    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_lease(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    assert_eq!(session.renew_lease(at(0)), Err(LeaseError::NotStreaming));
    open(&mut session, at(0), &ring, &request(None));
    session.handle_eof(at(10));
    assert_eq!(session.renew_lease(at(20)), Err(LeaseError::NotStreaming));
}

#[test]
fn slowloris_head_is_cut_off_exactly_at_the_head_timeout() {
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_head_timeout(ms(2_000));
    let mut session: ServerSession<'_> = ServerSession::new(at(0), &mut storage, config);
    let ring = Ring::<4, 256>::new(1);
    let head = request(None);

    // One byte every 100 ms never extends the deadline.
    for (i, byte) in head.iter().take(20).enumerate() {
        session.handle_bytes(at(i as u64 * 100), &[*byte]);
    }

    assert_eq!(
        session.poll_deadline(),
        deadline(2_000, TimerReason::RequestHead)
    );
    session.handle_timeout(at(1_999));
    assert_eq!(session.state(), State::ReadingRequest);
    session.handle_timeout(at(2_000));
    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed {
            reason: CloseReason::HeadTimeout
        }]
    );
    assert_eq!(drain(&mut session, at(2_000), &ring), b"");
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn head_completed_one_millisecond_before_the_timeout_is_served() {
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_head_timeout(ms(2_000));
    let mut session: ServerSession<'_> = ServerSession::new(at(0), &mut storage, config);

    session.handle_bytes(at(1_999), &request(None));

    assert_eq!(events(&mut session), [SessionEvent::RequestReady]);
    // The application's decision has no deadline of its own.
    assert_eq!(session.poll_timeout(), None);
    session.handle_timeout(at(60_000));
    assert_eq!(session.state(), State::AwaitingDecision);
}

#[test]
fn head_completed_at_the_timeout_is_too_late_even_without_handle_timeout() {
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_head_timeout(ms(2_000));
    let mut session: ServerSession<'_> = ServerSession::new(at(0), &mut storage, config);

    session.handle_bytes(at(2_000), &request(None));

    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed {
            reason: CloseReason::HeadTimeout
        }]
    );
}

#[test]
fn unconfirmed_bytes_stall_the_session_exactly_one_timeout_after_the_last_progress() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_write_timeout(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let mut buf = [0u8; 1024];
    let n = session
        .poll_transmit(at(10), &ring, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(
        session.poll_deadline(),
        deadline(1_010, TimerReason::WriteStall)
    );

    session.handle_written(at(500), n / 2).unwrap();

    assert_eq!(session.unconfirmed(), n - n / 2);
    assert_eq!(
        session.poll_deadline(),
        deadline(1_500, TimerReason::WriteStall)
    );
    session.handle_timeout(at(1_499));
    assert_eq!(session.state(), State::Streaming);
    session.handle_timeout(at(1_500));
    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed {
            reason: CloseReason::WriteStalled {
                unconfirmed: n - n / 2,
                since: at(500)
            }
        }]
    );
}

#[test]
fn confirming_everything_stops_the_stall_timer() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_write_timeout(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    let mut buf = [0u8; 1024];
    let n = session
        .poll_transmit(at(0), &ring, &mut buf)
        .unwrap()
        .unwrap();

    session.handle_written(at(999), n).unwrap();

    assert_eq!(
        session.poll_deadline(),
        deadline(15_000, TimerReason::KeepAlive)
    );
    session.handle_timeout(at(5_000));
    assert_eq!(session.state(), State::Streaming);
}

#[test]
fn a_closing_session_that_never_flushes_stalls_too() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_write_timeout(Some(ms(300)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    session.handle_bytes(at(0), b"BREW /pot HTTP/1.1\r\n\r\n");
    let mut buf = [0u8; 1024];
    let _ = session
        .poll_transmit(at(0), &ring, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(session.state(), State::Closing);

    session.handle_timeout(at(300));

    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::Closed {
            reason: CloseReason::WriteStalled { .. }
        }]
    ));
}

#[test]
fn time_going_backwards_is_clamped() {
    let mut ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new().with_keepalive(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(5_000), &ring, &request(None));
    let _ = drain(&mut session, at(5_000), &ring);

    // A write stamped in the past counts as happening at the latest instant seen.
    ring.publish(None, "x").unwrap();
    let _ = drain(&mut session, at(10), &ring);
    session.handle_timeout(at(0));

    assert_eq!(session.now(), at(5_000));
    assert_eq!(session.poll_timeout(), Some(at(6_000)));
    assert_eq!(drain(&mut session, at(5_999), &ring), b"");
}

#[test]
fn simultaneous_deadlines_name_the_one_that_closes() {
    let ring = Ring::<8, 1024>::new(1);
    let mut storage = [0u8; 512];
    let config = ServerConfig::new()
        .with_keepalive(Some(ms(1_000)))
        .with_lease(Some(ms(1_000)));
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));

    assert_eq!(session.poll_deadline(), deadline(1_000, TimerReason::Lease));
}
