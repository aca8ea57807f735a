//! Properties of the parser over generated streams: how the input is split never changes the
//! outputs, nothing panics, memory and outputs stay within their bounds, an oversized event is
//! skipped once and still commits its id (issue 14), and only the opt-in `finish` dispatches an
//! unterminated last event.
//!
//! Streams come from a grammar of SSE lines (known and unknown field names, values with spaces,
//! colons, NUL, multi-byte and invalid UTF-8, every line ending) mixed with raw bytes. The output
//! helpers and the reference model are the fuzz target's, shared through `#[path]`.

#[allow(dead_code)]
#[path = "../fuzz/bodies/parser.rs"]
mod body;

use body::{Input, Seen, TIGHT_LIMITS, feed_all, finish};
use proptest::prelude::*;
use sansse::parse::{Limits, ParseError, Parser};

/// Bytes a `Parser<[u8; N]>` takes beyond its buffer, measured on x86_64 (rustc 1.95): 216.
/// The bound leaves room for layout changes across targets and compilers.
const MAX_OVERHEAD: usize = 256;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunking_never_changes_the_outputs(
        stream in stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        drop_after in 0usize..4,
    ) {
        let chunks = split_at(&stream, &cuts);
        for limits in [Limits::for_capacity(1024), TIGHT_LIMITS] {
            let buffer = if limits == TIGHT_LIMITS { 64 } else { 1024 };
            let mut whole = Parser::with_limits(vec![0u8; buffer], limits).unwrap();
            let mut split = whole.clone();
            let mut want = feed_all(&mut whole, &[&stream[..]], 0);
            let mut got = feed_all(&mut split, &chunks, drop_after);
            want.extend(finish(&mut whole));
            got.extend(finish(&mut split));
            prop_assert_eq!(got, want);
            prop_assert_eq!(split.last_event_id(), whole.last_event_id());
        }
    }

    /// Every check of the fuzz target (model agreement, bounds, `reset`, tokenizer) on
    /// grammar-built streams, which reach deep states sooner than random bytes do.
    #[test]
    fn grammar_streams_pass_every_fuzz_check(
        stream in stream(),
        splits in prop::collection::vec(any::<u8>(), 0..8),
        drop_after in 0u8..8,
    ) {
        body::parser(&Input::encode(&splits, drop_after, &stream));
    }

    #[test]
    fn arbitrary_bytes_pass_every_fuzz_check(data in prop::collection::vec(any::<u8>(), 0..256)) {
        body::parser(&data);
    }

    #[test]
    fn an_oversized_event_is_skipped_once_and_parsing_resumes(
        buffer in 50usize..160,
        oversized in oversized_block(),
        id_first in any::<bool>(),
        endings in prop::collection::vec(line_ending(), 8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        drop_after in 0usize..3,
    ) {
        let mut parser = Parser::with_limits(vec![0u8; buffer], TIGHT_LIMITS).unwrap();
        let capacity = parser.data_capacity();
        let lines = oversized.lines(capacity);
        let mut stream = Vec::new();
        let mut ending = endings.iter().cycle();
        let mut line = |stream: &mut Vec<u8>, text: &[u8]| {
            push_line(stream, text, ending.next().unwrap());
        };
        for text in [&b"id: a"[..], b"data: first", b""] {
            line(&mut stream, text);
        }
        // The id line goes before the data that overflows or after it; either way the skipped
        // block commits it, so a client never asks for the skipped event again.
        if id_first {
            line(&mut stream, b"id: big");
        }
        for data in &lines {
            line(&mut stream, data);
        }
        if !id_first {
            line(&mut stream, b"id: big");
        }
        for text in [&b""[..], b"data: next", b""] {
            line(&mut stream, text);
        }

        let seen = feed_all(&mut parser, &split_at(&stream, &cuts), drop_after);

        prop_assert_eq!(
            seen,
            vec![
                Seen::event("", "first", "a"),
                Seen::Error(ParseError::EventTooLarge { capacity }),
                Seen::event("", "next", "big"),
            ]
        );
        prop_assert_eq!(parser.last_event_id(), "big");
    }

    #[test]
    fn only_finish_dispatches_an_unterminated_last_event(
        tail_ending in prop_oneof![Just(&b""[..]), line_ending()],
        endings in prop::collection::vec(line_ending(), 4),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut stream = Vec::new();
        for (text, ending) in [&b"id: 1"[..], b"data: done", b"", b"id: 2"].iter().zip(&endings) {
            push_line(&mut stream, text, ending);
        }
        stream.extend_from_slice(b"data: tail");
        stream.extend_from_slice(tail_ending);
        let chunks = split_at(&stream, &cuts);

        // A stream that broke: the spec discards the unterminated event, and its id.
        let mut broken = Parser::<[u8; 256]>::new();
        let seen = feed_all(&mut broken, &chunks, 0);
        prop_assert_eq!(&seen, &[Seen::event("", "done", "1")]);
        broken.reset();
        let seen = feed_all(&mut broken, &[&b"data: fresh\n\n"[..]], 0);
        prop_assert_eq!(seen, [Seen::event("", "fresh", "1")]);
        prop_assert_eq!(broken.last_event_id(), "1");

        // A finished body: `finish` dispatches it once.
        let mut ended = Parser::<[u8; 256]>::new();
        let mut seen = feed_all(&mut ended, &chunks, 0);
        seen.extend(finish(&mut ended));
        prop_assert_eq!(seen, [Seen::event("", "done", "1"), Seen::event("", "tail", "2")]);
        prop_assert_eq!(ended.last_event_id(), "2");
        prop_assert_eq!(finish(&mut ended), Vec::<Seen>::new());
    }
}

#[test]
fn memory_is_the_buffer_plus_a_constant() {
    let overhead = [
        size_of::<Parser<[u8; 64]>>() - 64,
        size_of::<Parser<[u8; 1024]>>() - 1024,
        size_of::<Parser<[u8; 4096]>>() - 4096,
        size_of::<Parser<[u8; 65536]>>() - 65536,
    ];
    assert!(
        overhead.iter().all(|&o| o == overhead[0]),
        "overhead grows with the buffer: {overhead:?}"
    );
    assert!(overhead[0] <= MAX_OVERHEAD, "overhead {}", overhead[0]);
    // A lent buffer costs a slice reference instead of the array.
    assert_eq!(
        size_of::<Parser<&mut [u8]>>(),
        overhead[0] + size_of::<&mut [u8]>()
    );
}

/// Data that fits the buffer raw but not once invalid bytes are replaced by U+FFFD (1 byte
/// becomes 3) is reported too large at dispatch; its id is committed, as for any skipped block.
#[test]
fn an_event_too_large_once_decoded_commits_its_id() {
    let mut parser = Parser::with_limits([0u8; 64], TIGHT_LIMITS).unwrap();
    assert_eq!(parser.data_capacity(), 21);
    // 7 raw bytes + LF fit in 21; 7 replacement characters (21 bytes) + LF do not.
    let stream =
        b"id: a\ndata: ok\n\nid: lost\ndata: \xFF\xFF\xFF\xFF\xFF\xFF\xFF\n\ndata: next\n\n";

    let seen = feed_all(&mut parser, &[&stream[..]], 0);

    assert_eq!(
        seen,
        [
            Seen::event("", "ok", "a"),
            Seen::Error(ParseError::EventTooLarge { capacity: 21 }),
            Seen::event("", "next", "lost"),
        ]
    );
    assert_eq!(parser.last_event_id(), "lost");
}

/// How the oversized block's data overflows.
#[derive(Clone, Debug)]
enum Oversized {
    /// ASCII longer than the data capacity, over this many `data` lines.
    Ascii { extra: usize, lines: usize },
    /// Invalid bytes that fit raw but not decoded, each becoming a 3-byte U+FFFD; `lines` data
    /// lines, `share` picks where the bytes are divided.
    Invalid {
        lines: usize,
        pick: prop::sample::Index,
        share: prop::sample::Index,
    },
}

impl Oversized {
    /// The block's `data` lines for a parser with `capacity` bytes of data.
    fn lines(&self, capacity: usize) -> Vec<Vec<u8>> {
        match *self {
            Self::Ascii { extra, lines } => {
                // One line feed per line counts too, so `capacity + extra` bytes already overflow.
                let total = capacity + extra;
                (0..lines)
                    .map(|i| {
                        let len = total / lines + usize::from(i < total % lines);
                        [&b"data: "[..], &vec![b'x'; len]].concat()
                    })
                    .collect()
            }
            Self::Invalid { lines, pick, share } => {
                // Raw: bytes + lines <= capacity; decoded: 3 * bytes + lines > capacity.
                let low = (capacity - lines) / 3 + 1;
                let bytes = low + pick.index(capacity - lines + 1 - low);
                let first = share.index(bytes + 1);
                let parts = if lines == 1 {
                    vec![bytes]
                } else {
                    vec![first, bytes - first]
                };
                parts
                    .iter()
                    .map(|&n| [&b"data:"[..], &vec![0xFF; n]].concat())
                    .collect()
            }
        }
    }
}

fn oversized_block() -> impl Strategy<Value = Oversized> {
    prop_oneof![
        (0usize..80, 1usize..4).prop_map(|(extra, lines)| Oversized::Ascii { extra, lines }),
        (
            1usize..=2,
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>()
        )
            .prop_map(|(lines, pick, share)| Oversized::Invalid { lines, pick, share }),
    ]
}

/// A stream: an optional BOM, then lines from the SSE grammar and raw byte runs.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        8 => sse_line(),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ];
    (
        prop::option::weighted(0.1, Just(b"\xEF\xBB\xBF".to_vec())),
        prop::collection::vec(piece, 0..24),
    )
        .prop_map(|(bom, pieces)| {
            let mut stream = bom.unwrap_or_default();
            for piece in pieces {
                stream.extend(piece);
            }
            stream
        })
}

/// One line: a field with or without a colon and space, a comment, or a blank line.
fn sse_line() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        6 => Just(&b"data"[..]),
        2 => Just(&b"id"[..]),
        2 => Just(&b"event"[..]),
        2 => Just(&b"retry"[..]),
        1 => Just(&b""[..]),
        1 => Just(&b"Data"[..]),
        1 => Just(&b"dat"[..]),
        1 => Just(&b"eventx"[..]),
        1 => Just(&b"\xEF\xBB\xBFdata"[..]),
    ];
    let separator = prop_oneof![
        4 => Just(&b": "[..]),
        2 => Just(&b":"[..]),
        1 => Just(&b":  "[..]),
        1 => Just(&b""[..]),
    ];
    let field = (name, separator, value(), line_ending())
        .prop_map(|(name, separator, value, ending)| [name, separator, &value, ending].concat());
    prop_oneof![
        6 => field,
        2 => line_ending().prop_map(<[u8]>::to_vec),
    ]
}

/// Field values: ASCII, digits, spaces and colons, NUL, multi-byte and broken UTF-8, and now
/// and then a run long enough to overflow the tight parser.
fn value() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop_oneof![
        6 => prop::sample::select(&b"abcxyz"[..]).prop_map(|b| vec![b]),
        3 => prop::sample::select(&b"0123456789"[..]).prop_map(|b| vec![b]),
        1 => Just(b" ".to_vec()),
        1 => Just(b":".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just("é".as_bytes().to_vec()),
        1 => Just("🎉".as_bytes().to_vec()),
        1 => Just(b"\xFF".to_vec()),
        1 => Just(b"\xF0\x9F\x98".to_vec()),
        1 => Just(b"\xC3".to_vec()),
        1 => (1usize..80).prop_map(|n| vec![b'L'; n]),
    ];
    prop::collection::vec(atom, 0..8).prop_map(|atoms| atoms.concat())
}

fn line_ending() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..])]
}

/// Appends a line; a blank line after a CR ends with CRLF, since an LF there would only
/// complete the CR's line break.
fn push_line(stream: &mut Vec<u8>, text: &[u8], ending: &[u8]) {
    stream.extend_from_slice(text);
    if text.is_empty() && stream.ends_with(b"\r") && ending == b"\n" {
        stream.extend_from_slice(b"\r\n");
    } else {
        stream.extend_from_slice(ending);
    }
}

/// `input` cut at the given points (in any order, repeats allowed, so empty chunks occur).
fn split_at<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points {
        chunks.push(&input[start..point]);
        start = point;
    }
    chunks.push(&input[start..]);
    chunks
}
