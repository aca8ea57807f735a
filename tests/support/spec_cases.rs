//! Spec cases: WHATWG HTML §9.2.6 "Interpreting an event stream", one rule per case where
//! possible. Output lines are what `sse_dump` prints.

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) input: &'static [u8],
    pub(crate) output: &'static [&'static str],
}

macro_rules! case {
    ($name:expr, $input:expr, [$($out:expr),* $(,)?]) => {
        Case { name: $name, input: $input, output: &[$($out),*] }
    };
}

pub(crate) const CASES: &[Case] = &[
    case!(
        "simple event",
        b"data: hello\n\n",
        [r#"{"type":"message","data":"hello","id":""}"#]
    ),
    case!("empty stream", b"", []),
    case!("blank lines alone dispatch nothing", b"\n\n\r\n\r\r", []),
    // Line endings.
    case!(
        "lf",
        b"data: a\n\n",
        [r#"{"type":"message","data":"a","id":""}"#]
    ),
    case!(
        "crlf",
        b"data: a\r\n\r\n",
        [r#"{"type":"message","data":"a","id":""}"#]
    ),
    case!(
        "cr",
        b"data: a\r\r",
        [r#"{"type":"message","data":"a","id":""}"#]
    ),
    case!(
        "mixed endings",
        b"data: a\rdata: b\r\ndata: c\n\r\n",
        [r#"{"type":"message","data":"a\nb\nc","id":""}"#]
    ),
    case!(
        "crlf is one break, not two",
        b"data: a\r\ndata: b\r\n\r\n",
        [r#"{"type":"message","data":"a\nb","id":""}"#]
    ),
    case!(
        "lf cr is two breaks",
        b"data: a\n\rdata: b\n\n",
        [
            r#"{"type":"message","data":"a","id":""}"#,
            r#"{"type":"message","data":"b","id":""}"#,
        ]
    ),
    case!(
        "cr cr lf",
        b"data: a\r\r\ndata: b\n\n",
        [
            r#"{"type":"message","data":"a","id":""}"#,
            r#"{"type":"message","data":"b","id":""}"#,
        ]
    ),
    // BOM.
    case!(
        "leading bom stripped",
        b"\xEF\xBB\xBFdata: a\n\n",
        [r#"{"type":"message","data":"a","id":""}"#]
    ),
    case!(
        "only one bom stripped",
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n",
        [r#"{"type":"message","data":"b","id":""}"#]
    ),
    case!(
        "bom later is part of the line",
        b"data: a\n\n\xEF\xBB\xBFdata: b\n\n",
        [r#"{"type":"message","data":"a","id":""}"#]
    ),
    case!(
        "partial bom makes an unknown field",
        b"\xEF\xBBdata: a\n\ndata: b\n\n",
        [r#"{"type":"message","data":"b","id":""}"#]
    ),
    case!(
        "bom then blank",
        b"\xEF\xBB\xBF\ndata: x\n\n",
        [r#"{"type":"message","data":"x","id":""}"#]
    ),
    // Fields and values.
    case!(
        "one leading space stripped",
        b"data:  two\n\n",
        [r#"{"type":"message","data":" two","id":""}"#]
    ),
    case!(
        "no space after colon",
        b"data:x\n\n",
        [r#"{"type":"message","data":"x","id":""}"#]
    ),
    case!(
        "trailing space kept",
        b"data: x \n\n",
        [r#"{"type":"message","data":"x ","id":""}"#]
    ),
    case!(
        "tab is not stripped",
        b"data:\tx\n\n",
        [r#"{"type":"message","data":"\tx","id":""}"#]
    ),
    case!(
        "colon in value kept",
        b"data: a:b: c\n\n",
        [r#"{"type":"message","data":"a:b: c","id":""}"#]
    ),
    case!(
        "line without colon is a field with empty value",
        b"data\n\n",
        [r#"{"type":"message","data":"","id":""}"#]
    ),
    case!(
        "two empty data lines",
        b"data\ndata\n\n",
        [r#"{"type":"message","data":"\n","id":""}"#]
    ),
    case!(
        "empty data then text",
        b"data:\ndata: x\n\n",
        [r#"{"type":"message","data":"\nx","id":""}"#]
    ),
    case!(
        "trailing empty data line",
        b"data: x\ndata:\n\n",
        [r#"{"type":"message","data":"x\n","id":""}"#]
    ),
    case!(
        "field names are case-sensitive",
        b"Data: x\nDATA: y\n\n",
        []
    ),
    case!(
        "unknown fields ignored",
        b"foo: bar\ndata: x\nbaz\n\n",
        [r#"{"type":"message","data":"x","id":""}"#]
    ),
    case!("name with space is unknown", b"data : x\n\n", []),
    case!(
        "comments ignored",
        b": hello\n:\ndata: x\n: bye\n\n",
        [r#"{"type":"message","data":"x","id":""}"#]
    ),
    case!("comment-only block dispatches nothing", b": ping\n\n", []),
    case!(
        "data with json",
        b"data: {\"a\":1}\n\n",
        [r#"{"type":"message","data":"{\"a\":1}","id":""}"#]
    ),
    // Event type.
    case!(
        "event type",
        b"event: add\ndata: 1\n\n",
        [r#"{"type":"add","data":"1","id":""}"#]
    ),
    case!(
        "event type resets after dispatch",
        b"event: add\ndata: 1\n\ndata: 2\n\n",
        [
            r#"{"type":"add","data":"1","id":""}"#,
            r#"{"type":"message","data":"2","id":""}"#,
        ]
    ),
    case!(
        "last event type wins",
        b"event: a\nevent: b\ndata: 1\n\n",
        [r#"{"type":"b","data":"1","id":""}"#]
    ),
    case!(
        "empty event type means message",
        b"event:\ndata: 1\n\n",
        [r#"{"type":"message","data":"1","id":""}"#]
    ),
    case!(
        "event type without data is dropped and reset",
        b"event: a\n\ndata: 1\n\n",
        [r#"{"type":"message","data":"1","id":""}"#]
    ),
    // Id.
    case!(
        "id",
        b"id: 1\ndata: a\n\n",
        [r#"{"type":"message","data":"a","id":"1"}"#]
    ),
    case!(
        "id persists across id-less events",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        [
            r#"{"type":"message","data":"a","id":"1"}"#,
            r#"{"type":"message","data":"b","id":"1"}"#,
        ]
    ),
    case!(
        "empty id clears",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        [
            r#"{"type":"message","data":"a","id":"1"}"#,
            r#"{"type":"message","data":"b","id":""}"#,
        ]
    ),
    case!(
        "empty id with colon clears",
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        [
            r#"{"type":"message","data":"a","id":"1"}"#,
            r#"{"type":"message","data":"b","id":""}"#,
        ]
    ),
    case!(
        "id with nul ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        [
            r#"{"type":"message","data":"a","id":"1"}"#,
            r#"{"type":"message","data":"b","id":"1"}"#,
        ]
    ),
    case!(
        "id-only block commits the id",
        b"id: 5\n\ndata: a\n\n",
        [r#"{"type":"message","data":"a","id":"5"}"#]
    ),
    case!(
        "id after data in the same block counts",
        b"data: a\nid: 9\n\n",
        [r#"{"type":"message","data":"a","id":"9"}"#]
    ),
    case!(
        "last id in block wins",
        b"id: 1\nid: 2\ndata: a\n\n",
        [r#"{"type":"message","data":"a","id":"2"}"#]
    ),
    case!(
        "id keeps spaces inside",
        b"id:  a b \ndata: x\n\n",
        [r#"{"type":"message","data":"x","id":" a b "}"#]
    ),
    case!(
        "id from unterminated event not committed",
        b"id: 1\ndata: a\n\nid: 2\ndata: b\n",
        [r#"{"type":"message","data":"a","id":"1"}"#]
    ),
    // Retry.
    case!("retry", b"retry: 1000\n", [r#"{"retry":1000}"#]),
    case!(
        "retry without space",
        b"retry:250\n\n",
        [r#"{"retry":250}"#]
    ),
    case!("retry with two spaces ignored", b"retry:  1000\n", []),
    case!(
        "retry non-digit ignored",
        b"retry: 10a\nretry: -1\nretry: 1.5\nretry: +5\n",
        []
    ),
    case!("retry empty ignored", b"retry:\nretry\n", []),
    case!("retry zero accepted", b"retry: 0\n", [r#"{"retry":0}"#]),
    case!("retry leading zeros", b"retry: 007\n", [r#"{"retry":7}"#]),
    case!(
        "retry overflow saturates",
        b"retry: 99999999999999999999999999\n",
        [r#"{"retry":18446744073709551615}"#]
    ),
    case!(
        "retry applies immediately, event dropped",
        b"retry: 5\ndata: a\n",
        [r#"{"retry":5}"#]
    ),
    case!(
        "retry inside an event comes first",
        b"data: a\nretry: 7\n\n",
        [r#"{"retry":7}"#, r#"{"type":"message","data":"a","id":""}"#,]
    ),
    // End of stream.
    case!(
        "unterminated event discarded",
        b"data: a\n\ndata: b",
        [r#"{"type":"message","data":"a","id":""}"#]
    ),
    case!("event without final blank line discarded", b"data: a\n", []),
    // Text decoding.
    case!(
        "utf-8 passes through",
        "data: héllo ✓ 😀\n\n".as_bytes(),
        [r#"{"type":"message","data":"héllo ✓ 😀","id":""}"#]
    ),
    case!(
        "invalid utf-8 becomes U+FFFD",
        b"data: a\xFFb\n\n",
        ["{\"type\":\"message\",\"data\":\"a\u{FFFD}b\",\"id\":\"\"}"]
    ),
    case!(
        "truncated sequence then line end",
        b"data: \xE2\x82\ndata: x\n\n",
        ["{\"type\":\"message\",\"data\":\"\u{FFFD}\\nx\",\"id\":\"\"}"]
    ),
    case!(
        "invalid utf-8 in type and id",
        b"event: \xC3\nid: \xFE1\ndata: x\n\n",
        ["{\"type\":\"\u{FFFD}\",\"data\":\"x\",\"id\":\"\u{FFFD}1\"}"]
    ),
    case!(
        "nul in data kept",
        b"data: a\x00b\n\n",
        [r#"{"type":"message","data":"a\u0000b","id":""}"#]
    ),
    // A longer stream.
    case!(
        "several events",
        b"event: a\nid: 1\ndata: x\n\n: keep\n\nretry: 3\nevent: b\ndata: y\ndata: z\n\n",
        [
            r#"{"type":"a","data":"x","id":"1"}"#,
            r#"{"retry":3}"#,
            r#"{"type":"b","data":"y\nz","id":"1"}"#,
        ]
    ),
];
