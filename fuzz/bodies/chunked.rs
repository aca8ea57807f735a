//! Body of the `chunked` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/chunked.rs`) and the stable tests, which include this file with `#[path]`.
//!
//! Input layout: byte 0 is a control byte (bits 0-2: how many chunk lengths follow, at most 7;
//! bit 3: the rest describes a well-formed body to build rather than raw body bytes; bits 4-7
//! pick the `Content-Length` used for the length-framed check), then the chunk lengths (used in a
//! cycle to split the input), then the body bytes or the body's description.
//!
//! It checks, for the [`BodyDecoder`] with chunked framing:
//!
//! 1. nothing panics, and every call keeps its contract: `consumed` within the input, the payload
//!    a slice of the input that ends where consumption ends, progress unless the body ended,
//!    nothing consumed after the end, errors sticky through `decode` and `finish`;
//! 2. the payload, the end offset and the error do not depend on how the input is split (whole,
//!    the fuzz-chosen chunks, byte by byte), and equal [`reference`], a whole-input reading of
//!    RFC 9112 section 7.1 (with the bare LF of section 2.2) written here without the decoder's
//!    state machine;
//! 3. a well-formed body built from the input (any hex case, leading zeros, extensions, bare LF or
//!    CRLF, trailer fields, bytes after it) decodes to exactly its payloads and ends exactly at
//!    its last byte; the crate's own chunk encoders (`encode_chunk`, `frame_chunk_in_place`,
//!    `encode_last_chunk`) round-trip through the decoder, with the sizes they promise;
//! 4. memory is constant: the decoder's size does not depend on the input;
//! 5. the same bytes framed by `Content-Length` and by the connection's close give back exactly
//!    the announced prefix and everything, respectively.

use sansse::http::{
    BodyDecoder, BodyError, BodyFraming, CHUNK_HEADER_MAX, chunk_overhead, encode_chunk,
    encode_last_chunk, frame_chunk_in_place,
};

/// The decoder keeps a state, a size and an error; anything larger would mean it buffers.
const DECODER_MAX_SIZE: usize = 48;

/// Runs one fuzz input.
pub(crate) fn chunked(data: &[u8]) {
    assert!(core::mem::size_of::<BodyDecoder>() <= DECODER_MAX_SIZE);
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(control & 7).min(rest.len());
    let (splits, rest) = rest.split_at(count);
    if control & 8 == 0 {
        check_raw(splits, rest);
        check_length(rest, u64::from(control >> 4));
        check_close(rest);
    } else {
        check_built(splits, rest);
    }
}

/// How a chunked body ended after the whole input, the same for the decoder and the reference.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) enum End {
    /// The last chunk and trailer section ended after this many bytes.
    Ended(usize),
    /// The input ran out inside the body.
    Partial,
    /// The framing broke the grammar.
    Failed(BodyError),
}

/// What a decoding gave: the payload delivered and how it ended.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Decoding {
    pub(crate) payload: Vec<u8>,
    pub(crate) end: End,
}

fn check_raw(splits: &[u8], stream: &[u8]) {
    let expected = reference(stream);
    let whole = decode(&[stream], BodyFraming::Chunked);
    assert_eq!(whole, expected, "whole input against the reference");
    let chunks = chunks(splits, stream);
    assert_eq!(
        decode(&chunks, BodyFraming::Chunked),
        expected,
        "chunks {chunks:?}"
    );
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(
        decode(&bytes, BodyFraming::Chunked),
        expected,
        "byte by byte"
    );
}

/// Builds a well-formed chunked body from `description`, then checks the decoder reads back its
/// payloads, and that the crate's encoders produce bodies the decoder reads back too.
fn check_built(splits: &[u8], description: &[u8]) {
    let built = build(description);
    let mut wire = built.body.clone();
    wire.extend_from_slice(&built.after);
    let expected = Decoding {
        payload: built.payloads.concat(),
        end: End::Ended(built.body.len()),
    };
    assert_eq!(reference(&wire), expected, "reference on {wire:?}");
    assert_eq!(decode(&[&wire], BodyFraming::Chunked), expected);
    let chunks = chunks(splits, &wire);
    assert_eq!(
        decode(&chunks, BodyFraming::Chunked),
        expected,
        "{chunks:?}"
    );

    // The crate's encoders: every payload as one chunk, then the last chunk.
    let mut encoded = Vec::new();
    for payload in &built.payloads {
        let len = payload.len() + chunk_overhead(payload.len());
        let mut buf = vec![0xA5; len];
        if len > 0 {
            let short = &mut buf[..len - 1];
            assert_eq!(
                encode_chunk(payload, short).map_err(|e| e.needed),
                Err(len),
                "the size a short buffer reports"
            );
            assert!(
                short.iter().all(|&b| b == 0xA5),
                "a short buffer is untouched"
            );
        }
        assert_eq!(encode_chunk(payload, &mut buf), Ok(len));

        // Framing in place gives the same bytes.
        let mut place = vec![0u8; CHUNK_HEADER_MAX + payload.len() + 2];
        place[CHUNK_HEADER_MAX..CHUNK_HEADER_MAX + payload.len()].copy_from_slice(payload);
        let range = frame_chunk_in_place(&mut place, payload.len()).expect("exactly enough room");
        assert_eq!(&place[range], &buf[..]);
        encoded.extend_from_slice(&buf);
    }
    let mut last = [0u8; 8];
    let n = encode_last_chunk(&mut last).expect("8 bytes hold the last chunk");
    encoded.extend_from_slice(&last[..n]);
    let expected = Decoding {
        payload: built.payloads.concat(),
        end: End::Ended(encoded.len()),
    };
    let chunks = self::chunks(splits, &encoded);
    assert_eq!(decode(&chunks, BodyFraming::Chunked), expected);
}

/// A well-formed body and what it carries.
struct Built {
    body: Vec<u8>,
    payloads: Vec<Vec<u8>>,
    /// Bytes after the body: the decoder must leave them alone.
    after: Vec<u8>,
}

/// Reads the description as a list of chunks, each a style byte, a size byte and that many
/// payload bytes (fewer at the end of the input); the last chunk's style and trailers follow.
fn build(description: &[u8]) -> Built {
    let mut body = Vec::new();
    let mut payloads = Vec::new();
    let mut rest = description;
    while let [style, size, tail @ ..] = rest {
        // Stop at a size of zero: that is where the last chunk goes.
        if *size == 0 {
            rest = tail;
            break;
        }
        let take = usize::from(*size).min(tail.len());
        let (payload, tail) = tail.split_at(take);
        if payload.is_empty() {
            rest = tail;
            break;
        }
        size_line(&mut body, payload.len(), *style);
        body.extend_from_slice(payload);
        body.extend_from_slice(if style & 0x40 == 0 { b"\r\n" } else { b"\n" });
        payloads.push(payload.to_vec());
        rest = tail;
    }
    // The last chunk, then trailer lines: one per LF in what is left, until a NUL.
    let (style, rest) = rest.split_first().map_or((0, &[][..]), |(s, r)| (*s, r));
    size_line(&mut body, 0, style);
    let (trailers, after) = match rest.iter().position(|&b| b == 0) {
        Some(nul) => (&rest[..nul], rest[nul..].to_vec()),
        None => (rest, Vec::new()),
    };
    for line in trailers
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
    {
        // A trailer line starting with CR would be read as the end of the trailers.
        let line: Vec<u8> = line
            .iter()
            .map(|&b| if b == b'\r' { b'x' } else { b })
            .collect();
        body.extend_from_slice(&line);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(if style & 0x40 == 0 { b"\r\n" } else { b"\n" });
    Built {
        body,
        payloads,
        after,
    }
}

/// Writes a chunk-size line in the style the byte picks: case, leading zeros, whitespace, an
/// extension, and the line end.
fn size_line(out: &mut Vec<u8>, size: usize, style: u8) {
    out.extend(core::iter::repeat_n(b'0', usize::from(style & 3)));
    let hex = if style & 4 == 0 {
        format!("{size:x}")
    } else {
        format!("{size:X}")
    };
    out.extend_from_slice(hex.as_bytes());
    if style & 8 != 0 {
        out.extend_from_slice(b" \t ");
    }
    if style & 0x10 != 0 {
        out.extend_from_slice(b";name=\"v a\"\t;x=\xff");
    }
    out.extend_from_slice(if style & 0x20 == 0 { b"\r\n" } else { b"\n" });
}

/// Feeds `chunks` to a decoder for `framing`, checking each call's contract, and reports the
/// payload and how the body ended.
pub(crate) fn decode(chunks: &[&[u8]], framing: BodyFraming) -> Decoding {
    let mut decoder = BodyDecoder::new(framing);
    let mut payload = Vec::new();
    let mut offset = 0usize;
    for chunk in chunks {
        // An empty input is a no-op whatever the state.
        let idle = decoder.decode(&[]).expect("no error so far");
        assert_eq!(
            (idle.consumed, idle.data, idle.end),
            (0, &[][..], decoder.is_done())
        );
        let mut rest: &[u8] = chunk;
        while !rest.is_empty() {
            let decoded = match decoder.decode(rest) {
                Ok(decoded) => decoded,
                Err(error) => {
                    assert_eq!(decoder.decode(rest), Err(error), "errors stick");
                    assert_eq!(decoder.decode(b"0\r\n\r\n"), Err(error), "errors stick");
                    assert_eq!(decoder.finish(), Err(error), "finish repeats the error");
                    assert!(!decoder.is_done());
                    return Decoding {
                        payload,
                        end: End::Failed(error),
                    };
                }
            };
            assert!(decoded.consumed <= rest.len(), "consumed past the input");
            assert!(decoded.data.len() <= decoded.consumed);
            if !decoded.data.is_empty() {
                // The payload is borrowed from the input and ends where consumption ends.
                let at = decoded.consumed - decoded.data.len();
                assert!(core::ptr::eq(decoded.data.as_ptr(), rest[at..].as_ptr()));
            }
            assert_eq!(decoded.end, decoder.is_done());
            payload.extend_from_slice(decoded.data);
            offset += decoded.consumed;
            rest = &rest[decoded.consumed..];
            if decoded.end {
                // What follows the body is not the body's.
                let after = decoder.decode(rest).expect("no error after the end");
                assert_eq!((after.consumed, after.data, after.end), (0, &[][..], true));
                assert_eq!(decoder.finish(), Ok(()));
                return Decoding {
                    payload,
                    end: End::Ended(offset),
                };
            }
            assert!(decoded.consumed > 0, "no progress on {rest:?}");
        }
    }
    if decoder.is_done() {
        // Only `Content-Length: 0` ends before any input.
        assert_eq!(framing, BodyFraming::Length(0));
        assert_eq!(decoder.finish(), Ok(()));
        return Decoding {
            payload,
            end: End::Ended(offset),
        };
    }
    if framing == BodyFraming::Chunked {
        assert_eq!(decoder.finish(), Err(BodyError::Truncated));
    }
    Decoding {
        payload,
        end: End::Partial,
    }
}

/// Reads `input` as a chunked body in one pass over the whole slice: the chunk-size line
/// (`1*HEXDIG`, optional spaces and tabs, an optional `;` extension of visible, tab, space or
/// obs-text bytes), the data, its line end, then after the zero-size chunk the trailer lines up
/// to an empty line. CRLF or a bare LF ends each line. The payload holds every data byte read
/// before the input ran out or the grammar broke.
pub(crate) fn reference(input: &[u8]) -> Decoding {
    let mut payload = Vec::new();
    let end = reference_end(input, &mut payload);
    Decoding { payload, end }
}

fn reference_end(input: &[u8], payload: &mut Vec<u8>) -> End {
    let n = input.len();
    let mut i = 0;
    loop {
        // The size: at least one hex digit, no overflow.
        let mut size: u64 = 0;
        let mut digits = 0;
        while i < n && input[i].is_ascii_hexdigit() {
            let digit = u64::from((input[i] as char).to_digit(16).expect("a hex digit"));
            let Some(next) = size.checked_mul(16).and_then(|s| s.checked_add(digit)) else {
                return End::Failed(BodyError::ChunkSizeOverflow);
            };
            size = next;
            digits += 1;
            i += 1;
        }
        if i == n {
            return End::Partial;
        }
        if digits == 0 {
            return End::Failed(BodyError::InvalidChunkSize);
        }
        while i < n && matches!(input[i], b' ' | b'\t') {
            i += 1;
        }
        if i < n && input[i] == b';' {
            i += 1;
            while i < n && !matches!(input[i], b'\r' | b'\n') {
                if !matches!(input[i], b'\t' | b' '..=b'~' | 0x80..=0xFF) {
                    return End::Failed(BodyError::InvalidChunkExtension);
                }
                i += 1;
            }
        }
        match line_end(input, &mut i, BodyError::InvalidChunkSize) {
            Some(End::Ended(_)) => {}
            Some(other) => return other,
            None => return End::Partial,
        }
        if size == 0 {
            break;
        }
        // The data, then its line end.
        let available = (n - i) as u64;
        if available < size {
            payload.extend_from_slice(&input[i..]);
            return End::Partial;
        }
        let size = size as usize;
        payload.extend_from_slice(&input[i..i + size]);
        i += size;
        match line_end(input, &mut i, BodyError::MissingChunkEnd) {
            Some(End::Ended(_)) => {}
            Some(other) => return other,
            None => return End::Partial,
        }
    }
    // Trailer lines, skipped whole, until an empty line.
    loop {
        if i == n {
            return End::Partial;
        }
        match input[i] {
            b'\n' => return End::Ended(i + 1),
            b'\r' => {
                return match input.get(i + 1) {
                    None => End::Partial,
                    Some(b'\n') => End::Ended(i + 2),
                    Some(_) => End::Failed(BodyError::InvalidTrailer),
                };
            }
            _ => match input[i..].iter().position(|&b| b == b'\n') {
                Some(lf) => i += lf + 1,
                None => return End::Partial,
            },
        }
    }
}

/// Reads CRLF or LF at `*i`: `Ended` (meaning "read") when there, `None` when the input ends
/// first, `Failed(error)` otherwise.
fn line_end(input: &[u8], i: &mut usize, error: BodyError) -> Option<End> {
    match input.get(*i) {
        None => None,
        Some(b'\n') => {
            *i += 1;
            Some(End::Ended(*i))
        }
        Some(b'\r') => match input.get(*i + 1) {
            None => None,
            Some(b'\n') => {
                *i += 2;
                Some(End::Ended(*i))
            }
            Some(_) => Some(End::Failed(error)),
        },
        Some(_) => Some(End::Failed(error)),
    }
}

/// `Content-Length: length` takes exactly that prefix and leaves the rest.
fn check_length(stream: &[u8], length: u64) {
    let take = usize::try_from(length).map_or(stream.len(), |l| l.min(stream.len()));
    let expected = Decoding {
        payload: stream[..take].to_vec(),
        end: if take as u64 == length {
            End::Ended(take)
        } else {
            End::Partial
        },
    };
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode(&bytes, BodyFraming::Length(length)), expected);
    let mut decoder = BodyDecoder::new(BodyFraming::Length(length));
    let _ = decoder.decode(stream);
    let finished = decoder.finish();
    assert_eq!(finished.is_ok(), take as u64 == length, "{finished:?}");
}

/// A close-delimited body is everything until `finish`, then nothing.
fn check_close(stream: &[u8]) {
    let expected = Decoding {
        payload: stream.to_vec(),
        end: End::Partial,
    };
    assert_eq!(decode(&[stream], BodyFraming::Close), expected);
    let mut decoder = BodyDecoder::new(BodyFraming::Close);
    let _ = decoder.decode(stream);
    assert_eq!(decoder.finish(), Ok(()));
    assert!(decoder.is_done());
    let after = decoder.decode(stream).expect("no error after the end");
    assert_eq!((after.consumed, after.data, after.end), (0, &[][..], true));
}

/// Splits `stream` at the fuzz-chosen lengths, used in a cycle (a zero counts as one).
fn chunks<'a>(splits: &[u8], stream: &'a [u8]) -> Vec<&'a [u8]> {
    if splits.is_empty() {
        return vec![stream];
    }
    let mut chunks = Vec::new();
    let mut rest = stream;
    for &len in splits.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(len).clamp(1, rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}
