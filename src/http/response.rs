//! Responses: the server writes them ([`StreamResponse`], [`ErrorResponse`]), the client reads
//! them ([`ResponseReader`]).

use core::fmt;
use core::ops::Range;
use core::time::Duration;

use super::body::{BodyFraming, FramingError};
use super::head::{
    Grammar, HeadLimits, HeadStatus, Headers, ScanError, Scanner, Version, parse_version,
};
use super::request::{RequestHead, is_safe_value};
use super::{is_field_byte, is_token};
use crate::BufferTooSmall;
use crate::ascii::{Overflow, parse_u64, trim_ows};
use crate::buffer::{Emit, Sink, measure, write_exact};

/// The `200 OK` head that opens an event stream.
///
/// It always sends `Content-Type: text/event-stream`, `Cache-Control: no-cache` and
/// `X-Accel-Buffering: no` (so nginx-style proxies pass events through at once), never a content
/// coding, and frames the body either with `Transfer-Encoding: chunked` (HTTP/1.1; the connection
/// may be kept alive after the last chunk) or by closing the connection (needed for HTTP/1.0).
/// The output is all-or-nothing.
///
/// # Examples
///
/// ```
/// use sansse::http::StreamResponse;
///
/// let mut out = [0u8; 256];
/// let n = StreamResponse::chunked()
///     .headers(&[("Access-Control-Allow-Origin", "*")])
///     .write(&mut out)
///     .unwrap();
/// assert_eq!(
///     &out[..n],
///     b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
///       X-Accel-Buffering: no\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\
///       Access-Control-Allow-Origin: *\r\n\r\n"
/// );
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StreamResponse<'a> {
    chunked: bool,
    keep_alive: bool,
    headers: &'a [(&'a str, &'a str)],
}

impl<'a> StreamResponse<'a> {
    /// A chunked response with `Connection: keep-alive`; for HTTP/1.1 clients.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::StreamResponse;
    ///
    /// assert!(StreamResponse::chunked().is_chunked());
    /// ```
    pub const fn chunked() -> Self {
        Self {
            chunked: true,
            keep_alive: true,
            headers: &[],
        }
    }

    /// A close-delimited response with `Connection: close`: the stream ends when the server
    /// closes the connection. The only framing an HTTP/1.0 client understands.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::StreamResponse;
    ///
    /// let mut out = [0u8; 256];
    /// let n = StreamResponse::close_delimited().write(&mut out).unwrap();
    /// assert!(out[..n].ends_with(b"Connection: close\r\n\r\n"));
    /// ```
    pub const fn close_delimited() -> Self {
        Self {
            chunked: false,
            keep_alive: false,
            headers: &[],
        }
    }

    /// The framing a request calls for: chunked for HTTP/1.1 (with `Connection: close` if the
    /// client asked for it), close-delimited for HTTP/1.0.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, RequestReader, StreamResponse};
    ///
    /// let mut storage = [0u8; 256];
    /// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET /events HTTP/1.0\r\n\r\n");
    /// let response = StreamResponse::for_request(&reader.head().unwrap());
    /// assert_eq!(response, StreamResponse::close_delimited());
    /// ```
    pub fn for_request(request: &RequestHead<'_>) -> Self {
        match request.version() {
            Version::Http10 => Self::close_delimited(),
            Version::Http11 => Self::chunked().keep_alive(!request.wants_close()),
        }
    }

    /// Chooses `Connection: keep-alive` or `close` for a chunked response. A close-delimited
    /// response always closes, so this has no effect on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::StreamResponse;
    ///
    /// let mut out = [0u8; 256];
    /// let n = StreamResponse::chunked().keep_alive(false).write(&mut out).unwrap();
    /// assert!(out[..n].ends_with(b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"));
    /// ```
    #[must_use]
    pub const fn keep_alive(mut self, keep_alive: bool) -> Self {
        self.keep_alive = keep_alive && self.chunked;
        self
    }

    /// Sets extra headers (CORS and the like), written in order after the standard ones.
    /// `Content-Type`, `Content-Length`, `Content-Encoding`, `Transfer-Encoding` and `Connection`
    /// are refused: they would contradict the framing or the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{ResponseWriteError, StreamResponse};
    ///
    /// let mut out = [0u8; 256];
    /// let response = StreamResponse::chunked().headers(&[("Content-Encoding", "gzip")]);
    /// assert_eq!(response.write(&mut out), Err(ResponseWriteError::ReservedHeader));
    /// ```
    #[must_use]
    pub const fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    /// Whether the body must be framed with [`encode_chunk`](super::encode_chunk) and ended
    /// with [`encode_last_chunk`](super::encode_last_chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::StreamResponse;
    ///
    /// assert!(!StreamResponse::close_delimited().is_chunked());
    /// ```
    pub const fn is_chunked(&self) -> bool {
        self.chunked
    }

    /// Whether the head announces `Connection: keep-alive`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::StreamResponse;
    ///
    /// assert!(StreamResponse::chunked().is_keep_alive());
    /// assert!(!StreamResponse::close_delimited().keep_alive(true).is_keep_alive());
    /// ```
    pub const fn is_keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The number of bytes [`StreamResponse::write`] produces.
    ///
    /// # Errors
    ///
    /// The same validation errors as [`StreamResponse::write`], never `BufferTooSmall`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::StreamResponse;
    ///
    /// let mut out = [0u8; 256];
    /// let response = StreamResponse::chunked();
    /// assert_eq!(response.encoded_len(), response.write(&mut out));
    /// ```
    pub fn encoded_len(&self) -> Result<usize, ResponseWriteError> {
        validate_extra(self.headers)?;
        Ok(measure(self))
    }

    /// Writes the head into `buf` and returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// [`ResponseWriteError::BufferTooSmall`] with the size needed, or an invalid or reserved
    /// extra header; nothing is written in either case.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::BufferTooSmall;
    /// use sansse::http::{ResponseWriteError, StreamResponse};
    ///
    /// let mut small = [0u8; 8];
    /// assert!(matches!(
    ///     StreamResponse::chunked().write(&mut small),
    ///     Err(ResponseWriteError::BufferTooSmall(BufferTooSmall { needed: 152 }))
    /// ));
    /// ```
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, ResponseWriteError> {
        validate_extra(self.headers)?;
        Ok(write_exact(buf, self)?)
    }
}

impl Emit for StreamResponse<'_> {
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        sink.put(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
              X-Accel-Buffering: no\r\n",
        )?;
        sink.put(if self.keep_alive {
            b"Connection: keep-alive\r\n"
        } else {
            b"Connection: close\r\n"
        })?;
        if self.chunked {
            sink.put(b"Transfer-Encoding: chunked\r\n")?;
        }
        emit_extra(sink, self.headers)?;
        sink.put(b"\r\n")
    }
}

/// A short error (or `204 No Content`) response that closes the connection.
///
/// Errors carry a small `text/plain` body with `Content-Length`; `204` carries neither, as
/// RFC 9110 section 8.6 forbids `Content-Length` on it. A `204` is how an SSE server tells an
/// EventSource client to stop reconnecting for good.
///
/// # Examples
///
/// ```
/// use sansse::http::ErrorResponse;
///
/// let mut out = [0u8; 256];
/// let n = ErrorResponse::method_not_allowed("GET, POST").write(&mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     b"HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n\
///       Content-Length: 19\r\nAllow: GET, POST\r\nConnection: close\r\n\r\n\
///       method not allowed\n"
/// );
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ErrorResponse<'a> {
    status: u16,
    allow: &'a str,
    retry_after: Option<Duration>,
    headers: &'a [(&'a str, &'a str)],
}

impl<'a> ErrorResponse<'a> {
    const fn status(status: u16) -> Self {
        Self {
            status,
            allow: "",
            retry_after: None,
            headers: &[],
        }
    }

    /// `400 Bad Request`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// assert_eq!(ErrorResponse::bad_request().status_code(), 400);
    /// ```
    pub const fn bad_request() -> Self {
        Self::status(400)
    }

    /// `404 Not Found`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 128];
    /// let n = ErrorResponse::not_found().write(&mut out).unwrap();
    /// assert!(out[..n].ends_with(b"\r\n\r\nnot found\n"));
    /// ```
    pub const fn not_found() -> Self {
        Self::status(404)
    }

    /// `405 Method Not Allowed` with the methods the resource accepts in `Allow`, as RFC 9110
    /// section 15.5.6 requires (a comma-separated list of tokens, such as `"GET"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{ErrorResponse, ResponseWriteError};
    ///
    /// let mut out = [0u8; 256];
    /// let bad = ErrorResponse::method_not_allowed("GET\r\nX: y");
    /// assert_eq!(bad.write(&mut out), Err(ResponseWriteError::InvalidHeaderValue));
    /// ```
    pub const fn method_not_allowed(allow: &'a str) -> Self {
        Self {
            allow,
            ..Self::status(405)
        }
    }

    /// `414 URI Too Long`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// assert_eq!(ErrorResponse::uri_too_long().status_code(), 414);
    /// ```
    pub const fn uri_too_long() -> Self {
        Self::status(414)
    }

    /// `431 Request Header Fields Too Large`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// assert_eq!(ErrorResponse::header_fields_too_large().status_code(), 431);
    /// ```
    pub const fn header_fields_too_large() -> Self {
        Self::status(431)
    }

    /// `503 Service Unavailable`, with `Retry-After` in whole seconds (rounded up) when given.
    ///
    /// # Examples
    ///
    /// ```
    /// use core::time::Duration;
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 256];
    /// let busy = ErrorResponse::service_unavailable(Some(Duration::from_millis(1500)));
    /// let n = busy.write(&mut out).unwrap();
    /// let text = core::str::from_utf8(&out[..n]).unwrap();
    /// assert!(text.contains("\r\nRetry-After: 2\r\n"));
    /// ```
    pub const fn service_unavailable(retry_after: Option<Duration>) -> Self {
        Self {
            retry_after,
            ..Self::status(503)
        }
    }

    /// `505 HTTP Version Not Supported`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// assert_eq!(ErrorResponse::version_not_supported().status_code(), 505);
    /// ```
    pub const fn version_not_supported() -> Self {
        Self::status(505)
    }

    /// `204 No Content`, without body or `Content-Length`: tells an SSE client to stop.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 128];
    /// let n = ErrorResponse::no_content().write(&mut out).unwrap();
    /// assert_eq!(&out[..n], b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    /// ```
    pub const fn no_content() -> Self {
        Self::status(204)
    }

    /// Sets extra headers (for example CORS, which a cross-origin EventSource needs to see even
    /// a `204`). The same names as for [`StreamResponse::headers`] are refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 256];
    /// let cors = [("Access-Control-Allow-Origin", "https://app.example")];
    /// let n = ErrorResponse::no_content().headers(&cors).write(&mut out).unwrap();
    /// assert!(out[..n].ends_with(b"Access-Control-Allow-Origin: https://app.example\r\n\r\n"));
    /// ```
    #[must_use]
    pub const fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    /// The status code this response sends.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// assert_eq!(ErrorResponse::no_content().status_code(), 204);
    /// ```
    pub const fn status_code(&self) -> u16 {
        self.status
    }

    /// The number of bytes [`ErrorResponse::write`] produces.
    ///
    /// # Errors
    ///
    /// The same validation errors as [`ErrorResponse::write`], never `BufferTooSmall`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// assert_eq!(ErrorResponse::no_content().encoded_len(), Ok(46));
    /// ```
    pub fn encoded_len(&self) -> Result<usize, ResponseWriteError> {
        self.validate()?;
        Ok(measure(self))
    }

    /// Writes the response (head and body) into `buf` and returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// [`ResponseWriteError::BufferTooSmall`] with the size needed, an invalid `Allow` list
    /// ([`ResponseWriteError::InvalidHeaderValue`]), or an invalid or reserved extra header;
    /// nothing is written in any of these cases.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 256];
    /// let n = ErrorResponse::bad_request().write(&mut out).unwrap();
    /// assert_eq!(
    ///     &out[..n],
    ///     b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
    ///       Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n"
    /// );
    /// ```
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, ResponseWriteError> {
        self.validate()?;
        Ok(write_exact(buf, self)?)
    }

    fn validate(&self) -> Result<(), ResponseWriteError> {
        if self.status == 405 && !is_method_list(self.allow) {
            return Err(ResponseWriteError::InvalidHeaderValue);
        }
        validate_extra(self.headers)
    }
}

impl Emit for ErrorResponse<'_> {
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        let (reason, body) = texts(self.status);
        sink.put(b"HTTP/1.1 ")?;
        sink.put_decimal(u64::from(self.status))?;
        sink.put(b" ")?;
        sink.put(reason.as_bytes())?;
        sink.put(b"\r\n")?;
        if !body.is_empty() {
            sink.put(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ")?;
            sink.put_decimal(body.len() as u64)?;
            sink.put(b"\r\n")?;
        }
        if self.status == 405 {
            sink.put(b"Allow: ")?;
            sink.put(self.allow.as_bytes())?;
            sink.put(b"\r\n")?;
        }
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            sink.put(b"Retry-After: ")?;
            sink.put_decimal(secs)?;
            sink.put(b"\r\n")?;
        }
        sink.put(b"Connection: close\r\n")?;
        emit_extra(sink, self.headers)?;
        sink.put(b"\r\n")?;
        sink.put(body.as_bytes())
    }
}

/// Why a response could not be written.
///
/// # Examples
///
/// ```
/// use sansse::http::{ResponseWriteError, StreamResponse};
///
/// let mut out = [0u8; 256];
/// let response = StreamResponse::chunked().headers(&[("Bad Name", "x")]);
/// assert_eq!(response.write(&mut out), Err(ResponseWriteError::InvalidHeaderName));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ResponseWriteError {
    /// The lent buffer is too small; nothing was written. `needed` is what the response takes.
    BufferTooSmall(BufferTooSmall),
    /// An extra header name is not a token.
    InvalidHeaderName,
    /// An extra header value (or the `Allow` list) holds CR, LF, NUL or another control
    /// character, or the `Allow` list is not a list of method tokens.
    InvalidHeaderValue,
    /// An extra header would override one the writer controls.
    ReservedHeader,
}

impl From<BufferTooSmall> for ResponseWriteError {
    fn from(e: BufferTooSmall) -> Self {
        Self::BufferTooSmall(e)
    }
}

impl fmt::Display for ResponseWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall(e) => e.fmt(f),
            Self::InvalidHeaderName => f.write_str("invalid header name"),
            Self::InvalidHeaderValue => f.write_str("invalid header value"),
            Self::ReservedHeader => f.write_str("header is set by the response writer"),
        }
    }
}

impl core::error::Error for ResponseWriteError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::BufferTooSmall(e) => Some(e),
            _ => None,
        }
    }
}

/// Incremental, bounded reader of a response head, for the client.
///
/// Works like [`RequestReader`](super::RequestReader): feed bytes with
/// [`ResponseReader::handle_bytes`] until [`HeadStatus::Complete`], then read
/// [`ResponseReader::head`]. Interim `1xx` responses (other than `101`) are read and discarded on
/// the way, as RFC 9110 section 15.2 asks of a client; `consumed` counts their bytes too. Folded
/// header lines (obs-fold) are unfolded into spaces, as RFC 9112 section 5.2 asks of a user agent.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, HeadStatus, ResponseReader};
///
/// let mut storage = [0u8; 512];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\
///               Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n";
/// assert_eq!(reader.handle_bytes(input), Ok(HeadStatus::Complete { consumed: input.len() - 3 }));
/// let head = reader.head().unwrap();
/// assert_eq!(head.status(), 200);
/// assert!(head.is_event_stream());
/// ```
#[derive(Debug)]
pub struct ResponseReader<'buf> {
    buf: &'buf mut [u8],
    limits: HeadLimits,
    scanner: Scanner,
    parts: ResponseParts,
    error: Option<ResponseError>,
}

impl<'buf> ResponseReader<'buf> {
    /// Creates a reader that stores the head in `buf`.
    ///
    /// The effective head limit is the smaller of `limits.max_head()` and `buf.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 1024];
    /// let reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// assert!(reader.head().is_none());
    /// ```
    pub const fn new(buf: &'buf mut [u8], limits: HeadLimits) -> Self {
        Self {
            buf,
            limits,
            scanner: Scanner::new(),
            parts: ResponseParts::new(),
            error: None,
        }
    }

    /// Feeds the next bytes received from the server.
    ///
    /// Returns [`HeadStatus::Partial`] until the final head is complete, then
    /// [`HeadStatus::Complete`] with how many of `bytes` were part of the head (and of any interim
    /// heads before it); `&bytes[consumed..]` starts the body. Later calls return
    /// `Complete { consumed: 0 }`.
    ///
    /// # Errors
    ///
    /// A [`ResponseError`] when the head breaks a limit or the grammar; every later call returns
    /// it again until [`ResponseReader::reset`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseError, ResponseReader};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// assert_eq!(reader.handle_bytes(b"ICY 200 OK\r\n"), Err(ResponseError::InvalidStatusLine));
    /// ```
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<HeadStatus, ResponseError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut pos = 0;
        loop {
            let fed = self
                .scanner
                .feed(self.buf, &self.limits, &mut self.parts, &bytes[pos..]);
            match fed {
                Ok(Some(consumed)) if self.parts.is_interim() => {
                    pos += consumed;
                    self.scanner = Scanner::new();
                    self.parts = ResponseParts::new();
                }
                Ok(Some(consumed)) => {
                    return Ok(HeadStatus::Complete {
                        consumed: pos + consumed,
                    });
                }
                Ok(None) => return Ok(HeadStatus::Partial),
                Err(error) => {
                    self.error = Some(error);
                    return Err(error);
                }
            }
        }
    }

    /// Forgets the current head (or error) to read another response into the same buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 503 Busy\r\n\r\n");
    /// reader.reset();
    /// let _ = reader.handle_bytes(b"HTTP/1.1 204 No Content\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().status(), 204);
    /// ```
    pub fn reset(&mut self) {
        self.scanner = Scanner::new();
        self.parts = ResponseParts::new();
        self.error = None;
    }

    /// The parsed head once complete; `None` before that and after an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 404 Not Found\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().reason(), b"Not Found");
    /// ```
    pub fn head(&self) -> Option<ResponseHead<'_>> {
        if !self.scanner.is_done() || self.error.is_some() {
            return None;
        }
        let buf: &[u8] = self.buf;
        Some(ResponseHead {
            version: self.parts.version,
            status: self.parts.status,
            reason: &buf[self.parts.reason.clone()],
            headers: self.scanner.headers(buf),
        })
    }
}

/// A complete response head, borrowed from a [`ResponseReader`]'s buffer.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::http::{HeadLimits, ResponseReader};
///
/// let mut storage = [0u8; 512];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"HTTP/1.1 503 Busy\r\nRetry-After: 12\r\n\r\n");
/// let head = reader.head().unwrap();
/// assert_eq!(head.status(), 503);
/// assert_eq!(head.retry_after(), Some(Duration::from_secs(12)));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ResponseHead<'a> {
    version: Version,
    status: u16,
    reason: &'a [u8],
    headers: Headers<'a>,
}

impl<'a> ResponseHead<'a> {
    /// The protocol version of the response.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader, Version};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.0 200 OK\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().version(), Version::Http10);
    /// ```
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The status code, from 100 to 599.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 429 Too Many Requests\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().status(), 429);
    /// ```
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, possibly empty; bytes because it may hold opaque non-ASCII octets.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().reason(), b"");
    /// ```
    pub const fn reason(&self) -> &'a [u8] {
        self.reason
    }

    /// All header lines.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().headers().len(), 1);
    /// ```
    pub const fn headers(&self) -> Headers<'a> {
        self.headers
    }

    /// The value of the first header called `name` (case-insensitive).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().header("SERVER"), Some(&b"x"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers.get(name)
    }

    /// The `Content-Type` header as text.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().content_type(), Some("text/html"));
    /// ```
    pub fn content_type(&self) -> Option<&'a str> {
        self.headers.get_str("content-type")
    }

    /// The `Location` header as text.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /v2\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().location(), Some("/v2"));
    /// ```
    pub fn location(&self) -> Option<&'a str> {
        self.headers.get_str("location")
    }

    /// `Retry-After` in its delta-seconds form. The HTTP-date form needs a wall clock, which the
    /// core does not have, so it reads as `None` like an absent or malformed header.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 503 x\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get("retry-after")
            // Saturating: the backoff lowers any delay to its own cap anyway.
            .and_then(|value| parse_u64(value, Overflow::Saturate))
            .map(Duration::from_secs)
    }

    /// The `Transfer-Encoding` header as text (the first line if there are several).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().transfer_encoding(), Some("chunked"));
    /// ```
    pub fn transfer_encoding(&self) -> Option<&'a str> {
        self.headers.get_str("transfer-encoding")
    }

    /// The `Content-Length`, if present and valid: every value (repeated lines or a list) must be
    /// the same number (RFC 9112 section 6.3). Invalid values read as `None`;
    /// [`ResponseHead::framing`] reports them as an error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().content_length(), Some(7));
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.content_length_checked().ok().flatten()
    }

    /// The `Content-Encoding` header as text.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().content_encoding(), Some("gzip"));
    /// ```
    pub fn content_encoding(&self) -> Option<&'a str> {
        self.headers.get_str("content-encoding")
    }

    /// Whether `Content-Type` is `text/event-stream`, ignoring ASCII case and parameters such as
    /// `; charset=utf-8`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\n\r\n");
    /// assert!(reader.head().unwrap().is_event_stream());
    /// ```
    pub fn is_event_stream(&self) -> bool {
        let Some(value) = self.headers.get("content-type") else {
            return false;
        };
        let media = value.split(|&b| b == b';').next().unwrap_or_default();
        trim_ows(media).eq_ignore_ascii_case(b"text/event-stream")
    }

    /// Whether the body has a content coding other than `identity` (such as `gzip`), which this
    /// crate cannot undo.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\n\r\n");
    /// assert!(!reader.head().unwrap().has_content_coding());
    /// ```
    pub fn has_content_coding(&self) -> bool {
        self.headers
            .list("content-encoding")
            .any(|coding| !coding.eq_ignore_ascii_case(b"identity"))
    }

    /// How the body is delimited (RFC 9112 section 6.3); feed it to
    /// [`BodyDecoder::new`](super::BodyDecoder::new).
    ///
    /// # Errors
    ///
    /// [`FramingError`] for a transfer coding other than `chunked`, or an invalid or
    /// contradictory `Content-Length`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{BodyFraming, HeadLimits, ResponseReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().framing(), Ok(BodyFraming::Length(3)));
    /// ```
    pub fn framing(&self) -> Result<BodyFraming, FramingError> {
        // 1xx, 204 and 304 responses never have a body (RFC 9112 section 6.3, rule 1).
        if self.status < 200 || self.status == 204 || self.status == 304 {
            return Ok(BodyFraming::Length(0));
        }
        // Transfer-Encoding overrides Content-Length (rule 3); only plain `chunked` is decoded.
        let mut codings = self.headers.list("transfer-encoding").peekable();
        if codings.peek().is_some() {
            let mut chunked = 0usize;
            for coding in codings {
                if !coding.eq_ignore_ascii_case(b"chunked") {
                    return Err(FramingError::UnsupportedTransferCoding);
                }
                chunked += 1;
            }
            return if chunked == 1 {
                Ok(BodyFraming::Chunked)
            } else {
                Err(FramingError::UnsupportedTransferCoding)
            };
        }
        match self.content_length_checked()? {
            Some(length) => Ok(BodyFraming::Length(length)),
            None => Ok(BodyFraming::Close),
        }
    }

    fn content_length_checked(&self) -> Result<Option<u64>, FramingError> {
        self.headers.content_length()
    }
}

/// Why a response head was refused.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, ResponseError, ResponseReader};
///
/// let mut storage = [0u8; 64];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let error = reader.handle_bytes(&[b'x'; 65]).unwrap_err();
/// assert_eq!(error, ResponseError::StatusLineTooLong);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The status line is longer than the limit.
    StatusLineTooLong,
    /// The head is larger than the limit or the lent buffer.
    HeadTooLarge,
    /// There are more header lines than the limit.
    TooManyHeaders,
    /// The status line is not `HTTP/x.y SP 3DIGIT SP reason`, or the code is outside 100-599.
    InvalidStatusLine,
    /// The version is well-formed but neither HTTP/1.0 nor HTTP/1.1.
    UnsupportedVersion,
    /// A header line is malformed: bad name, space before the colon, or a control character in
    /// the value.
    InvalidHeader,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StatusLineTooLong => "status line too long",
            Self::HeadTooLarge => "response head too large",
            Self::TooManyHeaders => "too many response headers",
            Self::InvalidStatusLine => "invalid status line",
            Self::UnsupportedVersion => "unsupported http version",
            Self::InvalidHeader => "invalid response header",
        })
    }
}

impl core::error::Error for ResponseError {}

/// Reason phrase and body text for the statuses [`ErrorResponse`] can send.
const fn texts(status: u16) -> (&'static str, &'static str) {
    match status {
        204 => ("No Content", ""),
        404 => ("Not Found", "not found\n"),
        405 => ("Method Not Allowed", "method not allowed\n"),
        414 => ("URI Too Long", "uri too long\n"),
        431 => (
            "Request Header Fields Too Large",
            "request header fields too large\n",
        ),
        503 => ("Service Unavailable", "service unavailable\n"),
        505 => ("HTTP Version Not Supported", "http version not supported\n"),
        _ => ("Bad Request", "bad request\n"),
    }
}

/// Headers the response writers own: they decide the framing, coding and type of the body.
const RESERVED: [&str; 5] = [
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
];

fn validate_extra(headers: &[(&str, &str)]) -> Result<(), ResponseWriteError> {
    for &(name, value) in headers {
        if !is_token(name.as_bytes()) {
            return Err(ResponseWriteError::InvalidHeaderName);
        }
        if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            return Err(ResponseWriteError::ReservedHeader);
        }
        if !is_safe_value(value) {
            return Err(ResponseWriteError::InvalidHeaderValue);
        }
    }
    Ok(())
}

fn emit_extra<S: Sink + ?Sized>(sink: &mut S, headers: &[(&str, &str)]) -> Result<(), S::Error> {
    for &(name, value) in headers {
        sink.put(name.as_bytes())?;
        sink.put(b": ")?;
        sink.put(value.as_bytes())?;
        sink.put(b"\r\n")?;
    }
    Ok(())
}

/// A non-empty comma-separated list of method tokens.
fn is_method_list(allow: &str) -> bool {
    let mut any = false;
    for element in allow.split(',') {
        let element = element.trim_matches([' ', '\t']);
        if element.is_empty() {
            continue;
        }
        if !is_token(element.as_bytes()) {
            return false;
        }
        any = true;
    }
    any
}

/// What the response grammar records while the scanner runs.
#[derive(Clone, Debug)]
struct ResponseParts {
    version: Version,
    status: u16,
    reason: Range<usize>,
}

impl ResponseParts {
    const fn new() -> Self {
        Self {
            version: Version::Http11,
            status: 0,
            reason: 0..0,
        }
    }

    /// An interim response the client skips; 101 is final because it switches protocols.
    const fn is_interim(&self) -> bool {
        self.status >= 100 && self.status < 200 && self.status != 101
    }
}

impl Grammar for ResponseParts {
    type Error = ResponseError;
    const UNFOLD: bool = true;

    fn start_line(&mut self, buf: &[u8], line: Range<usize>) -> Result<(), ResponseError> {
        let bytes = &buf[line.clone()];
        let (Some(version), Some(rest)) = (bytes.get(..8), bytes.get(8..)) else {
            return Err(ResponseError::InvalidStatusLine);
        };
        self.version = parse_version(version)
            .map_err(|()| ResponseError::InvalidStatusLine)?
            .ok_or(ResponseError::UnsupportedVersion)?;
        // Status line: version SP 3DIGIT SP reason; a missing SP before an empty reason is
        // tolerated because some servers drop it.
        let (code, reason) = match rest {
            [b' ', a, b, c] => ([*a, *b, *c], &[][..]),
            [b' ', a, b, c, b' ', reason @ ..] => ([*a, *b, *c], reason),
            _ => return Err(ResponseError::InvalidStatusLine),
        };
        if !reason.iter().all(|&b| is_field_byte(b)) {
            return Err(ResponseError::InvalidStatusLine);
        }
        // Three digits cannot overflow; `try_from` keeps the cast honest anyway.
        let status = parse_u64(&code, Overflow::Reject)
            .and_then(|code| u16::try_from(code).ok())
            .filter(|code| (100..=599).contains(code))
            .ok_or(ResponseError::InvalidStatusLine)?;
        self.status = status;
        self.reason = line.end - reason.len()..line.end;
        Ok(())
    }

    fn header(&mut self, _name: &[u8], _value: &[u8]) -> Result<(), ResponseError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ResponseError> {
        Ok(())
    }

    fn scan_error(error: ScanError) -> ResponseError {
        match error {
            ScanError::StartLineTooLong => ResponseError::StatusLineTooLong,
            ScanError::HeadTooLarge => ResponseError::HeadTooLarge,
            ScanError::TooManyHeaders => ResponseError::TooManyHeaders,
            ScanError::InvalidHeader | ScanError::ObsoleteFold => ResponseError::InvalidHeader,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Result<(u16, Result<BodyFraming, FramingError>), ResponseError> {
        let mut storage = [0u8; 512];
        let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
        let _ = reader.handle_bytes(input)?;
        let head = reader.head().ok_or(ResponseError::HeadTooLarge)?;
        Ok((head.status(), head.framing()))
    }

    /// The one `Retry-After` parser: delta-seconds only, OWS dropped by the head reader, a value
    /// past `u64::MAX` saturating (the backoff caps it), anything else absent.
    #[test]
    fn retry_after_reads_delta_seconds_only() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"120", Some(120)),
            (b"007", Some(7)),
            (b" 30 ", Some(30)),
            (b"\t30", Some(30)),
            (b"99999999999999999999999", Some(u64::MAX)),
            (b"", None),
            (b"1.5", None),
            (b"+3", None),
            (b"-3", None),
            (b"3 0", None),
            (b"3s", None),
            (b"Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("\u{0663}".as_bytes(), None), // Arabic-Indic digit three is not ASCII
        ];
        for &(value, want) in cases {
            let mut input = [0u8; 128];
            let head = b"HTTP/1.1 503 x\r\nRetry-After:";
            let mut len = 0;
            for part in [&head[..], value, b"\r\n\r\n"] {
                input[len..len + part.len()].copy_from_slice(part);
                len += part.len();
            }
            let mut storage = [0u8; 512];
            let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
            let _ = reader.handle_bytes(&input[..len]).unwrap();
            let got = reader.head().unwrap().retry_after();
            assert_eq!(got, want.map(Duration::from_secs), "value {value:?}");
        }
    }

    #[test]
    fn status_line_grammar() {
        let cases: &[(&[u8], Result<u16, ResponseError>)] = &[
            (b"HTTP/1.1 200 OK\r\n\r\n", Ok(200)),
            (b"HTTP/1.1 200 \r\n\r\n", Ok(200)),
            (b"HTTP/1.1 200\r\n\r\n", Ok(200)),
            (b"HTTP/1.0 599 x y z\r\n\r\n", Ok(599)),
            (
                b"HTTP/1.1 099 Low\r\n\r\n",
                Err(ResponseError::InvalidStatusLine),
            ),
            (
                b"HTTP/1.1 600 High\r\n\r\n",
                Err(ResponseError::InvalidStatusLine),
            ),
            (
                b"HTTP/1.1 2000 OK\r\n\r\n",
                Err(ResponseError::InvalidStatusLine),
            ),
            (
                b"HTTP/1.1  200 OK\r\n\r\n",
                Err(ResponseError::InvalidStatusLine),
            ),
            (
                b"HTTP/1.1 20x OK\r\n\r\n",
                Err(ResponseError::InvalidStatusLine),
            ),
            (
                b"HTTP/1.1 200 O\x01K\r\n\r\n",
                Err(ResponseError::InvalidStatusLine),
            ),
            (
                b"HTTP/2.0 200 OK\r\n\r\n",
                Err(ResponseError::UnsupportedVersion),
            ),
            (b"HTTP/1.1\r\n\r\n", Err(ResponseError::InvalidStatusLine)),
            (
                b"HTTP/1.1 200 OK\r\nA\r\n\r\n",
                Err(ResponseError::InvalidHeader),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                read(input).map(|r| r.0),
                *expected,
                "{:?}",
                core::str::from_utf8(input)
            );
        }
    }

    #[test]
    fn reason_is_exact() {
        let mut storage = [0u8; 128];
        let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
        let _ = reader.handle_bytes(b"HTTP/1.1 418 I'm a\tteapot \r\n\r\n");
        assert_eq!(reader.head().unwrap().reason(), b"I'm a\tteapot ");
    }

    #[test]
    fn framing_rules() {
        let cases: &[(&[u8], Result<BodyFraming, FramingError>)] = &[
            (b"HTTP/1.1 200 OK\r\n\r\n", Ok(BodyFraming::Close)),
            (b"HTTP/1.1 204 No\r\nContent-Length: 9\r\n\r\n", Ok(BodyFraming::Length(0))),
            (b"HTTP/1.1 304 No\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(BodyFraming::Length(0))),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Length: 4\r\n\r\n", Ok(BodyFraming::Chunked)),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Err(FramingError::UnsupportedTransferCoding)),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Err(FramingError::UnsupportedTransferCoding)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\ncontent-length: 10\r\n\r\n", Ok(BodyFraming::Length(10))),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 10, 11\r\n\r\n", Err(FramingError::InvalidContentLength)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", Err(FramingError::InvalidContentLength)),
            (b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", Err(FramingError::InvalidContentLength)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", Err(FramingError::InvalidContentLength)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", Ok(BodyFraming::Length(u64::MAX))),
        ];
        for (input, expected) in cases {
            assert_eq!(
                read(input).unwrap().1,
                *expected,
                "{:?}",
                core::str::from_utf8(input)
            );
        }
    }

    #[test]
    fn interim_responses_are_skipped_but_101_is_final() {
        let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(read(input).unwrap().0, 204);
        assert_eq!(read(b"HTTP/1.1 101 Switching\r\n\r\n").unwrap().0, 101);

        // Split inside the second head: the first is already forgotten.
        let mut storage = [0u8; 64];
        let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
        assert_eq!(
            reader.handle_bytes(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2"),
            Ok(HeadStatus::Partial)
        );
        assert_eq!(
            reader.handle_bytes(b"00 OK\r\n\r\n"),
            Ok(HeadStatus::Complete { consumed: 9 })
        );
        assert_eq!(reader.head().unwrap().status(), 200);
    }

    #[test]
    fn stream_response_variants_are_byte_exact() {
        let mut out = [0u8; 256];
        let n = StreamResponse::close_delimited().write(&mut out).unwrap();
        assert_eq!(
            &out[..n],
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
              X-Accel-Buffering: no\r\nConnection: close\r\n\r\n"
        );
        let n = StreamResponse::chunked()
            .keep_alive(false)
            .write(&mut out)
            .unwrap();
        assert_eq!(
            &out[..n],
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
              X-Accel-Buffering: no\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn error_responses_are_byte_exact() {
        let mut out = [0u8; 256];
        let cases: &[(ErrorResponse<'_>, &[u8])] = &[
            (ErrorResponse::not_found(), b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n"),
            (ErrorResponse::uri_too_long(), b"HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\nConnection: close\r\n\r\nuri too long\n"),
            (ErrorResponse::header_fields_too_large(), b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 32\r\nConnection: close\r\n\r\nrequest header fields too large\n"),
            (ErrorResponse::service_unavailable(None), b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n\r\nservice unavailable\n"),
            (ErrorResponse::service_unavailable(Some(Duration::from_secs(30))), b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\nRetry-After: 30\r\nConnection: close\r\n\r\nservice unavailable\n"),
            (ErrorResponse::version_not_supported(), b"HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 27\r\nConnection: close\r\n\r\nhttp version not supported\n"),
            (ErrorResponse::no_content().headers(&[("Vary", "Origin")]), b"HTTP/1.1 204 No Content\r\nConnection: close\r\nVary: Origin\r\n\r\n"),
        ];
        for (response, expected) in cases {
            let n = response.write(&mut out).unwrap();
            assert_eq!(&out[..n], *expected);
            assert_eq!(response.encoded_len(), Ok(n));
            let needed = n;
            assert_eq!(
                response.write(&mut out[..needed - 1]),
                Err(ResponseWriteError::BufferTooSmall(BufferTooSmall {
                    needed
                }))
            );
        }
    }

    #[test]
    fn error_responses_read_back_with_their_length() {
        let mut out = [0u8; 256];
        let n = ErrorResponse::method_not_allowed("GET")
            .write(&mut out)
            .unwrap();
        let mut storage = [0u8; 256];
        let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
        let Ok(HeadStatus::Complete { consumed }) = reader.handle_bytes(&out[..n]) else {
            panic!("head not complete");
        };
        let head = reader.head().unwrap();
        assert_eq!(head.status(), 405);
        assert_eq!(head.header("allow"), Some(&b"GET"[..]));
        assert_eq!(
            head.framing(),
            Ok(BodyFraming::Length((n - consumed) as u64))
        );
    }

    #[test]
    fn allow_lists() {
        assert!(is_method_list("GET"));
        assert!(is_method_list("GET, POST ,OPTIONS"));
        assert!(!is_method_list(""));
        assert!(!is_method_list(" , "));
        assert!(!is_method_list("GET POST"));
    }
}
