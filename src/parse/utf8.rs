//! UTF-8 for what the parser hands out: a window of the input validated once for the many
//! short fields inside it, and buffered data checked (or decoded) in place. The crate's one
//! `unsafe` block is here, in [`text_in_place`], beside the checks that make it sound.

use core::str;

use super::text::{lossy_in_place, lossy_len};

/// Bytes already checked to be UTF-8; the fallback is unreachable.
pub(super) fn text(bytes: &[u8]) -> &str {
    str::from_utf8(bytes).unwrap_or_default()
}

/// How many bytes of input [`Utf8Window`] validates at once: large enough that the per-call
/// cost of `str::from_utf8` vanishes on small events, small enough that little is validated in
/// vain when the lines after a field end up copied into the buffer (a large multi-line event),
/// or when a feed is dropped early and fed again.
pub(super) const UTF8_WINDOW: usize = 4 * 1024;

/// Whether [`Utf8Window`] keeps a window at all. On 64-bit targets it saves a call per field;
/// smaller targets validate each field on its own, which checks no more bytes and leaves out
/// the window's code (a few hundred bytes of flash on a Cortex-M4).
const WINDOWS: bool = cfg!(target_pointer_width = "64");

/// A stretch of the input already validated as UTF-8, so that the many short fields inside it
/// become `&str` by slicing (which checks only the two ends) instead of each being validated
/// with its own call. Windows only move forwards: a field before the window (the committed id of
/// an earlier event) is validated on its own, so it cannot make the window thrash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Utf8Window<'i> {
    start: usize,
    text: &'i str,
}

impl<'i> Utf8Window<'i> {
    pub(crate) const EMPTY: Self = Self { start: 0, text: "" };

    /// `input[s..e]` as text, or `None` when it is not valid UTF-8.
    // Forced inline: inside the window it is a few comparisons, paid for every borrowed field.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(super) fn text(&mut self, input: &'i [u8], s: usize, e: usize) -> Option<&'i str> {
        if !WINDOWS {
            return alone(&input[s..e]);
        }
        if s >= self.start && e <= self.start + self.text.len() {
            return self.text.get(s - self.start..e - self.start);
        }
        self.refill(input, s, e)
    }

    /// Like [`Utf8Window::text`], for a short field (an id, an event type, a comment) that is
    /// validated alone when it lies outside the window: moving the window there would validate
    /// kilobytes of what follows, in vain when that is a large event whose lines are copied.
    #[inline]
    pub(super) fn text_field(&mut self, input: &'i [u8], s: usize, e: usize) -> Option<&'i str> {
        if WINDOWS && s >= self.start && e <= self.start + self.text.len() {
            return self.text.get(s - self.start..e - self.start);
        }
        alone(&input[s..e])
    }

    /// [`Utf8Window::text`] outside the window: validates the field alone when it lies before
    /// the window, else moves the window to start at the field.
    #[inline(never)]
    fn refill(&mut self, input: &'i [u8], s: usize, e: usize) -> Option<&'i str> {
        if s < self.start {
            return alone(&input[s..e]);
        }
        let bytes = &input[s..input.len().min(e.max(s.saturating_add(UTF8_WINDOW)))];
        self.start = s;
        self.text = match str::from_utf8(bytes) {
            Ok(text) => text,
            // The valid prefix checks again quickly; the window stops before the bad bytes.
            Err(err) => str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default(),
        };
        self.text.get(..e - s)
    }
}

/// A field validated on its own, outside any window.
#[inline(never)]
fn alone(field: &[u8]) -> Option<&str> {
    str::from_utf8(field).ok()
}

/// Data is checked a block at a time for ASCII first: that check runs several times faster
/// than UTF-8 validation, and payloads (JSON, base64) are mostly ASCII. A block that is not
/// ASCII costs one wasted block check at most.
pub(super) const ASCII_BLOCK: usize = 1024;

/// `region[..len]` as text, decoded in place first when it is not UTF-8; `None` when the
/// decoded form does not fit the region.
///
/// Valid text, the common case, is read once: the check and the borrow returned are one pass
/// over the bytes. Safe code needs a second pass here, since a borrow returned on one branch
/// keeps `region` borrowed on the branch that must decode into it; for the 64 KiB events of
/// the benchmarks that second pass cost a fifth of the parse.
#[allow(unsafe_code)]
pub(super) fn text_in_place(region: &mut [u8], len: usize) -> Option<&str> {
    let mut ascii = 0;
    // Smaller targets go straight to the UTF-8 check: the ASCII pass is speed they trade for
    // flash (see `WINDOWS`).
    while WINDOWS && len - ascii >= ASCII_BLOCK && region[ascii..ascii + ASCII_BLOCK].is_ascii() {
        ascii += ASCII_BLOCK;
    }
    if WINDOWS && len - ascii < ASCII_BLOCK && is_ascii_short(&region[ascii..len]) {
        ascii = len;
    }
    if ascii == len || str::from_utf8(&region[ascii..len]).is_ok() {
        // SAFETY: `region[..ascii]` was checked above to be ASCII, so it is UTF-8 and ends on a
        // character boundary, and `region[ascii..len]` is empty or was checked to be UTF-8 on
        // the line above; together they are UTF-8. Nothing has written to `region` since.
        return Some(unsafe { str::from_utf8_unchecked(&region[..len]) });
    }
    if lossy_len(&region[..len]) > region.len() {
        return None;
    }
    let n = lossy_in_place(region, len);
    str::from_utf8(&region[..n]).ok()
}

/// Whether every byte of `bytes` (under a kilobyte) is ASCII, eight at a time.
/// `<[u8]>::is_ascii` checks what is left after its 64-byte steps one byte at a time, which
/// costs more than the whole check for the 100-200 byte events that make up most streams.
#[inline]
fn is_ascii_short(bytes: &[u8]) -> bool {
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    let word = |w: &[u8]| {
        let mut b = [0; 8];
        b.copy_from_slice(w);
        u64::from_le_bytes(b)
    };
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().all(u8::is_ascii);
    };
    let words = bytes.chunks_exact(8);
    let any = words.fold(word(&bytes[last..]), |any, w| any | word(w));
    any & HIGH_BITS == 0
}

/// Decodes `region[..len]` in place; `None` when the decoded form does not fit the region.
pub(super) fn repair_in_place(region: &mut [u8], len: usize) -> Option<usize> {
    if str::from_utf8(&region[..len]).is_ok() {
        return Some(len);
    }
    if lossy_len(&region[..len]) > region.len() {
        return None;
    }
    Some(lossy_in_place(region, len))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::{String, ToString};

    use super::*;

    /// Buffered data is checked for ASCII a block at a time before UTF-8 validation; characters
    /// and invalid bytes at, just before and after a block edge are decoded as the spec says.
    #[test]
    fn buffered_text_is_checked_across_ascii_blocks() {
        let tails: [&[u8]; 6] = [
            "é".as_bytes(),
            b"\xFF",
            b"\xE6\x9D",
            "東x".as_bytes(),
            b"plain",
            b"",
        ];
        for prefix in [
            0,
            3,
            8,
            13,
            ASCII_BLOCK - 9,
            ASCII_BLOCK,
            2 * ASCII_BLOCK + 1,
        ] {
            for tail in tails {
                let mut raw = std::vec![b'a'; prefix];
                raw.extend_from_slice(tail);
                raw.extend_from_slice(tail);
                let mut region = std::vec![0u8; 3 * raw.len() + 3];
                region[..raw.len()].copy_from_slice(&raw);
                let got = text_in_place(&mut region, raw.len()).map(ToString::to_string);
                let want = String::from_utf8_lossy(&raw);
                assert_eq!(got.as_deref(), Some(&*want), "{prefix} {tail:?}");
            }
        }
    }
}
