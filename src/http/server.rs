//! The server's half of HTTP: reading a request head ([`RequestReader`], [`RequestHead`]) and
//! writing the answer ([`StreamResponse`] opens an event stream, [`ErrorResponse`] refuses).

use core::fmt;
use core::ops::Range;
use core::time::Duration;

use super::body::FramingError;
use super::head::{
    Grammar, HeadLimits, HeadStatus, Headers, ScanError, Scanner, Version, parse_version,
};
use super::token::{is_safe_value, is_token};
use crate::BufferTooSmall;
use crate::ascii::trim_ows;
use crate::buffer::{Emit, Sink, measure, write_exact};

/// Incremental, bounded reader of one request head, for the server.
///
/// Bytes are fed as they arrive with [`RequestReader::handle_bytes`]; "need more" is the normal
/// [`HeadStatus::Partial`]. The head is copied into the buffer lent at construction and never
/// grows past it or past [`HeadLimits`]. Each line is judged once, when its line ending arrives,
/// so feeding byte by byte costs the same as feeding everything at once, and the result does not
/// depend on how the input was split.
///
/// Once complete, [`RequestReader::head`] gives a [`RequestHead`] borrowing the buffer; bytes fed
/// after the head are never copied (the returned `consumed` says where the body starts). After an
/// error the reader keeps returning that error until [`RequestReader::reset`].
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, HeadStatus, RequestReader};
///
/// let mut storage = [0u8; 512];
/// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
/// assert_eq!(reader.handle_bytes(b"GET /events?topic=a HTTP/1.1\r\nHo"), Ok(HeadStatus::Partial));
/// let rest = b"st: example.com:8080\r\nAccept: text/event-stream\r\n\r\nleftover";
/// assert_eq!(reader.handle_bytes(rest), Ok(HeadStatus::Complete { consumed: rest.len() - 8 }));
///
/// let head = reader.head().unwrap();
/// assert_eq!(head.method(), "GET");
/// assert_eq!(head.path(), "/events");
/// assert_eq!(head.query(), Some("topic=a"));
/// assert_eq!(head.host(), Some("example.com:8080"));
/// assert_eq!(head.accept(), Some("text/event-stream"));
/// assert_eq!(head.last_event_id(), None);
/// ```
#[derive(Debug)]
pub struct RequestReader<'buf> {
    buf: &'buf mut [u8],
    limits: HeadLimits,
    scanner: Scanner,
    parts: RequestParts,
    error: Option<RequestError>,
}

impl<'buf> RequestReader<'buf> {
    /// Creates a reader that stores the head in `buf`.
    ///
    /// The effective head limit is the smaller of `limits.max_head()` and `buf.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, RequestReader};
    ///
    /// let mut storage = [0u8; 1024];
    /// let reader = RequestReader::new(&mut storage, HeadLimits::new().with_max_headers(16));
    /// assert!(reader.head().is_none());
    /// ```
    pub const fn new(buf: &'buf mut [u8], limits: HeadLimits) -> Self {
        Self {
            buf,
            limits,
            scanner: Scanner::new(),
            parts: RequestParts::new(),
            error: None,
        }
    }

    /// Feeds the next bytes received from the client.
    ///
    /// Returns [`HeadStatus::Partial`] until the empty line that ends the head has been read,
    /// then [`HeadStatus::Complete`] with how many of `bytes` belonged to the head. Once complete,
    /// further calls return `Complete { consumed: 0 }` and copy nothing.
    ///
    /// # Errors
    ///
    /// A [`RequestError`] when the head breaks a limit or the grammar; the error names the status
    /// to answer with ([`RequestError::status_code`]). The same error is returned again by every
    /// later call until [`RequestReader::reset`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, RequestError, RequestReader};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = RequestReader::new(&mut storage, HeadLimits::new().with_max_headers(1));
    /// let result = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n");
    /// assert_eq!(result, Err(RequestError::TooManyHeaders));
    /// assert_eq!(RequestError::TooManyHeaders.status_code(), 431);
    /// ```
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<HeadStatus, RequestError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self
            .scanner
            .feed(self.buf, &self.limits, &mut self.parts, bytes)
        {
            Ok(Some(consumed)) => Ok(HeadStatus::Complete { consumed }),
            Ok(None) => Ok(HeadStatus::Partial),
            Err(error) => {
                self.error = Some(error);
                Err(error)
            }
        }
    }

    /// Forgets the current head (or error) so the next request on a kept-alive connection can be
    /// read into the same buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, RequestReader};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    /// reader.reset();
    /// assert!(reader.head().is_none());
    /// let _ = reader.handle_bytes(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().path(), "/b");
    /// ```
    pub fn reset(&mut self) {
        self.scanner = Scanner::new();
        self.parts = RequestParts::new();
        self.error = None;
    }

    /// The parsed head, once [`RequestReader::handle_bytes`] has returned
    /// [`HeadStatus::Complete`]; `None` before that and after an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, RequestReader, Version};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.0\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().version(), Version::Http10);
    /// ```
    pub fn head(&self) -> Option<RequestHead<'_>> {
        if !self.scanner.is_done() || self.error.is_some() {
            return None;
        }
        let buf: &[u8] = self.buf;
        Some(RequestHead {
            method: ascii(&buf[self.parts.method.clone()]),
            target: ascii(&buf[self.parts.target.clone()]),
            version: self.parts.version,
            headers: self.scanner.headers(buf),
        })
    }
}

/// A complete request head, borrowed from a [`RequestReader`]'s buffer.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, RequestReader};
///
/// let mut storage = [0u8; 512];
/// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"GET /s HTTP/1.1\r\nHost: h\r\nOrigin: https://app\r\n\r\n");
/// let head = reader.head().unwrap();
/// assert_eq!(head.header("origin"), Some(&b"https://app"[..]));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RequestHead<'a> {
    method: &'a str,
    target: &'a str,
    version: Version,
    headers: Headers<'a>,
}

impl<'a> RequestHead<'a> {
    /// The method, case-sensitive as sent (`GET`, `POST`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"POST /ping HTTP/1.1\r\nHost: h\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().method(), "POST");
    /// ```
    pub const fn method(&self) -> &'a str {
        self.method
    }

    /// The request target as sent: usually a path and query, or an absolute URL from a proxy.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET /a/b?c=d HTTP/1.1\r\nHost: h\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().target(), "/a/b?c=d");
    /// ```
    pub const fn target(&self) -> &'a str {
        self.target
    }

    /// The path part of the target, without the query. For an absolute-form target
    /// (`http://host/path`) the scheme and authority are skipped, and an empty path reads as `/`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET http://h:8080?x HTTP/1.1\r\nHost: h\r\n\r\n");
    /// let head = reader.head().unwrap();
    /// assert_eq!(head.path(), "/");
    /// assert_eq!(head.query(), Some("x"));
    /// ```
    pub fn path(&self) -> &'a str {
        let target = origin_part(self.target);
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        if path.is_empty() { "/" } else { path }
    }

    /// The query after the first `?`, if any (possibly empty).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().query(), None);
    /// ```
    pub fn query(&self) -> Option<&'a str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The protocol version of the request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader, Version};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().version(), Version::Http11);
    /// ```
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The `Host` header as text (absent only in HTTP/1.0, where it is optional).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nhost: [::1]:80\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().host(), Some("[::1]:80"));
    /// ```
    pub fn host(&self) -> Option<&'a str> {
        self.headers.get_str("host")
    }

    /// The `Accept` header as text, if present and UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().accept(), Some("*/*"));
    /// ```
    pub fn accept(&self) -> Option<&'a str> {
        self.headers.get_str("accept")
    }

    /// The `Last-Event-ID` header as text, if present and UTF-8 (the EventSource standard sends
    /// the id encoded as UTF-8; [`RequestHead::header`] gives the raw bytes of anything else).
    ///
    /// An empty header reads as `Some("")`, which a server should treat like no id at all.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 42\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().last_event_id(), Some("42"));
    /// ```
    pub fn last_event_id(&self) -> Option<&'a str> {
        self.headers.get_str("last-event-id")
    }

    /// The value of the first header called `name` (case-insensitive).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().header("AUTHORIZATION"), Some(&b"Bearer t"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers.get(name)
    }

    /// The length of the request body from `Content-Length`, read strictly (RFC 9112 section 6.3).
    ///
    /// `Ok(None)` when the header is absent. Every value, over repeated lines and comma lists,
    /// must be the same run of ASCII digits that fits a `u64`; identical repeats (`4, 4`) are
    /// accepted, as RFC 9110 section 8.6 allows. Anything else (`+4`, `-1`, ` `, two different
    /// values, a value past `u64::MAX`) is an error, and RFC 9112 then requires answering `400`
    /// and closing the connection, since the body cannot be delimited. A server that reads bodies
    /// should also refuse `Transfer-Encoding` it does not decode before trusting this length.
    ///
    /// # Errors
    ///
    /// [`FramingError::InvalidContentLength`] for any value above.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{FramingError, HeadLimits, RequestReader};
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().content_length(), Ok(Some(4)));
    ///
    /// let mut storage = [0u8; 512];
    /// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\n");
    /// assert_eq!(
    ///     reader.head().unwrap().content_length(),
    ///     Err(FramingError::InvalidContentLength)
    /// );
    /// ```
    pub fn content_length(&self) -> Result<Option<u64>, FramingError> {
        self.headers.content_length()
    }

    /// All header lines.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().headers().len(), 2);
    /// ```
    pub const fn headers(&self) -> Headers<'a> {
        self.headers
    }

    /// Whether the connection should close after the response: HTTP/1.1 with `Connection:
    /// close`, or HTTP/1.0 without `Connection: keep-alive` (RFC 9112 section 9.3).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n");
    /// assert!(reader.head().unwrap().wants_close());
    /// ```
    pub fn wants_close(&self) -> bool {
        let has = |option: &str| {
            self.headers
                .list("connection")
                .any(|o| o.eq_ignore_ascii_case(option.as_bytes()))
        };
        match self.version {
            Version::Http11 => has("close"),
            Version::Http10 => !has("keep-alive"),
        }
    }

    /// Whether the client accepts `text/event-stream`: no `Accept` header, or one listing
    /// `text/event-stream`, `text/*` or `*/*` without `q=0`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, RequestReader};
    /// # let mut storage = [0u8; 512];
    /// # let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n");
    /// assert!(!reader.head().unwrap().accepts_event_stream());
    /// ```
    pub fn accepts_event_stream(&self) -> bool {
        let mut any = false;
        for range in self.headers.list("accept") {
            any = true;
            let mut parts = range.split(|&b| b == b';').map(trim_ows);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(is_zero_weight);
            let matches = [&b"text/event-stream"[..], b"text/*", b"*/*"]
                .iter()
                .any(|m| media.eq_ignore_ascii_case(m));
            if matches && !refused {
                return true;
            }
        }
        !any
    }
}

/// Why a request head was refused. Each variant maps to the status a server should answer with.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, RequestError, RequestReader};
///
/// let mut storage = [0u8; 64];
/// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
/// let error = reader.handle_bytes(b"GET / HTTP/2.0\r\n").unwrap_err();
/// assert_eq!(error, RequestError::UnsupportedVersion);
/// assert_eq!(error.status_code(), 505);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum RequestError {
    /// The request line is longer than the limit (414 URI Too Long).
    RequestLineTooLong,
    /// The head is larger than the limit or the lent buffer (431).
    HeadTooLarge,
    /// There are more header lines than the limit (431).
    TooManyHeaders,
    /// The request line is not `method SP target SP version` (400).
    InvalidRequestLine,
    /// The version is well-formed but neither HTTP/1.0 nor HTTP/1.1 (505).
    UnsupportedVersion,
    /// A header line is malformed: bad name, space before the colon, or a control character
    /// in the value (400).
    InvalidHeader,
    /// A header line starts with whitespace (obsolete line folding, RFC 9112 section 5.2) (400).
    ObsoleteLineFolding,
    /// An HTTP/1.1 request without `Host` (RFC 9112 section 3.2) (400).
    MissingHost,
    /// More than one `Host` header line (RFC 9112 section 3.2) (400).
    DuplicateHost,
}

impl RequestError {
    /// The status code to answer with.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::RequestError;
    ///
    /// assert_eq!(RequestError::RequestLineTooLong.status_code(), 414);
    /// assert_eq!(RequestError::HeadTooLarge.status_code(), 431);
    /// assert_eq!(RequestError::MissingHost.status_code(), 400);
    /// ```
    pub const fn status_code(&self) -> u16 {
        match self {
            Self::RequestLineTooLong => 414,
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::UnsupportedVersion => 505,
            Self::InvalidRequestLine
            | Self::InvalidHeader
            | Self::ObsoleteLineFolding
            | Self::MissingHost
            | Self::DuplicateHost => 400,
        }
    }

    /// The error response to send before closing the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::RequestError;
    ///
    /// let mut out = [0u8; 256];
    /// let n = RequestError::TooManyHeaders.response().write(&mut out).unwrap();
    /// assert!(out[..n].starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    /// ```
    pub const fn response(&self) -> ErrorResponse<'static> {
        match self.status_code() {
            414 => ErrorResponse::uri_too_long(),
            431 => ErrorResponse::header_fields_too_large(),
            505 => ErrorResponse::version_not_supported(),
            _ => ErrorResponse::bad_request(),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RequestLineTooLong => "request line too long",
            Self::HeadTooLarge => "request head too large",
            Self::TooManyHeaders => "too many request headers",
            Self::InvalidRequestLine => "invalid request line",
            Self::UnsupportedVersion => "unsupported http version",
            Self::InvalidHeader => "invalid request header",
            Self::ObsoleteLineFolding => "obsolete line folding in request header",
            Self::MissingHost => "missing host header",
            Self::DuplicateHost => "duplicate host header",
        })
    }
}

impl core::error::Error for RequestError {}

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

    /// `401 Unauthorized`, with `WWW-Authenticate: Bearer`: the request carried no credentials
    /// for what it asked (RFC 9110 section 15.5.2 requires the challenge header). Extra headers
    /// set with [`ErrorResponse::headers`] replace the challenge, so a custom one can be given.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 160];
    /// let n = ErrorResponse::unauthorized().write(&mut out).unwrap();
    /// let text = core::str::from_utf8(&out[..n]).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    /// assert!(text.contains("WWW-Authenticate: Bearer\r\n"));
    /// ```
    pub const fn unauthorized() -> Self {
        Self::status(401).headers(&[("WWW-Authenticate", "Bearer")])
    }

    /// `403 Forbidden`: the request's credentials do not allow what it asked.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::ErrorResponse;
    ///
    /// let mut out = [0u8; 128];
    /// let n = ErrorResponse::forbidden().write(&mut out).unwrap();
    /// assert!(out[..n].starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
    /// ```
    pub const fn forbidden() -> Self {
        Self::status(403)
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

/// Whether an Accept parameter is a weight of zero (`q=0`, `q=0.0`, `q=0.000`).
fn is_zero_weight(param: &[u8]) -> bool {
    let Some(rest) = param
        .strip_prefix(b"q=")
        .or_else(|| param.strip_prefix(b"Q="))
    else {
        return false;
    };
    match rest {
        [b'0'] => true,
        [b'0', b'.', zeros @ ..] => zeros.iter().all(|&b| b == b'0'),
        _ => false,
    }
}

/// What the request grammar records while the scanner runs.
#[derive(Clone, Debug)]
struct RequestParts {
    method: Range<usize>,
    target: Range<usize>,
    version: Version,
    hosts: u8,
}

impl RequestParts {
    const fn new() -> Self {
        Self {
            method: 0..0,
            target: 0..0,
            version: Version::Http11,
            hosts: 0,
        }
    }
}

impl Grammar for RequestParts {
    type Error = RequestError;
    const UNFOLD: bool = false;

    fn start_line(&mut self, buf: &[u8], line: Range<usize>) -> Result<(), RequestError> {
        let bytes = &buf[line.clone()];
        let mut words = bytes.splitn(3, |&b| b == b' ');
        let (Some(method), Some(target), Some(version)) =
            (words.next(), words.next(), words.next())
        else {
            return Err(RequestError::InvalidRequestLine);
        };
        if !is_token(method) || target.is_empty() || !target.iter().all(|b| b.is_ascii_graphic()) {
            return Err(RequestError::InvalidRequestLine);
        }
        self.version = parse_version(version)
            .map_err(|()| RequestError::InvalidRequestLine)?
            .ok_or(RequestError::UnsupportedVersion)?;
        let target_start = line.start + method.len() + 1;
        self.method = line.start..line.start + method.len();
        self.target = target_start..target_start + target.len();
        Ok(())
    }

    fn header(&mut self, name: &[u8], _value: &[u8]) -> Result<(), RequestError> {
        if name.eq_ignore_ascii_case(b"host") {
            self.hosts = self.hosts.saturating_add(1);
            if self.hosts > 1 {
                return Err(RequestError::DuplicateHost);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), RequestError> {
        if self.version == Version::Http11 && self.hosts == 0 {
            return Err(RequestError::MissingHost);
        }
        Ok(())
    }

    fn scan_error(error: ScanError) -> RequestError {
        match error {
            ScanError::StartLineTooLong => RequestError::RequestLineTooLong,
            ScanError::HeadTooLarge => RequestError::HeadTooLarge,
            ScanError::TooManyHeaders => RequestError::TooManyHeaders,
            ScanError::InvalidHeader => RequestError::InvalidHeader,
            ScanError::ObsoleteFold => RequestError::ObsoleteLineFolding,
        }
    }
}

/// Text of bytes the grammar already proved to be ASCII.
fn ascii(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or_default()
}

/// The origin-form part of a target: an absolute-form `scheme://authority` prefix is dropped.
fn origin_part(target: &str) -> &str {
    let Some((scheme, rest)) = target.split_once("://") else {
        return target;
    };
    if scheme.is_empty() || scheme.contains(['/', '?']) {
        return target;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    &rest[end..]
}

/// Reason phrase and body text for the statuses [`ErrorResponse`] can send.
const fn texts(status: u16) -> (&'static str, &'static str) {
    match status {
        204 => ("No Content", ""),
        401 => ("Unauthorized", "unauthorized\n"),
        403 => ("Forbidden", "forbidden\n"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{BodyFraming, ResponseReader};

    fn read(input: &[u8]) -> Result<(usize, [u8; 512]), RequestError> {
        let mut storage = [0u8; 512];
        let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
        match reader.handle_bytes(input)? {
            HeadStatus::Complete { consumed } => Ok((consumed, storage)),
            HeadStatus::Partial => Err(RequestError::InvalidRequestLine),
        }
    }

    #[test]
    fn request_line_grammar() {
        let cases: &[(&[u8], Option<RequestError>)] = &[
            (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", None),
            (b"GET / HTTP/1.0\r\n\r\n", None),
            (
                b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
                Some(RequestError::InvalidRequestLine),
            ),
            (
                b"GET /\tx HTTP/1.1\r\nHost: h\r\n\r\n",
                Some(RequestError::InvalidRequestLine),
            ),
            (
                b"G(T / HTTP/1.1\r\n",
                Some(RequestError::InvalidRequestLine),
            ),
            (b"GET /\r\n", Some(RequestError::InvalidRequestLine)),
            (
                b"GET / HTTP/1.1 \r\n",
                Some(RequestError::InvalidRequestLine),
            ),
            (
                b"GET / HTTP/3.0\r\n",
                Some(RequestError::UnsupportedVersion),
            ),
            (
                b"GET /caf\xc3\xa9 HTTP/1.1\r\n",
                Some(RequestError::InvalidRequestLine),
            ),
            (b"GET / HTTP/1.1\r\n\r\n", Some(RequestError::MissingHost)),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
                Some(RequestError::DuplicateHost),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n x\r\n\r\n",
                Some(RequestError::ObsoleteLineFolding),
            ),
            (
                b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
                Some(RequestError::InvalidHeader),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                read(input).err(),
                *expected,
                "{:?}",
                core::str::from_utf8(input)
            );
        }
    }

    #[test]
    fn error_is_sticky_until_reset() {
        let mut storage = [0u8; 64];
        let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
        assert_eq!(
            reader.handle_bytes(b"BAD\r\n"),
            Err(RequestError::InvalidRequestLine)
        );
        assert_eq!(
            reader.handle_bytes(b"GET / HTTP/1.0\r\n\r\n"),
            Err(RequestError::InvalidRequestLine)
        );
        assert!(reader.head().is_none());
        reader.reset();
        assert_eq!(
            reader.handle_bytes(b"GET / HTTP/1.0\r\n\r\n"),
            Ok(HeadStatus::Complete { consumed: 18 })
        );
    }

    #[test]
    fn feeding_after_completion_copies_nothing() {
        let mut storage = [0u8; 64];
        let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
        assert_eq!(
            reader.handle_bytes(b"GET / HTTP/1.0\n\nbody"),
            Ok(HeadStatus::Complete { consumed: 16 })
        );
        assert_eq!(
            reader.handle_bytes(b"more"),
            Ok(HeadStatus::Complete { consumed: 0 })
        );
        assert_eq!(reader.head().unwrap().headers().len(), 0);
    }

    #[test]
    fn absolute_form_targets_expose_their_path() {
        assert_eq!(origin_part("http://h:1/a?b"), "/a?b");
        assert_eq!(origin_part("http://h"), "");
        assert_eq!(origin_part("/x://y"), "/x://y");
        assert_eq!(origin_part("*"), "*");
    }

    #[test]
    fn connection_close_rules() {
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", false),
            (
                b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n",
                true,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false),
        ];
        for (input, close) in cases {
            let mut storage = [0u8; 256];
            let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
            let _ = reader.handle_bytes(input);
            assert_eq!(reader.head().unwrap().wants_close(), *close);
        }
    }

    #[test]
    fn accept_negotiation() {
        let cases: &[(&[u8], bool)] = &[
            (b"", true),
            (b"Accept: text/event-stream\r\n", true),
            (b"Accept: text/html, */*;q=0.8\r\n", true),
            (b"Accept: text/html\r\n", false),
            (b"Accept: text/event-stream;q=0\r\n", false),
            (
                b"Accept: TEXT/*; q=0.000\r\nAccept: text/Event-Stream\r\n",
                true,
            ),
        ];
        for (headers, accepted) in cases {
            let mut storage = [0u8; 256];
            let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
            let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: h\r\n");
            let _ = reader.handle_bytes(headers);
            let _ = reader.handle_bytes(b"\r\n");
            assert_eq!(reader.head().unwrap().accepts_event_stream(), *accepted);
        }
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
