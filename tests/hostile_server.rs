//! Hostile peers against the server shell, over real loopback sockets: the paved path
//! (`Server::serve` with the default timer and buffers, a config with short deadlines) on smol,
//! against plain blocking `std::net::TcpStream` clients that read with the crate's own response
//! reader, body decoder and event parser.
//!
//! - A client that never reads is shed by the write-stall deadline, while two reading clients
//!   get every one of 2000 events, in order, promptly, and the publisher never waits on it.
//! - Connections that send nothing, half a request head, or a head a byte at a time, are shed
//!   by the request-head deadline while the server keeps serving others.
//! - Bytes after the `GET` head (pipelined requests, in the same write or later) are ignored:
//!   the stream is served unchanged, nothing else is ever answered on that connection, and the
//!   connection closes when the stream ends. A client that floods bytes after its `GET` still
//!   gets every event, and clients that flood do not starve a newcomer on the same executor.
//! - Malformed request heads (bad version, NUL, bare CR, obs-fold, 10 000 empty lines) get an
//!   error response and close; nothing reaches the application.
//! - `Last-Event-ID` values that overflow, are not ours, or are not UTF-8 open the stream with a
//!   gap event (or resume, when they name a kept event), never a panic.
//! - Publish payloads that hold CR, LF, CRLF, NUL, and field lines of their own reach
//!   subscribers as exactly one event each, with their ids, data preserved up to line-break
//!   normalisation; checked on the ring's framing and end to end.
//!
//! Every wait is bounded; every socket is closed when its test ends (the server's with the
//! server thread).
#![cfg(feature = "futures-io-0.3")]

mod hostile_support;
mod server_support;

use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use hostile_support::{
    End, EventReader, HOSTILE_PAYLOADS, connect, event_count, get, normalised, read_to_close, wait,
    with_server,
};
use sansse::io::StdHub;
use sansse::parse::{Output, Parser};
use sansse::replay::{EventSeq, Ring};
use sansse::server::{CloseReason, ServerConfig};

#[test]
fn a_client_that_never_reads_is_shed_while_the_others_get_every_event_promptly() {
    // Events of 1 KiB, at least MIN_EVENTS of them and then until the stalled client is shed
    // (about 4200 here), at most MAX_EVENTS (30 MB).
    const MIN_EVENTS: usize = 1000;
    const MAX_EVENTS: usize = 30_000;
    const STALLED: &str = "/events?who=stalled";
    const READERS: usize = 2;
    // The publisher stays at most this many events ahead of the slowest reader, well within
    // the ring (128 events), so a reading client never falls behind the ring.
    const LAG: usize = 64;
    let write_timeout = Duration::from_millis(300);
    let hub = Box::new(StdHub::new(Ring::<128, 196_608>::new(1)));
    let config = ServerConfig::new().with_write_timeout(Some(write_timeout));
    let data = |n: usize| format!("event {n:05} {}", "x".repeat(1000));

    with_server(&hub, config, |server| {
        let mut stalled = connect(server.addr, get(STALLED).as_bytes());
        wait("the stalled client's stream", || {
            server.decided.load(Ordering::SeqCst) == 1
        });
        let progress: Arc<[AtomicUsize; READERS]> = Arc::new(Default::default());
        // How many events the readers wait for: unknown until the publisher stops.
        let target = Arc::new(AtomicUsize::new(usize::MAX));
        let readers: Vec<_> = (0..READERS)
            .map(|k| {
                let (progress, target) = (Arc::clone(&progress), Arc::clone(&target));
                let stream = connect(server.addr, get(&format!("/events?who=r{k}")).as_bytes());
                std::thread::spawn(move || {
                    let mut reader = EventReader::new(stream);
                    let reading = reader.read_until(
                        Duration::from_secs(9),
                        |n| progress[k].store(n, Ordering::SeqCst),
                        |seen| event_count(seen) == target.load(Ordering::SeqCst),
                    );
                    // The stream stays open until the test ends.
                    (reading, reader)
                })
            })
            .collect();
        wait("every stream open", || {
            server.decided.load(Ordering::SeqCst) == 1 + READERS
        });

        // Publishes until the stalled client is shed: loopback takes about 4 MB into the
        // socket buffers of a client that never reads before a write blocks.
        let shed = || {
            server
                .ended
                .lock()
                .unwrap()
                .iter()
                .any(|e| e.target == STALLED)
        };
        let start = StdInstant::now();
        let (mut slowest_publish, mut slowest_wait) = (Duration::ZERO, Duration::ZERO);
        let mut published = 0;
        while published < MIN_EVENTS || !shed() {
            assert!(published < MAX_EVENTS, "not shed after {published} events");
            let n = published + 1;
            let waiting = StdInstant::now();
            wait("the readers to keep up", || {
                let slowest = progress.iter().map(|p| p.load(Ordering::SeqCst)).min();
                slowest.unwrap_or(0) + LAG >= n
            });
            slowest_wait = slowest_wait.max(waiting.elapsed());
            let before = StdInstant::now();
            hub.publish(None, &data(n)).unwrap();
            slowest_publish = slowest_publish.max(before.elapsed());
            published = n;
        }
        let last_published = StdInstant::now();
        target.store(published, Ordering::SeqCst);
        let readings: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        let last_lag = last_published.elapsed();
        let delivered = start.elapsed();
        let shed_after = server
            .ended
            .lock()
            .unwrap()
            .iter()
            .find(|e| e.target == STALLED)
            .map(|e| e.at.saturating_duration_since(start))
            .unwrap();
        eprintln!(
            "published {published} events in {delivered:?} (slowest publish \
             {slowest_publish:?}, longest wait for the readers {slowest_wait:?}); the last \
             reached every reader {last_lag:?} after it was published; stalled client shed \
             after {shed_after:?}"
        );
        for (reading, _) in &readings {
            assert_eq!(reading.status, Some(200));
            let events = reading.events();
            assert_eq!(events.len(), published);
            for (n, (event_type, got, id)) in (1..).zip(events) {
                assert_eq!(event_type, "message");
                assert_eq!(id, format!("1-{n}"));
                assert!(got == data(n), "event {n} changed");
            }
        }
        // Promptly: the readers were never more than LAG events behind for long (a publisher
        // that waited on them for a second would mean the stalled client held them up), the
        // last event reached them at once, and no publish was held up by the client that does
        // not read (a publish only copies into the ring under the hub's lock).
        assert!(slowest_wait < Duration::from_secs(1), "{slowest_wait:?}");
        assert!(last_lag < Duration::from_secs(1), "{last_lag:?}");
        assert!(
            slowest_publish < Duration::from_millis(250),
            "a publish took {slowest_publish:?}"
        );
        // Shed by the write-stall deadline, and only it.
        let reasons = server.reasons_for(STALLED);
        assert!(
            matches!(reasons[..], [Some(CloseReason::WriteStalled { .. })]),
            "{reasons:?}"
        );
        assert!(shed_after >= write_timeout, "shed after {shed_after:?}");
        assert_eq!(
            server.ended.lock().unwrap().len(),
            1,
            "only the stalled one shed"
        );
        // The server closed the stalled socket: what the client's buffers still hold ends.
        let (_, end) = read_to_close(&mut stalled);
        assert!(matches!(end, End::Eof | End::Reset));
        drop(readings);
    });
}

#[test]
fn connections_that_send_nothing_or_half_a_head_are_shed_by_the_head_deadline() {
    const SILENT: usize = 8;
    let head_timeout = Duration::from_millis(200);
    let hub = StdHub::new(Ring::<16, 4096>::new(1));
    let config = ServerConfig::new().with_head_timeout(head_timeout);

    with_server(&hub, config, |server| {
        let opened = StdInstant::now();
        let mut silent: Vec<_> = (0..SILENT).map(|_| connect(server.addr, b"")).collect();
        let mut halves: Vec<_> = (0..SILENT)
            .map(|_| {
                connect(
                    server.addr,
                    b"GET /events HTTP/1.1\r\nHost: localhost\r\nAcc",
                )
            })
            .collect();
        // A slowloris: a byte every 20 ms, which must not extend the deadline.
        let drip = connect(server.addr, b"");
        let mut drip_reader = drip.try_clone().unwrap();
        let dripper = std::thread::spawn(move || {
            let mut drip = drip;
            for byte in b"GET /events HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if drip.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        // A well-behaved client among them is served at once.
        let mut good = EventReader::new(connect(server.addr, get("/events").as_bytes()));
        wait("the good stream open", || {
            server.decided.load(Ordering::SeqCst) == 1
        });
        hub.publish(None, "still serving").unwrap();
        let reading = good.read_events(1);
        assert!(
            reading.took < Duration::from_secs(1),
            "served in {:?}",
            reading.took
        );

        for stream in silent.iter_mut().chain(halves.iter_mut()) {
            let (bytes, end) = read_to_close(stream);
            // Shed without an answer: the head never completed, so there is nothing to answer.
            assert_eq!((bytes.len(), end), (0, End::Eof));
        }
        let (bytes, end) = read_to_close(&mut drip_reader);
        assert_eq!(bytes.len(), 0);
        assert!(matches!(end, End::Eof | End::Reset));
        dripper.join().unwrap();
        let closed = opened.elapsed();
        server.wait_ended("every idle connection shed", |ended| {
            ended.len() == 2 * SILENT + 1
        });

        eprintln!("{} idle connections shed after {closed:?}", 2 * SILENT + 1);
        assert!(closed >= head_timeout, "shed early, after {closed:?}");
        assert!(closed < head_timeout * 10, "shed late, after {closed:?}");
        for ended in server.ended.lock().unwrap().iter() {
            assert_eq!(ended.reason(), Some(CloseReason::HeadTimeout), "{ended:?}");
        }
        // The good client's stream outlived them all.
        hub.publish(None, "after the shedding").unwrap();
        let reading = good.read_events(2);
        assert_eq!(reading.events()[1].1, "after the shedding");
        // Its task records the end before it leaves the count.
        wait("only the good connection left", || {
            server.live.load(Ordering::SeqCst) == 1
        });
    });
}

#[test]
fn pipelined_requests_after_the_get_are_ignored_and_the_stream_is_served_unchanged() {
    // The rule: a connection carries one event stream. Bytes after the GET head (in the same
    // write or later) are read and dropped; nothing else is answered on the connection, and it
    // closes when the stream ends (here by a lease that is never renewed).
    let lease = Duration::from_millis(400);
    let hub = StdHub::new(Ring::<16, 4096>::new(5));
    let config = ServerConfig::new()
        .with_keepalive(None)
        .with_lease(Some(lease));

    with_server(&hub, config, |server| {
        let mut request = get("/events").into_bytes();
        request.extend_from_slice(get("/second").as_bytes());
        request.extend_from_slice(
            b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Length: 26\r\n\r\n\
              data: injected\nid: 99\n\n\0\xff",
        );
        let mut stream = connect(server.addr, &request);
        wait("the stream open", || {
            server.decided.load(Ordering::SeqCst) == 1
        });
        hub.publish(None, "one").unwrap();
        hub.publish(None, "two").unwrap();
        // More of the same, mid-stream.
        stream.write_all(get("/third").as_bytes()).unwrap();
        stream.write_all(&[b'x'; 4096]).unwrap();
        hub.publish(None, "three").unwrap();

        let (bytes, end) = read_to_close(&mut stream);
        let (status, listener, body_ended) = server_support::read_response(&bytes);

        assert_eq!(status, Some(200));
        assert_eq!(
            listener.events(),
            [
                ("message".into(), "one".into(), "5-1".into()),
                ("message".into(), "two".into(), "5-2".into()),
                ("message".into(), "three".into(), "5-3".into()),
            ]
        );
        // One response head only, and nothing but that stream's chunks (read_response fails
        // on bytes after the end of the body or on broken chunk framing).
        let heads = bytes.windows(9).filter(|w| w == b"HTTP/1.1 ").count();
        assert_eq!(heads, 1);
        assert!(!body_ended, "a lease that runs out cuts the stream");
        assert!(matches!(end, End::Eof | End::Reset));
        assert_eq!(
            server.decided.load(Ordering::SeqCst),
            1,
            "one request decided"
        );
        // The client can see the close a moment before the server's task records it.
        server.wait_ended("the stream's end", |ended| !ended.is_empty());
        let reasons = server.reasons_for("/events");
        assert!(
            matches!(reasons[..], [Some(CloseReason::LeaseExpired { .. })]),
            "{reasons:?}"
        );
    });
}

#[test]
fn hostile_payloads_are_framed_by_the_ring_as_exactly_one_event_each() {
    let mut ring = Ring::<16, 4096>::new(3);
    for (n, payload) in (1..).zip(HOSTILE_PAYLOADS) {
        let seq = ring.publish(None, payload).unwrap();
        assert_eq!(seq, EventSeq::new(n));
        let framed = ring.event(seq).unwrap();

        let mut parser = Parser::<[u8; 1024]>::new();
        let mut events = Vec::new();
        let mut feed = parser.feed(framed);
        while let Some(output) = feed.next() {
            match output.unwrap() {
                Output::Event(event) => events.push((
                    event.event_type().to_owned(),
                    event.data().to_owned(),
                    event.id().to_owned(),
                )),
                other => panic!("{payload:?} framed as more than an event: {other:?}"),
            }
        }
        drop(feed);

        let expected = ("message".to_owned(), normalised(payload), format!("3-{n}"));
        assert_eq!(events, [expected], "payload {payload:?}");
        // The parser's retry and last event ID are what the one event set, nothing injected.
        assert_eq!(parser.last_event_id(), format!("3-{n}"));
    }
    // Invalid UTF-8 cannot reach `publish` (it takes `&str`); a caller that decodes lossily
    // publishes U+FFFD in its place, which arrives as it is.
    let lossy = String::from_utf8_lossy(b"bad \xff\xfe\r\nbyte");
    let seq = ring.publish(None, &lossy).unwrap();
    let mut parser = Parser::<[u8; 256]>::new();
    let mut feed = parser.feed(ring.event(seq).unwrap());
    let Some(Ok(Output::Event(event))) = feed.next() else {
        panic!("one event");
    };
    assert_eq!(event.data(), "bad \u{fffd}\u{fffd}\nbyte");
}

#[test]
fn hostile_payloads_published_to_the_hub_reach_a_subscriber_as_exactly_one_event_each() {
    let hub = StdHub::new(Ring::<64, 16_384>::new(8));
    with_server(&hub, ServerConfig::new(), |server| {
        let mut reader = EventReader::new(connect(server.addr, get("/events").as_bytes()));
        wait("the stream open", || {
            server.decided.load(Ordering::SeqCst) == 1
        });
        for payload in HOSTILE_PAYLOADS {
            hub.publish(None, payload).unwrap();
        }
        hub.publish(None, "the end").unwrap();

        let reading = reader.read_until(
            Duration::from_secs(5),
            |_| {},
            |seen| {
                seen.iter().any(
                    |s| matches!(s, server_support::Seen::Event { data, .. } if data == "the end"),
                )
            },
        );

        let expected: Vec<_> = (1..)
            .zip(HOSTILE_PAYLOADS.iter().copied().chain(["the end"]))
            .map(|(n, payload)| ("message".to_owned(), normalised(payload), format!("8-{n}")))
            .collect();
        assert_eq!(reading.events(), expected);
        // Nothing but the keep-alive announcement besides the events: no injected retry or
        // comment.
        let others: Vec<_> = reading
            .seen
            .iter()
            .filter(|s| !matches!(s, server_support::Seen::Event { .. }))
            .collect();
        assert_eq!(
            others,
            [&server_support::Seen::Comment("keepalive 15000".into())]
        );
    });
}

#[test]
fn hostile_last_event_ids_open_the_stream_with_a_gap_event_never_a_panic() {
    let hub = StdHub::new(Ring::<16, 4096>::new(4));
    hub.publish(None, "kept").unwrap();
    let cases: [(&[u8], Option<&str>); 12] = [
        (b"4-18446744073709551616", Some("malformed-id")),
        (b"4-18446744073709551615", Some("future-id")),
        (b"4294967296-1", Some("malformed-id")),
        (b"4-01", Some("malformed-id")),
        (b"4-+1", Some("malformed-id")),
        (b"-", Some("malformed-id")),
        (b"4-", Some("malformed-id")),
        (b"\xff\xfe-1", Some("malformed-id")),
        (b"4-1\xff", Some("malformed-id")),
        (b"3-1", Some("other-epoch")),
        // Before the first event: a replay of everything kept.
        (b"4-0", None),
        (b" \t4-0\t ", None),
    ];
    with_server(&hub, ServerConfig::new(), |server| {
        for (id, gap) in cases {
            let mut request =
                b"GET /events HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: ".to_vec();
            request.extend_from_slice(id);
            request.extend_from_slice(b"\r\n\r\n");
            let mut reader = EventReader::new(connect(server.addr, &request));

            let reading = reader.read_events(gap.map_or(1, |_| 2));

            let events = reading.events();
            let shown = String::from_utf8_lossy(id);
            assert_eq!(reading.status, Some(200), "{shown}");
            match gap {
                Some(reason) => {
                    assert_eq!(events[0].0, "sansse-gap", "{shown}");
                    assert!(events[0].1.contains(reason), "{shown}: {events:?}");
                    assert_eq!(events[1], ("message".into(), "kept".into(), "4-1".into()));
                }
                None => assert_eq!(
                    events,
                    [("message".into(), "kept".into(), "4-1".into())],
                    "{shown}"
                ),
            }
        }
    });
}

#[test]
fn malformed_request_heads_get_an_error_response_never_a_panic() {
    let hub = StdHub::new(Ring::<16, 4096>::new(1));
    // Empty lines before the request line are skipped (RFC 9112, section 2.2), but they count
    // towards the head's size.
    let empty_lines = b"\r\n".repeat(5000);
    let heads: [&[u8]; 12] = [
        b"GET /events HTTP/9.9\r\nHost: h\r\n\r\n",
        b"GET /events\r\nHost: h\r\n\r\n",
        b"GET  /events HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /ev\xffents HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost h\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHo st: h\r\n\r\n",
        b"GET /events HTTP/1.1\r\n: h\r\n\r\n",
        &empty_lines,
        b"\0\0\0\0\0\0\0\0\r\n\r\n",
    ];
    with_server(&hub, ServerConfig::new(), |server| {
        for head in heads {
            let shown = String::from_utf8_lossy(head);
            let mut stream = connect(server.addr, head);
            let (response, end) = read_to_close(&mut stream);
            let text = String::from_utf8_lossy(&response);
            // Answered with an error (or reset, if the close raced bytes still unread).
            assert!(
                text.starts_with("HTTP/1.1 4")
                    || text.starts_with("HTTP/1.1 5")
                    || (response.is_empty() && end == End::Reset),
                "{shown:?}: {text:?}"
            );
        }
        server.wait_ended("every connection closed", |ended| {
            ended.len() == heads.len()
        });
        assert_eq!(
            server.decided.load(Ordering::SeqCst),
            0,
            "nothing reached decide"
        );
        for ended in server.ended.lock().unwrap().iter() {
            assert!(
                matches!(ended.reason(), Some(CloseReason::BadRequest { .. })),
                "{ended:?}"
            );
        }
    });
}

#[test]
fn a_client_that_floods_bytes_after_its_get_still_gets_every_event() {
    // The rule for pipelined bytes holds for any amount: read and dropped, and the stream's
    // output goes first, so a peer that never stops sending cannot starve its own stream
    // (or anyone else's: the others share the executor).
    const EVENTS: usize = 200;
    let hub = StdHub::new(Ring::<256, 65_536>::new(2));
    with_server(&hub, ServerConfig::new(), |server| {
        let flooding = connect(server.addr, get("/events?who=flood").as_bytes());
        let mut writer = flooding.try_clone().unwrap();
        let mut flood = EventReader::new(flooding);
        let mut quiet = EventReader::new(connect(server.addr, get("/events").as_bytes()));
        wait("both streams open", || {
            server.decided.load(Ordering::SeqCst) == 2
        });
        let stop = Arc::new(core::sync::atomic::AtomicBool::new(false));
        let flooder = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let junk = [b'G'; 64 * 1024];
                let mut sent = 0usize;
                while !stop.load(Ordering::SeqCst) && writer.write_all(&junk).is_ok() {
                    sent += junk.len();
                }
                sent
            })
        };
        for n in 1..=EVENTS {
            hub.publish(None, &format!("event {n}")).unwrap();
            if n % 20 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }

        let flooded = flood.read_events(EVENTS);
        let calm = quiet.read_events(EVENTS);
        stop.store(true, Ordering::SeqCst);
        let _ = flood.stream.shutdown(std::net::Shutdown::Both);
        let sent = flooder.join().unwrap();

        eprintln!("the flooding client sent {} KiB meanwhile", sent >> 10);
        for reading in [&flooded, &calm] {
            let data: Vec<_> = reading.events().into_iter().map(|e| e.1).collect();
            let expected: Vec<_> = (1..=EVENTS).map(|n| format!("event {n}")).collect();
            assert_eq!(data, expected);
        }
        assert!(sent > 0);
    });
}

#[test]
fn flooding_clients_do_not_starve_a_newcomer_on_the_same_executor() {
    // A task whose socket always has bytes never has to wait for a read; unless the loop
    // yields, it keeps the executor's only thread and nobody else is served.
    const FLOODERS: usize = 3;
    let hub = StdHub::new(Ring::<16, 4096>::new(1));
    with_server(&hub, ServerConfig::new(), |server| {
        let stop = Arc::new(core::sync::atomic::AtomicBool::new(false));
        // Stops the floods also when an assertion fails, so the server can stop too.
        let _stop = StopFlood(Arc::clone(&stop));
        let flooders: Vec<_> = (0..FLOODERS)
            .map(|_| {
                let stream = connect(server.addr, get("/events?who=flood").as_bytes());
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let junk = [b'G'; 64 * 1024];
                    while !stop.load(Ordering::SeqCst) && stream.write_all(&junk).is_ok() {}
                    stream
                })
            })
            .collect();
        wait("the floods open", || {
            server.decided.load(Ordering::SeqCst) == FLOODERS
        });
        std::thread::sleep(Duration::from_millis(100));

        let start = StdInstant::now();
        let mut newcomer = EventReader::new(connect(server.addr, get("/events").as_bytes()));
        wait("the newcomer's stream open", || {
            server.decided.load(Ordering::SeqCst) == FLOODERS + 1
        });
        hub.publish(None, "welcome").unwrap();
        let reading = newcomer.read_events(1);
        let took = start.elapsed();
        stop.store(true, Ordering::SeqCst);
        for flooder in flooders {
            let stream = flooder.join().unwrap();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }

        eprintln!("the newcomer got its first event {took:?} after connecting");
        assert_eq!(reading.events()[0].1, "welcome");
        assert!(took < Duration::from_millis(500), "took {took:?}");
    });
}

/// Sets its flag when dropped.
struct StopFlood(Arc<core::sync::atomic::AtomicBool>);

impl Drop for StopFlood {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
