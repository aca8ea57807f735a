//! The WHATWG event-stream table (`tests/support/spec_cases.rs`), each case fed whole, byte
//! by byte, in 7-byte chunks and split in two at every position to a parser on the stack, its
//! outputs compared line by line with the JSON lines the host expects.

// `Mismatch` carries the offending line by value (there is no allocator); it is built only
// when a check fails, so its size costs nothing on the passing path.
#![allow(clippy::result_large_err)]

use core::fmt;

use heapless::String;
use sansse::parse::{ParseError, Parser};

use crate::json;
use crate::report::Report;
use crate::spec_cases::{CASES, Case};

/// Parser buffer: ample for the table (ids up to 64 bytes, types up to 32, about 700 bytes of
/// data) and small next to the micro:bit's 16 KiB of RAM.
const CAPACITY: usize = 1024;

/// Longest JSON line expected; the table's longest is under 100 bytes.
const LINE: usize = 256;

/// How a case's input is cut before feeding: whole, one byte at a time, seven at a time. One
/// byte at a time puts every CR at a chunk end and its LF at the next chunk's start.
const SPLITS: [(&str, usize); 3] = [("whole", usize::MAX), ("byte by byte", 1), ("in sevens", 7)];

/// Runs every case at every split, one check each, plus one check per case for all its
/// two-piece splits.
pub(crate) fn run(report: &mut Report) {
    for case in CASES {
        for (how, chunk) in SPLITS {
            report.record(
                format_args!("{:?} fed {how}", case.name),
                check(case, case.input.chunks(chunk)),
            );
        }
        let mut split_at = 0;
        let outcome = (0..=case.input.len()).try_for_each(|at| {
            split_at = at;
            let (head, tail) = case.input.split_at(at);
            check(case, [head, tail].into_iter())
        });
        report.record(
            format_args!("{:?} split in two at {split_at}", case.name),
            outcome,
        );
    }
}

/// How a run differed from the table.
enum Mismatch {
    /// Output line `index` was `got` instead of the table's line.
    Line { index: usize, got: String<LINE> },
    /// The parser gave more lines than the table lists.
    Extra { got: String<LINE> },
    /// The parser gave `got` lines; the table lists more.
    Missing { got: usize, expected: usize },
    /// The parser skipped an event; the host, with larger limits, did not.
    Skipped(ParseError),
    /// An output did not fit `LINE` bytes.
    TooLong,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line { index, got } => write!(f, "line {index} is {got}"),
            Self::Extra { got } => write!(f, "extra line {got}"),
            Self::Missing { got, expected } => write!(f, "{got} lines, expected {expected}"),
            Self::Skipped(e) => write!(f, "parse error: {e}"),
            Self::TooLong => write!(f, "an output line exceeds {LINE} bytes"),
        }
    }
}

/// Feeds `pieces` (which make up `case.input`) one after another and compares each output with
/// the table as it comes.
fn check<'a>(case: &Case, pieces: impl Iterator<Item = &'a [u8]>) -> Result<(), Mismatch> {
    let mut parser = Parser::<[u8; CAPACITY]>::new();
    let mut index = 0;
    for piece in pieces {
        let mut feed = parser.feed(piece);
        while let Some(output) = feed.next() {
            let output = output.map_err(Mismatch::Skipped)?;
            let mut line = String::<LINE>::new();
            if !json::write_output(&mut line, &output).map_err(|_| Mismatch::TooLong)? {
                continue;
            }
            match case.output.get(index) {
                Some(expected) if *expected == line.as_str() => {}
                Some(_) => return Err(Mismatch::Line { index, got: line }),
                None => return Err(Mismatch::Extra { got: line }),
            }
            index += 1;
        }
    }
    if index != case.output.len() {
        return Err(Mismatch::Missing {
            got: index,
            expected: case.output.len(),
        });
    }
    Ok(())
}
