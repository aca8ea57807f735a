//! The JSON lines the examples print: one object per event or accepted retry.
//!
//! `{"type":..,"data":..,"id":..}` for an event (`id` is the last event ID in effect, `""` if
//! none) and `{"retry":N}` for a reconnection time. Shared by `sse_dump` and `client` through
//! `#[path]`, so the two tools print exactly the same lines for the same stream.

use std::io::{self, Write};

/// Writes one event as a JSON line.
pub(crate) fn write_event(
    out: &mut impl Write,
    event_type: &str,
    data: &str,
    id: &str,
) -> io::Result<()> {
    out.write_all(b"{\"type\":")?;
    write_json_str(out, event_type)?;
    out.write_all(b",\"data\":")?;
    write_json_str(out, data)?;
    out.write_all(b",\"id\":")?;
    write_json_str(out, id)?;
    out.write_all(b"}\n")
}

/// Writes one reconnection time, in milliseconds, as a JSON line.
pub(crate) fn write_retry(out: &mut impl Write, ms: u64) -> io::Result<()> {
    writeln!(out, "{{\"retry\":{ms}}}")
}

/// Writes `s` as a JSON string: quotes, backslashes and control characters escaped.
pub(crate) fn write_json_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1F => b"",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[plain..i])?;
        if escape.is_empty() {
            write!(out, "\\u{b:04x}")?;
        } else {
            out.write_all(escape)?;
        }
        plain = i + 1;
    }
    out.write_all(&s.as_bytes()[plain..])?;
    out.write_all(b"\"")
}
