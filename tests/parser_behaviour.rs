//! Parser behaviour beyond the spec table: zero-copy, bounds, recovery, resume state.

use sansse::parse::{Limits, Output, ParseError, Parser};

/// Every output of `chunks`, rendered to strings.
fn outputs<B: AsRef<[u8]> + AsMut<[u8]>>(parser: &mut Parser<B>, chunks: &[&[u8]]) -> Vec<String> {
    let mut seen = Vec::new();
    for chunk in chunks {
        let mut feed = parser.feed(chunk);
        while let Some(out) = feed.next() {
            seen.push(match out {
                Ok(Output::Event(e)) => format!("event {}|{}|{}", e.event_type(), e.data(), e.id()),
                Ok(Output::Retry(ms)) => format!("retry {ms}"),
                Ok(Output::Comment(c)) => format!("comment {c}"),
                Ok(_) => "other".into(),
                Err(e) => format!("error {e:?}"),
            });
        }
    }
    seen
}

fn within(inner: &str, outer: &[u8]) -> bool {
    let range = outer.as_ptr_range();
    inner.is_empty() || range.contains(&inner.as_ptr())
}

#[test]
fn whole_fields_are_borrowed_from_the_input() {
    let input = b"event: tick\ndata: {\"n\":1}\n\n";
    let mut parser = Parser::<[u8; 512]>::new();
    let mut feed = parser.feed(input);
    let Some(Ok(Output::Event(event))) = feed.next() else {
        panic!("no event")
    };
    assert!(within(event.data(), input), "data was copied");
    assert!(within(event.event_type(), input), "event type was copied");
}

#[test]
fn multi_line_and_split_data_is_assembled_in_the_buffer() {
    let mut parser = Parser::<[u8; 512]>::new();
    let seen = outputs(&mut parser, &[b"data: a\ndata: b", b"c\n\n"]);
    assert_eq!(seen, ["event message|a\nbc|"]);
}

#[test]
/// The skipped block's id is committed (issue 14): a client resumes after the event it could not
/// hold instead of asking for it again on every reconnect.
fn oversized_event_is_skipped_reported_once_and_its_id_committed() {
    let limits = Limits {
        max_id_len: 8,
        max_event_type_len: 8,
        max_comment_len: 8,
    };
    let capacity = Parser::with_limits([0u8; 64], limits)
        .unwrap()
        .data_capacity();
    let big = "x".repeat(capacity + 10);
    let stream = format!("id: 1\ndata: ok\n\nid: 2\ndata: {big}\ndata: more\n\ndata: after\n\n");
    for chunk in [1, 5, stream.len()] {
        let mut p = Parser::with_limits([0u8; 64], limits).unwrap();
        let pieces: Vec<&[u8]> = stream.as_bytes().chunks(chunk).collect();
        assert_eq!(
            outputs(&mut p, &pieces),
            [
                "event message|ok|1".to_string(),
                format!("error {:?}", ParseError::EventTooLarge { capacity }),
                "event message|after|2".to_string(),
            ],
            "chunk {chunk}"
        );
        assert_eq!(p.last_event_id(), "2");
    }
}

#[test]
fn data_at_exactly_the_capacity_is_accepted_and_one_more_byte_is_not() {
    let limits = Limits {
        max_id_len: 4,
        max_event_type_len: 4,
        max_comment_len: 0,
    };
    let capacity = Parser::with_limits([0u8; 40], limits)
        .unwrap()
        .data_capacity();
    // The spec's data buffer holds the value plus one line feed.
    let fits = format!("data: {}\n\n", "a".repeat(capacity - 1));
    let over = format!("data: {}\n\n", "a".repeat(capacity));
    for stream in [&fits, &over] {
        for chunk in [1, 3, stream.len()] {
            let mut p = Parser::with_limits([0u8; 40], limits).unwrap();
            let pieces: Vec<&[u8]> = stream.as_bytes().chunks(chunk).collect();
            let seen = outputs(&mut p, &pieces);
            let accepted = seen.first().is_some_and(|s| s.starts_with("event"));
            assert_eq!(
                accepted,
                stream == &fits,
                "{stream:?} chunk {chunk}: {seen:?}"
            );
        }
    }
}

#[test]
fn too_long_id_and_type_skip_the_event() {
    let limits = Limits {
        max_id_len: 4,
        max_event_type_len: 4,
        max_comment_len: 4,
    };
    let mut parser = Parser::with_limits([0u8; 128], limits).unwrap();
    let seen = outputs(
        &mut parser,
        &[b"id: 12345\ndata: a\n\nevent: abcde\ndata: b\n\ndata: c\n\n"],
    );
    assert_eq!(
        seen,
        [
            format!("error {:?}", ParseError::IdTooLong { max: 4 }),
            format!("error {:?}", ParseError::EventTypeTooLong { max: 4 }),
            "event message|c|".to_string(),
        ]
    );
}

#[test]
fn long_id_with_nul_is_ignored_not_an_error() {
    let limits = Limits {
        max_id_len: 4,
        max_event_type_len: 4,
        max_comment_len: 4,
    };
    let mut parser = Parser::with_limits([0u8; 128], limits).unwrap();
    for chunks in [
        &[&b"id: 1\n\nid: 123456\x00\ndata: a\n\n"[..]][..],
        &[b"id: 1\n\nid: 12", b"3456\x00", b"\ndata: a\n\n"],
    ] {
        parser.reset();
        assert_eq!(outputs(&mut parser, chunks), ["event message|a|1"]);
    }
}

#[test]
fn comments_are_offered_and_cut_at_the_limit() {
    let limits = Limits {
        max_id_len: 8,
        max_event_type_len: 8,
        max_comment_len: 6,
    };
    let mut parser = Parser::with_limits([0u8; 128], limits).unwrap();
    assert_eq!(
        outputs(&mut parser, &[b":keepalive 15000\n: hi\n"]),
        ["comment keepal", "comment hi"]
    );
    assert_eq!(
        outputs(&mut parser, &[b":keep", b"alive 1", b"5000\n"]),
        ["comment keepal"]
    );
}

#[test]
fn last_event_id_survives_reset_and_partial_events() {
    let mut parser = Parser::<[u8; 256]>::new();
    outputs(&mut parser, &[b"id: 41\ndata: a\n\nid: 42\ndata: cut off"]);
    assert_eq!(parser.last_event_id(), "41");
    parser.reset();
    assert_eq!(
        outputs(&mut parser, &[b"data: b\n\n"]),
        ["event message|b|41"]
    );
    parser.set_last_event_id("persisted").unwrap();
    assert_eq!(
        outputs(&mut parser, &[b"data: c\n\n"]),
        ["event message|c|persisted"]
    );
}

#[test]
fn finish_dispatches_the_unterminated_event_only_when_asked() {
    let mut parser = Parser::<[u8; 256]>::new();
    assert!(outputs(&mut parser, &[b"data: tail"]).is_empty());
    let mut feed = parser.finish();
    let Some(Ok(Output::Event(e))) = feed.next() else {
        panic!("finish dispatched nothing")
    };
    assert_eq!(e.data(), "tail");
    drop(feed);
    // After a CR that might have been half a CRLF.
    parser.reset();
    outputs(&mut parser, &[b"data: x\r"]);
    let mut feed = parser.finish();
    assert!(matches!(feed.next(), Some(Ok(Output::Event(e))) if e.data() == "x"));
}

#[test]
fn dropping_a_feed_early_keeps_the_rest_for_later() {
    let mut parser = Parser::<[u8; 256]>::new();
    let input = b"data: 1\n\ndata: 2\n\n";
    let rest = {
        let mut feed = parser.feed(input);
        assert!(matches!(feed.next(), Some(Ok(Output::Event(e))) if e.data() == "1"));
        feed.remaining()
    };
    assert_eq!(outputs(&mut parser, &[rest]), ["event message|2|"]);
}

#[test]
fn a_tiny_buffer_never_panics() {
    for size in 0..16 {
        let mut buf = vec![0u8; size];
        let mut parser = Parser::with_buffer(&mut buf[..]);
        outputs(&mut parser, &[b"id: 1\nevent: e\ndata: xyz\n: c\n\n\xff\n"]);
    }
}

#[test]
fn a_skipped_block_commits_its_last_id_line_and_a_too_long_one_commits_none() {
    let limits = Limits {
        max_id_len: 8,
        max_event_type_len: 8,
        max_comment_len: 8,
    };
    let capacity = Parser::with_limits([0u8; 64], limits)
        .unwrap()
        .data_capacity();
    let big = "x".repeat(capacity + 10);
    // The id after the overflow counts, the last one wins, and a too-long id is reported once.
    let stream = format!(
        "id: 1\ndata: ok\n\ndata: {big}\nid: 2\nid: 3\n\n\
         data: {big}\nid: 123456789\n\n\
         id: 4\nid: 123456789\ndata: x\n\n"
    );
    for chunk in [1, 7, stream.len()] {
        let mut p = Parser::with_limits([0u8; 64], limits).unwrap();
        let pieces: Vec<&[u8]> = stream.as_bytes().chunks(chunk).collect();
        let seen = outputs(&mut p, &pieces);
        assert_eq!(
            seen,
            [
                "event message|ok|1".to_string(),
                format!("error {:?}", ParseError::EventTooLarge { capacity }),
                format!("error {:?}", ParseError::EventTooLarge { capacity }),
                format!("error {:?}", ParseError::IdTooLong { max: 8 }),
            ],
            "chunk {chunk}"
        );
        assert_eq!(p.last_event_id(), "3", "chunk {chunk}");
    }
}
