//! Topics end to end: `examples/server` run as the real binary on a free loopback port, with
//! subscribers on overlapping topic sets, a multi-topic subscriber that drops and resumes, a
//! private topic behind a token, a hundred thousand topics published once each, and ten
//! thousand topics with one follower each.
//!
//! What must hold: a subscriber receives exactly the events published to its topics, in
//! publish order, none twice; one `Last-Event-ID` resumes all of its topics; a private topic's
//! events never reach a subscriber without its token, live, on replay or in a gap event; the
//! server's memory does not grow with the number of topics.
#![cfg(feature = "futures-io-0.3")]

mod example_binary;
mod hostile_support;
mod server_support;

use core::net::SocketAddr;
use std::io::Write;
use std::net::TcpStream;

use example_binary::ExampleServer;
use hostile_support::{EventReader, PATIENCE, read_to_close};
use server_support::Seen;

/// Options every test starts the example with: ids `7-<seq>`, no keep-alive comments.
const BASE: [&str; 4] = ["--epoch", "7", "--keepalive", "0"];

#[test]
fn subscribers_on_overlapping_topics_receive_exactly_theirs_in_publish_order() {
    let server = ExampleServer::start(&BASE);
    let mut a = subscribe(server.addr, "/events?topic=a", &[]);
    let mut b = subscribe(server.addr, "/events?topic=b", &[]);
    let mut ab = subscribe(server.addr, "/events?topic=a&topic=b", &[]);
    let mut default = subscribe(server.addr, "/events", &[]);
    let mut c_and_default = subscribe(server.addr, "/events?topic=c&topic=default", &[]);

    for (n, topics) in [
        (1, "topic=a"),
        (2, "topic=b"),
        (3, "topic=a&topic=b"),
        (4, ""),
        (5, "topic=c"),
        (6, "topic=a"),
        (7, "topic=a&topic=b&topic=c&topic=default"),
    ] {
        let (status, id) = publish(server.addr, &format!("/publish?{topics}"), &data(n));
        assert_eq!((status, id.trim()), (200, format!("7-{n}").as_str()));
    }

    assert_eq!(events_of(&mut a, 4), [1, 3, 6, 7]);
    assert_eq!(events_of(&mut b, 3), [2, 3, 7]);
    assert_eq!(events_of(&mut ab, 5), [1, 2, 3, 6, 7]);
    assert_eq!(events_of(&mut default, 2), [4, 7]);
    assert_eq!(events_of(&mut c_and_default, 3), [4, 5, 7]);
}

#[test]
fn a_multi_topic_subscriber_resumes_exactly_what_it_missed_with_one_id() {
    let server = ExampleServer::start(&BASE);
    let mut first = subscribe(server.addr, "/events?topic=x&topic=y", &[]);
    for (n, topics) in [(1, "topic=x"), (2, "topic=z"), (3, "topic=y")] {
        assert_eq!(
            publish(server.addr, &format!("/publish?{topics}"), &data(n)).0,
            200
        );
    }
    assert_eq!(events_of(&mut first, 2), [1, 3]);
    drop(first);

    for (n, topics) in [(4, "topic=z"), (5, "topic=x"), (6, ""), (7, "topic=y")] {
        assert_eq!(
            publish(server.addr, &format!("/publish?{topics}"), &data(n)).0,
            200
        );
    }
    let mut resumed = subscribe(
        server.addr,
        "/events?topic=y&topic=x",
        &["Last-Event-ID: 7-3"],
    );
    assert_eq!(
        publish(server.addr, "/publish?topic=x&topic=y", &data(8)).0,
        200
    );

    assert_eq!(events_of(&mut resumed, 3), [5, 7, 8]);
}

#[test]
fn a_private_topic_is_refused_without_its_token_and_never_reaches_others() {
    let server = ExampleServer::start(&[&BASE[..], &["--topic-token", "secret=s3cret"]].concat());

    let head = refusal(server.addr, "/events?topic=secret", &[]);
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    assert!(head.contains("\r\nWWW-Authenticate: Bearer\r\n"), "{head}");
    // One private topic among public ones refuses the whole request.
    let head = refusal(server.addr, "/events?topic=a&topic=secret", &[]);
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    for wrong in [
        "Authorization: Bearer s3cre",
        "Authorization: Bearer s3cret!",
        "Cookie: sansse_token=nope",
    ] {
        let head = refusal(server.addr, "/events?topic=secret", &[wrong]);
        assert!(head.starts_with("HTTP/1.1 403 "), "{wrong}: {head}");
    }

    let mut bearer = subscribe(
        server.addr,
        "/events?topic=secret",
        &["Authorization: Bearer s3cret"],
    );
    let mut cookie = subscribe(
        server.addr,
        "/events?topic=secret&topic=a",
        &["Cookie: theme=dark; sansse_token=s3cret"],
    );
    let mut public = subscribe(server.addr, "/events?topic=a", &[]);
    let mut default = subscribe(server.addr, "/events", &[]);
    for (n, topics) in [
        (1, "topic=secret"),
        (2, "topic=a"),
        (3, "topic=secret&topic=a"),
        (4, ""),
        (5, "topic=secret"),
    ] {
        assert_eq!(
            publish(server.addr, &format!("/publish?{topics}"), &data(n)).0,
            200
        );
    }
    // A last event for everyone, so that reading up to it shows all that came before.
    assert_eq!(
        publish(
            server.addr,
            "/publish?topic=secret&topic=a&topic=default",
            &data(6)
        )
        .0,
        200
    );

    assert_eq!(events_of(&mut bearer, 4), [1, 3, 5, 6]);
    assert_eq!(events_of(&mut cookie, 5), [1, 2, 3, 5, 6]);
    // Live: only what was also published to their own topics.
    assert_eq!(events_of(&mut public, 3), [2, 3, 6]);
    assert_eq!(events_of(&mut default, 2), [4, 6]);

    // Replay: from before the first event.
    let mut replayed = subscribe(server.addr, "/events?topic=a", &["Last-Event-ID: 7-0"]);
    assert_eq!(events_of(&mut replayed, 3), [2, 3, 6]);
    // A gap (an id of another epoch): the gap event names only the reader's topic, and the
    // kept events after it are the reader's alone.
    let mut gapped = subscribe(server.addr, "/events", &["Last-Event-ID: 6-99"]);
    let reading = gapped.read_until(PATIENCE, |_| {}, |seen| event_count(seen) >= 3);
    let events = reading.events();
    assert_eq!(events[0].0, "sansse-gap");
    assert_eq!(
        events[0].1,
        r#"{"reason":"other-epoch","topics":["default"]}"#
    );
    assert_eq!(
        events[1..].iter().map(|e| e.1.clone()).collect::<Vec<_>>(),
        [data_text(4), data_text(6)]
    );
    assert!(events.iter().all(|e| !e.1.contains("secret")), "{events:?}");
}

#[test]
fn a_hundred_thousand_topics_published_once_keep_the_server_within_its_budget() {
    const TOPICS: usize = 100_000;
    const PER_PUBLISH: usize = 16;
    /// The example's stated bound on memory growth, whatever the number of topics.
    const BUDGET: u64 = 64 << 20;
    let server = ExampleServer::start(&BASE);
    // An early topic's only event, soon evicted by the flood.
    assert_eq!(
        publish(server.addr, "/publish?topic=early", &data(1)).0,
        200
    );
    let before = server.rss_bytes();

    let mut names = (0..TOPICS).map(|n| format!("topic=t{n}"));
    let mut publishes = 0;
    loop {
        let batch: Vec<String> = names.by_ref().take(PER_PUBLISH).collect();
        if batch.is_empty() {
            break;
        }
        let (status, _) = publish(server.addr, &format!("/publish?{}", batch.join("&")), b"x");
        assert_eq!(status, 200);
        publishes += 1;
    }
    let after = server.rss_bytes();
    let growth = after.saturating_sub(before);
    eprintln!(
        "{TOPICS} topics in {publishes} publishes: RSS {} KiB -> {} KiB (+{} KiB)",
        before >> 10,
        after >> 10,
        growth >> 10
    );
    assert!(growth < BUDGET, "grew by {growth} bytes");

    // Resuming the early topic from before its event: evicted, so a gap event names it.
    let mut late = subscribe(server.addr, "/events?topic=early", &["Last-Event-ID: 7-0"]);
    let reading = late.read_until(PATIENCE, |_| {}, |seen| event_count(seen) >= 1);
    let events = reading.events();
    assert_eq!(events[0].0, "sansse-gap");
    assert_eq!(events[0].1, r#"{"reason":"evicted","topics":["early"]}"#);
}

/// The data of the `n`-th event a test publishes.
fn data(n: u32) -> Vec<u8> {
    data_text(n).into_bytes()
}

fn data_text(n: u32) -> String {
    format!("event {n}")
}

/// Reads until `count` events were seen in all and returns their numbers. Each test's last
/// publish goes to every subscriber, so an event too many shows as a list without it.
fn events_of(reader: &mut EventReader, count: usize) -> Vec<u32> {
    let reading = reader.read_until(PATIENCE, |_| {}, |seen| event_count(seen) >= count);
    reading
        .events()
        .iter()
        .map(|(_, data, _)| {
            data.strip_prefix("event ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not an event of this test: {data:?}"))
        })
        .collect()
}

fn event_count(seen: &[Seen]) -> usize {
    hostile_support::event_count(seen)
}

/// An EventSource-like request for `target` with extra header lines.
fn request(target: &str, headers: &[&str]) -> String {
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n"
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request
}

/// Opens a stream and waits until it is open (the example's retry hint arrived), so every
/// later publish reaches it.
fn subscribe(addr: SocketAddr, target: &str, headers: &[&str]) -> EventReader {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(request(target, headers).as_bytes())
        .unwrap();
    let mut reader = EventReader::new(stream);
    let opened = reader.read_until(PATIENCE, |_| {}, |seen| !seen.is_empty());
    assert_eq!(opened.status, Some(200), "{target} {headers:?}");
    reader
}

/// The response head of a request the example refuses.
fn refusal(addr: SocketAddr, target: &str, headers: &[&str]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(request(target, headers).as_bytes())
        .unwrap();
    let (bytes, _) = read_to_close(&mut stream);
    let text = String::from_utf8(bytes).unwrap();
    text.split_once("\r\n\r\n")
        .map_or(text.clone(), |(head, _)| format!("{head}\r\n"))
}

/// `POST target` with `body`; the status and the response body.
fn publish(addr: SocketAddr, target: &str, body: &[u8]) -> (u16, String) {
    hostile_support::request_once(addr, "POST", target, body)
}

#[test]
fn ten_thousand_topics_with_one_follower_each_fit_the_ring_and_a_set_apiece() {
    // The ring is built on the stack before it moves into the hub: more than a test thread's.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(ten_thousand_followers)
        .unwrap()
        .join()
        .unwrap();
}

fn ten_thousand_followers() {
    use sansse::StdHub;
    use sansse::io::Hub as _;
    use sansse::replay::{Cursor, Next, ReplayLog, Ring, Topics};

    const FOLLOWERS: usize = 10_000;
    let hub = StdHub::new(Ring::<16_384, 2_097_152>::new(3));
    // Each follower starts live right before its own event, as one that subscribed then.
    let mut followers: Vec<(Topics, Cursor)> = Vec::with_capacity(FOLLOWERS);
    for n in 0..FOLLOWERS {
        let topics = Topics::one(&format!("user/{n}")).unwrap();
        let cursor = hub.with_log(|log| log.following(&topics).live_cursor());
        hub.publish_to(&topics, None, &format!("for {n}")).unwrap();
        followers.push((topics, cursor));
    }

    for (n, (topics, mut cursor)) in followers.into_iter().enumerate() {
        hub.with_log(|log| {
            let view = log.following(&topics);
            let Next::Event(bytes) = view.next(&mut cursor) else {
                panic!("follower {n} got nothing");
            };
            let text = core::str::from_utf8(bytes).unwrap();
            assert!(text.ends_with(&format!("\ndata: for {n}\n\n")), "{text}");
            // Nothing else is theirs: checked for a sample, as each check scans every later
            // event (the other topics' events are skipped, never delivered).
            if n % 97 == 0 {
                assert_eq!(view.next(&mut cursor), Next::CaughtUp, "follower {n}");
            }
        });
    }
    // What a follower costs besides its connection: its topic set and a cursor. The ring is
    // the same size whatever the number of topics.
    let per_follower = size_of::<Topics>() + size_of::<Cursor>();
    eprintln!(
        "{per_follower} bytes a follower; ring {} bytes",
        size_of::<Ring<16_384, 2_097_152>>()
    );
    assert!(per_follower <= 1024, "{per_follower}");
    assert_eq!(hub.with_log(|log| log.len()), FOLLOWERS);
}
