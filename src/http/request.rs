//! Requests: the server reads them ([`RequestReader`]), the client writes them ([`Request`]).

use core::fmt;
use core::ops::Range;

use super::body::FramingError;
use super::head::{
    Grammar, HeadLimits, HeadStatus, Headers, ScanError, Scanner, Version, parse_version,
};
use super::response::ErrorResponse;
use super::{is_field_byte, is_token};
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

/// Headers the request writer owns; setting them by hand would contradict its framing.
const RESERVED: [&str; 4] = [
    "host",
    "content-length",
    "transfer-encoding",
    "last-event-id",
];

/// A header value the writer may emit: no CR, LF, NUL or other control except tab.
pub(crate) fn is_safe_value(value: &str) -> bool {
    value.bytes().all(is_field_byte)
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
