//! The parser's constructors at the extremes of their sizes: limits whose sum overflows a
//! `usize` are refused (never wrapped into a small buffer layout), and every parser that is
//! built, however small or exactly sized, takes every kind of line without panicking.
//!
//! Each refusal is asserted as an `Err`, so these tests also fail in a release build, where an
//! overflowing sum would wrap instead of panicking.

use sansse::BufferTooSmall;
use sansse::parse::{Limits, Output, ParseError, Parser};

/// Limits whose reserved regions (three id slots, the event type, the comment plus its
/// lookahead) do not fit in a `usize`.
const OVERFLOWING: &[Limits] = &[
    Limits {
        max_id_len: usize::MAX / 3 + 1,
        max_event_type_len: 0,
        max_comment_len: 0,
    },
    Limits {
        max_id_len: usize::MAX,
        max_event_type_len: 32,
        max_comment_len: 64,
    },
    Limits {
        max_id_len: 1,
        max_event_type_len: usize::MAX,
        max_comment_len: 0,
    },
    Limits {
        max_id_len: 0,
        max_event_type_len: 0,
        max_comment_len: usize::MAX,
    },
    // The comment's lookahead alone overflows.
    Limits {
        max_id_len: 0,
        max_event_type_len: 0,
        max_comment_len: usize::MAX - 2,
    },
    // Each part fits; only the sum does not.
    Limits {
        max_id_len: usize::MAX / 3,
        max_event_type_len: usize::MAX / 3,
        max_comment_len: 0,
    },
    Limits {
        max_id_len: usize::MAX,
        max_event_type_len: usize::MAX,
        max_comment_len: usize::MAX,
    },
];

/// Every kind of line the parser handles, whole: an `id`, an event type, data, a `retry` and a
/// comment, each in an event of its own, then an oversized one of each.
const EVERY_LINE: &[u8] = b"id: 7\n\nevent: greet\ndata: a\n\ndata: hello\ndata: world\n\n\
retry: 1500\n:keepalive 15000\n\nid: 0123456789abcdef0123456789abcdef\nevent: \
0123456789abcdef0123456789abcdef\ndata: 0123456789abcdef0123456789abcdef\n\n\
retry: 99999999999999999999999999\n: 0123456789abcdef0123456789abcdef\n\ndata: end\n\n\
data: x\n\n";

/// Runs `input` through `parser` in pieces of `chunk` bytes and describes every output.
fn outputs(parser: &mut Parser<Vec<u8>>, input: &[u8], chunk: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for piece in input.chunks(chunk) {
        let mut feed = parser.feed(piece);
        while let Some(out) = feed.next() {
            seen.push(match out {
                Ok(Output::Event(e)) => {
                    format!("event {} {:?} {:?}", e.event_type(), e.data(), e.id())
                }
                Ok(Output::Retry(ms)) => format!("retry {ms}"),
                Ok(Output::Comment(text)) => format!("comment {text:?}"),
                Ok(other) => format!("{other:?}"),
                Err(e) => format!("error {e:?}"),
            });
        }
    }
    seen
}

/// The outputs of `EVERY_LINE` whole, checked to be the same in pieces of 7 bytes and of one.
fn every_line_through(buffer: usize, limits: Limits) -> Vec<String> {
    let make = || Parser::with_limits(vec![0u8; buffer], limits).unwrap();
    let whole = outputs(&mut make(), EVERY_LINE, usize::MAX);
    assert_eq!(
        outputs(&mut make(), EVERY_LINE, 7),
        whole,
        "{limits:?} in 7s"
    );
    assert_eq!(
        outputs(&mut make(), EVERY_LINE, 1),
        whole,
        "{limits:?} bytewise"
    );
    whole
}

#[test]
fn reserved_saturates_instead_of_wrapping() {
    for limits in OVERFLOWING {
        assert_eq!(limits.reserved(), usize::MAX, "{limits:?}");
    }
    // One below the edge the sum still fits and is exact.
    let edge = Limits {
        max_id_len: usize::MAX / 3,
        max_event_type_len: usize::MAX % 3,
        max_comment_len: 0,
    };
    assert_eq!(edge.reserved(), usize::MAX);
    let below = Limits {
        max_comment_len: 1,
        ..Limits {
            max_id_len: usize::MAX / 3 - 2,
            max_event_type_len: 0,
            max_comment_len: 0,
        }
    };
    assert_eq!(below.reserved(), usize::MAX - usize::MAX % 3 - 6 + 4);
}

#[test]
fn limits_whose_sum_overflows_are_refused_with_needed_max() {
    for limits in OVERFLOWING {
        // The reproduction from the issue: in release the sum used to wrap to a small number,
        // this returned `Ok`, and the first `id:` line panicked on a slice index.
        let refused = Parser::with_limits([0u8; 64], *limits).map(|_| ());
        assert_eq!(
            refused,
            Err(BufferTooSmall { needed: usize::MAX }),
            "{limits:?}"
        );
        let refused = Parser::with_limits(vec![0u8; 4096], *limits).map(|_| ());
        assert_eq!(
            refused,
            Err(BufferTooSmall { needed: usize::MAX }),
            "{limits:?}"
        );
        let refused = Parser::with_limits(&mut [][..], *limits).map(|_| ());
        assert_eq!(
            refused,
            Err(BufferTooSmall { needed: usize::MAX }),
            "{limits:?}"
        );
    }
}

#[test]
fn a_buffer_one_byte_short_is_refused_and_an_exact_one_leaves_no_data_room() {
    for limits in [
        Limits {
            max_id_len: 1,
            max_event_type_len: 1,
            max_comment_len: 1,
        },
        Limits::for_capacity(usize::MAX),
        Limits {
            max_id_len: 100,
            max_event_type_len: 0,
            max_comment_len: 0,
        },
    ] {
        let needed = limits.reserved();
        let short = Parser::with_limits(vec![0u8; needed - 1], limits).map(|_| ());
        assert_eq!(short, Err(BufferTooSmall { needed }), "{limits:?}");
        let exact = Parser::with_limits(vec![0u8; needed], limits).unwrap();
        assert_eq!(exact.data_capacity(), 0, "{limits:?}");
        assert_eq!(exact.limits(), limits);
    }
}

#[test]
fn zero_limits_in_an_empty_buffer_skip_every_event_and_keep_parsing() {
    let zero = Limits {
        max_id_len: 0,
        max_event_type_len: 0,
        max_comment_len: 0,
    };
    assert_eq!(zero.reserved(), 0);
    let seen = every_line_through(0, zero);
    assert_eq!(
        seen,
        [
            "error IdTooLong { max: 0 }",
            "error EventTypeTooLong { max: 0 }",
            "error EventTooLarge { capacity: 0 }",
            "retry 1500",
            "comment \"\"",
            "error IdTooLong { max: 0 }",
            "retry 18446744073709551615",
            "comment \"\"",
            "error EventTooLarge { capacity: 0 }",
            "error EventTooLarge { capacity: 0 }",
        ]
    );
}

#[test]
fn one_byte_limits_cut_comments_skip_longer_fields_and_deliver_what_fits() {
    let one = Limits {
        max_id_len: 1,
        max_event_type_len: 1,
        max_comment_len: 1,
    };
    // Room for a one-byte data value and its line feed.
    let seen = every_line_through(one.reserved() + 2, one);
    assert_eq!(
        seen,
        [
            "error EventTypeTooLong { max: 1 }",
            "error EventTooLarge { capacity: 2 }",
            "retry 1500",
            "comment \"k\"",
            "error IdTooLong { max: 1 }",
            "retry 18446744073709551615",
            "comment \"0\"",
            "error EventTooLarge { capacity: 2 }",
            "event message \"x\" \"7\"",
        ]
    );
}

#[test]
fn the_largest_scaled_limits_deliver_every_line() {
    let limits = Limits::for_capacity(usize::MAX);
    let id = "0123456789abcdef0123456789abcdef";
    let seen = every_line_through(limits.reserved() + 64, limits);
    assert_eq!(
        seen,
        [
            "event greet \"a\" \"7\"".to_string(),
            "event message \"hello\\nworld\" \"7\"".to_string(),
            "retry 1500".to_string(),
            "comment \"keepalive 15000\"".to_string(),
            format!("event {id} \"{id}\" \"{id}\""),
            "retry 18446744073709551615".to_string(),
            format!("comment \"{id}\""),
            format!("event message \"end\" \"{id}\""),
            format!("event message \"x\" \"{id}\""),
        ]
    );
}

#[test]
fn parsers_built_without_limits_take_every_line_at_any_size() {
    for size in [0, 1, 2, 7, 8, 15, 16, 17, 64, 511, 512] {
        let mut parser = Parser::with_buffer(vec![0u8; size]);
        let limits = parser.limits();
        assert_eq!(limits.reserved() + parser.data_capacity(), size, "{size}");
        for chunk in [usize::MAX, 7, 1] {
            parser.reset();
            let seen = outputs(&mut parser, EVERY_LINE, chunk);
            // The two `retry` lines need no buffer at all.
            assert_eq!(
                seen.iter()
                    .filter(|line| line.starts_with("retry "))
                    .count(),
                2,
                "{size} {seen:?}"
            );
        }
    }
    let mut empty = Parser::<[u8; 0]>::new();
    assert_eq!(empty.data_capacity(), 0);
    assert!(empty.set_last_event_id("").is_ok());
    assert_eq!(
        empty.set_last_event_id("x"),
        Err(ParseError::IdTooLong { max: 0 })
    );
    let mut feed = empty.feed(EVERY_LINE);
    while feed.next().is_some() {}
    drop(feed);
    let mut one = Parser::<[u8; 1]>::new();
    let mut feed = one.feed(EVERY_LINE);
    while feed.next().is_some() {}
}

#[test]
fn set_last_event_id_at_the_limit_edges() {
    let limits = Limits {
        max_id_len: 3,
        max_event_type_len: 0,
        max_comment_len: 0,
    };
    let mut parser = Parser::with_limits(vec![0u8; limits.reserved()], limits).unwrap();
    assert_eq!(parser.set_last_event_id("abc"), Ok(()));
    assert_eq!(parser.last_event_id(), "abc");
    assert_eq!(
        parser.set_last_event_id("abcd"),
        Err(ParseError::IdTooLong { max: 3 })
    );
    assert_eq!(parser.last_event_id(), "abc");
    // An `id:` line then uses another slot of the same exact-size buffer.
    let mut feed = parser.feed(
        b"id: xyz

",
    );
    while feed.next().is_some() {}
    drop(feed);
    assert_eq!(parser.last_event_id(), "xyz");
}
