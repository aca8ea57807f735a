//! `examples/server`'s `POST /publish`, run as the real binary on a free loopback port, against
//! bodies that try to break out of one event: CR, LF, CRLF, `\n\ndata: injected`,
//! `\r\rid: 9`, a whole second event in CRLF, NUL, field lines of their own, the empty body.
//! Each reaches a subscriber as exactly one event with the next id and its data preserved,
//! line breaks normalised as the WHATWG parser reads them (every CR, LF and CRLF is one line
//! break, read back as LF). A body that is not UTF-8 is refused with `400` and publishes
//! nothing (the example's rule; the library's `publish` takes `&str`), as is an `?event=` name
//! holding CR or LF.
//!
//! A client that floods bytes after a plain request must not hold the example's executor in
//! its drain-before-close.
//!
//! The example is built by cargo with the features this test was built with (a no-op after
//! `cargo test`, which builds the examples first) and killed when the test ends.
#![cfg(feature = "futures-io-0.3")]

mod example_binary;
mod hostile_support;
mod server_support;

use core::net::SocketAddr;
use std::io::Write;
use std::net::TcpStream;

use example_binary::ExampleServer;
use hostile_support::{EventReader, HOSTILE_PAYLOADS, get, normalised};
use server_support::Seen;

#[test]
fn hostile_publish_bodies_reach_subscribers_as_exactly_one_event_each() {
    let server = ExampleServer::start(&["--epoch", "7", "--keepalive", "0"]);
    let mut subscriber = EventReader::new(
        TcpStream::connect(server.addr)
            .and_then(|mut stream| stream.write_all(get("/events").as_bytes()).map(|()| stream))
            .unwrap(),
    );
    // The stream opens with the example's retry hint (keep-alives are off): from then on,
    // every publish reaches it.
    let opened = subscriber.read_until(hostile_support::PATIENCE, |_| {}, |seen| !seen.is_empty());
    assert_eq!(opened.status, Some(200));

    let mut expected = Vec::new();
    for (n, payload) in (1..).zip(HOSTILE_PAYLOADS) {
        let (status, body) = publish(server.addr, payload.as_bytes());
        let id = format!("7-{n}");
        assert_eq!((status, body.trim_end()), (200, id.as_str()), "{payload:?}");
        expected.push(("message".to_owned(), normalised(payload), id));
    }
    for body in [
        &b"bad \xff byte"[..],
        b"\xc3",
        b"ok\r\n\xed\xa0\x80 (a surrogate)",
    ] {
        let (status, answer) = publish(server.addr, body);
        assert_eq!(
            (status, answer.as_str()),
            (400, "body is not UTF-8\n"),
            "{body:?}"
        );
    }
    // An event name that would end its field line is refused too.
    for name in ["a%0D%0Adata:%20injected", "a%0Aid:%209", "a%0D"] {
        let (status, answer) = publish_to(server.addr, &format!("/publish?event={name}"), b"x");
        assert_eq!(
            (status, answer.as_str()),
            (400, "bad event name\n"),
            "{name}"
        );
    }
    let n = HOSTILE_PAYLOADS.len() + 1;
    assert_eq!(publish(server.addr, b"the end").0, 200);
    expected.push(("message".to_owned(), "the end".to_owned(), format!("7-{n}")));

    let reading = subscriber.read_events(expected.len());

    assert_eq!(reading.status, Some(200));
    assert_eq!(reading.events(), expected);
    // Nothing besides the events: no injected retry or comment (keep-alives are off; the
    // example's default retry hint comes first).
    let others: Vec<_> = reading
        .seen
        .iter()
        .filter(|seen| !matches!(seen, Seen::Event { .. }))
        .collect();
    assert_eq!(others, [&Seen::Retry(1000)]);
}

#[test]
fn a_client_flooding_after_its_request_does_not_starve_the_example() {
    // After answering a plain request the example drains what the client still sends, for a
    // second at most, before closing; a client that never stops sending must not keep its
    // single-threaded executor there.
    let server = ExampleServer::start(&["--epoch", "7", "--keepalive", "0"]);
    let stop = std::sync::Arc::new(core::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..3)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let junk = [b'G'; 64 * 1024];
                while !stop.load(core::sync::atomic::Ordering::SeqCst)
                    && stream.write_all(&junk).is_ok()
                {}
            })
        })
        .collect();
    std::thread::sleep(core::time::Duration::from_millis(200));

    let start = std::time::Instant::now();
    let (status, _) = publish(server.addr, b"still here");
    let took = start.elapsed();
    stop.store(true, core::sync::atomic::Ordering::SeqCst);
    for flooder in flooders {
        flooder.join().unwrap();
    }

    eprintln!("answered in {took:?} while three clients flooded");
    assert_eq!(status, 200);
    assert!(
        took < core::time::Duration::from_millis(500),
        "answered after {took:?}"
    );
}

/// `POST /publish` with `body`; the status and the response body.
fn publish(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    publish_to(addr, "/publish", body)
}

/// `POST target` with `body`; the status and the response body.
fn publish_to(addr: SocketAddr, target: &str, body: &[u8]) -> (u16, String) {
    hostile_support::request_once(addr, "POST", target, body)
}
