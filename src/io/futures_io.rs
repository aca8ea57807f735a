//! A bridge from `futures_io::{AsyncRead, AsyncWrite}` (smol, async-io, async-std) to
//! `embedded_io_async::{Read, Write}`, so the async shells run on those runtimes unchanged.

use core::future::poll_fn;
use core::pin::Pin;
use core::task::Poll;
use std::io::{Error, ErrorKind};

use futures_io::{AsyncRead, AsyncWrite};

/// Wraps a `futures_io` stream (smol's `TcpStream`, for one) as an `embedded_io_async` one.
///
/// Errors are [`std::io::Error`]. A read or write interrupted (`ErrorKind::Interrupted`) is
/// retried, and a write that accepts no bytes of a non-empty buffer becomes a `WriteZero`
/// error, as `embedded_io_async::Write` requires.
///
/// # Cancel safety
///
/// `read`, `write` and `flush` are as cancel-safe as the inner stream's `poll_*` methods: each
/// future only polls them, and a `poll_read` or `poll_write` that returns `Pending` has read or
/// written nothing (the `futures_io` contract). Dropping one before it completes loses nothing.
///
/// # Examples
///
/// ```
/// use embedded_io_async::{Read, Write};
/// use sansse::io::FuturesIo;
///
/// smol::block_on(async {
///     let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = FuturesIo::new(smol::net::TcpStream::connect(listener.local_addr()?).await?);
///     let mut server = FuturesIo::new(listener.accept().await?.0);
///
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await.map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct FuturesIo<T> {
    inner: T,
}

impl<T> FuturesIo<T> {
    /// Wraps `inner`.
    pub const fn new(inner: T) -> Self {
        Self { inner }
    }

    /// The wrapped stream.
    pub const fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> embedded_io::ErrorType for FuturesIo<T> {
    type Error = Error;
}

impl<T: AsyncRead + Unpin> embedded_io_async::Read for FuturesIo<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        poll_fn(|cx| {
            loop {
                match Pin::new(&mut self.inner).poll_read(cx, buf) {
                    Poll::Ready(Err(error)) if error.kind() == ErrorKind::Interrupted => {}
                    other => return other,
                }
            }
        })
        .await
    }
}

impl<T: AsyncWrite + Unpin> embedded_io_async::Write for FuturesIo<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        let written = poll_fn(|cx| {
            loop {
                match Pin::new(&mut self.inner).poll_write(cx, buf) {
                    Poll::Ready(Err(error)) if error.kind() == ErrorKind::Interrupted => {}
                    other => return other,
                }
            }
        })
        .await?;
        if written == 0 && !buf.is_empty() {
            return Err(ErrorKind::WriteZero.into());
        }
        Ok(written)
    }

    async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| {
            loop {
                match Pin::new(&mut self.inner).poll_flush(cx) {
                    Poll::Ready(Err(error)) if error.kind() == ErrorKind::Interrupted => {}
                    other => return other,
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use embedded_io_async::{Read, Write};
    use std::vec::Vec;

    /// A stream that is interrupted once per call, then reads from `input` or writes to
    /// `output`, accepting at most `max` bytes a write (0 to model a closed peer).
    struct Flaky {
        interrupt: bool,
        input: &'static [u8],
        output: Vec<u8>,
        max: usize,
    }

    impl Flaky {
        fn interrupted(&mut self) -> bool {
            let interrupt = !self.interrupt;
            core::mem::replace(&mut self.interrupt, interrupt)
        }
    }

    impl AsyncRead for Flaky {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut core::task::Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            let this = self.get_mut();
            if this.interrupted() {
                return Poll::Ready(Err(ErrorKind::Interrupted.into()));
            }
            let n = buf.len().min(this.input.len());
            buf[..n].copy_from_slice(&this.input[..n]);
            this.input = &this.input[n..];
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Flaky {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut core::task::Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let this = self.get_mut();
            if this.interrupted() {
                return Poll::Ready(Err(ErrorKind::Interrupted.into()));
            }
            let n = buf.len().min(this.max);
            this.output.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(
            self: Pin<&mut Self>,
            _: &mut core::task::Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: Pin<&mut Self>,
            _: &mut core::task::Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn flaky(input: &'static [u8], max: usize) -> FuturesIo<Flaky> {
        FuturesIo::new(Flaky {
            interrupt: true,
            input,
            output: Vec::new(),
            max,
        })
    }

    #[test]
    fn interrupted_calls_are_retried() {
        let mut io = flaky(b"abc", 2);
        let mut buf = [0u8; 8];

        let read = smol::block_on(io.read(&mut buf)).unwrap();
        let written = smol::block_on(io.write(b"xyz")).unwrap();

        assert_eq!(&buf[..read], b"abc");
        assert_eq!(written, 2);
        assert_eq!(io.get_ref().output, b"xy");
    }

    #[test]
    fn a_write_of_nothing_is_an_error_only_for_a_non_empty_buffer() {
        let mut io = flaky(b"", 0);

        let error = smol::block_on(io.write(b"x")).unwrap_err();
        let empty = smol::block_on(io.write(b""));

        assert_eq!(error.kind(), ErrorKind::WriteZero);
        assert_eq!(empty.unwrap(), 0);
        assert_eq!(smol::block_on(io.read(&mut [0u8; 4])).unwrap(), 0);
    }
}
