//! The WHATWG "Interpreting an event stream" rules as a table, each case run through the
//! `sse_dump` example whole, byte by byte, 7 bytes at a time, and split at every position.

#[allow(dead_code)]
#[path = "../examples/sse_dump.rs"]
mod sse_dump;

mod support;

use support::spec_cases::CASES;

fn run(pieces: &[&[u8]]) -> String {
    let joined: Vec<u8> = pieces.concat();
    let mut out = Vec::new();
    // `dump` reads the whole input at once here; its `--chunk` splitting is exercised below.
    sse_dump::dump(&joined[..], &mut out, None).unwrap();
    String::from_utf8(out).unwrap()
}

fn dump_chunked(input: &[u8], chunk: Option<usize>) -> String {
    let mut out = Vec::new();
    sse_dump::dump(input, &mut out, chunk).unwrap();
    String::from_utf8(out).unwrap()
}

fn expected(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn every_case_whole() {
    for case in CASES {
        assert_eq!(
            run(&[case.input]),
            expected(case.output),
            "case {:?}",
            case.name
        );
    }
}

#[test]
fn every_case_byte_by_byte_and_in_sevens() {
    for case in CASES {
        for chunk in [1, 2, 3, 7] {
            assert_eq!(
                dump_chunked(case.input, Some(chunk)),
                expected(case.output),
                "case {:?} at --chunk {chunk}",
                case.name
            );
        }
    }
}

#[test]
fn every_case_split_at_every_position() {
    use sansse::parse::Parser;
    for case in CASES {
        for at in 0..=case.input.len() {
            let (a, b) = case.input.split_at(at);
            let mut parser = Parser::with_limits(vec![0u8; 1 << 16], support::WIDE_LIMITS).unwrap();
            let mut out = Vec::new();
            for piece in [a, b] {
                let mut feed = parser.feed(piece);
                while let Some(o) = feed.next() {
                    sse_dump::write_output(&mut out, o).unwrap();
                }
            }
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected(case.output),
                "case {:?} split at {at}",
                case.name
            );
        }
    }
}
