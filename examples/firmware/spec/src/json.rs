//! Parser outputs as the JSON lines the host's `sse_dump` example prints, without alloc.
//!
//! The host table stores expected output in `sse_dump`'s format, so this must match it byte
//! for byte: `{"type":..,"data":..,"id":..}` per event and `{"retry":N}` per retry; quotes,
//! backslashes, `\n`, `\r`, `\t` escaped by name, other control bytes as `\u00XX` (lowercase
//! hex); everything else, non-ASCII included, written as is.

use core::fmt::{self, Write};

use sansse::parse::Output;

/// Writes the line for `output` (without the line feed); comments write nothing, like
/// `sse_dump`. Returns `false` for outputs `sse_dump` does not print.
pub(crate) fn write_output(out: &mut impl Write, output: &Output<'_>) -> Result<bool, fmt::Error> {
    match output {
        Output::Event(event) => {
            out.write_str("{\"type\":")?;
            write_str(out, event.event_type())?;
            out.write_str(",\"data\":")?;
            write_str(out, event.data())?;
            out.write_str(",\"id\":")?;
            write_str(out, event.id())?;
            out.write_str("}")?;
            Ok(true)
        }
        Output::Retry(ms) => {
            write!(out, "{{\"retry\":{ms}}}")?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Writes `s` as a JSON string literal.
fn write_str(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    // Runs of plain characters are copied whole; `i` only ever stops on an ASCII byte, so
    // every slice boundary is a character boundary.
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1F => "",
            _ => continue,
        };
        out.write_str(&s[plain..i])?;
        if escape.is_empty() {
            write!(out, "\\u{b:04x}")?;
        } else {
            out.write_str(escape)?;
        }
        plain = i + 1;
    }
    out.write_str(&s[plain..])?;
    out.write_char('"')
}
