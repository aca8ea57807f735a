//! `sse_dump` is a desktop tool: ids and event types of hundreds of KiB come out whole, and
//! only what is over its limits is skipped.

#[allow(dead_code)]
#[path = "../examples/sse_dump.rs"]
mod sse_dump;

/// Runs `input` through the tool as `sse_dump [--chunk N]` would and returns its stdout.
fn dump(input: &[u8], chunk: Option<usize>) -> String {
    let mut out = Vec::new();
    sse_dump::dump(input, &mut out, chunk).unwrap();
    String::from_utf8(out).unwrap()
}

/// A field value of `len` bytes that JSON prints unescaped and that no splitting can hide.
fn value(len: usize, seed: u8) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i as u8).wrapping_add(seed) % 26))
        .collect()
}

fn event_line(event_type: &str, data: &str, id: &str) -> String {
    format!("{{\"type\":\"{event_type}\",\"data\":\"{data}\",\"id\":\"{id}\"}}\n")
}

#[test]
fn a_70_kib_event_type_and_a_300_kib_id_come_out_whole() {
    let event_type = value(70 << 10, 0);
    let id = value(300 << 10, 7);
    let input = format!("event: {event_type}\nid: {id}\ndata: hello\n\n");
    let expected = event_line(&event_type, "hello", &id);
    // Whole, through the tool's 64 KiB reads; and in pieces, so both values also arrive split.
    for chunk in [None, Some(4096), Some(1000)] {
        assert!(dump(input.as_bytes(), chunk) == expected, "chunk {chunk:?}");
    }
}

#[test]
fn the_limits_leave_two_mib_for_the_data() {
    let parser = sansse::Parser::with_limits(vec![0u8; sse_dump::CAPACITY], sse_dump::LIMITS)
        .expect("the limits fit the buffer");
    assert!(parser.limits().max_id_len >= 300 << 10);
    assert!(parser.limits().max_event_type_len >= 300 << 10);
    assert!(parser.data_capacity() >= (2 << 20) - 128);
}

#[test]
fn an_id_over_the_limit_skips_only_its_own_event() {
    let too_long = value(sse_dump::LIMITS.max_id_len + 1, 3);
    let input = format!("id: {too_long}\ndata: lost\n\nid: 2\ndata: kept\n\n");
    assert_eq!(
        dump(input.as_bytes(), None),
        event_line("message", "kept", "2")
    );
}
