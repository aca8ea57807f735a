//! Writing into memory the caller lends: the one "buffer too small" error and the one
//! measure-then-write machinery behind every all-or-nothing writer in the crate.
//!
//! A writer describes its output once, as an [`Emit`] impl that puts pieces into any [`Sink`].
//! [`write_exact`] runs it twice: once to learn the exact size, then, only if that fits, into the
//! caller's buffer through a [`SliceSink`]. The size and the bytes come from the
//! same code, so they cannot disagree, and a buffer that is too small is left untouched without a
//! scratch copy. [`write_to`] runs the same description against a blocking
//! [`embedded_io::Write`], gathering small pieces into larger writes.

use core::convert::Infallible;
use core::fmt;

use crate::ascii::{U64_DIGITS, write_u64};

/// The buffer lent to a writer cannot hold the output; nothing was written.
///
/// Every writer in the crate that fills a caller's slice all-or-nothing reports this, with the
/// exact size that would have worked, so the caller can grow the buffer and try again.
///
/// # Examples
///
/// ```
/// use sansse::BufferTooSmall;
/// use sansse::http::encode_chunk;
///
/// let mut tiny = [0u8; 4];
/// let error = encode_chunk(b"hello", &mut tiny).unwrap_err();
/// assert_eq!(error, BufferTooSmall { needed: 10 });
/// assert_eq!(error.to_string(), "buffer too small: 10 bytes needed");
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct BufferTooSmall {
    /// How many bytes the output needs.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

/// Where emitted pieces go: a counter, a lent slice or a writer.
pub(crate) trait Sink {
    /// What can go wrong on the way out: nothing for a counter or a slice, the writer's error
    /// otherwise.
    type Error;

    fn put(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;

    fn put_decimal(&mut self, n: u64) -> Result<(), Self::Error> {
        let mut digits = [0; U64_DIGITS];
        self.put(write_u64(n, &mut digits))
    }
}

/// Output described once and written by [`write_exact`], [`measure`] or [`write_to`].
pub(crate) trait Emit {
    /// Puts the whole output into `sink`, piece by piece. It must put the same bytes every time.
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error>;
}

/// A fixed list of pieces, for output with no structure of its own (a chunk, the last chunk).
impl Emit for [&[u8]] {
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        self.iter().try_for_each(|piece| sink.put(piece))
    }
}

/// Copies into a lent slice while there is room, and always counts.
///
/// Over an empty slice it is a counter ([`measure`]); [`write_counted`] lends it a slice exactly
/// as long as the count, so "no room" never happens there, and skipping rather than failing keeps
/// the copy free of an error path.
pub(crate) struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceSink<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
}

impl Sink for SliceSink<'_> {
    type Error = Infallible;

    fn put(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }
}

/// Counts bytes and stores none: the fast sizing pass of [`count`].
pub(crate) struct Counter(usize);

impl Sink for Counter {
    type Error = Infallible;

    fn put(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// The exact number of bytes `output` emits, saturating at `usize::MAX`, sized with the same
/// [`SliceSink`] that writes: each emitter is compiled once. For writers sized once per message
/// (HTTP heads), where flash matters more than a few instructions.
pub(crate) fn measure<E: Emit + ?Sized>(output: &E) -> usize {
    let mut counter = SliceSink::new(&mut []);
    match output.emit(&mut counter) {
        Ok(()) => counter.len,
        Err(never) => match never {},
    }
}

/// [`measure`] with a [`Counter`], which adds instead of testing for room: a second copy of the
/// emitter, paid for by the encoder, which sizes every event (callgrind on `Message::encode`:
/// about 10 % fewer instructions than [`measure`]). Pair it with [`write_counted`].
pub(crate) fn count<E: Emit + ?Sized>(output: &E) -> usize {
    let mut counter = Counter(0);
    match output.emit(&mut counter) {
        Ok(()) => counter.0,
        Err(never) => match never {},
    }
}

/// Writes `output` into `buf` and returns its length, or writes nothing if it does not fit.
///
/// # Errors
///
/// [`BufferTooSmall`] with the exact size needed; `buf` is then untouched.
pub(crate) fn write_exact<E: Emit + ?Sized>(
    buf: &mut [u8],
    output: &E,
) -> Result<usize, BufferTooSmall> {
    write_counted(buf, measure(output), output)
}

/// [`write_exact`] for a size already known from [`count`] or [`measure`].
///
/// # Errors
///
/// [`BufferTooSmall`] with `needed`; `buf` is then untouched.
pub(crate) fn write_counted<E: Emit + ?Sized>(
    buf: &mut [u8],
    needed: usize,
    output: &E,
) -> Result<usize, BufferTooSmall> {
    let Some(target) = buf.get_mut(..needed) else {
        return Err(BufferTooSmall { needed });
    };
    let mut sink = SliceSink::new(target);
    match output.emit(&mut sink) {
        Ok(()) => Ok(sink.len),
        Err(never) => match never {},
    }
}

/// Streams `output` to `writer` through a small gathering buffer and returns its length. It does
/// not flush.
///
/// # Errors
///
/// The writer's error, possibly after part of the output went out.
pub(crate) fn write_to<W: embedded_io::Write, E: Emit + ?Sized>(
    writer: &mut W,
    output: &E,
) -> Result<usize, W::Error> {
    let mut gather = Gather {
        writer,
        buf: [0; GATHER],
        len: 0,
        total: 0,
    };
    output.emit(&mut gather)?;
    gather.drain()?;
    Ok(gather.total)
}

/// Size of the gathering buffer in [`write_to`]: a typical small event goes out in one write.
const GATHER: usize = 128;

/// Gathers small pieces before handing them to a writer; long pieces go straight through.
struct Gather<'w, W> {
    writer: &'w mut W,
    buf: [u8; GATHER],
    len: usize,
    total: usize,
}

impl<W: embedded_io::Write> Gather<'_, W> {
    fn drain(&mut self) -> Result<(), W::Error> {
        if self.len > 0 {
            let pending = self.buf.get(..self.len).unwrap_or_default();
            self.writer.write_all(pending)?;
            self.len = 0;
        }
        Ok(())
    }
}

impl<W: embedded_io::Write> Sink for Gather<'_, W> {
    type Error = W::Error;

    fn put(&mut self, bytes: &[u8]) -> Result<(), W::Error> {
        let end = self.len.saturating_add(bytes.len());
        if let Some(room) = self.buf.get_mut(self.len..end) {
            room.copy_from_slice(bytes);
            self.len = end;
        } else {
            self.drain()?;
            if let Some(room) = self.buf.get_mut(..bytes.len()) {
                room.copy_from_slice(bytes);
                self.len = bytes.len();
            } else {
                self.writer.write_all(bytes)?;
            }
        }
        self.total = self.total.saturating_add(bytes.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    #[cfg(feature = "alloc")]
    use std::vec::Vec;

    struct Numbers;

    impl Emit for Numbers {
        fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
            sink.put_decimal(0)?;
            sink.put(b" ")?;
            sink.put_decimal(u64::MAX)
        }
    }

    #[test]
    fn write_exact_reports_exact_size_and_leaves_buffer_untouched() {
        let mut buf = [0xAAu8; 4];
        let hello: &[&[u8]] = &[b"hel", b"lo"];
        assert_eq!(
            write_exact(&mut buf, hello),
            Err(BufferTooSmall { needed: 5 })
        );
        assert_eq!(buf, [0xAA; 4]);

        let mut buf = [0u8; 6];
        assert_eq!(write_exact(&mut buf, hello), Ok(5));
        assert_eq!(&buf, b"hello\0");
    }

    #[test]
    fn decimal_covers_zero_and_max() {
        let mut buf = [0u8; 32];
        let n = write_exact(&mut buf, &Numbers).unwrap();
        assert_eq!(&buf[..n], b"0 18446744073709551615");
        assert_eq!(measure(&Numbers), n);
        assert_eq!(count(&Numbers), n);
    }

    // `Vec` is an `embedded_io::Write` only with embedded-io's `alloc`, which `alloc` turns on.
    #[cfg(feature = "alloc")]
    #[test]
    fn write_to_sends_what_write_exact_writes() {
        let long = [b'x'; 300];
        let pieces: &[&[u8]] = &[b"a", &long, b"b", &long[..100], b"c"];
        let mut out = Vec::new();
        assert_eq!(write_to(&mut out, pieces), Ok(403));
        let mut buf = [0u8; 403];
        assert_eq!(write_exact(&mut buf, pieces), Ok(403));
        assert_eq!(out, buf);
    }

    #[test]
    fn display_names_the_size() {
        assert_eq!(
            std::format!("{}", BufferTooSmall { needed: 12 }),
            "buffer too small: 12 bytes needed"
        );
    }
}
