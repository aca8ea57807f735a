//! Encoded blocks read back through a reference WHATWG event-stream parser exactly as given.
//!
//! The reference parser below follows the standard's "Interpreting an event stream" steps
//! literally and knows nothing of the encoder, so a field injection or a lost line would show.

use proptest::prelude::*;
use sansse::BufferTooSmall;
use sansse::encode::{Comment, EventId, EventName, Message};

proptest! {
    #[test]
    fn message_reads_back_with_line_breaks_as_lf(
        data in text(),
        name in field_text(),
        id in field_text(),
        retry in proptest::option::of(any::<u64>()),
    ) {
        let mut message = Message::new(&data);
        if let Ok(name) = EventName::new(&name) {
            message = message.with_name(name);
        }
        let id = EventId::new(&id).ok();
        if let Some(id) = id {
            message = message.with_id(id);
        }
        if let Some(retry) = retry {
            message = message.with_retry(retry);
        }

        let parsed = parse(&encode(&message));

        let expected_type = message.name().map_or("message", |name| name.as_str());
        prop_assert_eq!(
            parsed.events,
            vec![Dispatched {
                event_type: expected_type.to_owned(),
                data: normalise_line_breaks(&data),
                last_event_id: id.map_or_else(String::new, |id| id.as_str().to_owned()),
            }]
        );
        prop_assert_eq!(parsed.retry, retry);
    }

    #[test]
    fn consecutive_messages_read_back_one_for_one(datas in proptest::collection::vec(text(), 0..6)) {
        let mut wire = Vec::new();
        for data in &datas {
            wire.extend(encode(&Message::new(data)));
        }

        let parsed = parse(&wire);

        let got: Vec<String> = parsed.events.into_iter().map(|event| event.data).collect();
        let want: Vec<String> = datas.iter().map(|data| normalise_line_breaks(data)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn comments_change_nothing(comment in text(), data in text()) {
        let mut wire = encode_comment(&Comment::new(&comment));
        wire.extend(encode(&Message::new(&data)));
        wire.extend(encode_comment(&Comment::new(&comment)));

        let parsed = parse(&wire);

        prop_assert_eq!(parsed.events.len(), 1);
        prop_assert_eq!(&parsed.events[0].data, &normalise_line_breaks(&data));
        prop_assert_eq!(parsed.retry, None);
    }

    #[test]
    fn sizes_agree_and_short_buffers_stay_untouched(data in text(), short_by in 1usize..8) {
        let message = Message::new(&data);
        let needed = message.encoded_len();
        let mut buf = vec![0x5A; needed];
        let mut writer_out = vec![0; needed];

        let short = needed.saturating_sub(short_by);
        prop_assert_eq!(
            message.encode(&mut buf[..short]),
            Err(BufferTooSmall { needed })
        );
        prop_assert!(buf.iter().all(|&b| b == 0x5A));
        prop_assert_eq!(message.encode(&mut buf), Ok(needed));
        prop_assert_eq!(message.write_to(&mut writer_out.as_mut_slice()), Ok(needed));
        prop_assert_eq!(buf, writer_out);
    }

    #[test]
    fn id_only_block_sets_the_last_event_id_without_an_event(id in field_text()) {
        let Ok(id) = EventId::new(&id) else {
            return Ok(());
        };

        let mut wire = encode(&Message::without_data().with_id(id));
        wire.extend(encode(&Message::new("after")));
        let parsed = parse(&wire);

        prop_assert_eq!(parsed.events.len(), 1);
        prop_assert_eq!(&parsed.events[0].last_event_id, id.as_str());
    }
}

#[test]
fn empty_data_dispatches_an_event_with_empty_data() {
    let parsed = parse(&encode(&Message::new("")));

    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].data, "");
}

#[test]
fn lone_cr_and_crlf_come_back_as_lf() {
    let parsed = parse(&encode(&Message::new("a\rb\r\nc\n\r")));

    assert_eq!(parsed.events[0].data, "a\nb\nc\n\n");
}

/// Text biased towards what the format treats specially.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('\r'),
            Just('\n'),
            Just('\0'),
            Just('\u{FEFF}'),
            Just(' '),
            Just(':'),
            Just('é'),
            any::<char>(),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Like `text`, but rarely with line breaks or NUL, so most values pass validation.
fn field_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::collection::vec(
            prop_oneof![Just(' '), Just(':'), Just('\u{FEFF}'), Just('ß'), any::<char>()
                .prop_filter("no breaks", |c| !matches!(c, '\r' | '\n' | '\0'))],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect()),
        1 => text(),
    ]
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0; message.encoded_len()];
    let len = message.encode(&mut buf).expect("sized by encoded_len");
    assert_eq!(len, buf.len());
    buf
}

fn encode_comment(comment: &Comment<'_>) -> Vec<u8> {
    let mut buf = vec![0; comment.encoded_len()];
    comment.encode(&mut buf).expect("sized by encoded_len");
    buf
}

fn normalise_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[derive(Debug, PartialEq)]
struct Dispatched {
    event_type: String,
    data: String,
    last_event_id: String,
}

#[derive(Debug, Default)]
struct Parsed {
    events: Vec<Dispatched>,
    retry: Option<u64>,
}

/// The WHATWG steps, literally. The stream is complete, so no chunk-edge handling is needed;
/// an unterminated last line is discarded as the standard says for end of stream.
fn parse(wire: &[u8]) -> Parsed {
    let text = String::from_utf8(wire.to_vec()).expect("encoder writes UTF-8");
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut parsed = Parsed::default();
    let (mut data, mut event_type, mut last_id_buffer) =
        (String::new(), String::new(), String::new());
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop();
            parsed.events.push(Dispatched {
                event_type: if event_type.is_empty() {
                    "message".into()
                } else {
                    event_type.clone()
                },
                data: core::mem::take(&mut data),
                last_event_id: last_id_buffer.clone(),
            });
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => last_id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                parsed.retry = value.parse().ok();
            }
            _ => {}
        }
    }
    parsed
}
