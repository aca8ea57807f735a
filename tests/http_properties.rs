//! Properties of the HTTP layer: chunked encode-then-decode is the identity whatever the
//! splitting, decoding and head reading never panic and never depend on how input is split,
//! and requests the client writes read back on the server unchanged.

use proptest::collection::vec;
use proptest::prelude::*;
use sansse::http::{
    BodyDecoder, BodyError, BodyFraming, CHUNK_HEADER_MAX, HeadLimits, HeadStatus, Request,
    RequestReader, ResponseReader, chunk_overhead, encode_chunk, encode_last_chunk,
    frame_chunk_in_place,
};

/// Decodes `input` split at `cuts`, returning the payload, how the body ended, and the bytes
/// left unconsumed after its end.
fn decode_split(
    framing: BodyFraming,
    input: &[u8],
    cuts: &[usize],
) -> (Vec<u8>, Result<bool, BodyError>, Vec<u8>) {
    let mut decoder = BodyDecoder::new(framing);
    let mut payload = Vec::new();
    let mut leftover = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    bounds.push(0);
    bounds.push(input.len());
    bounds.sort_unstable();
    for window in bounds.windows(2) {
        let mut piece = &input[window[0]..window[1]];
        while !piece.is_empty() {
            if decoder.is_done() {
                leftover.extend_from_slice(piece);
                break;
            }
            let decoded = match decoder.decode(piece) {
                Ok(decoded) => decoded,
                Err(e) => return (payload, Err(e), leftover),
            };
            // Invariants a caller relies on to loop without getting stuck.
            assert!(decoded.consumed <= piece.len());
            assert!(decoded.data.len() <= decoded.consumed);
            assert!(
                decoded.consumed > 0 || decoded.end,
                "no progress on {piece:?}"
            );
            let data_start = decoded.consumed - decoded.data.len();
            assert_eq!(decoded.data, &piece[data_start..decoded.consumed]);
            payload.extend_from_slice(decoded.data);
            piece = &piece[decoded.consumed..];
        }
    }
    (payload, Ok(decoder.is_done()), leftover)
}

fn encode_all(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for payload in payloads {
        let mut buf = vec![0u8; payload.len() + chunk_overhead(payload.len())];
        let n = encode_chunk(payload, &mut buf).unwrap();
        assert_eq!(n, buf.len());
        out.extend_from_slice(&buf[..n]);
    }
    let mut last = [0u8; 5];
    let n = encode_last_chunk(&mut last).unwrap();
    out.extend_from_slice(&last[..n]);
    out
}

/// A chunked body written by hand with the liberties the grammar allows.
fn liberal_chunked() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let chunk = (
        vec(any::<u8>(), 1..40),
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    let trailer = vec("[A-Za-z-]{1,8}: [ -~]{0,10}", 0..3);
    (vec(chunk, 0..6), trailer, any::<bool>()).prop_map(|(chunks, trailers, bare_lf)| {
        let eol: &[u8] = if bare_lf { b"\n" } else { b"\r\n" };
        let mut wire = Vec::new();
        let mut payload = Vec::new();
        for (data, zeros, upper, extension, space) in chunks {
            wire.extend(core::iter::repeat_n(b'0', zeros));
            let size = if upper {
                format!("{:X}", data.len())
            } else {
                format!("{:x}", data.len())
            };
            wire.extend_from_slice(size.as_bytes());
            if space {
                wire.extend_from_slice(b" \t");
            }
            if extension {
                wire.extend_from_slice(b";name=\"quoted; value\";flag");
            }
            wire.extend_from_slice(eol);
            wire.extend_from_slice(&data);
            wire.extend_from_slice(eol);
            payload.extend_from_slice(&data);
        }
        wire.extend_from_slice(b"0");
        wire.extend_from_slice(eol);
        for trailer in trailers {
            wire.extend_from_slice(trailer.as_bytes());
            wire.extend_from_slice(eol);
        }
        wire.extend_from_slice(eol);
        (wire, payload)
    })
}

/// Bytes that look enough like a head to get past the first line now and then.
fn head_like(start: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"\r\n"[..],
        b"\n",
        b"\r",
        b": ",
        b":",
        b" ",
        b"\t",
        b"Host",
        b"h",
        b"A",
        b"\0",
        b"\xff",
        b"x",
        b"Transfer-Encoding",
        b"chunked",
        b"1",
    ]);
    (prop::sample::select(start.to_vec()), vec(pieces, 0..40)).prop_map(|(first, rest)| {
        let mut bytes = first.as_bytes().to_vec();
        for piece in rest {
            bytes.extend_from_slice(piece);
        }
        bytes
    })
}

/// Reads a request head split at `cuts`; returns the debug form of the head or error.
fn read_request(input: &[u8], cuts: &[usize], limits: HeadLimits) -> String {
    let mut storage = [0u8; 256];
    let mut reader = RequestReader::new(&mut storage, limits);
    let mut fed = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    bounds.extend([0, input.len()]);
    bounds.sort_unstable();
    for w in bounds.windows(2) {
        match reader.handle_bytes(&input[w[0]..w[1]]) {
            Ok(HeadStatus::Partial) => fed += w[1] - w[0],
            Ok(HeadStatus::Complete { consumed }) => {
                return format!("{:?} at {}", reader.head(), fed + consumed);
            }
            Err(e) => return format!("{e:?}"),
        }
    }
    "partial".into()
}

fn read_response(input: &[u8], cuts: &[usize], limits: HeadLimits) -> String {
    let mut storage = [0u8; 256];
    let mut reader = ResponseReader::new(&mut storage, limits);
    let mut fed = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    bounds.extend([0, input.len()]);
    bounds.sort_unstable();
    for w in bounds.windows(2) {
        match reader.handle_bytes(&input[w[0]..w[1]]) {
            Ok(HeadStatus::Partial) => fed += w[1] - w[0],
            Ok(HeadStatus::Complete { consumed }) => {
                let head = reader.head().unwrap();
                // Accessors on arbitrary heads must not panic either.
                let _ = (head.framing(), head.retry_after(), head.content_length());
                let _ = sansse::http::classify(&head, &sansse::http::Policy::DEFAULT);
                return format!("{head:?} at {}", fed + consumed);
            }
            Err(e) => return format!("{e:?}"),
        }
    }
    "partial".into()
}

proptest! {
    #[test]
    fn chunked_round_trip(
        payloads in vec(vec(any::<u8>(), 0..300), 0..8),
        cuts in vec(any::<usize>(), 0..6),
        trailing in vec(any::<u8>(), 0..8),
    ) {
        let mut wire = encode_all(&payloads);
        wire.extend_from_slice(&trailing);
        let (payload, ended, leftover) = decode_split(BodyFraming::Chunked, &wire, &cuts);
        prop_assert_eq!(payload, payloads.concat());
        prop_assert_eq!(ended, Ok(true));
        prop_assert_eq!(leftover, trailing);
    }

    #[test]
    fn framing_in_place_matches_encode_chunk(payload in vec(any::<u8>(), 0..300)) {
        let mut encoded = vec![0u8; payload.len() + chunk_overhead(payload.len())];
        let n = encode_chunk(&payload, &mut encoded).unwrap();
        let mut buf = vec![0u8; CHUNK_HEADER_MAX + payload.len() + 2];
        buf[CHUNK_HEADER_MAX..CHUNK_HEADER_MAX + payload.len()].copy_from_slice(&payload);
        let range = frame_chunk_in_place(&mut buf, payload.len()).unwrap();
        prop_assert_eq!(&buf[range], &encoded[..n]);
    }

    #[test]
    fn liberal_chunked_bodies_decode((wire, payload) in liberal_chunked(), cuts in vec(any::<usize>(), 0..6)) {
        let (decoded, ended, leftover) = decode_split(BodyFraming::Chunked, &wire, &cuts);
        prop_assert_eq!(decoded, payload);
        prop_assert_eq!(ended, Ok(true));
        prop_assert!(leftover.is_empty());
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics_nor_depends_on_splits(
        input in prop_oneof![
            vec(any::<u8>(), 0..200),
            vec(prop::sample::select(b"0123456789aAfF;; \t\r\n\r\nxz=\"".to_vec()), 0..200),
        ],
        cuts in vec(any::<usize>(), 0..8),
        length in 0u64..300,
    ) {
        for framing in [BodyFraming::Chunked, BodyFraming::Length(length), BodyFraming::Close] {
            let whole = decode_split(framing, &input, &[]);
            let split = decode_split(framing, &input, &cuts);
            prop_assert_eq!(whole, split);
        }
    }

    #[test]
    fn request_heads_never_panic_nor_depend_on_splits(
        input in head_like(&["GET / HTTP/1.1\r\n", "GET / HTTP/1.0\n", "POST /x?y HTTP/1.1\r\nHost: h\r\n", ""]),
        cuts in vec(any::<usize>(), 0..6),
        max_headers in 0usize..4,
    ) {
        let limits = HeadLimits::new().with_max_headers(max_headers).with_max_head(120).with_max_start_line(24);
        prop_assert_eq!(read_request(&input, &[], limits), read_request(&input, &cuts, limits));
    }

    #[test]
    fn response_heads_never_panic_nor_depend_on_splits(
        input in head_like(&["HTTP/1.1 200 OK\r\n", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 302\n", "HTTP/1.1 503 x\r\nRetry-After: 1", ""]),
        cuts in vec(any::<usize>(), 0..6),
        max_headers in 0usize..4,
    ) {
        let limits = HeadLimits::new().with_max_headers(max_headers).with_max_head(120).with_max_start_line(24);
        prop_assert_eq!(read_response(&input, &[], limits), read_response(&input, &cuts, limits));
    }

    #[test]
    fn written_requests_read_back(
        method in "[A-Z]{1,7}",
        target in "/[!-~]{0,30}",
        host in "[a-z0-9.-]{1,20}",
        port in any::<u16>(),
        id in "[^\\x00-\\x08\\x0A-\\x1F\\x7F]{0,12}",
        values in vec("[ -~\t]{0,12}", 0..3),
    ) {
        let names = ["X-One", "X-Two", "X-Three"];
        let headers: Vec<(&str, &str)> = names.iter().copied().zip(values.iter().map(String::as_str)).collect();
        let request = Request::get(&host, &target).method(&method).port(port).last_event_id(&id).headers(&headers);
        let mut out = [0u8; 512];
        let n = request.write(&mut out).unwrap();
        prop_assert_eq!(Ok(n), request.encoded_len());

        let mut storage = [0u8; 512];
        let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
        prop_assert_eq!(reader.handle_bytes(&out[..n]), Ok(HeadStatus::Complete { consumed: n }));
        let head = reader.head().unwrap();
        prop_assert_eq!(head.method(), method.as_str());
        prop_assert_eq!(head.target(), target.as_str());
        let expected_host = if port == 80 { host.clone() } else { format!("{host}:{port}") };
        prop_assert_eq!(head.host(), Some(expected_host.as_str()));
        // Surrounding whitespace is not part of a field value (RFC 9110 section 5.5).
        let trimmed_id = id.trim_matches([' ', '\t']);
        prop_assert_eq!(head.last_event_id(), (!id.is_empty()).then_some(trimmed_id));
        for (name, value) in &headers {
            prop_assert_eq!(head.header(name), Some(value.trim_matches([' ', '\t']).as_bytes()));
        }
    }
}
