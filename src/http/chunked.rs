//! The chunked transfer coding (RFC 9112 section 7.1), both ways.
//!
//! Encoding frames each payload as `<hex size>\r\n<payload>\r\n` and ends the body with
//! `0\r\n\r\n`. Decoding is a byte-driven state machine with constant memory: it never buffers
//! chunk data (payload slices are borrowed from the input), ignores chunk extensions, and skips
//! trailer fields.
//!
//! Decoder states, in wire order: `Size` (hex digits) -> `SizeSpace` (whitespace before an
//! extension) -> `Extension` (skipped to the line end) -> `SizeLf` (LF after CR) -> `Data` ->
//! `DataCr` -> `DataLf` -> back to `Size`; after a zero size: `TrailerStart` -> `TrailerLine` ->
//! `TrailerEndLf` -> `Done`. A bare LF is accepted wherever CRLF is expected (RFC 9112
//! section 2.2); anything else unexpected is a typed error.

use core::fmt;
use core::ops::Range;

use crate::BufferTooSmall;
use crate::buffer::write_exact;

/// The last chunk with an empty trailer section: the end of a chunked body.
///
/// # Examples
///
/// ```
/// assert_eq!(sansse::http::LAST_CHUNK, b"0\r\n\r\n");
/// ```
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The largest framing overhead of one chunk on this target: every hex digit of `usize::MAX`
/// plus two CRLFs. Reserving this much beside a payload always suffices.
///
/// # Examples
///
/// ```
/// use sansse::http::{MAX_CHUNK_OVERHEAD, chunk_overhead};
///
/// assert!(chunk_overhead(usize::MAX) <= MAX_CHUNK_OVERHEAD);
/// ```
pub const MAX_CHUNK_OVERHEAD: usize = CHUNK_HEADER_MAX + 2;

/// The largest chunk header (`<hex size>\r\n`) on this target; [`frame_chunk_in_place`] expects
/// the payload to start this many bytes into the buffer.
///
/// # Examples
///
/// ```
/// use sansse::http::CHUNK_HEADER_MAX;
///
/// assert_eq!(CHUNK_HEADER_MAX, 2 * core::mem::size_of::<usize>() + 2);
/// ```
pub const CHUNK_HEADER_MAX: usize = 2 * core::mem::size_of::<usize>() + 2;

/// The framing bytes [`encode_chunk`] adds around a payload of `payload_len` bytes: the hex size,
/// its CRLF and the CRLF after the data. Zero for an empty payload, which is not encoded (an empty
/// chunk would end the body).
///
/// # Examples
///
/// ```
/// use sansse::http::chunk_overhead;
///
/// assert_eq!(chunk_overhead(0), 0);
/// assert_eq!(chunk_overhead(15), 5);  // "f\r\n" + "\r\n"
/// assert_eq!(chunk_overhead(16), 6);  // "10\r\n" + "\r\n"
/// ```
pub const fn chunk_overhead(payload_len: usize) -> usize {
    if payload_len == 0 {
        0
    } else {
        hex_len(payload_len) + 4
    }
}

/// Writes `payload` as one chunk into `buf` and returns the number of bytes written.
///
/// An empty payload writes nothing and returns `Ok(0)`: a zero-size chunk would end the body,
/// which only [`encode_last_chunk`] should do.
///
/// # Errors
///
/// [`BufferTooSmall`] with `payload.len() + chunk_overhead(payload.len())` if `buf` is shorter;
/// nothing is written.
///
/// # Examples
///
/// ```
/// use sansse::http::encode_chunk;
///
/// let mut out = [0u8; 64];
/// let n = encode_chunk(b"data: hi\n\n", &mut out).unwrap();
/// assert_eq!(&out[..n], b"a\r\ndata: hi\n\n\r\n");
/// ```
pub fn encode_chunk(payload: &[u8], buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    if payload.is_empty() {
        return Ok(0);
    }
    let mut header = [0u8; CHUNK_HEADER_MAX];
    let header = chunk_header(payload.len(), &mut header);
    write_exact(buf, &[header, payload, b"\r\n"][..])
}

/// Writes the last chunk (`0\r\n\r\n`) that ends a chunked body.
///
/// # Errors
///
/// [`BufferTooSmall`] with 5 if `buf` is shorter; nothing is written.
///
/// # Examples
///
/// ```
/// use sansse::http::encode_last_chunk;
///
/// let mut out = [0u8; 8];
/// assert_eq!(encode_last_chunk(&mut out), Ok(5));
/// assert_eq!(&out[..5], b"0\r\n\r\n");
/// ```
pub fn encode_last_chunk(buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    write_exact(buf, &[LAST_CHUNK][..])
}

/// Frames a payload that was written at `buf[CHUNK_HEADER_MAX..CHUNK_HEADER_MAX + payload_len]`
/// without copying it: the size line goes just before it, CRLF just after, and the returned range
/// is the complete chunk to send.
///
/// This lets a server encode an event straight into its output buffer, leaving
/// [`CHUNK_HEADER_MAX`] bytes in front and 2 behind. An empty payload frames to an empty range.
///
/// # Errors
///
/// [`BufferTooSmall`] if `buf` is shorter than `CHUNK_HEADER_MAX + payload_len + 2`; nothing is
/// written.
///
/// # Examples
///
/// ```
/// use sansse::http::{CHUNK_HEADER_MAX, frame_chunk_in_place};
///
/// let mut buf = [0u8; 64];
/// let payload = b"data: x\n\n";
/// buf[CHUNK_HEADER_MAX..CHUNK_HEADER_MAX + payload.len()].copy_from_slice(payload);
/// let chunk = frame_chunk_in_place(&mut buf, payload.len()).unwrap();
/// assert_eq!(&buf[chunk], b"9\r\ndata: x\n\n\r\n");
/// ```
pub fn frame_chunk_in_place(
    buf: &mut [u8],
    payload_len: usize,
) -> Result<Range<usize>, BufferTooSmall> {
    let needed = CHUNK_HEADER_MAX
        .saturating_add(payload_len)
        .saturating_add(2);
    if buf.len() < needed {
        return Err(BufferTooSmall { needed });
    }
    if payload_len == 0 {
        return Ok(CHUNK_HEADER_MAX..CHUNK_HEADER_MAX);
    }
    let mut header = [0u8; CHUNK_HEADER_MAX];
    let header = chunk_header(payload_len, &mut header);
    let start = CHUNK_HEADER_MAX - header.len();
    buf[start..CHUNK_HEADER_MAX].copy_from_slice(header);
    let end = CHUNK_HEADER_MAX + payload_len;
    buf[end..end + 2].copy_from_slice(b"\r\n");
    Ok(start..end + 2)
}

/// Number of lowercase hex digits in `n` (at least one).
const fn hex_len(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 16 {
        n >>= 4;
        digits += 1;
    }
    digits
}

/// Writes `<hex len>\r\n` into `scratch` and returns it.
fn chunk_header(len: usize, scratch: &mut [u8; CHUNK_HEADER_MAX]) -> &[u8] {
    let digits = hex_len(len);
    for (i, slot) in scratch[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xF;
        *slot = b"0123456789abcdef"[nibble];
    }
    scratch[digits] = b'\r';
    scratch[digits + 1] = b'\n';
    &scratch[..digits + 2]
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum State {
    Size { size: u64, digits: bool },
    SizeSpace { size: u64 },
    Extension { size: u64 },
    SizeLf { size: u64 },
    Data { remaining: u64 },
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine,
    TrailerEndLf,
    Done,
}

/// Why a response body could not be decoded.
///
/// # Examples
///
/// ```
/// use sansse::http::{BodyDecoder, BodyError, BodyFraming};
///
/// let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
/// assert_eq!(decoder.decode(b"zz\r\n"), Err(BodyError::InvalidChunkSize));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum BodyError {
    /// A chunk size line is not hex digits followed by an optional extension and a line end.
    InvalidChunkSize,
    /// A chunk size does not fit in 64 bits.
    ChunkSizeOverflow,
    /// A chunk extension holds a control character.
    InvalidChunkExtension,
    /// Chunk data is not followed by CRLF.
    MissingChunkEnd,
    /// The trailer section is not ended by an empty line.
    InvalidTrailer,
    /// The input ended before the body did.
    Truncated,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidChunkSize => "invalid chunk size",
            Self::ChunkSizeOverflow => "chunk size overflow",
            Self::InvalidChunkExtension => "invalid chunk extension",
            Self::MissingChunkEnd => "missing crlf after chunk data",
            Self::InvalidTrailer => "invalid chunked trailer",
            Self::Truncated => "body truncated",
        })
    }
}

impl core::error::Error for BodyError {}

/// Incremental chunked decoder; see the module docs for its states.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct ChunkedDecoder {
    state: State,
}

impl ChunkedDecoder {
    pub(crate) const fn new() -> Self {
        Self {
            state: State::Size {
                size: 0,
                digits: false,
            },
        }
    }

    pub(crate) const fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Consumes framing bytes from `input` until it reaches chunk data, the end of the body, or
    /// the end of the input. Returns `(consumed, data range within input)`; the range is empty
    /// unless data was reached, in which case it ends the consumed part.
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<(usize, Range<usize>), BodyError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data { remaining } = self.state {
                let available = input.len() - pos;
                let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining: left }
                };
                return Ok((pos + take, pos..pos + take));
            }
            if self.is_done() {
                break;
            }
            self.state = self.step(input[pos])?;
            pos += 1;
        }
        Ok((pos, pos..pos))
    }

    fn step(&self, b: u8) -> Result<State, BodyError> {
        Ok(match self.state {
            State::Size { size, digits } => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => State::Size {
                    size: push_hex(size, b)?,
                    digits: true,
                },
                _ if !digits => return Err(BodyError::InvalidChunkSize),
                b' ' | b'\t' => State::SizeSpace { size },
                b';' => State::Extension { size },
                b'\r' => State::SizeLf { size },
                b'\n' => end_of_size_line(size),
                _ => return Err(BodyError::InvalidChunkSize),
            },
            State::SizeSpace { size } => match b {
                b' ' | b'\t' => State::SizeSpace { size },
                b';' => State::Extension { size },
                b'\r' => State::SizeLf { size },
                b'\n' => end_of_size_line(size),
                _ => return Err(BodyError::InvalidChunkSize),
            },
            State::Extension { size } => match b {
                b'\r' => State::SizeLf { size },
                b'\n' => end_of_size_line(size),
                // Extensions are ignored, but control bytes in them mean the stream is garbage.
                b'\t' | b' '..=b'~' | 0x80..=0xFF => State::Extension { size },
                _ => return Err(BodyError::InvalidChunkExtension),
            },
            State::SizeLf { size } => match b {
                b'\n' => end_of_size_line(size),
                _ => return Err(BodyError::InvalidChunkSize),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                b'\n' => Self::new().state,
                _ => return Err(BodyError::MissingChunkEnd),
            },
            State::DataLf => match b {
                b'\n' => Self::new().state,
                _ => return Err(BodyError::MissingChunkEnd),
            },
            State::TrailerStart => match b {
                b'\r' => State::TrailerEndLf,
                b'\n' => State::Done,
                _ => State::TrailerLine,
            },
            // Trailer fields are skipped whole: nothing in them changes how events are read.
            State::TrailerLine => match b {
                b'\n' => State::TrailerStart,
                _ => State::TrailerLine,
            },
            State::TrailerEndLf => match b {
                b'\n' => State::Done,
                _ => return Err(BodyError::InvalidTrailer),
            },
            State::Data { .. } | State::Done => self.state,
        })
    }
}

fn push_hex(size: u64, digit: u8) -> Result<u64, BodyError> {
    let value = match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    };
    size.checked_mul(16)
        .and_then(|s| s.checked_add(u64::from(value)))
        .ok_or(BodyError::ChunkSizeOverflow)
}

const fn end_of_size_line(size: u64) -> State {
    if size == 0 {
        State::TrailerStart
    } else {
        State::Data { remaining: size }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` whole, returning the payload and whether the body ended.
    fn decode_all(input: &[u8]) -> Result<(heapless::Vec<u8, 256>, bool), BodyError> {
        let mut decoder = ChunkedDecoder::new();
        let mut out = heapless::Vec::new();
        let mut rest = input;
        while !rest.is_empty() && !decoder.is_done() {
            let (consumed, data) = decoder.decode(rest)?;
            out.extend_from_slice(&rest[data]).unwrap();
            rest = &rest[consumed..];
        }
        Ok((out, decoder.is_done()))
    }

    #[test]
    fn chunk_headers_are_lowercase_hex() {
        let mut scratch = [0u8; CHUNK_HEADER_MAX];
        assert_eq!(chunk_header(1, &mut scratch), b"1\r\n");
        assert_eq!(chunk_header(255, &mut scratch), b"ff\r\n");
        assert_eq!(chunk_header(4096, &mut scratch), b"1000\r\n");
        assert_eq!(
            chunk_header(usize::MAX, &mut scratch).len(),
            CHUNK_HEADER_MAX
        );
    }

    #[test]
    fn encode_is_all_or_nothing() {
        let mut out = [7u8; 7];
        assert_eq!(
            encode_chunk(b"abc", &mut out),
            Err(BufferTooSmall { needed: 8 })
        );
        assert_eq!(out, [7; 7]);
        assert_eq!(encode_chunk(b"", &mut out), Ok(0));
        assert_eq!(
            encode_last_chunk(&mut out[..4]),
            Err(BufferTooSmall { needed: 5 })
        );
    }

    #[test]
    fn frame_in_place_checks_room_and_handles_empty() {
        let mut buf = [0u8; CHUNK_HEADER_MAX + 3];
        let needed = CHUNK_HEADER_MAX + 4;
        assert_eq!(
            frame_chunk_in_place(&mut buf, 2),
            Err(BufferTooSmall { needed })
        );
        assert_eq!(
            frame_chunk_in_place(&mut buf, 0),
            Ok(CHUNK_HEADER_MAX..CHUNK_HEADER_MAX)
        );
        assert_eq!(
            frame_chunk_in_place(&mut buf, 1),
            Ok(CHUNK_HEADER_MAX - 3..CHUNK_HEADER_MAX + 3)
        );
    }

    #[test]
    fn decoding_table() {
        type Case = (&'static [u8], Result<(&'static [u8], bool), BodyError>);
        let cases: &[Case] = &[
            (b"5\r\nhello\r\n0\r\n\r\n", Ok((b"hello", true))),
            (b"5\nhello\n0\n\n", Ok((b"hello", true))),
            (b"5;name=\"v\"\r\nhello\r\n0\r\n\r\n", Ok((b"hello", true))),
            (b"5 ; x\r\nhello\r\n0 \r\n\r\n", Ok((b"hello", true))),
            (b"00005\r\nhello\r\n000\r\n\r\n", Ok((b"hello", true))),
            (
                b"A\r\n0123456789\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
                Ok((b"0123456789", true)),
            ),
            (b"3\r\nabc\r\n2\r\nde\r\n", Ok((b"abcde", false))),
            (b"5\r\nhel", Ok((b"hel", false))),
            (b"\r\n", Err(BodyError::InvalidChunkSize)),
            (b"x\r\n", Err(BodyError::InvalidChunkSize)),
            (b"-5\r\n", Err(BodyError::InvalidChunkSize)),
            (b"5 x\r\n", Err(BodyError::InvalidChunkSize)),
            (b"5\rx", Err(BodyError::InvalidChunkSize)),
            (b"5;a\x00\r\n", Err(BodyError::InvalidChunkExtension)),
            (b"3\r\nabcd\r\n", Err(BodyError::MissingChunkEnd)),
            (b"3\r\nabc\rx", Err(BodyError::MissingChunkEnd)),
            (b"0\r\n\rx", Err(BodyError::InvalidTrailer)),
            (b"10000000000000000\r\n", Err(BodyError::ChunkSizeOverflow)),
        ];
        for (input, expected) in cases {
            let got = decode_all(input);
            let expected =
                expected.map(|(data, done)| (heapless::Vec::from_slice(data).unwrap(), done));
            assert_eq!(got, expected, "{:?}", core::str::from_utf8(input));
        }
    }

    #[test]
    fn largest_size_fits_and_is_streamed() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.decode(b"ffffffffffffffff\r\nab"), Ok((20, 18..20)));
        assert_eq!(
            decoder.state,
            State::Data {
                remaining: u64::MAX - 2
            }
        );
    }

    #[test]
    fn bytes_after_the_end_are_not_consumed() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.decode(b"0\r\n\r\nHTTP/1.1"), Ok((5, 5..5)));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(b"more"), Ok((0, 0..0)));
    }
}
