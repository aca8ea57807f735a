//! Credentials never follow a redirect to another origin: the session leaves the sensitive
//! headers (`Authorization`, `Cookie`, `Proxy-Authorization`, and any the user names) out of a
//! request to another host or port than the configured one, whichever way they were given.
//! Every assertion is on the exact request bytes the session writes.

mod client_harness;

use client_harness::{Act, Client, EXACT, Ev};
use sansse::Instant;
use sansse::client::{ClientConfig, CloseReason};

const HEADERS: &[(&str, &str)] = &[
    ("Authorization", "Bearer X"),
    ("Cookie", "c=1"),
    ("Proxy-Authorization", "Basic p"),
    ("X-Api-Key", "k"),
    ("X-Trace", "t"),
];

const CONFIG: ClientConfig<'static> = ClientConfig::new("origin.test", "/events")
    .with_port(8080)
    .with_headers(HEADERS)
    .with_sensitive_headers(&["x-api-key"])
    .with_backoff(EXACT);

/// The request head the session writes for `GET target` on `host` with `headers`.
fn request(target: &str, host: &str, headers: &[(&str, &str)]) -> String {
    let mut out = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out
}

const PUBLIC: &[(&str, &str)] = &[("X-Trace", "t")];

/// A client whose first request (returned) went out to the configured origin.
fn start(config: ClientConfig<'static>) -> (Client, String) {
    let mut client = Client::new(config);
    client.take_actions();
    let first = client.connected();
    (client, first)
}

fn redirect(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
        .into_bytes()
}

/// Answers the open request with a redirect and returns the next request, after checking the
/// shell was told where to connect and whether that is another origin.
fn follow(client: &mut Client, status: u16, location: &str, to: (&str, u16, bool)) -> String {
    client.feed(&redirect(status, location));
    assert_eq!(client.take_events(), [Ev::Redirected(status)]);
    assert_eq!(
        client.take_actions(),
        [
            Act::Disconnect,
            Act::Connect {
                host: to.0.to_owned(),
                port: to.1,
                cross_origin: to.2,
            }
        ]
    );
    client.connected()
}

#[test]
fn the_configured_origin_gets_every_header() {
    let (_, first) = start(CONFIG);
    assert_eq!(first, request("/events", "origin.test:8080", HEADERS));
}

#[test]
fn a_307_to_another_port_gets_no_credentials() {
    let (mut client, _) = start(CONFIG);
    let sent = follow(
        &mut client,
        307,
        "http://origin.test:8081/x",
        ("origin.test", 8081, true),
    );
    assert_eq!(sent, request("/x", "origin.test:8081", PUBLIC));
}

#[test]
fn a_307_to_another_host_gets_no_credentials() {
    let (mut client, _) = start(CONFIG);
    let sent = follow(
        &mut client,
        307,
        "http://evil.test:8080/x",
        ("evil.test", 8080, true),
    );
    assert_eq!(sent, request("/x", "evil.test:8080", PUBLIC));
    // A relative redirect from there stays on the other origin.
    let sent = follow(&mut client, 302, "/y", ("evil.test", 8080, true));
    assert_eq!(sent, request("/y", "evil.test:8080", PUBLIC));
}

#[test]
fn a_scheme_relative_redirect_to_the_default_port_is_another_origin() {
    let (mut client, _) = start(CONFIG);
    let sent = follow(
        &mut client,
        308,
        "//origin.test/z",
        ("origin.test", 80, true),
    );
    assert_eq!(sent, request("/z", "origin.test", PUBLIC));
}

#[test]
fn https_is_never_followed_and_the_https_port_over_http_is_another_origin() {
    // The session speaks plain HTTP: a redirect to https ends the session and nothing is sent.
    let (mut client, _) = start(CONFIG);
    client.feed(&redirect(307, "https://origin.test:8080/secure"));
    assert_eq!(
        client.take_events(),
        [Ev::Closed(CloseReason::UnsupportedRedirect)]
    );
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    assert_eq!(client.requests.len(), 1);

    // The https port spoken over http, then back to the configured origin.
    let (mut client, _) = start(CONFIG);
    let sent = follow(
        &mut client,
        307,
        "http://origin.test:443/secure",
        ("origin.test", 443, true),
    );
    assert_eq!(sent, request("/secure", "origin.test:443", PUBLIC));
    let sent = follow(
        &mut client,
        307,
        "http://origin.test:8080/home",
        ("origin.test", 8080, false),
    );
    assert_eq!(sent, request("/home", "origin.test:8080", HEADERS));
}

#[test]
fn a_chain_back_to_the_configured_origin_sends_credentials_again() {
    let (mut client, _) = start(CONFIG);
    let sent = follow(
        &mut client,
        302,
        "http://other.test:9000/a",
        ("other.test", 9000, true),
    );
    assert_eq!(sent, request("/a", "other.test:9000", PUBLIC));
    // Hosts compare without case.
    let sent = follow(
        &mut client,
        307,
        "http://ORIGIN.test:8080/back",
        ("ORIGIN.test", 8080, false),
    );
    assert_eq!(sent, request("/back", "ORIGIN.test:8080", HEADERS));
}

#[test]
fn header_names_are_sensitive_in_any_case() {
    const CASES: &[(&str, &str)] = &[
        ("authorization", "Bearer a"),
        ("AUTHORIZATION", "Bearer b"),
        ("cOOKIE", "c=2"),
        ("proxy-authorization", "Basic q"),
        ("X-API-KEY", "k2"),
        ("X-Trace", "t"),
    ];
    let config = CONFIG.with_headers(CASES);
    let (mut client, first) = start(config);
    assert_eq!(first, request("/events", "origin.test:8080", CASES));
    let sent = follow(
        &mut client,
        307,
        "http://other.test:8080/x",
        ("other.test", 8080, true),
    );
    assert_eq!(sent, request("/x", "other.test:8080", PUBLIC));
}

#[test]
fn a_header_is_sensitive_only_when_marked() {
    // Unmarked, `X-Api-Key` goes everywhere; marked, only to the configured origin.
    let unmarked = CONFIG.with_sensitive_headers(&[]);
    let (mut client, _) = start(unmarked);
    let sent = follow(
        &mut client,
        307,
        "http://other.test:8080/x",
        ("other.test", 8080, true),
    );
    assert_eq!(
        sent,
        request(
            "/x",
            "other.test:8080",
            &[("X-Api-Key", "k"), ("X-Trace", "t")]
        )
    );
    assert!(!unmarked.is_sensitive_header("X-Api-Key"));
    assert!(CONFIG.is_sensitive_header("X-Api-Key"));
    assert!(unmarked.is_sensitive_header("Cookie"));
}

#[test]
fn per_attempt_credentials_are_withheld_too() {
    let mut client = Client::new(ClientConfig::new("origin.test", "/events").with_backoff(EXACT));
    let extra: &[(&str, &str)] = &[("Authorization", "Bearer fresh"), ("X-Req", "1")];
    let connected = |client: &mut Client| {
        client.drain();
        client.requests.push(Vec::new());
        client
            .session
            .handle_connected_with_headers(Instant::ZERO, extra)
            .expect("request written");
        client.drain();
        String::from_utf8(client.requests.last().cloned().unwrap()).unwrap()
    };
    assert_eq!(
        connected(&mut client),
        request("/events", "origin.test", extra)
    );
    client.feed(&redirect(307, "http://other.test/x"));
    client.take_actions();
    assert_eq!(
        connected(&mut client),
        request("/x", "other.test", &[("X-Req", "1")])
    );
}
