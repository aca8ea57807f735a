//! The server's request-head reader gives the same result however the input is split: whole,
//! byte by byte, and split at every position.

use sansse::http::{HeadLimits, HeadStatus, RequestError, RequestReader, Version};

/// What a finished read looks like, owned so that results of different splits can be compared.
#[derive(Debug, PartialEq)]
enum Outcome {
    Head {
        method: String,
        target: String,
        version: Version,
        headers: Vec<(String, Vec<u8>)>,
        /// Bytes of the whole input that belong to the head.
        head_len: usize,
    },
    Partial,
    Error(RequestError),
}

/// Feeds `chunks` in order until the head completes or fails.
fn read(chunks: &[&[u8]], limits: HeadLimits) -> Outcome {
    let mut storage = [0u8; 1024];
    let mut reader = RequestReader::new(&mut storage, limits);
    let mut fed = 0;
    for chunk in chunks {
        match reader.handle_bytes(chunk) {
            Ok(HeadStatus::Partial) => fed += chunk.len(),
            Ok(HeadStatus::Complete { consumed }) => {
                let head = reader.head().expect("complete head");
                return Outcome::Head {
                    method: head.method().into(),
                    target: head.target().into(),
                    version: head.version(),
                    headers: head
                        .headers()
                        .iter()
                        .map(|h| (h.name.into(), h.value.into()))
                        .collect(),
                    head_len: fed + consumed,
                };
            }
            Err(e) => {
                assert!(reader.head().is_none());
                return Outcome::Error(e);
            }
        }
    }
    Outcome::Partial
}

/// Asserts the outcome for the whole input, byte by byte, and at every one- and two-way split.
fn check(input: &[u8], limits: HeadLimits, expected: &Outcome) {
    let name = String::from_utf8_lossy(input);
    assert_eq!(&read(&[input], limits), expected, "whole: {name:?}");
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(&read(&bytes, limits), expected, "byte by byte: {name:?}");
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(&read(&[a, b], limits), expected, "split at {i}: {name:?}");
    }
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let parts = [&input[..i], &input[i..j], &input[j..]];
            assert_eq!(
                &read(&parts, limits),
                expected,
                "split at {i},{j}: {name:?}"
            );
        }
    }
}

fn head(
    method: &str,
    target: &str,
    version: Version,
    headers: &[(&str, &[u8])],
    head_len: usize,
) -> Outcome {
    Outcome::Head {
        method: method.into(),
        target: target.into(),
        version,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).into(), v.to_vec()))
            .collect(),
        head_len,
    }
}

#[test]
fn valid_requests() {
    let browser = b"GET /events?topic=a%20b HTTP/1.1\r\nHost: example.com:8080\r\n\
        Accept: text/event-stream\r\nCache-Control: no-cache\r\nLast-Event-ID: 41\r\n\r\n";
    check(
        browser,
        HeadLimits::DEFAULT,
        &head(
            "GET",
            "/events?topic=a%20b",
            Version::Http11,
            &[
                ("Host", b"example.com:8080"),
                ("Accept", b"text/event-stream"),
                ("Cache-Control", b"no-cache"),
                ("Last-Event-ID", b"41"),
            ],
            browser.len(),
        ),
    );

    let bare_lf_and_body = b"\r\nPOST /ping HTTP/1.1\nhost:h\nContent-Length: 4\n\nping";
    check(
        bare_lf_and_body,
        HeadLimits::DEFAULT,
        &head(
            "POST",
            "/ping",
            Version::Http11,
            &[("host", b"h"), ("Content-Length", b"4")],
            bare_lf_and_body.len() - 4,
        ),
    );

    let http10 = b"GET * HTTP/1.0\r\nX-Empty:\r\nX-Utf8: caf\xc3\xa9 \t\r\n\r\n";
    check(
        http10,
        HeadLimits::DEFAULT,
        &head(
            "GET",
            "*",
            Version::Http10,
            &[("X-Empty", b""), ("X-Utf8", "caf\u{e9}".as_bytes())],
            http10.len(),
        ),
    );
}

#[test]
fn incomplete_heads_need_more() {
    for input in [
        &b""[..],
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r\nHost: h\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n\r",
        b"\r\n\r\n\r\n",
    ] {
        check(input, HeadLimits::DEFAULT, &Outcome::Partial);
    }
}

#[test]
fn limits_give_typed_errors() {
    let small_line = HeadLimits::new().with_max_start_line(16);
    // "GET /0123456 HTTP/1.1" is 21 bytes; 16 are allowed.
    check(
        b"GET /0123456 HTTP/1.1\r\nHost: h\r\n\r\n",
        small_line,
        &Outcome::Error(RequestError::RequestLineTooLong),
    );
    check(
        b"GET /0 HTTP/1.1\r\nHost: h\r\n\r\n",
        small_line,
        &head("GET", "/0", Version::Http11, &[("Host", b"h")], 28),
    );
    // Exactly at the limit is fine, one more is not, whatever the line ending.
    let exact = HeadLimits::new().with_max_start_line(14);
    check(
        b"GET / HTTP/1.0\r\n\r\n",
        exact,
        &head("GET", "/", Version::Http10, &[], 18),
    );
    check(
        b"GET / HTTP/1.0\n\n",
        exact,
        &head("GET", "/", Version::Http10, &[], 16),
    );
    check(
        b"GET /x HTTP/1.0\r\n\r\n",
        exact,
        &Outcome::Error(RequestError::RequestLineTooLong),
    );
    // Even without a line ending, a start line past the limit is refused at once.
    check(
        b"GET /xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        small_line,
        &Outcome::Error(RequestError::RequestLineTooLong),
    );

    let two_headers = HeadLimits::new().with_max_headers(2);
    check(
        b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n",
        two_headers,
        &Outcome::Error(RequestError::TooManyHeaders),
    );
    check(
        b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n",
        two_headers,
        &head(
            "GET",
            "/",
            Version::Http11,
            &[("Host", b"h"), ("A", b"1")],
            33,
        ),
    );

    // The head size counts every byte up to and including the final line ending.
    let input = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n";
    check(
        input,
        HeadLimits::new().with_max_head(input.len() - 1),
        &Outcome::Error(RequestError::HeadTooLarge),
    );
    check(
        input,
        HeadLimits::new().with_max_head(input.len()),
        &head(
            "GET",
            "/",
            Version::Http11,
            &[("Host", b"h"), ("A", b"1")],
            input.len(),
        ),
    );
    // A long header value never completes a line: refused at the byte that crosses the limit.
    let mut huge = b"GET / HTTP/1.1\r\nCookie: ".to_vec();
    huge.resize(300, b'x');
    check(
        &huge,
        HeadLimits::new().with_max_head(256),
        &Outcome::Error(RequestError::HeadTooLarge),
    );
}

#[test]
fn the_lent_buffer_is_a_hard_limit() {
    let mut storage = [0u8; 20];
    let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    assert_eq!(
        reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        Err(RequestError::HeadTooLarge)
    );
    let mut storage = [0u8; 10];
    let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    assert_eq!(
        reader.handle_bytes(b"GET / HTTP/1.1\r\n"),
        Err(RequestError::RequestLineTooLong)
    );
}

#[test]
fn grammar_errors_map_to_400_or_505() {
    let cases: &[(&[u8], RequestError, u16)] = &[
        (b"GET / HTTP/2.0\r\n", RequestError::UnsupportedVersion, 505),
        (b"GET / HTTP/0.9\r\n", RequestError::UnsupportedVersion, 505),
        (
            b"GET / HTTP/1.1x\r\n",
            RequestError::InvalidRequestLine,
            400,
        ),
        (b"GET /\r\n", RequestError::InvalidRequestLine, 400),
        (
            b"GET /a b HTTP/1.1\r\n",
            RequestError::InvalidRequestLine,
            400,
        ),
        (
            b"GET / HTTP/1.1\rHost: h\r\n\r\n",
            RequestError::InvalidRequestLine,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nA\0: 1\r\n\r\n",
            RequestError::InvalidHeader,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r2\r\n\r\n",
            RequestError::InvalidHeader,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
            RequestError::InvalidHeader,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\tfolded\r\n\r\n",
            RequestError::ObsoleteLineFolding,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nA: 1\r\n\r\n",
            RequestError::MissingHost,
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n",
            RequestError::DuplicateHost,
            400,
        ),
    ];
    for (input, error, status) in cases {
        check(input, HeadLimits::DEFAULT, &Outcome::Error(*error));
        assert_eq!(error.status_code(), *status);
        assert_eq!(error.response().status_code(), *status);
    }
}

#[test]
fn errors_are_refused_as_soon_as_the_line_ends() {
    // The bad request line is refused before any header arrives.
    let mut storage = [0u8; 256];
    let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    assert_eq!(
        reader.handle_bytes(b"GET / HTTP/1."),
        Ok(HeadStatus::Partial)
    );
    assert_eq!(
        reader.handle_bytes(b"7\r\n"),
        Err(RequestError::UnsupportedVersion)
    );
}
