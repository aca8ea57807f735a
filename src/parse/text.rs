//! UTF-8 decoding with replacement, without allocation.
//!
//! The spec decodes the stream with "UTF-8 decode": each maximal invalid subpart becomes one
//! U+FFFD. `core`'s `Utf8Chunks` follows the same practice, so decoding a field's bytes after
//! splitting lines gives what decoding the whole stream first would (CR, LF and `:` are ASCII and
//! never part of a multi-byte sequence).

use crate::ascii::move_within;

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// The length of `raw` once every invalid sequence is replaced by U+FFFD, saturating at
/// `usize::MAX` (a byte can grow to three, so a huge input on a 32-bit target could overflow).
pub(crate) fn lossy_len(raw: &[u8]) -> usize {
    raw.utf8_chunks().fold(0, |len: usize, c| {
        let replaced = if c.invalid().is_empty() {
            0
        } else {
            REPLACEMENT.len()
        };
        len.saturating_add(c.valid().len() + replaced)
    })
}

/// Writes the decoded form of `src` into `dst` and returns its length.
///
/// The caller guarantees `dst.len() >= lossy_len(src)`.
pub(crate) fn lossy_copy(src: &[u8], dst: &mut [u8]) -> usize {
    let mut w = 0;
    for chunk in src.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        dst[w..w + valid.len()].copy_from_slice(valid);
        w += valid.len();
        if !chunk.invalid().is_empty() {
            dst[w..w + REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
            w += REPLACEMENT.len();
        }
    }
    w
}

/// Decodes `region[..len]` in place and returns the decoded length.
///
/// The caller guarantees `lossy_len(&region[..len]) <= region.len()`. The raw bytes are first
/// moved to the end of the region, then decoded forwards into its start. Replacement never
/// shrinks a prefix, so the output grown so far minus the input read so far only increases and
/// ends at `decoded - len <= region.len() - len`: the writer never overtakes the reader.
pub(crate) fn lossy_in_place(region: &mut [u8], len: usize) -> usize {
    let cap = region.len();
    let offset = cap - len;
    move_within(region, 0, offset, len);
    let mut read = offset;
    let mut write = 0;
    while read < cap {
        // Decode one chunk at a time from the moved copy; each chunk is written before the
        // next one is read, so no chunk's bytes are overwritten before they are copied.
        let Some(chunk) = region[read..cap].utf8_chunks().next() else {
            break;
        };
        let valid = chunk.valid().len();
        let invalid = chunk.invalid().len();
        move_within(region, read, write, valid);
        write += valid;
        read += valid + invalid;
        if invalid > 0 {
            region[write..write + REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
            write += REPLACEMENT.len();
        }
    }
    write
}

/// The longest prefix of `raw` whose decoded form fits in `cap` bytes, cut between chunks'
/// characters so nothing is split.
pub(crate) fn fitting_prefix(raw: &[u8], cap: usize) -> usize {
    let mut read = 0;
    let mut out = 0;
    for chunk in raw.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if out + ch.len_utf8() > cap {
                return read;
            }
            out += ch.len_utf8();
            read += ch.len_utf8();
        }
        if !chunk.invalid().is_empty() {
            if out + REPLACEMENT.len() > cap {
                return read;
            }
            out += REPLACEMENT.len();
            read += chunk.invalid().len();
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(raw: &[u8]) -> ([u8; 64], usize) {
        let mut buf = [0u8; 64];
        let n = lossy_copy(raw, &mut buf);
        (buf, n)
    }

    #[test]
    fn replaces_maximal_subparts() {
        let raw = b"a\xF0\x9F\x98b\xFF\xC3";
        let (buf, n) = decoded(raw);
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "a\u{FFFD}b\u{FFFD}\u{FFFD}"
        );
        assert_eq!(lossy_len(raw), n);
    }

    #[test]
    fn in_place_matches_copy_for_every_tight_fit() {
        let cases: [&[u8]; 5] = [
            b"\xFF\xFF\xFF",
            b"ok",
            b"\xE2\x82\xFFx\xC3\xA9",
            b"\x80",
            b"",
        ];
        for raw in cases {
            let (want, n) = decoded(raw);
            let mut region = [0u8; 16];
            let cap = n.max(raw.len());
            region[..raw.len()].copy_from_slice(raw);
            let got = lossy_in_place(&mut region[..cap], raw.len());
            assert_eq!(&region[..got], &want[..n], "{raw:?}");
        }
    }

    #[test]
    fn fitting_prefix_never_splits_a_character() {
        assert_eq!(fitting_prefix("é".as_bytes(), 1), 0);
        assert_eq!(fitting_prefix(b"ab\xFFc", 4), 2);
        assert_eq!(fitting_prefix(b"ab\xFFc", 5), 3);
        assert_eq!(fitting_prefix(b"ab", 9), 2);
    }
}
