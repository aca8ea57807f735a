//! Body framing for the client: chunked, `Content-Length` or close-delimited.

use core::fmt;

use super::chunked::{BodyError, ChunkedDecoder};

/// How a response body is delimited (RFC 9112 section 6.3).
///
/// # Examples
///
/// ```
/// use sansse::http::{BodyDecoder, BodyFraming};
///
/// let decoder = BodyDecoder::new(BodyFraming::Length(0));
/// assert!(decoder.is_done());
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum BodyFraming {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Exactly this many bytes (`Content-Length`, or 0 for statuses without a body).
    Length(u64),
    /// Everything until the server closes the connection.
    Close,
}

/// Why a response's body framing cannot be used.
///
/// # Examples
///
/// ```
/// use sansse::http::{FramingError, HeadLimits, ResponseReader};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
/// assert_eq!(reader.head().unwrap().framing(), Err(FramingError::UnsupportedTransferCoding));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum FramingError {
    /// A transfer coding other than a single `chunked` (such as `gzip, chunked`).
    UnsupportedTransferCoding,
    /// `Content-Length` is not a number, overflows, or has conflicting values.
    InvalidContentLength,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::InvalidContentLength => "invalid content-length",
        })
    }
}

impl core::error::Error for FramingError {}

/// Removes the body framing from response bytes, yielding payload slices borrowed from the input.
///
/// Memory is constant whatever the framing or chunk sizes: nothing is buffered. Feed each read
/// with [`BodyDecoder::decode`], which returns at most one payload slice per call, and call it
/// again on the unconsumed rest until the input is used up or the body has ended. At end of
/// input, [`BodyDecoder::finish`] says whether the body was complete.
///
/// # Examples
///
/// ```
/// use sansse::http::{BodyDecoder, BodyFraming};
///
/// let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
/// let mut input: &[u8] = b"6\r\ndata: \r\n4;ext\r\nhi\n\n\r\n0\r\n\r\n";
/// let mut payload = Vec::new();
/// loop {
///     let decoded = decoder.decode(input).unwrap();
///     payload.extend_from_slice(decoded.data);
///     input = &input[decoded.consumed..];
///     if decoded.end || input.is_empty() {
///         break;
///     }
/// }
/// assert_eq!(payload, b"data: hi\n\n");
/// assert!(decoder.is_done());
/// assert_eq!(decoder.finish(), Ok(()));
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct BodyDecoder {
    kind: Kind,
    failed: Option<BodyError>,
}

#[derive(Clone, Debug, Eq, PartialEq)]
enum Kind {
    Chunked(ChunkedDecoder),
    Length { remaining: u64 },
    Close { ended: bool },
}

impl BodyDecoder {
    /// Creates a decoder for `framing`, usually [`ResponseHead::framing`](super::ResponseHead::framing).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{BodyDecoder, BodyFraming};
    ///
    /// let decoder = BodyDecoder::new(BodyFraming::Close);
    /// assert!(!decoder.is_done());
    /// ```
    pub const fn new(framing: BodyFraming) -> Self {
        let kind = match framing {
            BodyFraming::Chunked => Kind::Chunked(ChunkedDecoder::new()),
            BodyFraming::Length(remaining) => Kind::Length { remaining },
            BodyFraming::Close => Kind::Close { ended: false },
        };
        Self { kind, failed: None }
    }

    /// Takes body bytes and returns the first payload slice in them.
    ///
    /// [`Decoded::consumed`] says how many input bytes were used (framing and payload); call
    /// again with `&input[consumed..]` for the rest. The call consumes at least one byte unless
    /// the input is empty or the body has ended. Once [`Decoded::end`] is set, bytes after the
    /// body are left unconsumed (they belong to whatever follows on the connection).
    ///
    /// # Errors
    ///
    /// [`BodyError`] when chunked framing is malformed. The decoder then stays failed and
    /// returns the same error on every call.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{BodyDecoder, BodyFraming, Decoded};
    ///
    /// let mut decoder = BodyDecoder::new(BodyFraming::Length(3));
    /// let decoded = decoder.decode(b"abcdef").unwrap();
    /// assert_eq!(decoded, Decoded { consumed: 3, data: b"abc", end: true });
    /// ```
    pub fn decode<'i>(&mut self, input: &'i [u8]) -> Result<Decoded<'i>, BodyError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        match &mut self.kind {
            Kind::Chunked(decoder) => match decoder.decode(input) {
                Ok((consumed, data)) => Ok(Decoded {
                    consumed,
                    data: &input[data],
                    end: decoder.is_done(),
                }),
                Err(error) => {
                    self.failed = Some(error);
                    Err(error)
                }
            },
            Kind::Length { remaining } => {
                let take = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                *remaining -= take as u64;
                Ok(Decoded {
                    consumed: take,
                    data: &input[..take],
                    end: *remaining == 0,
                })
            }
            // After `finish` nothing more belongs to the body.
            Kind::Close { ended: true } => Ok(Decoded {
                consumed: 0,
                data: &[],
                end: true,
            }),
            Kind::Close { ended: false } => Ok(Decoded {
                consumed: input.len(),
                data: input,
                end: false,
            }),
        }
    }

    /// Reports the end of the connection's input and says whether the body was complete.
    ///
    /// A close-delimited body ends here. Calling it more than once is harmless.
    ///
    /// # Errors
    ///
    /// [`BodyError::Truncated`] if a chunked or `Content-Length` body had not ended; an earlier
    /// framing error is returned again.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{BodyDecoder, BodyError, BodyFraming};
    ///
    /// let mut decoder = BodyDecoder::new(BodyFraming::Length(10));
    /// let _ = decoder.decode(b"abc");
    /// assert_eq!(decoder.finish(), Err(BodyError::Truncated));
    ///
    /// let mut decoder = BodyDecoder::new(BodyFraming::Close);
    /// assert_eq!(decoder.finish(), Ok(()));
    /// assert!(decoder.is_done());
    /// ```
    pub fn finish(&mut self) -> Result<(), BodyError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if let Kind::Close { ended } = &mut self.kind {
            *ended = true;
        }
        if self.is_done() {
            Ok(())
        } else {
            Err(BodyError::Truncated)
        }
    }

    /// Whether the body has ended: the last chunk was read, the announced length was reached,
    /// or (close-delimited) [`BodyDecoder::finish`] was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{BodyDecoder, BodyFraming};
    ///
    /// let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
    /// assert!(!decoder.is_done());
    /// let _ = decoder.decode(b"0\r\n\r\n");
    /// assert!(decoder.is_done());
    /// ```
    pub const fn is_done(&self) -> bool {
        match &self.kind {
            Kind::Chunked(decoder) => decoder.is_done(),
            Kind::Length { remaining } => *remaining == 0,
            Kind::Close { ended } => *ended,
        }
    }
}

/// One step of [`BodyDecoder::decode`].
///
/// # Examples
///
/// ```
/// use sansse::http::{BodyDecoder, BodyFraming, Decoded};
///
/// let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
/// // Framing only: consumed, but no payload yet.
/// assert_eq!(decoder.decode(b"4\r\n"), Ok(Decoded { consumed: 3, data: b"", end: false }));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Decoded<'i> {
    /// Input bytes used by this step.
    pub consumed: usize,
    /// Payload bytes, borrowed from the input; may be empty.
    pub data: &'i [u8],
    /// Whether the body has ended; input after `consumed` is not part of it.
    pub end: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_body_stops_at_its_length() {
        let mut decoder = BodyDecoder::new(BodyFraming::Length(5));
        assert_eq!(
            decoder.decode(b"abc"),
            Ok(Decoded {
                consumed: 3,
                data: b"abc",
                end: false
            })
        );
        assert_eq!(
            decoder.decode(b""),
            Ok(Decoded {
                consumed: 0,
                data: b"",
                end: false
            })
        );
        assert_eq!(decoder.finish(), Err(BodyError::Truncated));
        assert_eq!(
            decoder.decode(b"defgh"),
            Ok(Decoded {
                consumed: 2,
                data: b"de",
                end: true
            })
        );
        assert_eq!(
            decoder.decode(b"gh"),
            Ok(Decoded {
                consumed: 0,
                data: b"",
                end: true
            })
        );
        assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn close_body_takes_everything_until_finish() {
        let mut decoder = BodyDecoder::new(BodyFraming::Close);
        assert_eq!(
            decoder.decode(b"abc"),
            Ok(Decoded {
                consumed: 3,
                data: b"abc",
                end: false
            })
        );
        assert_eq!(decoder.finish(), Ok(()));
        assert_eq!(decoder.finish(), Ok(()));
        assert_eq!(
            decoder.decode(b""),
            Ok(Decoded {
                consumed: 0,
                data: b"",
                end: true
            })
        );
    }

    #[test]
    fn chunked_errors_are_sticky() {
        let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
        assert_eq!(
            decoder.decode(b"1\r\nab"),
            Ok(Decoded {
                consumed: 4,
                data: b"a",
                end: false
            })
        );
        assert_eq!(decoder.decode(b"b"), Err(BodyError::MissingChunkEnd));
        assert_eq!(
            decoder.decode(b"\r\n0\r\n\r\n"),
            Err(BodyError::MissingChunkEnd)
        );
        assert_eq!(decoder.finish(), Err(BodyError::MissingChunkEnd));
    }

    #[test]
    fn chunked_truncation_is_reported() {
        let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
        let _ = decoder.decode(b"3\r\nabc\r\n");
        assert_eq!(decoder.finish(), Err(BodyError::Truncated));
    }
}
