//! Reads a `text/event-stream` from stdin (or a file) and prints one JSON object per line.
//!
//! ```text
//! sse_dump [--chunk N] [FILE]
//! curl -N https://example.com/events | cargo run --example sse_dump
//! ```
//!
//! Each dispatched event prints `{"type":..,"data":..,"id":..}` (`id` is the last event ID in
//! effect, `""` if none); each accepted `retry` prints `{"retry":N}`. Skipped events are reported
//! on stderr. `--chunk N` feeds the parser N bytes at a time, to see that splitting never changes
//! the output.
//!
//! A desktop tool, so its memory is generous: one 4 MiB buffer, of which ids and event types
//! may each take up to 512 KiB and the data of one event the remaining 2 MiB. Anything longer
//! is reported on stderr and skipped, and the stream continues with the next event.

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use sansse::parse::{Limits, Output, Parser};

#[path = "common/json.rs"]
mod json;

/// Buffer for one event: generous, since this is a debugging tool on a desktop.
pub(crate) const CAPACITY: usize = 4 << 20;
/// How `CAPACITY` is divided. The parser reserves three id slots (the last event ID, the one
/// the current block set, and one being read in pieces) and one event type before the data
/// region, so 512 KiB each leaves 2 MiB (less the comment region) for data. Comments are
/// never printed, so they get almost nothing.
pub(crate) const LIMITS: Limits = Limits {
    max_id_len: 512 << 10,
    max_event_type_len: 512 << 10,
    max_comment_len: 64,
};

fn main() -> ExitCode {
    let mut chunk = None;
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--chunk" => match args.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n > 0 => chunk = Some(n),
                _ => return usage("--chunk takes a positive number"),
            },
            "-h" | "--help" => return usage(""),
            _ if path.is_none() && !arg.starts_with("--") => path = Some(arg),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let stdout = io::stdout().lock();
    let result = match path {
        Some(path) => match std::fs::File::open(&path) {
            Ok(file) => dump(file, stdout, chunk),
            Err(e) => Err(io::Error::new(e.kind(), format!("{path}: {e}"))),
        },
        None => dump(io::stdin().lock(), stdout, chunk),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse_dump: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("sse_dump: {problem}");
    }
    eprintln!("usage: sse_dump [--chunk N] [FILE]");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// Parses everything `input` yields and writes one JSON line per event or retry to `out`.
///
/// With `chunk`, the parser sees at most that many bytes per call, whatever the reads return.
pub(crate) fn dump(mut input: impl Read, out: impl Write, chunk: Option<usize>) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    let mut parser = Parser::with_limits(vec![0u8; CAPACITY], LIMITS).map_err(io::Error::other)?;
    let mut read_buf = vec![0u8; 64 << 10];
    loop {
        let n = match input.read(&mut read_buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for piece in read_buf[..n].chunks(chunk.unwrap_or(n)) {
            let mut feed = parser.feed(piece);
            while let Some(output) = feed.next() {
                write_output(&mut out, output)?;
            }
        }
        // Show events as they arrive when following a live stream.
        out.flush()?;
    }
    out.flush()
}

/// Writes one parser output as a JSON line; errors go to stderr, comments nowhere.
pub(crate) fn write_output(
    out: &mut impl Write,
    output: Result<Output<'_>, sansse::ParseError>,
) -> io::Result<()> {
    match output {
        Ok(Output::Event(event)) => {
            json::write_event(out, event.event_type(), event.data(), event.id())
        }
        Ok(Output::Retry(ms)) => json::write_retry(out, ms),
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("sse_dump: {e}");
            Ok(())
        }
    }
}
