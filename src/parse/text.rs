//! UTF-8 decoding with replacement, without allocation.
//!
//! The spec decodes the stream with "UTF-8 decode": each maximal invalid subpart becomes one
//! U+FFFD. `core`'s `Utf8Chunks` follows the same practice, so decoding a field's bytes after
//! splitting lines gives what decoding the whole stream first would (CR, LF and `:` are ASCII and
//! never part of a multi-byte sequence).

use crate::ascii::move_within;

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

// Two implementations, one per kind of target: 64-bit targets keep `core`'s `Utf8Chunks`, as
// the code around them was tuned with (`benches/callgrind.sh` counts 0.1 % more instructions
// on a stream of tokens and comments with the other); smaller targets cut chunks with
// `str::from_utf8`'s error, which saves `Utf8Chunks`' 332 bytes of flash on a Cortex-M4.
// Both are compiled everywhere so that the host's tests check one against the other.
#[cfg(target_pointer_width = "64")]
pub(crate) use by_chunks::{fitting_prefix, lossy_copy, lossy_in_place, lossy_len};
#[cfg(not(target_pointer_width = "64"))]
pub(crate) use by_errors::{fitting_prefix, lossy_copy, lossy_in_place, lossy_len};

/// The decoders over `core`'s `Utf8Chunks`.
#[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))]
mod by_chunks {
    use super::{REPLACEMENT, move_within};

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
}

/// The decoders over [`chunk_at`](by_errors::chunk_at), without `Utf8Chunks`.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
mod by_errors {
    use super::{REPLACEMENT, move_within};

    /// The first chunk of `bytes` as `core`'s `Utf8Chunks` cuts it: the length of the valid run
    /// at its start and of the invalid sequence after it (0 at the end of the input; an incomplete
    /// sequence at the end is one invalid sequence). `str::from_utf8`'s error says where both end,
    /// by the same practice, so the decoders below need no `Utf8Chunks`, which is a few hundred
    /// bytes of flash on a microcontroller beside the `from_utf8` every build has. It checks the
    /// bytes up to the first invalid sequence, so walking a buffer chunk by chunk checks each byte
    /// once.
    pub(super) fn chunk_at(bytes: &[u8]) -> (usize, usize) {
        match core::str::from_utf8(bytes) {
            Ok(_) => (bytes.len(), 0),
            Err(e) => {
                let valid = e.valid_up_to();
                let invalid = e.error_len().map_or(bytes.len() - valid, usize::from);
                (valid, invalid)
            }
        }
    }

    /// The length of `raw` once every invalid sequence is replaced by U+FFFD, saturating at
    /// `usize::MAX` (a byte can grow to three, so a huge input on a 32-bit target could overflow).
    pub(crate) fn lossy_len(raw: &[u8]) -> usize {
        let mut len: usize = 0;
        let mut read = 0;
        while read < raw.len() {
            let (valid, invalid) = chunk_at(&raw[read..]);
            let replaced = if invalid == 0 { 0 } else { REPLACEMENT.len() };
            len = len.saturating_add(valid + replaced);
            read += valid + invalid;
        }
        len
    }

    /// Writes the decoded form of `src` into `dst` and returns its length.
    ///
    /// The caller guarantees `dst.len() >= lossy_len(src)`.
    pub(crate) fn lossy_copy(src: &[u8], dst: &mut [u8]) -> usize {
        let mut read = 0;
        let mut w = 0;
        while read < src.len() {
            let (valid, invalid) = chunk_at(&src[read..]);
            dst[w..w + valid].copy_from_slice(&src[read..read + valid]);
            w += valid;
            if invalid > 0 {
                dst[w..w + REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
                w += REPLACEMENT.len();
            }
            read += valid + invalid;
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
            let (valid, invalid) = chunk_at(&region[read..cap]);
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
        while read < raw.len() {
            let (valid, invalid) = chunk_at(&raw[read..]);
            // Valid bytes decode one for one: take what fits, back to a character's first byte.
            let room = cap - out;
            if valid > room {
                let mut cut = room;
                while cut > 0 && is_continuation(raw[read + cut]) {
                    cut -= 1;
                }
                return read + cut;
            }
            out += valid;
            read += valid;
            if invalid > 0 {
                if out + REPLACEMENT.len() > cap {
                    return read;
                }
                out += REPLACEMENT.len();
                read += invalid;
            }
        }
        read
    }

    /// Whether `b` continues a UTF-8 character (`10xxxxxx`) rather than starting one.
    fn is_continuation(b: u8) -> bool {
        b & 0xC0 == 0x80
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

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

    /// The chunking `chunk_at` must reproduce: `core`'s `Utf8Chunks`.
    fn chunks_by_core(raw: &[u8]) -> std::vec::Vec<(usize, usize)> {
        raw.utf8_chunks()
            .map(|c| (c.valid().len(), c.invalid().len()))
            .collect()
    }

    #[test]
    fn chunks_and_prefixes_match_core_on_every_mix() {
        let pieces: [&[u8]; 9] = [
            b"a",
            "é".as_bytes(),
            "東".as_bytes(),
            "😀".as_bytes(),
            b"\xFF",
            b"\xC3",
            b"\xE6\x9D",
            b"\xF0\x9F\x98",
            b"\x80",
        ];
        let mut raw = std::vec::Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    raw.clear();
                    raw.extend_from_slice(a);
                    raw.extend_from_slice(b);
                    raw.extend_from_slice(c);
                    let mut mine = std::vec::Vec::new();
                    let mut read = 0;
                    while read < raw.len() {
                        let chunk = by_errors::chunk_at(&raw[read..]);
                        mine.push(chunk);
                        read += chunk.0 + chunk.1;
                    }
                    assert_eq!(mine, chunks_by_core(&raw), "{raw:?}");
                    assert_eq!(
                        lossy_len(&raw),
                        std::string::String::from_utf8_lossy(&raw).len()
                    );
                    for cap in 0..=3 * raw.len() {
                        assert_eq!(
                            by_errors::fitting_prefix(&raw, cap),
                            by_chunks::fitting_prefix(&raw, cap),
                            "{raw:?} in {cap}"
                        );
                    }
                }
            }
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
