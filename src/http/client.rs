//! The client's half of HTTP: writing the request ([`Request`]) and reading the response head
//! ([`ResponseReader`], [`ResponseHead`]).

use core::fmt;
use core::ops::Range;
use core::time::Duration;

use super::body::{BodyFraming, FramingError};
use super::head::{
    Grammar, HeadLimits, HeadStatus, Headers, ScanError, Scanner, Version, parse_version,
};
use super::token::{is_field_byte, is_safe_value, is_token};
use crate::BufferTooSmall;
use crate::ascii::{Overflow, parse_u64, trim_ows};
use crate::buffer::{Emit, Sink, measure, write_exact};

/// An SSE request for the client to send: `GET` by default, with `Accept: text/event-stream` and
/// `Cache-Control: no-cache`, and `Last-Event-ID` when resuming.
///
/// Everything is validated before a byte is written, and the output is all-or-nothing: either it
/// fits in the lent buffer, or [`RequestWriteError::BufferTooSmall`] says how much is needed.
///
/// Custom headers named `Accept` or `Cache-Control` replace the defaults; `Host`,
/// `Content-Length`, `Transfer-Encoding` and `Last-Event-ID` have their own setters and are
/// refused as custom headers.
///
/// # Examples
///
/// ```
/// use sansse::http::Request;
///
/// let mut out = [0u8; 256];
/// let n = Request::get("example.com", "/events")
///     .port(8080)
///     .last_event_id("41")
///     .headers(&[("Authorization", "Bearer t")])
///     .write(&mut out)
///     .unwrap();
/// assert_eq!(
///     &out[..n],
///     b"GET /events HTTP/1.1\r\nHost: example.com:8080\r\nAccept: text/event-stream\r\n\
///       Cache-Control: no-cache\r\nLast-Event-ID: 41\r\nAuthorization: Bearer t\r\n\r\n"
/// );
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Request<'a> {
    method: &'a str,
    host: &'a str,
    port: u16,
    target: &'a str,
    last_event_id: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A `GET` of `target` (path and query, such as `/events?topic=a`) on `host`, port 80.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let request = Request::get("example.com", "/events");
    /// assert_eq!(request.encoded_len(), Ok(95));
    /// ```
    pub const fn get(host: &'a str, target: &'a str) -> Self {
        Self {
            method: "GET",
            host,
            port: 80,
            target,
            last_event_id: "",
            headers: &[],
            body: None,
        }
    }

    /// Sets the method (a token such as `POST` or `REPORT`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let mut out = [0u8; 256];
    /// let n = Request::get("h", "/").method("POST").body(b"{}").write(&mut out).unwrap();
    /// assert!(out[..n].starts_with(b"POST / HTTP/1.1\r\n"));
    /// assert!(out[..n].ends_with(b"Content-Length: 2\r\n\r\n{}"));
    /// ```
    #[must_use]
    pub const fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// Sets the server port; it appears in `Host` unless it is 80, the default for `http`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let mut out = [0u8; 256];
    /// let n = Request::get("::1", "/").port(8080).write(&mut out).unwrap();
    /// assert!(out[..n].starts_with(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n"));
    /// ```
    #[must_use]
    pub const fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the id to resume after; an empty id sends no `Last-Event-ID` header at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let with = Request::get("h", "/").last_event_id("7").encoded_len().unwrap();
    /// let without = Request::get("h", "/").last_event_id("").encoded_len().unwrap();
    /// assert_eq!(with - without, "Last-Event-ID: 7\r\n".len());
    /// ```
    #[must_use]
    pub const fn last_event_id(mut self, id: &'a str) -> Self {
        self.last_event_id = id;
        self
    }

    /// Sets extra headers, written in order after the standard ones.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{Request, RequestWriteError};
    ///
    /// let mut out = [0u8; 256];
    /// let bad = Request::get("h", "/").headers(&[("X-Token", "a\r\nInjected: 1")]);
    /// assert_eq!(bad.write(&mut out), Err(RequestWriteError::InvalidHeaderValue));
    /// ```
    #[must_use]
    pub const fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    /// Sets a body; it is sent with `Content-Length` (even when empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let mut out = [0u8; 256];
    /// let request = Request::get("h", "/").method("POST").body(b"");
    /// let n = request.write(&mut out).unwrap();
    /// assert!(out[..n].ends_with(b"Content-Length: 0\r\n\r\n"));
    /// ```
    #[must_use]
    pub const fn body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// The number of bytes [`Request::write`] produces (head and body).
    ///
    /// # Errors
    ///
    /// The same validation errors as [`Request::write`], never `BufferTooSmall`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let request = Request::get("h", "/").method("POST").body(b"abc");
    /// assert_eq!(request.encoded_len(), Ok(request.head_len().unwrap() + 3));
    /// ```
    pub fn encoded_len(&self) -> Result<usize, RequestWriteError> {
        Ok(self
            .head_len()?
            .saturating_add(self.body.map_or(0, <[u8]>::len)))
    }

    /// The number of bytes [`Request::write_head`] produces.
    ///
    /// # Errors
    ///
    /// The same validation errors as [`Request::write`], never `BufferTooSmall`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// assert_eq!(Request::get("h", "/").head_len(), Ok(79));
    /// ```
    pub fn head_len(&self) -> Result<usize, RequestWriteError> {
        self.validate()?;
        Ok(measure(&Head(self)))
    }

    /// Writes the request head and body into `buf` and returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// A validation error if a field holds characters it may not (nothing is written), or
    /// [`RequestWriteError::BufferTooSmall`] with the size needed (nothing is written).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::BufferTooSmall;
    /// use sansse::http::{Request, RequestWriteError};
    ///
    /// let mut small = [0u8; 16];
    /// let needed = Request::get("h", "/").encoded_len().unwrap();
    /// assert_eq!(
    ///     Request::get("h", "/").write(&mut small),
    ///     Err(RequestWriteError::BufferTooSmall(BufferTooSmall { needed }))
    /// );
    /// ```
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, RequestWriteError> {
        self.validate()?;
        Ok(write_exact(buf, self)?)
    }

    /// Writes only the head, for a caller that sends a large body from elsewhere; the head
    /// still announces the body's `Content-Length`.
    ///
    /// # Errors
    ///
    /// As for [`Request::write`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Request;
    ///
    /// let mut out = [0u8; 256];
    /// let request = Request::get("h", "/").method("POST").body(b"payload");
    /// let n = request.write_head(&mut out).unwrap();
    /// assert!(out[..n].ends_with(b"Content-Length: 7\r\n\r\n"));
    /// ```
    pub fn write_head(&self, buf: &mut [u8]) -> Result<usize, RequestWriteError> {
        self.validate()?;
        Ok(write_exact(buf, &Head(self))?)
    }

    fn validate(&self) -> Result<(), RequestWriteError> {
        if !is_token(self.method.as_bytes()) {
            return Err(RequestWriteError::InvalidMethod);
        }
        let target = self.target.as_bytes();
        if target.is_empty() || !target.iter().all(u8::is_ascii_graphic) {
            return Err(RequestWriteError::InvalidTarget);
        }
        if !is_valid_host(self.host) {
            return Err(RequestWriteError::InvalidHost);
        }
        if !is_safe_value(self.last_event_id) {
            return Err(RequestWriteError::InvalidLastEventId);
        }
        for &(name, value) in self.headers {
            if !is_token(name.as_bytes()) {
                return Err(RequestWriteError::InvalidHeaderName);
            }
            if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(RequestWriteError::ReservedHeader);
            }
            if !is_safe_value(value) {
                return Err(RequestWriteError::InvalidHeaderValue);
            }
        }
        Ok(())
    }

    fn emit_head<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        sink.put(self.method.as_bytes())?;
        sink.put(b" ")?;
        sink.put(self.target.as_bytes())?;
        sink.put(b" HTTP/1.1\r\nHost: ")?;
        // An IPv6 literal needs brackets in Host (RFC 3986 section 3.2.2).
        let bracket = self.host.contains(':') && !self.host.starts_with('[');
        if bracket {
            sink.put(b"[")?;
        }
        sink.put(self.host.as_bytes())?;
        if bracket {
            sink.put(b"]")?;
        }
        if self.port != 80 {
            sink.put(b":")?;
            sink.put_decimal(u64::from(self.port))?;
        }
        sink.put(b"\r\n")?;
        if !self.has_custom("accept") {
            sink.put(b"Accept: text/event-stream\r\n")?;
        }
        if !self.has_custom("cache-control") {
            sink.put(b"Cache-Control: no-cache\r\n")?;
        }
        if !self.last_event_id.is_empty() {
            sink.put(b"Last-Event-ID: ")?;
            sink.put(self.last_event_id.as_bytes())?;
            sink.put(b"\r\n")?;
        }
        for &(name, value) in self.headers {
            sink.put(name.as_bytes())?;
            sink.put(b": ")?;
            sink.put(value.as_bytes())?;
            sink.put(b"\r\n")?;
        }
        if let Some(body) = self.body {
            sink.put(b"Content-Length: ")?;
            sink.put_decimal(body.len() as u64)?;
            sink.put(b"\r\n")?;
        }
        sink.put(b"\r\n")
    }

    fn has_custom(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// The whole request: head, then body.
impl Emit for Request<'_> {
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        self.emit_head(sink)?;
        match self.body {
            Some(body) => sink.put(body),
            None => Ok(()),
        }
    }
}

/// The head of a request alone, for [`Request::write_head`] and [`Request::head_len`].
struct Head<'r, 'a>(&'r Request<'a>);

impl Emit for Head<'_, '_> {
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        self.0.emit_head(sink)
    }
}

/// Why [`Request`] could not be written.
///
/// # Examples
///
/// ```
/// use sansse::http::{Request, RequestWriteError};
///
/// let mut out = [0u8; 256];
/// assert_eq!(
///     Request::get("h", "/ x").write(&mut out),
///     Err(RequestWriteError::InvalidTarget)
/// );
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum RequestWriteError {
    /// The lent buffer is too small; nothing was written. `needed` is what the request takes.
    BufferTooSmall(BufferTooSmall),
    /// The method is not a token.
    InvalidMethod,
    /// The target is empty or holds spaces, controls or non-ASCII bytes.
    InvalidTarget,
    /// The host is empty or holds characters a host name cannot have.
    InvalidHost,
    /// The last event id holds CR, LF, NUL or another control character.
    InvalidLastEventId,
    /// A custom header name is not a token.
    InvalidHeaderName,
    /// A custom header value holds CR, LF, NUL or another control character.
    InvalidHeaderValue,
    /// A custom header would override one the writer controls (`Host`, `Content-Length`,
    /// `Transfer-Encoding`, `Last-Event-ID`).
    ReservedHeader,
}

impl fmt::Display for RequestWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall(e) => e.fmt(f),
            Self::InvalidMethod => f.write_str("invalid method"),
            Self::InvalidTarget => f.write_str("invalid request target"),
            Self::InvalidHost => f.write_str("invalid host"),
            Self::InvalidLastEventId => f.write_str("invalid last event id"),
            Self::InvalidHeaderName => f.write_str("invalid header name"),
            Self::InvalidHeaderValue => f.write_str("invalid header value"),
            Self::ReservedHeader => f.write_str("header is set by the request writer"),
        }
    }
}

impl core::error::Error for RequestWriteError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::BufferTooSmall(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BufferTooSmall> for RequestWriteError {
    fn from(e: BufferTooSmall) -> Self {
        Self::BufferTooSmall(e)
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

/// Headers the request writer owns; setting them by hand would contradict its framing.
const RESERVED: [&str; 4] = [
    "host",
    "content-length",
    "transfer-encoding",
    "last-event-id",
];

/// A host name, IPv4 address or IPv6 literal (bracketed or not), without a port.
fn is_valid_host(host: &str) -> bool {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    !inner.is_empty()
        && inner.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                )
        })
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
    use crate::http::RequestReader;

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
    fn writer_refuses_each_invalid_field() {
        let mut out = [0u8; 256];
        let base = Request::get("h", "/");
        let cases = [
            (base.method("GE T"), RequestWriteError::InvalidMethod),
            (base.method(""), RequestWriteError::InvalidMethod),
            (Request::get("h", ""), RequestWriteError::InvalidTarget),
            (
                Request::get("h", "/\u{e9}"),
                RequestWriteError::InvalidTarget,
            ),
            (Request::get("", "/"), RequestWriteError::InvalidHost),
            (Request::get("a/b", "/"), RequestWriteError::InvalidHost),
            (Request::get("a\r\nb", "/"), RequestWriteError::InvalidHost),
            (
                base.last_event_id("1\n2"),
                RequestWriteError::InvalidLastEventId,
            ),
            (
                base.last_event_id("1\x002"),
                RequestWriteError::InvalidLastEventId,
            ),
            (
                base.headers(&[("X Y", "1")]),
                RequestWriteError::InvalidHeaderName,
            ),
            (
                base.headers(&[("X", "1\x002")]),
                RequestWriteError::InvalidHeaderValue,
            ),
            (
                base.headers(&[("X", "1\r2")]),
                RequestWriteError::InvalidHeaderValue,
            ),
            (
                base.headers(&[("Content-length", "1")]),
                RequestWriteError::ReservedHeader,
            ),
            (
                base.headers(&[("HOST", "x")]),
                RequestWriteError::ReservedHeader,
            ),
        ];
        for (request, error) in cases {
            out.fill(0);
            assert_eq!(request.write(&mut out), Err(error), "{request:?}");
            assert_eq!(request.encoded_len(), Err(error));
            assert!(out.iter().all(|&b| b == 0), "nothing written on error");
        }
    }

    #[test]
    fn writer_default_get_is_byte_exact() {
        let mut out = [0u8; 128];
        let n = Request::get("example.com", "/events")
            .write(&mut out)
            .unwrap();
        assert_eq!(
            &out[..n],
            b"GET /events HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\n\
              Cache-Control: no-cache\r\n\r\n"
        );
    }

    #[test]
    fn custom_accept_replaces_the_default() {
        let mut out = [0u8; 256];
        let request = Request::get("[::1]", "/s").port(80).headers(&[
            ("accept", "text/event-stream, */*"),
            ("Cache-Control", "no-store"),
        ]);
        let n = request.write(&mut out).unwrap();
        assert_eq!(
            &out[..n],
            b"GET /s HTTP/1.1\r\nHost: [::1]\r\naccept: text/event-stream, */*\r\n\
              Cache-Control: no-store\r\n\r\n"
        );
    }

    #[test]
    fn written_requests_read_back() {
        let mut out = [0u8; 256];
        let n = Request::get("h", "/e?x=1")
            .port(8081)
            .last_event_id("caf\u{e9}")
            .write(&mut out)
            .unwrap();
        let mut storage = [0u8; 256];
        let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
        assert_eq!(
            reader.handle_bytes(&out[..n]),
            Ok(HeadStatus::Complete { consumed: n })
        );
        let head = reader.head().unwrap();
        assert_eq!(head.host(), Some("h:8081"));
        assert_eq!(head.query(), Some("x=1"));
        assert_eq!(head.last_event_id(), Some("caf\u{e9}"));
        assert!(head.accepts_event_stream());
    }
}
