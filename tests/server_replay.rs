//! Server sessions reading one shared ring: exact replay after a known `Last-Event-ID`, the gap
//! event when the ring cannot cover a resume, both overrun policies for a reader that fell
//! behind, and a thousand sessions on one ring.

mod server_support;

use core::time::Duration;

use sansse::replay::{Gap, Ring};
use sansse::server::{
    CloseReason, OverrunPolicy, ServerConfig, ServerSession, SessionEvent, StreamStart,
};
use server_support::{Listener, Seen, Wire, at, drain, events, open, read_response, request};

fn config() -> ServerConfig<'static> {
    ServerConfig::new().with_keepalive(None)
}

fn publish_all<const E: usize, const B: usize>(ring: &mut Ring<E, B>, from: u64, to: u64) {
    for n in from..=to {
        ring.publish(None, &format!("e{n}")).unwrap();
    }
}

/// `(data, id)` of the plain events `from..=to` of epoch 1.
fn plain(from: u64, to: u64) -> Vec<(String, String, String)> {
    (from..=to)
        .map(|n| ("message".to_owned(), format!("e{n}"), format!("1-{n}")))
        .collect()
}

fn gap(data: &str, id: &str) -> (String, String, String) {
    ("sansse-gap".to_owned(), data.to_owned(), id.to_owned())
}

#[test]
fn a_known_id_replays_exactly_the_events_after_it_then_live_ones() {
    let mut ring = Ring::<8, 1024>::new(1);
    publish_all(&mut ring, 1, 5);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());

    let start = open(&mut session, at(0), &ring, &request(Some("1-2")));
    let mut wire = drain(&mut session, at(0), &ring);
    publish_all(&mut ring, 6, 6);
    wire.extend(drain(&mut session, at(1), &ring));

    assert_eq!(start, StreamStart::Replay);
    assert_eq!(read_response(&wire).1.events(), plain(3, 6));
}

#[test]
fn no_id_starts_live() {
    let mut ring = Ring::<8, 1024>::new(1);
    publish_all(&mut ring, 1, 3);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());

    let start = open(&mut session, at(0), &ring, &request(None));
    publish_all(&mut ring, 4, 4);

    assert_eq!(start, StreamStart::Live);
    let wire = drain(&mut session, at(0), &ring);
    assert_eq!(read_response(&wire).1.events(), plain(4, 4));
}

#[test]
fn an_id_from_another_epoch_gets_a_gap_event_then_every_kept_event() {
    let mut ring = Ring::<4, 1024>::new(1);
    publish_all(&mut ring, 1, 6);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());

    let start = open(&mut session, at(0), &ring, &request(Some("9-3")));
    let wire = drain(&mut session, at(0), &ring);

    assert_eq!(
        start,
        StreamStart::Gap {
            gap: Gap::OtherEpoch
        }
    );
    let mut expected = vec![gap(r#"{"reason":"other-epoch"}"#, "1-2")];
    expected.extend(plain(3, 6));
    assert_eq!(read_response(&wire).1.events(), expected);
    assert_eq!(
        events(&mut session),
        [SessionEvent::GapSent {
            gap: Gap::OtherEpoch
        }]
    );
}

#[test]
fn an_evicted_id_gets_a_gap_event_with_the_count_missed() {
    let mut ring = Ring::<4, 1024>::new(1);
    publish_all(&mut ring, 1, 10);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());

    let start = open(&mut session, at(0), &ring, &request(Some("1-2")));
    let wire = drain(&mut session, at(0), &ring);

    assert_eq!(
        start,
        StreamStart::Gap {
            gap: Gap::Evicted { missed: 4 }
        }
    );
    let mut expected = vec![gap(r#"{"reason":"evicted","missed":4}"#, "1-6")];
    expected.extend(plain(7, 10));
    assert_eq!(read_response(&wire).1.events(), expected);
}

#[test]
fn reconnecting_with_the_gap_events_id_is_not_told_twice() {
    let mut ring = Ring::<4, 1024>::new(1);
    publish_all(&mut ring, 1, 10);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(Some("1-2")));
    let wire = drain(&mut session, at(0), &ring);
    // The connection drops right after the gap event.
    let cut = find(&wire, b"id: 1-7").expect("event 7 on the wire");
    let mut wire_storage = [0u8; 512];
    let mut client = Wire::new(&mut wire_storage);
    let mut listener = Listener::new();
    client.feed(&wire[..cut], |body| listener.feed(body));
    listener.disconnected();
    assert_eq!(listener.last_event_id().as_deref(), Some("1-6"));

    let mut storage = [0u8; 256];
    let mut again = ServerSession::new(at(1), &mut storage, config());
    let last = listener.last_event_id();
    let start = open(&mut again, at(1), &ring, &request(last.as_deref()));

    assert_eq!(start, StreamStart::Replay);
    let wire = drain(&mut again, at(1), &ring);
    assert_eq!(read_response(&wire).1.events(), plain(7, 10));
}

#[test]
fn a_reader_that_fell_behind_gets_an_overrun_gap_and_stays_connected() {
    let mut ring = Ring::<4, 1024>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(None));
    let mut wire = drain(&mut session, at(0), &ring);

    publish_all(&mut ring, 1, 10);
    wire.extend(drain(&mut session, at(1), &ring));
    publish_all(&mut ring, 11, 11);
    wire.extend(drain(&mut session, at(2), &ring));

    let mut expected = vec![gap(r#"{"reason":"overrun","missed":6}"#, "1-6")];
    expected.extend(plain(7, 11));
    assert_eq!(read_response(&wire).1.events(), expected);
    assert_eq!(
        events(&mut session),
        [SessionEvent::GapSent {
            gap: Gap::Overrun { missed: 6 }
        }]
    );
}

#[test]
fn overrun_reports_not_yet_drained_are_added_up() {
    let mut ring = Ring::<2, 1024>::new(1);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    open(&mut session, at(0), &ring, &request(None));
    let _ = drain(&mut session, at(0), &ring);

    publish_all(&mut ring, 1, 5);
    let _ = drain(&mut session, at(1), &ring);
    publish_all(&mut ring, 6, 9);
    let _ = drain(&mut session, at(2), &ring);

    assert_eq!(
        events(&mut session),
        [SessionEvent::GapSent {
            gap: Gap::Overrun { missed: 5 }
        }]
    );
}

#[test]
fn events_evicted_before_a_resume_gap_went_out_join_that_gap() {
    let mut ring = Ring::<2, 1024>::new(1);
    publish_all(&mut ring, 1, 5);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(at(0), &mut storage, config());
    let start = open(&mut session, at(0), &ring, &request(Some("1-1")));
    assert_eq!(
        start,
        StreamStart::Gap {
            gap: Gap::Evicted { missed: 2 }
        }
    );

    publish_all(&mut ring, 6, 7);
    let wire = drain(&mut session, at(0), &ring);

    let mut expected = vec![gap(r#"{"reason":"evicted","missed":4}"#, "1-5")];
    expected.extend(plain(6, 7));
    assert_eq!(read_response(&wire).1.events(), expected);
}

#[test]
fn the_disconnect_policy_closes_a_reader_that_fell_behind_with_a_retry_hint() {
    let mut ring = Ring::<4, 1024>::new(1);
    let mut storage = [0u8; 256];
    let config = config().with_overrun(OverrunPolicy::Disconnect {
        retry: Some(Duration::from_millis(1_500)),
    });
    let mut session = ServerSession::new(at(0), &mut storage, config);
    open(&mut session, at(0), &ring, &request(None));
    publish_all(&mut ring, 1, 2);
    let mut wire = drain(&mut session, at(0), &ring);

    publish_all(&mut ring, 3, 10);
    let tail = drain(&mut session, at(1), &ring);

    assert_eq!(tail, b"d\r\nretry: 1500\n\n\r\n0\r\n\r\n");
    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed {
            reason: CloseReason::Overrun { missed: 4 }
        }]
    );
    wire.extend(tail);
    let (_, listener, ended) = read_response(&wire);
    assert!(ended);
    assert_eq!(listener.events(), plain(1, 2));
    assert_eq!(listener.seen.last(), Some(&Seen::Retry(1_500)));

    // The client comes back with its last id and hears of the gap from the next session.
    let mut storage = [0u8; 256];
    let mut next = ServerSession::new(at(2), &mut storage, config);
    let start = open(
        &mut next,
        at(2),
        &ring,
        &request(listener.last_event_id().as_deref()),
    );
    assert_eq!(
        start,
        StreamStart::Gap {
            gap: Gap::Evicted { missed: 4 }
        }
    );
}

#[test]
fn a_thousand_sessions_on_one_ring_each_deliver_every_event_in_order() {
    const SESSIONS: usize = 1_000;
    const EVENTS: u64 = 40;
    let mut ring = Ring::<64, 4096>::new(1);
    let mut storages = vec![[0u8; 256]; SESSIONS];
    let mut wire_storages = vec![[0u8; 512]; SESSIONS];
    let mut sessions: Vec<_> = storages
        .iter_mut()
        .map(|storage| ServerSession::new(at(0), storage, config()))
        .collect();
    let mut wires: Vec<_> = wire_storages.iter_mut().map(|s| Wire::new(s)).collect();
    let mut listeners: Vec<_> = (0..SESSIONS).map(|_| Listener::new()).collect();
    publish_all(&mut ring, 1, 4);

    // Half join live before anything new, half resume from an id they already had.
    for (i, session) in sessions.iter_mut().enumerate() {
        let last = (i % 2 == 1).then_some("1-4");
        open(session, at(0), &ring, &request(last));
    }
    let mut published = 4;
    let mut now = 0;
    while published < EVENTS {
        publish_all(&mut ring, published + 1, published + 4);
        published += 4;
        now += 10;
        for ((session, wire), listener) in sessions.iter_mut().zip(&mut wires).zip(&mut listeners) {
            let bytes = drain(session, at(now), &ring);
            wire.feed(&bytes, |body| listener.feed(body));
        }
    }

    for listener in &listeners {
        assert_eq!(listener.events(), plain(5, EVENTS));
    }
    // Per-session memory does not grow with the ring: the ring is not inside the session.
    assert!(core::mem::size_of::<ServerSession<'_>>() < 1_024);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
