//! The blocking shell (`Server::serve_blocking`, a thread per connection) against the same
//! hostile peers as the async one: a client that never reads is shed by the write-stall
//! deadline while a reader gets every event; connections that send nothing or half a head are
//! shed by the request-head deadline; bytes after the `GET` are ignored.
#![cfg(feature = "futures-io-0.3")]

mod hostile_support;
mod server_support;

use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use hostile_support::{
    End, EventReader, connect, event_count, get, read_to_close, wait, with_blocking_server,
};
use sansse::io::StdHub;
use sansse::replay::Ring;
use sansse::server::{CloseReason, ServerConfig};

#[test]
fn a_client_that_never_reads_is_shed_while_a_reader_gets_every_event() {
    const MAX_EVENTS: usize = 30_000;
    const LAG: usize = 64;
    const STALLED: &str = "/events?who=stalled";
    let write_timeout = Duration::from_millis(300);
    let hub = Box::new(StdHub::new(Ring::<128, 196_608>::new(1)));
    let config = ServerConfig::new().with_write_timeout(Some(write_timeout));
    let data = |n: usize| format!("event {n:05} {}", "x".repeat(1000));

    with_blocking_server(&hub, config, |server| {
        let mut stalled = connect(server.addr, get(STALLED).as_bytes());
        let progress = Arc::new(AtomicUsize::new(0));
        let target = Arc::new(AtomicUsize::new(usize::MAX));
        let reader = {
            let (progress, target) = (Arc::clone(&progress), Arc::clone(&target));
            let stream = connect(server.addr, get("/events").as_bytes());
            std::thread::spawn(move || {
                let mut reader = EventReader::new(stream);
                let reading = reader.read_until(
                    Duration::from_secs(9),
                    |n| progress.store(n, Ordering::SeqCst),
                    |seen| event_count(seen) == target.load(Ordering::SeqCst),
                );
                (reading, reader)
            })
        };
        wait("both streams open", || {
            server.decided.load(Ordering::SeqCst) == 2
        });

        let shed = || {
            server
                .ended
                .lock()
                .unwrap()
                .iter()
                .any(|e| e.target == STALLED)
        };
        let start = StdInstant::now();
        let mut published = 0;
        while !shed() {
            assert!(published < MAX_EVENTS, "not shed after {published} events");
            let n = published + 1;
            wait("the reader to keep up", || {
                progress.load(Ordering::SeqCst) + LAG >= n
            });
            hub.publish(None, &data(n)).unwrap();
            published = n;
        }
        let shed_after = start.elapsed();
        target.store(published, Ordering::SeqCst);
        let (reading, reader) = reader.join().unwrap();

        eprintln!("blocking: stalled client shed after {shed_after:?}, {published} events");
        let events = reading.events();
        assert_eq!(events.len(), published);
        for (n, (_, got, id)) in (1..).zip(events) {
            assert_eq!(id, format!("1-{n}"));
            assert!(got == data(n), "event {n} changed");
        }
        let reasons = server.reasons_for(STALLED);
        assert!(
            matches!(reasons[..], [Some(CloseReason::WriteStalled { .. })]),
            "{reasons:?}"
        );
        let (_, end) = read_to_close(&mut stalled);
        assert!(matches!(end, End::Eof | End::Reset));
        drop(reader);
    });
}

#[test]
fn silent_and_half_head_connections_are_shed_by_the_head_deadline() {
    let head_timeout = Duration::from_millis(200);
    let hub = StdHub::new(Ring::<16, 4096>::new(1));
    let config = ServerConfig::new().with_head_timeout(head_timeout);

    with_blocking_server(&hub, config, |server| {
        let opened = StdInstant::now();
        let mut idle = vec![
            connect(server.addr, b""),
            connect(server.addr, b"GET /events HTTP/1.1\r\nHo"),
        ];
        // Pipelined bytes after the GET are ignored here too.
        let mut request = get("/events").into_bytes();
        request.extend_from_slice(get("/second").as_bytes());
        let mut good = EventReader::new(connect(server.addr, &request));
        wait("the good stream open", || {
            server.decided.load(Ordering::SeqCst) == 1
        });
        hub.publish(None, "served").unwrap();
        assert_eq!(good.read_events(1).events()[0].1, "served");

        for stream in &mut idle {
            assert_eq!(read_to_close(stream), (Vec::new(), End::Eof));
        }
        let closed = opened.elapsed();
        server.wait_ended("both idle connections shed", |ended| ended.len() == 2);

        assert!(closed >= head_timeout, "shed early, after {closed:?}");
        assert!(closed < head_timeout * 10, "shed late, after {closed:?}");
        for ended in server.ended.lock().unwrap().iter() {
            assert_eq!(ended.reason(), Some(CloseReason::HeadTimeout), "{ended:?}");
        }
        hub.publish(None, "still serving").unwrap();
        let reading = good.read_events(2);
        assert_eq!(reading.events()[1].1, "still serving");
        assert_eq!(
            server.decided.load(Ordering::SeqCst),
            1,
            "one request decided"
        );
    });
}
