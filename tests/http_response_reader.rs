//! The client's response-head reader gives the same result however the input is split, and its
//! head feeds the status policy and the body decoder.

use core::time::Duration;

use sansse::http::{
    BodyDecoder, BodyFraming, HeadLimits, HeadStatus, Policy, ResponseError, ResponseReader,
    Verdict, Version, classify,
};

#[derive(Debug, PartialEq)]
enum Outcome {
    Head {
        version: Version,
        status: u16,
        reason: Vec<u8>,
        headers: Vec<(String, Vec<u8>)>,
        head_len: usize,
    },
    Partial,
    Error(ResponseError),
}

fn read(chunks: &[&[u8]], limits: HeadLimits) -> Outcome {
    let mut storage = [0u8; 1024];
    let mut reader = ResponseReader::new(&mut storage, limits);
    let mut fed = 0;
    for chunk in chunks {
        match reader.handle_bytes(chunk) {
            Ok(HeadStatus::Partial) => fed += chunk.len(),
            Ok(HeadStatus::Complete { consumed }) => {
                let head = reader.head().expect("complete head");
                return Outcome::Head {
                    version: head.version(),
                    status: head.status(),
                    reason: head.reason().into(),
                    headers: head
                        .headers()
                        .iter()
                        .map(|h| (h.name.into(), h.value.into()))
                        .collect(),
                    head_len: fed + consumed,
                };
            }
            Err(e) => return Outcome::Error(e),
        }
    }
    Outcome::Partial
}

fn check(input: &[u8], limits: HeadLimits, expected: &Outcome) {
    let name = String::from_utf8_lossy(input);
    assert_eq!(&read(&[input], limits), expected, "whole: {name:?}");
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(&read(&bytes, limits), expected, "byte by byte: {name:?}");
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(&read(&[a, b], limits), expected, "split at {i}: {name:?}");
    }
}

fn head(status: u16, reason: &[u8], headers: &[(&str, &[u8])], head_len: usize) -> Outcome {
    Outcome::Head {
        version: Version::Http11,
        status,
        reason: reason.into(),
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).into(), v.to_vec()))
            .collect(),
        head_len,
    }
}

#[test]
fn valid_responses() {
    let sse = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
        Transfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n";
    check(
        sse,
        HeadLimits::DEFAULT,
        &head(
            200,
            b"OK",
            &[
                ("Content-Type", b"text/event-stream"),
                ("Transfer-Encoding", b"chunked"),
            ],
            sse.len() - 14,
        ),
    );

    let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n\
        HTTP/1.1 307 Temporary Redirect\r\nLocation: /v2\r\n\r\n";
    check(
        interim,
        HeadLimits::DEFAULT,
        &head(
            307,
            b"Temporary Redirect",
            &[("Location", b"/v2")],
            interim.len(),
        ),
    );

    // Folded lines are unfolded into spaces; bare LF line endings are accepted.
    let folded = b"HTTP/1.1 503 Busy\nRetry-After: 5\nX-Long: a\n  b\r\n\tc\n\n";
    check(
        folded,
        HeadLimits::DEFAULT,
        &head(
            503,
            b"Busy",
            &[("Retry-After", b"5"), ("X-Long", b"a   b  \tc")],
            folded.len(),
        ),
    );

    let http10 = b"HTTP/1.0 200\r\n\r\n";
    check(
        http10,
        HeadLimits::DEFAULT,
        &Outcome::Head {
            version: Version::Http10,
            status: 200,
            reason: Vec::new(),
            headers: Vec::new(),
            head_len: http10.len(),
        },
    );
}

#[test]
fn limits_and_grammar_give_typed_errors() {
    let cases: &[(&[u8], HeadLimits, ResponseError)] = &[
        (
            b"HTTP/1.1 200 A very long reason\r\n\r\n",
            HeadLimits::new().with_max_start_line(20),
            ResponseError::StatusLineTooLong,
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n",
            HeadLimits::new().with_max_headers(1),
            ResponseError::TooManyHeaders,
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n",
            HeadLimits::new().with_max_head(30),
            ResponseError::HeadTooLarge,
        ),
        (
            b"HTTP/1.1 200 OK\r\n\tfold\r\n\r\n",
            HeadLimits::DEFAULT,
            ResponseError::InvalidHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\nA : 1\r\n\r\n",
            HeadLimits::DEFAULT,
            ResponseError::InvalidHeader,
        ),
        (
            b"HTTP/2 200 OK\r\n\r\n",
            HeadLimits::DEFAULT,
            ResponseError::InvalidStatusLine,
        ),
        (
            b"HTTP/3.0 200 OK\r\n\r\n",
            HeadLimits::DEFAULT,
            ResponseError::UnsupportedVersion,
        ),
        (
            b"<html>\r\n",
            HeadLimits::DEFAULT,
            ResponseError::InvalidStatusLine,
        ),
        // Interim heads count against the limits one at a time, not together.
        (
            b"HTTP/1.1 100 Continue\r\nA: 1\r\nB: 2\r\n\r\n",
            HeadLimits::new().with_max_headers(1),
            ResponseError::TooManyHeaders,
        ),
    ];
    for (input, limits, error) in cases {
        check(input, *limits, &Outcome::Error(*error));
    }
    let many_interims = b"HTTP/1.1 100 Continue\r\nA: 1\r\n\r\n".repeat(3);
    let mut input = many_interims.clone();
    input.extend_from_slice(b"HTTP/1.1 204 No Content\r\nA: 1\r\n\r\n");
    check(
        &input,
        HeadLimits::new().with_max_headers(1).with_max_head(40),
        &head(204, b"No Content", &[("A", b"1")], input.len()),
    );
}

#[test]
fn head_to_events_end_to_end() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
        Transfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n0\r\n\r\n";
    let mut storage = [0u8; 256];
    let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    let HeadStatus::Complete { consumed } = reader.handle_bytes(input).unwrap() else {
        panic!("head not complete");
    };
    let head = reader.head().unwrap();
    assert_eq!(classify(&head, &Policy::DEFAULT), Verdict::Open);
    assert_eq!(head.framing(), Ok(BodyFraming::Chunked));

    let mut decoder = BodyDecoder::new(head.framing().unwrap());
    let mut rest = &input[consumed..];
    let mut payload = Vec::new();
    while !rest.is_empty() {
        let decoded = decoder.decode(rest).unwrap();
        payload.extend_from_slice(decoded.data);
        rest = &rest[decoded.consumed..];
        if decoded.end {
            break;
        }
    }
    assert_eq!(payload, b"data: x\n\n");
    assert!(rest.is_empty());
    assert_eq!(decoder.finish(), Ok(()));
}

#[test]
fn retry_after_reaches_the_verdict() {
    let mut storage = [0u8; 256];
    let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    let _ =
        reader.handle_bytes(b"HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999999999999\r\n\r\n");
    let verdict = classify(&reader.head().unwrap(), &Policy::DEFAULT);
    assert_eq!(
        verdict,
        Verdict::Retry {
            after: Some(Duration::from_secs(u64::MAX))
        }
    );
}
