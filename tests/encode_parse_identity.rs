//! Encode-then-parse through `sansse::Parser` is the identity (line breaks read back as LF).

use proptest::prelude::*;
use sansse::Parser;
use sansse::encode::{Comment, EventId, EventName, Message};
use sansse::parse::Output;

proptest! {
    #[test]
    fn encode_then_parse_is_the_identity(
        blocks in proptest::collection::vec(block(), 1..6),
        split_seed in any::<u64>(),
        leading_bom in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        if leading_bom {
            // A BOM is allowed (and stripped) only at the very start of the stream.
            wire.extend("\u{FEFF}".as_bytes());
        }
        let mut expected = Vec::new();
        let mut last_id = String::new();
        for block in &blocks {
            let Block { comment, data, name, id, retry } = block;
            if let Some(comment) = comment {
                wire.extend(encode_comment(&Comment::new(comment)));
                // Each line of the comment is its own comment line.
                let lines = comment.replace("\r\n", "\n").replace('\r', "\n").split('\n').count();
                expected.extend((0..lines).map(|_| Seen::Comment));
            }
            let mut message = Message::new(data);
            if let Some(name) = name {
                message = message.with_name(EventName::new(name).unwrap());
            }
            if let Some(id) = id {
                message = message.with_id(EventId::new(id).unwrap());
                last_id.clone_from(id);
            }
            if let Some(retry) = retry {
                message = message.with_retry(*retry);
                expected.push(Seen::Retry(*retry));
            }
            wire.extend(encode(&message));
            expected.push(Seen::Event {
                event_type: name.clone().unwrap_or_else(|| "message".to_owned()),
                data: data.replace("\r\n", "\n").replace('\r', "\n"),
                id: last_id.clone(),
            });
        }

        let whole = parse_in_chunks(&wire, &[wire.len()]);
        let cuts = cut_points(wire.len(), split_seed);
        let chunked = parse_in_chunks(&wire, &cuts);

        prop_assert_eq!(&whole, &expected);
        prop_assert_eq!(&chunked, &expected);
    }
}

#[test]
fn bom_and_nul_inside_values_are_not_special() {
    let message = Message::new("\u{FEFF}x\0y")
        .with_name(EventName::new("\u{FEFF}n\0").unwrap())
        .with_id(EventId::new("\u{FEFF}7").unwrap());

    let seen = parse_in_chunks(&encode(&message), &[usize::MAX]);

    assert_eq!(
        seen,
        vec![Seen::Event {
            event_type: "\u{FEFF}n\0".to_owned(),
            data: "\u{FEFF}x\0y".to_owned(),
            id: "\u{FEFF}7".to_owned(),
        }]
    );
}

#[derive(Clone, Debug)]
struct Block {
    comment: Option<String>,
    data: String,
    name: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
}

#[derive(Debug, PartialEq)]
enum Seen {
    Event {
        event_type: String,
        data: String,
        id: String,
    },
    Retry(u64),
    Comment,
}

fn block() -> impl Strategy<Value = Block> {
    (
        proptest::option::of(text(0..16, true)),
        text(0..32, true),
        proptest::option::of(text(1..8, false)),
        proptest::option::of(text(0..12, false)),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(comment, data, name, id, retry)| Block {
            comment,
            data,
            // Names may hold NUL; ids may not, and neither may hold a line break.
            name: name.map(|name| name.replace('\u{1}', "\0")),
            id,
            retry,
        })
}

/// Text biased towards what the format treats specially; `breaks` allows CR and LF and NUL.
fn text(len: core::ops::Range<usize>, breaks: bool) -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('\u{FEFF}'),
        Just(' '),
        Just(':'),
        Just('é'),
        Just('\u{1F600}'),
        Just('\u{1}'),
    ];
    let breaking = prop_oneof![Just('\r'), Just('\n'), Just('\0')];
    let plain = any::<char>().prop_filter("no line breaks or NUL", |c| {
        !matches!(c, '\r' | '\n' | '\0')
    });
    let one = if breaks {
        prop_oneof![2 => special, 2 => breaking, 3 => plain].boxed()
    } else {
        prop_oneof![2 => special, 3 => plain].boxed()
    };
    proptest::collection::vec(one, len).prop_map(|chars| chars.into_iter().collect())
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0; message.encoded_len()];
    assert_eq!(message.encode(&mut buf), Ok(buf.len()));
    buf
}

fn encode_comment(comment: &Comment<'_>) -> Vec<u8> {
    let mut buf = vec![0; comment.encoded_len()];
    assert_eq!(comment.encode(&mut buf), Ok(buf.len()));
    buf
}

/// Up to eight cut points from a seed, so a CRLF or a UTF-8 sequence can fall across chunks.
fn cut_points(len: usize, seed: u64) -> Vec<usize> {
    let mut state = seed | 1;
    let mut cuts: Vec<usize> = (0..8)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (len as u64 + 1)) as usize
        })
        .collect();
    cuts.push(len);
    cuts.sort_unstable();
    cuts
}

/// Feeds `wire` cut at the given (sorted) offsets and records what the parser reports.
fn parse_in_chunks(wire: &[u8], cuts: &[usize]) -> Vec<Seen> {
    let mut parser = Parser::<[u8; 4096]>::new();
    let mut seen = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let end = cut.min(wire.len());
        if end < start {
            continue;
        }
        let mut feed = parser.feed(&wire[start..end]);
        while let Some(output) = feed.next() {
            match output.expect("encoder output never trips the parser") {
                Output::Event(event) => seen.push(Seen::Event {
                    event_type: event.event_type().to_owned(),
                    data: event.data().to_owned(),
                    id: event.id().to_owned(),
                }),
                Output::Retry(millis) => seen.push(Seen::Retry(millis)),
                Output::Comment(_) => seen.push(Seen::Comment),
                other => panic!("unexpected output {other:?}"),
            }
        }
        start = end;
    }
    seen
}
