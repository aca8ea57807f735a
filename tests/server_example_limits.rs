//! `examples/server`'s limits, run as the real binary: past `--max-streams` a new event stream
//! gets `503` with `Retry-After` while the open ones keep streaming, publishes and the page are
//! never refused for it, and a stream that ends frees its place. Without the flag the example
//! states at start-up how many streams its open-file limit allows.
#![cfg(feature = "futures-io-0.3")]

mod example_binary;
mod hostile_support;
mod server_support;

use std::io::Write;
use std::net::TcpStream;

use example_binary::ExampleServer;
use hostile_support::{EventReader, PATIENCE, event_count, get, read_to_close};

#[test]
fn past_the_stream_limit_new_streams_get_503_and_the_rest_goes_on() {
    let server = ExampleServer::start(&["--epoch", "7", "--keepalive", "0", "--max-streams", "3"]);
    let mut open: Vec<EventReader> = (0..3).map(|_| subscribe(&server)).collect();

    let head = refused(&server);
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    assert!(head.contains("\r\nRetry-After: 1\r\n"), "{head}");
    // Neither a publish nor the page counts against the streams' cap.
    assert_eq!(
        plain_request(&server, "POST", "/publish", b"still served").0,
        200
    );
    let (status, page) = plain_request(&server, "GET", "/", b"");
    assert_eq!(status, 200);
    assert!(page.contains("<title>sansse hub</title>"));
    for reader in &mut open {
        let reading = reader.read_until(PATIENCE, |_| {}, |seen| event_count(seen) >= 1);
        assert_eq!(reading.events()[0].1, "still served");
    }

    // One stream leaves: its place is free again.
    drop(open.pop());
    let mut again = None;
    for _ in 0..100 {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.write_all(get("/events").as_bytes()).unwrap();
        let mut reader = EventReader::new(stream);
        let reading = reader.read_until(PATIENCE, |_| {}, |seen| !seen.is_empty());
        if reading.status == Some(200) {
            again = Some(reader);
            break;
        }
        std::thread::sleep(core::time::Duration::from_millis(20));
    }
    assert!(again.is_some(), "a freed place was never given again");
}

/// Opens a stream the example accepts.
fn subscribe(server: &ExampleServer) -> EventReader {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(get("/events").as_bytes()).unwrap();
    let mut reader = EventReader::new(stream);
    let opened = reader.read_until(PATIENCE, |_| {}, |seen| !seen.is_empty());
    assert_eq!(opened.status, Some(200));
    reader
}

/// The response head to a stream request the example refuses.
fn refused(server: &ExampleServer) -> String {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(get("/events").as_bytes()).unwrap();
    let (bytes, _) = read_to_close(&mut stream);
    let text = String::from_utf8(bytes).unwrap();
    text.split_once("\r\n\r\n")
        .map_or(text.clone(), |(head, _)| format!("{head}\r\n"))
}

/// A plain request; the status and the body.
fn plain_request(server: &ExampleServer, method: &str, target: &str, body: &[u8]) -> (u16, String) {
    hostile_support::request_once(server.addr, method, target, body)
}
