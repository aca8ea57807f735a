//! Redirects: followed within an attempt over new connections, up to a limit.

mod client_harness;

use client_harness::{Act, Client, EXACT, Ev, connect_to, header, msg};
use sansse::client::{ClientConfig, CloseReason, ReconnectReason, State};
use sansse::http::Policy;

const CONFIG: ClientConfig<'static> = ClientConfig::new("example.com", "/api/events?topic=a")
    .with_port(8080)
    .with_backoff(EXACT);

fn redirect(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
        .into_bytes()
}

#[test]
fn same_origin_redirect_reconnects_to_the_same_place_with_the_new_target() {
    let mut client = Client::new(CONFIG);
    assert_eq!(client.take_actions(), [connect_to("example.com", 8080)]);
    client.connected();
    client.feed(&redirect(307, "../v2/events"));
    assert_eq!(client.take_events(), [Ev::Redirected(307)]);
    assert_eq!(
        client.take_actions(),
        [Act::Disconnect, connect_to("example.com", 8080)]
    );
    assert_eq!(client.state(), State::Connecting);

    let request = client.connected();
    assert!(request.starts_with("GET /v2/events HTTP/1.1\r\nHost: example.com:8080\r\n"));
    assert_eq!(
        client.open(b"data: moved\n\n"),
        [msg("message", "moved", "")]
    );
}

#[test]
fn redirect_to_another_host_and_port_tells_the_shell_where() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.connected();
    client.feed(&redirect(302, "http://Other.example:9000/stream"));
    assert_eq!(
        client.take_actions(),
        [
            Act::Disconnect,
            Act::Connect {
                host: "Other.example".to_owned(),
                port: 9000,
                cross_origin: true,
            }
        ]
    );
    let request = client.connected();
    assert!(request.starts_with("GET /stream HTTP/1.1\r\nHost: Other.example:9000\r\n"));

    // A relative redirect from there stays on the new host.
    client.feed(&redirect(308, "/final"));
    assert_eq!(
        client.take_actions(),
        [
            Act::Disconnect,
            Act::Connect {
                host: "Other.example".to_owned(),
                port: 9000,
                cross_origin: true,
            }
        ]
    );
    assert!(client.connected().starts_with("GET /final HTTP/1.1\r\n"));
}

#[test]
fn same_host_other_case_is_not_cross_origin_and_ipv6_is_bracketed() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.connected();
    client.feed(&redirect(301, "http://EXAMPLE.com:8080/x"));
    assert_eq!(
        client.take_actions()[1],
        Act::Connect {
            host: "EXAMPLE.com".to_owned(),
            port: 8080,
            cross_origin: false,
        }
    );
    client.connected();
    client.feed(&redirect(301, "http://[::1]:81/y"));
    assert_eq!(
        client.take_actions()[1],
        Act::Connect {
            host: "::1".to_owned(),
            port: 81,
            cross_origin: true,
        }
    );
    assert!(client.connected().contains("\r\nHost: [::1]:81\r\n"));
}

#[test]
fn redirect_limit_is_enforced_per_attempt() {
    let mut client = Client::new(CONFIG.with_max_redirects(2));
    client.connected();
    client.feed(&redirect(302, "/a"));
    client.connected();
    client.feed(&redirect(302, "/b"));
    client.connected();
    client.feed(&redirect(302, "/c"));
    assert_eq!(
        client.take_events(),
        [
            Ev::Redirected(302),
            Ev::Redirected(302),
            Ev::Closed(CloseReason::TooManyRedirects { limit: 2 })
        ]
    );
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.take_actions().last(), Some(&Act::Disconnect));
}

#[test]
fn redirect_count_starts_over_with_each_attempt() {
    let mut client = Client::new(CONFIG.with_max_redirects(1));
    client.connected();
    client.feed(&redirect(302, "/a"));
    client.connected();
    client.feed(b"HTTP/1.1 503 Busy\r\n\r\n");
    client.fire();
    client.take_actions();
    // The new attempt starts at the configured target and may redirect once again.
    assert!(
        client
            .connected()
            .starts_with("GET /api/events?topic=a HTTP/1.1\r\n")
    );
    client.feed(&redirect(302, "/a"));
    assert_eq!(client.state(), State::Connecting);
    assert_eq!(
        client.take_actions(),
        [Act::Disconnect, connect_to("example.com", 8080)]
    );
}

#[test]
fn reconnect_after_a_redirected_stream_starts_at_the_configured_origin() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(&redirect(307, "http://mirror:81/e"));
    client.take_actions();
    client.open(b"id: 5\ndata: x\n\n");
    client.at(10).eof();
    client.fire();
    assert_eq!(
        client.take_actions(),
        [Act::Disconnect, connect_to("example.com", 8080)]
    );
    let request = client.connected();
    assert!(request.starts_with("GET /api/events?topic=a HTTP/1.1\r\n"));
    assert_eq!(header(&request, "Last-Event-ID"), Some("5"));
}

#[test]
fn see_other_turns_post_into_get_without_body() {
    let config = CONFIG
        .with_method("POST")
        .with_body(b"{\"topics\":[\"a\"]}");
    let mut client = Client::new(config);
    let first = client.connected();
    assert!(first.starts_with("POST /api/events?topic=a HTTP/1.1\r\n"));
    assert!(first.ends_with("Content-Length: 16\r\n\r\n{\"topics\":[\"a\"]}"));

    client.feed(&redirect(303, "/results"));
    let second = client.connected();
    assert!(second.starts_with("GET /results HTTP/1.1\r\n"));
    assert_eq!(header(&second, "Content-Length"), None);
    assert!(second.ends_with("\r\n\r\n"));

    // Later redirects in the same attempt stay GET, even 307.
    client.feed(&redirect(307, "/again"));
    assert!(client.connected().starts_with("GET /again HTTP/1.1\r\n"));

    // The next attempt is a POST with its body again.
    client.feed(b"HTTP/1.1 500 Oops\r\n\r\n");
    client.fire();
    let retried = client.connected();
    assert!(retried.starts_with("POST /api/events?topic=a HTTP/1.1\r\n"));
    assert!(retried.ends_with("{\"topics\":[\"a\"]}"));
}

#[test]
fn temporary_redirect_keeps_method_and_body() {
    let config = CONFIG.with_method("POST").with_body(b"abc");
    let mut client = Client::new(config);
    client.connected();
    client.feed(&redirect(307, "/elsewhere"));
    let request = client.connected();
    assert!(request.starts_with("POST /elsewhere HTTP/1.1\r\n"));
    assert!(request.ends_with("Content-Length: 3\r\n\r\nabc"));
}

#[test]
fn https_redirect_is_refused() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(&redirect(301, "https://example.com/events"));
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::UnsupportedRedirect)]
    );
}

#[test]
fn redirect_without_location_fails() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(b"HTTP/1.1 302 Found\r\n\r\n");
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::Failed(
            sansse::http::Failure::MissingLocation
        ))]
    );
}

#[test]
fn redirects_can_be_turned_off() {
    let mut client = Client::new(CONFIG.with_policy(Policy::new().follow_redirects(false)));
    client.connected();
    client.feed(&redirect(302, "/a"));
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::Failed(
            sansse::http::Failure::Status(302)
        ))]
    );
}

#[test]
fn redirect_longer_than_its_buffer_closes_with_the_size_needed() {
    let long = format!("http://h/{}", "x".repeat(600));
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(&redirect(302, &long));
    // 1 byte of host and 601 of target do not fit the 512-byte redirect buffer.
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::RedirectTooLong { needed: 602 })]
    );
}

#[test]
fn retryable_status_after_a_redirect_uses_the_backoff() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(&redirect(302, "/a"));
    client.connected();
    client.feed(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
    assert_eq!(
        client.take_events(),
        [
            Ev::Redirected(302),
            Ev::Reconnecting {
                delay_ms: 1_000,
                attempt: 1,
                reason: ReconnectReason::Status(502),
            }
        ]
    );
}
