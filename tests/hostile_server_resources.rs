//! Hostile peers against the server shell that aim at its resources, with the process's file
//! descriptors (`/proc/self/fd`) and resident set (`VmRSS`) measured before and after. The
//! server runs in this process, so the counts are the server's (plus the test's clients, which
//! are all closed when measured). The tests of this file run one at a time (a lock), and alone
//! in their own test binary, so that nothing else moves the counts.
//!
//! - 4000 connect/disconnect cycles of four kinds: fd count back to its baseline (within 2),
//!   RSS growth under 2 MiB.
//! - Request heads that never end (an endless header line, an endless request line) and heads
//!   of 10 000 headers: answered 431 (414 for the request line) or reset, never a panic, with
//!   the server's memory bounded by its head buffer: RSS growth under 2 MiB over 30 of them.
//! - 200 concurrent streams each get every event; once they leave, the fd count is back to
//!   its baseline (within 2).
#![cfg(feature = "futures-io-0.3")]

mod hostile_support;
mod server_support;

use core::sync::atomic::Ordering;
use core::time::Duration;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Mutex;
use std::time::Instant as StdInstant;

use hostile_support::{End, Running, connect, get, open_fds, read_to_close, rss_bytes, wait};
use sansse::http::RequestError;
use sansse::io::StdHub;
use sansse::replay::Ring;
use sansse::server::{CloseReason, ServerConfig};

/// One measuring test at a time.
static ALONE: Mutex<()> = Mutex::new(());

/// Most the fd count may differ from its baseline once every connection is gone.
const FD_SLACK: usize = 2;
/// Most RSS may grow over a test's hostile connections.
const RSS_SLACK: u64 = 2 << 20;

#[test]
fn thousands_of_connect_disconnect_cycles_leave_fds_and_memory_flat() {
    const WARM_UP: usize = 300;
    const CYCLES: usize = 4000;
    let _alone = ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let hub = StdHub::new(Ring::<16, 4096>::new(1));
    hub.publish(None, "kept in the ring").unwrap();
    let config = ServerConfig::new().with_head_timeout(Duration::from_secs(2));

    hostile_support::with_server(&hub, config, |server| {
        let mut reasons = BTreeMap::new();
        // Warm up the allocator, the executor and the ended-connections list first.
        for n in 0..WARM_UP {
            cycle(server, n);
            if n % 50 == 49 {
                settle(server, &mut reasons);
            }
        }
        settle(server, &mut reasons);
        let (fds, rss) = (open_fds(), rss_bytes());
        let start = StdInstant::now();

        for n in 0..CYCLES {
            cycle(server, n);
            if n % 50 == 49 {
                settle(server, &mut reasons);
            }
        }
        settle(server, &mut reasons);
        let took = start.elapsed();
        let (fds_after, rss_after) = (open_fds(), rss_bytes());

        eprintln!(
            "{CYCLES} cycles in {took:?}: fds {fds} -> {fds_after}, RSS {} KiB -> {} KiB \
             ({:+} KiB); ends {reasons:?}",
            rss >> 10,
            rss_after >> 10,
            (rss_after as i64 - rss as i64) / 1024
        );
        assert!(
            fds_after.abs_diff(fds) <= FD_SLACK,
            "fds {fds} -> {fds_after}"
        );
        assert!(
            rss_after < rss + RSS_SLACK,
            "RSS grew by {} KiB",
            (rss_after - rss) >> 10
        );
        assert!(took < Duration::from_secs(30), "took {took:?}");
        assert_eq!(reasons.values().sum::<usize>(), WARM_UP + CYCLES);
        // Every one of them ended as its client left, none by a deadline.
        assert_eq!(reasons.keys().collect::<Vec<_>>(), ["PeerClosed"]);
    });
}

/// One connection of four kinds by `n`: closed at once; half a head, then closed; a whole
/// `GET` whose stream is read until it opened, then closed; a whole `GET` closed unread.
fn cycle(server: &Running, n: usize) {
    match n % 4 {
        0 => drop(TcpStream::connect(server.addr).unwrap()),
        1 => drop(connect(server.addr, b"GET /events HTTP/1.1\r\nHo")),
        2 => {
            let mut stream = connect(server.addr, get("/events").as_bytes());
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            // The head and the keep-alive announcement come in the stream's first write.
            let mut seen = Vec::new();
            let mut buf = [0u8; 512];
            while !seen.ends_with(b":keepalive 15000\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&seen));
                seen.extend_from_slice(&buf[..n]);
            }
        }
        _ => {
            let stream = connect(server.addr, get("/events").as_bytes());
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Waits until the server holds no connection, and moves the ends recorded so far into
/// `reasons` (so that the list does not grow while memory is measured).
fn settle(server: &Running, reasons: &mut BTreeMap<String, usize>) {
    wait("every connection gone", || {
        server.live.load(Ordering::SeqCst) == 0
    });
    for ended in server.ended.lock().unwrap().drain(..) {
        let reason = ended.reason().map_or("none".to_owned(), |reason| {
            format!("{reason:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        *reasons.entry(reason).or_default() += 1;
    }
}

#[test]
fn endless_lines_and_ten_thousand_headers_are_answered_431_with_memory_bounded() {
    const ROUNDS: usize = 10;
    let _alone = ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let hub = StdHub::new(Ring::<16, 4096>::new(1));
    let endless_header = {
        let mut head = b"GET /events HTTP/1.1\r\nHost: localhost\r\nX-Endless: ".to_vec();
        head.resize(1 << 20, b'a');
        head
    };
    let endless_target = {
        let mut head = b"GET /".to_vec();
        head.resize(1 << 20, b'a');
        head
    };
    let many_headers = {
        let mut head = b"GET /events HTTP/1.1\r\nHost: localhost\r\n".to_vec();
        for n in 0..10_000 {
            head.extend_from_slice(format!("X-H{n}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        head
    };
    let cases: [(&str, &[u8], u16); 3] = [
        ("endless header line", &endless_header, 431),
        ("endless request line", &endless_target, 414),
        ("10k headers", &many_headers, 431),
    ];

    hostile_support::with_server(&hub, ServerConfig::new(), |server| {
        // One of each first, to warm up.
        for (_, head, _) in cases {
            let _ = bomb(server, head);
        }
        wait("the warm-up gone", || {
            server.live.load(Ordering::SeqCst) == 0
        });
        server.ended.lock().unwrap().clear();
        let (fds, rss) = (open_fds(), rss_bytes());
        let mut answered = BTreeMap::new();

        for round in 0..ROUNDS {
            for (name, head, status) in cases {
                let (response, end) = bomb(server, head);
                // The answer, or a reset: closing with the rest of the head unread makes the
                // kernel reset the connection, which may discard the answer before it is read.
                let expected = format!("HTTP/1.1 {status} ");
                let got = if response.starts_with(expected.as_bytes()) {
                    "answered"
                } else {
                    assert!(
                        response.is_empty() && end == End::Reset,
                        "{name} (round {round}): {:?}",
                        String::from_utf8_lossy(&response)
                    );
                    "reset"
                };
                *answered.entry((name, got)).or_insert(0usize) += 1;
            }
        }
        wait("every connection gone", || {
            server.live.load(Ordering::SeqCst) == 0
        });
        let (fds_after, rss_after) = (open_fds(), rss_bytes());

        eprintln!(
            "{} hostile heads: {answered:?}; fds {fds} -> {fds_after}, RSS {} KiB -> {} KiB \
             ({:+} KiB)",
            ROUNDS * cases.len(),
            rss >> 10,
            rss_after >> 10,
            (rss_after as i64 - rss as i64) / 1024
        );
        let ended = server.ended.lock().unwrap();
        assert_eq!(ended.len(), ROUNDS * cases.len());
        for ended in ended.iter() {
            let Some(CloseReason::BadRequest { error }) = ended.reason() else {
                panic!("{ended:?}");
            };
            assert!(
                matches!(
                    error,
                    RequestError::HeadTooLarge
                        | RequestError::TooManyHeaders
                        | RequestError::RequestLineTooLong
                ),
                "{error:?}"
            );
        }
        assert!(
            fds_after.abs_diff(fds) <= FD_SLACK,
            "fds {fds} -> {fds_after}"
        );
        assert!(
            rss_after < rss + RSS_SLACK,
            "RSS grew by {} KiB",
            (rss_after - rss) >> 10
        );
    });
}

/// Sends `head` from a thread of its own (the server stops reading early, so the write may
/// block until the connection is closed) while reading the response to its end.
fn bomb(server: &Running, head: &[u8]) -> (Vec<u8>, End) {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Fails with a reset or a broken pipe once the server closes: expected.
            let _ = writer.write_all(head);
        });
        let (response, end) = read_to_close(&mut stream);
        // Unblocks the writer if the server's close did not.
        let _ = stream.shutdown(Shutdown::Both);
        let _ = stream.read(&mut [0u8; 1]);
        (response, end)
    })
}

#[test]
fn two_hundred_concurrent_streams_each_get_every_event_and_leave_nothing_behind() {
    const STREAMS: usize = 200;
    const EVENTS: usize = 10;
    let _alone = ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let hub = StdHub::new(Ring::<16, 4096>::new(6));

    hostile_support::with_server(&hub, ServerConfig::new(), |server| {
        let (fds, rss) = (open_fds(), rss_bytes());
        let mut readers: Vec<_> = (0..STREAMS)
            .map(|_| {
                hostile_support::EventReader::new(connect(server.addr, get("/events").as_bytes()))
            })
            .collect();
        wait("every stream open", || {
            server.decided.load(Ordering::SeqCst) == STREAMS
        });
        let peak_fds = open_fds();
        for n in 1..=EVENTS {
            hub.publish(None, &format!("event {n}")).unwrap();
        }
        for reader in &mut readers {
            let ids: Vec<_> = reader
                .read_events(EVENTS)
                .events()
                .into_iter()
                .map(|e| e.2)
                .collect();
            let expected: Vec<_> = (1..=EVENTS).map(|n| format!("6-{n}")).collect();
            assert_eq!(ids, expected);
        }
        drop(readers);
        wait("every connection gone", || {
            server.live.load(Ordering::SeqCst) == 0
        });
        let (fds_after, rss_after) = (open_fds(), rss_bytes());

        // RSS is reported, not bounded: 200 sessions' buffers (19 KiB each) and the clients'
        // readers stay with the allocator after they are freed.
        eprintln!(
            "{STREAMS} streams: fds {fds} -> {peak_fds} -> {fds_after}, RSS {} KiB -> {} KiB",
            rss >> 10,
            rss_after >> 10
        );
        // Two descriptors per stream while open (the client's and the server's).
        assert!(peak_fds >= fds + 2 * STREAMS, "{peak_fds}");
        assert!(
            fds_after.abs_diff(fds) <= FD_SLACK,
            "fds {fds} -> {fds_after}"
        );
        let ended = server.ended.lock().unwrap();
        assert_eq!(ended.len(), STREAMS);
        assert!(
            ended
                .iter()
                .all(|e| e.reason() == Some(CloseReason::PeerClosed))
        );
    });
}
