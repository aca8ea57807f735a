//! Body of the `parser` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/parser.rs`) and the stable tests, which include this file with
//! `#[path]`, so every corpus file and artifact is replayed by `cargo test` without nightly.
//!
//! Input layout (see [`Input`]): byte 0 is a control byte, then up to seven chunk lengths, then
//! the stream. Every input is checked on a wide parser (4 KiB) and on a tight one (64 bytes, so
//! events overflow and recovery runs):
//!
//! 1. nothing panics, and every feed makes progress;
//! 2. feeding the stream in the fuzz-chosen chunks, with feeds dropped early and their remaining
//!    bytes fed again, gives exactly the outputs of feeding it whole, before and after
//!    [`Parser::finish`], with the same last event ID;
//! 3. every output is within the configured bounds;
//! 4. the outputs agree with [`model`], a plain unbounded reading of WHATWG HTML §9.2.6 plus
//!    the crate's documented limits, written here without the parser's machinery;
//! 5. `reset` in the middle of a stream then a new stream gives what a fresh parser seeded with
//!    the same last event ID gives;
//! 6. the [`Tokenizer`], fed the same chunks, yields the model's lines exactly.

use sansse::parse::{Field, Limits, Output, ParseError, Parser, Token, Tokenizer};

/// Buffer of the wide parser: large enough that most fuzz inputs fit.
const WIDE: usize = 4096;
/// Buffer of the tight parser: tiny, so oversized events and their recovery are common.
const TIGHT: usize = 64;
/// Limits of the tight parser: 43 bytes reserved, 21 for data.
pub(crate) const TIGHT_LIMITS: Limits = Limits {
    max_id_len: 8,
    max_event_type_len: 8,
    max_comment_len: 8,
};
/// At most this many chunk lengths follow the control byte.
const MAX_SPLITS: usize = 7;

/// Runs every check on one fuzz input.
pub(crate) fn parser(data: &[u8]) {
    let input = Input::decode(data);
    check_parser::<WIDE>(&input, Limits::for_capacity(WIDE));
    check_parser::<TIGHT>(&input, TIGHT_LIMITS);
    check_tokenizer(&input);
}

/// A decoded fuzz input.
pub(crate) struct Input<'a> {
    /// Chunk lengths, used in a cycle; a zero also feeds one empty chunk. Empty: one chunk.
    pub(crate) splits: &'a [u8],
    /// Drop each feed after this many outputs and feed its remaining bytes again (0: never).
    pub(crate) drop_after: usize,
    /// The event stream.
    pub(crate) stream: &'a [u8],
}

impl<'a> Input<'a> {
    /// Control byte: bits 0-2 count the chunk lengths that follow, bits 3-5 are `drop_after`.
    pub(crate) fn decode(data: &'a [u8]) -> Self {
        let Some((&control, rest)) = data.split_first() else {
            return Self {
                splits: &[],
                drop_after: 0,
                stream: &[],
            };
        };
        let count = usize::from(control & 7).min(rest.len());
        let (splits, stream) = rest.split_at(count);
        Self {
            splits,
            drop_after: usize::from((control >> 3) & 7),
            stream,
        }
    }

    /// The inverse of [`Input::decode`]; `splits` beyond seven and `drop_after` beyond 7 are cut.
    pub(crate) fn encode(splits: &[u8], drop_after: u8, stream: &[u8]) -> Vec<u8> {
        let splits = &splits[..splits.len().min(MAX_SPLITS)];
        let count = u8::try_from(splits.len()).unwrap_or(0);
        let mut out = vec![count | ((drop_after & 7) << 3)];
        out.extend_from_slice(splits);
        out.extend_from_slice(stream);
        out
    }

    /// The stream cut by the chunk lengths.
    pub(crate) fn chunks(&self) -> Vec<&'a [u8]> {
        if self.splits.is_empty() {
            return vec![self.stream];
        }
        let mut chunks = Vec::new();
        let mut rest = self.stream;
        for &len in self.splits.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            if len == 0 {
                chunks.push(&rest[..0]);
            }
            let (chunk, tail) = rest.split_at(usize::from(len).clamp(1, rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        chunks
    }
}

/// One parser output, owned so runs can be compared.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) enum Seen {
    Event {
        event_type: String,
        has_event_type: bool,
        data: String,
        id: String,
    },
    Retry(u64),
    Comment(String),
    Error(ParseError),
    /// An event the model skips; it knows that one is reported, not which error.
    Skipped,
    /// An output variant added after this file was written.
    Other(String),
}

impl Seen {
    /// A dispatched event as the parser reports it.
    pub(crate) fn event(event_type: &str, data: &str, id: &str) -> Self {
        Self::Event {
            event_type: if event_type.is_empty() {
                "message".to_owned()
            } else {
                event_type.to_owned()
            },
            has_event_type: !event_type.is_empty(),
            data: data.to_owned(),
            id: id.to_owned(),
        }
    }
}

fn check_parser<const N: usize>(input: &Input<'_>, limits: Limits) {
    let fresh = || Parser::with_limits([0u8; N], limits).expect("the limits fit the buffer");
    let chunks = input.chunks();

    let mut whole = fresh();
    let mut seen_whole = feed_all(&mut whole, &[input.stream], 0);
    let mut chunked = fresh();
    let mut seen_chunked = feed_all(&mut chunked, &chunks, input.drop_after);
    assert_eq!(seen_chunked, seen_whole, "N={N}: chunks {chunks:?}");
    assert_eq!(chunked.last_event_id(), whole.last_event_id(), "N={N}");

    let mut interrupted = chunked.clone();
    seen_whole.extend(finish(&mut whole));
    seen_chunked.extend(finish(&mut chunked));
    assert_eq!(seen_chunked, seen_whole, "N={N} finish: chunks {chunks:?}");
    assert_eq!(chunked.last_event_id(), whole.last_event_id(), "N={N}");

    let (want, want_id) = model(input.stream, limits, whole.data_capacity());
    assert_eq!(
        without_errors(&seen_whole),
        without_errors(&want),
        "N={N}: parser and model disagree on events, retries and comments"
    );
    assert_eq!(
        events_and_skips(&seen_whole),
        events_and_skips(&want),
        "N={N}: parser and model disagree on which events are skipped"
    );
    assert_eq!(whole.last_event_id(), want_id, "N={N}: last event ID");

    // `reset` must forget the half-read line and event, and keep only the last event ID.
    let resume_id = interrupted.last_event_id().to_owned();
    interrupted.reset();
    let mut seen_reset = feed_all(&mut interrupted, &[input.stream], 0);
    seen_reset.extend(finish(&mut interrupted));
    let mut seeded = fresh();
    seeded
        .set_last_event_id(&resume_id)
        .expect("an id the parser held fits its limit");
    let mut seen_seeded = feed_all(&mut seeded, &[input.stream], 0);
    seen_seeded.extend(finish(&mut seeded));
    assert_eq!(
        seen_reset, seen_seeded,
        "N={N}: reset kept more than the id"
    );
    assert_eq!(interrupted.last_event_id(), seeded.last_event_id());
}

/// Feeds `chunks` in order and drains every feed. With `drop_after > 0`, each feed is dropped
/// after that many outputs and its remaining bytes are fed again, as the docs allow.
pub(crate) fn feed_all<B>(parser: &mut Parser<B>, chunks: &[&[u8]], drop_after: usize) -> Vec<Seen>
where
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    let bounds = Bounds::of(parser);
    let mut seen = Vec::new();
    for &chunk in chunks {
        let mut input = chunk;
        loop {
            let mut feed = parser.feed(input);
            let mut taken = 0;
            while let Some(out) = feed.next() {
                seen.push(bounds.record(out));
                taken += 1;
                if taken == drop_after {
                    break;
                }
            }
            if taken != drop_after || drop_after == 0 {
                break;
            }
            let rest = feed.remaining();
            assert!(rest.len() < input.len(), "an output consumed no input");
            input = rest;
        }
    }
    seen
}

/// Calls [`Parser::finish`] and drains it.
pub(crate) fn finish<B>(parser: &mut Parser<B>) -> Vec<Seen>
where
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    let bounds = Bounds::of(parser);
    let mut seen = Vec::new();
    let mut feed = parser.finish();
    while let Some(out) = feed.next() {
        seen.push(bounds.record(out));
    }
    seen
}

/// What no output may exceed.
struct Bounds {
    limits: Limits,
    data_capacity: usize,
}

impl Bounds {
    fn of<B: AsRef<[u8]> + AsMut<[u8]>>(parser: &Parser<B>) -> Self {
        Self {
            limits: parser.limits(),
            data_capacity: parser.data_capacity(),
        }
    }

    fn record(&self, out: Result<Output<'_>, ParseError>) -> Seen {
        let limits = &self.limits;
        match out {
            Ok(Output::Event(event)) => {
                // The data capacity counts the line feed the spec strips from the last line.
                assert!(event.data().len() < self.data_capacity, "{event:?}");
                assert!(event.id().len() <= limits.max_id_len, "{event:?}");
                if event.has_event_type() {
                    assert!(
                        event.event_type().len() <= limits.max_event_type_len,
                        "{event:?}"
                    );
                } else {
                    assert_eq!(event.event_type(), "message");
                }
                Seen::Event {
                    event_type: event.event_type().to_owned(),
                    has_event_type: event.has_event_type(),
                    data: event.data().to_owned(),
                    id: event.id().to_owned(),
                }
            }
            Ok(Output::Retry(ms)) => Seen::Retry(ms),
            Ok(Output::Comment(text)) => {
                assert!(text.len() <= limits.max_comment_len, "{text:?}");
                Seen::Comment(text.to_owned())
            }
            Ok(other) => Seen::Other(format!("{other:?}")),
            Err(error) => Seen::Error(error),
        }
    }
}

/// Events, retries and comments, in order.
fn without_errors(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| !matches!(s, Seen::Error(_) | Seen::Skipped))
        .collect()
}

/// Events and skipped events, in order; the kind of error is left out.
fn events_and_skips(seen: &[Seen]) -> Vec<Seen> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Event { .. } | Seen::Skipped => Some(s.clone()),
            Seen::Error(_) => Some(Seen::Skipped),
            _ => None,
        })
        .collect()
}

/// The outputs and final last event ID of `stream` followed by [`Parser::finish`], read the
/// plain way: split the whole stream into lines, decode each value with replacement, keep
/// everything in growable strings, and only then apply the documented limits.
///
/// A block is skipped (one [`Seen::Skipped`]) when its decoded data plus one line feed per
/// `data` line exceeds `data_capacity`, or when one of its `event` or `id` values (an id without
/// NUL) decodes longer than its limit. Comments, retries and `id` lines count even inside a
/// skipped block: its last id is committed when it ends, unless that id was too long.
pub(crate) fn model(stream: &[u8], limits: Limits, data_capacity: usize) -> (Vec<Seen>, String) {
    let (mut lines, rest) = split_lines(stream);
    // `finish`: the unterminated line ends, and a blank line follows.
    if !rest.is_empty() {
        lines.push(rest);
    }
    lines.push(b"");

    let mut out = Vec::new();
    let mut last_event_id = String::new();
    let mut pending_id = None;
    let mut event_type = String::new();
    let mut data: Vec<String> = Vec::new();
    // The block's data size so far (each line plus its line feed), kept as it grows: summing
    // the lines again at every `data` line was quadratic in the number of lines.
    let mut data_size = 0usize;
    let mut skipping = false;
    for line in lines {
        if line.is_empty() {
            let skipped = core::mem::take(&mut skipping);
            let id = pending_id.take();
            let lines = core::mem::take(&mut data);
            data_size = 0;
            let ty = core::mem::take(&mut event_type);
            if let Some(id) = id {
                last_event_id = id;
            }
            if skipped {
                continue;
            }
            if !lines.is_empty() {
                out.push(Seen::event(&ty, &lines.join("\n"), &last_event_id));
            }
            continue;
        }
        let (field, value) = classify(line);
        match field {
            Field::Comment => {
                let text = String::from_utf8_lossy(value);
                out.push(Seen::Comment(
                    truncate(&text, limits.max_comment_len).to_owned(),
                ));
            }
            Field::Retry => {
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    let ms = value.iter().fold(0u64, |ms, d| {
                        ms.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    });
                    out.push(Seen::Retry(ms));
                }
            }
            Field::Unknown => {}
            Field::Id => {
                // Spec: an id containing NUL is ignored.
                if !value.contains(&0) {
                    let text = String::from_utf8_lossy(value).into_owned();
                    if text.len() > limits.max_id_len {
                        pending_id = None;
                        if !skipping {
                            out.push(Seen::Skipped);
                            skipping = true;
                        }
                    } else {
                        pending_id = Some(text);
                    }
                }
            }
            _ if skipping => {}
            Field::Data => {
                let text = String::from_utf8_lossy(value).into_owned();
                data_size = data_size.saturating_add(text.len()).saturating_add(1);
                data.push(text);
                if data_size > data_capacity {
                    out.push(Seen::Skipped);
                    skipping = true;
                }
            }
            Field::Event => {
                let text = String::from_utf8_lossy(value).into_owned();
                if text.len() > limits.max_event_type_len {
                    out.push(Seen::Skipped);
                    skipping = true;
                } else {
                    event_type = text;
                }
            }
        }
    }
    (out, last_event_id)
}

/// The complete lines of `stream` (one leading BOM stripped; CRLF, LF and CR end a line) and
/// the unterminated rest.
pub(crate) fn split_lines(stream: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let stream = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < stream.len() {
        match stream[i] {
            b'\n' => {
                lines.push(&stream[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push(&stream[start..i]);
                i += if stream.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    (lines, &stream[start..])
}

/// The field of a non-empty line and its raw value: after the first colon, minus one space.
fn classify(line: &[u8]) -> (Field, &[u8]) {
    let (name, value) = match line.iter().position(|&b| b == b':') {
        Some(colon) => (&line[..colon], &line[colon + 1..]),
        None => (line, &line[line.len()..]),
    };
    let value = value.strip_prefix(b" ").unwrap_or(value);
    let field = match name {
        b"" => Field::Comment,
        b"data" => Field::Data,
        b"event" => Field::Event,
        b"id" => Field::Id,
        b"retry" => Field::Retry,
        _ => Field::Unknown,
    };
    (field, value)
}

/// The longest prefix of `text` of at most `max` bytes that ends between characters.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = 0;
    for (at, ch) in text.char_indices() {
        if at + ch.len_utf8() > max {
            break;
        }
        end = at + ch.len_utf8();
    }
    &text[..end]
}

/// A line the tokenizer reported, its fragments joined.
#[derive(Debug, Eq, PartialEq)]
enum TokenLine {
    Blank,
    Field(Field, Vec<u8>),
}

/// The tokenizer yields the model's lines for the whole stream and for the fuzz-chosen chunks,
/// with well-formed fragments (`first` opens a line, `last` closes it, nothing else is empty).
fn check_tokenizer(input: &Input<'_>) {
    let (lines, rest) = split_lines(input.stream);
    let want: Vec<TokenLine> = lines
        .iter()
        .map(|line| {
            if line.is_empty() {
                TokenLine::Blank
            } else {
                let (field, value) = classify(line);
                TokenLine::Field(field, value.to_vec())
            }
        })
        .collect();
    for (chunks, drop_after) in [(vec![input.stream], 0), (input.chunks(), input.drop_after)] {
        let (got, open) = tokenize(&chunks, drop_after);
        assert_eq!(got, want, "tokenizer: chunks {chunks:?}");
        assert!(
            !open || !rest.is_empty(),
            "a line is open, none is unterminated"
        );
    }
}

/// The lines the tokenizer reports, and whether one is still open at the end.
fn tokenize(chunks: &[&[u8]], drop_after: usize) -> (Vec<TokenLine>, bool) {
    let mut tokenizer = Tokenizer::new();
    let mut lines = Vec::new();
    let mut open: Option<(Field, Vec<u8>)> = None;
    for &chunk in chunks {
        let mut input = chunk;
        loop {
            let mut tokens = tokenizer.feed(input);
            let mut taken = 0;
            for token in tokens.by_ref() {
                taken += 1;
                match token {
                    Token::Blank => {
                        assert!(open.is_none(), "blank line inside a line");
                        lines.push(TokenLine::Blank);
                    }
                    Token::Field(fragment) => {
                        assert!(
                            fragment.last || !fragment.value.is_empty(),
                            "empty non-final fragment"
                        );
                        match (&mut open, fragment.first) {
                            (None, true) => open = Some((fragment.field, fragment.value.to_vec())),
                            (Some((field, value)), false) => {
                                assert_eq!(*field, fragment.field, "field changed mid-line");
                                value.extend_from_slice(fragment.value);
                            }
                            _ => panic!("fragment out of order: {fragment:?}"),
                        }
                        if fragment.last {
                            if let Some((field, value)) = open.take() {
                                lines.push(TokenLine::Field(field, value));
                            }
                        }
                    }
                }
                if taken == drop_after {
                    break;
                }
            }
            if taken != drop_after || drop_after == 0 {
                break;
            }
            let rest = tokens.remaining();
            assert!(rest.len() < input.len(), "a token consumed no input");
            input = rest;
        }
    }
    (lines, open.is_some())
}
