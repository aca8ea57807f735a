//! The incremental message-head scanner shared by the request and response readers.
//!
//! The scanner copies bytes into the lent buffer one line at a time and judges each line as soon
//! as its LF arrives, so every byte is looked at a bounded number of times however the input is
//! split, and a bad start line is refused before the rest of the head is even sent.
//!
//! States: `StartLine` (empty lines before the start line are skipped, RFC 9112 section 2.2),
//! then `Headers` (one field line per line, obs-fold handled by the grammar), then `Done` at the
//! first empty line. Limits are checked at the byte that crosses them, and line contents at the
//! LF, so the outcome never depends on how the input was chunked.
//!
//! Line endings: CRLF, or a bare LF (RFC 9112 section 2.2 allows recognising it); a CR anywhere
//! else is a control character and fails the line's validation.

use core::fmt;
use core::ops::Range;

use super::body::FramingError;
use super::token::{is_field_byte, is_token, list_elements};
use crate::ascii::{Overflow, parse_u64, trim_ows};

/// Size limits for a message head, shared by [`RequestReader`](super::RequestReader) and
/// [`ResponseReader`](super::ResponseReader).
///
/// The effective head limit is the smaller of [`HeadLimits::max_head`] and the length of the
/// buffer lent to the reader. Built with `const fn`s so it can live in a `static`.
///
/// # Examples
///
/// ```
/// use sansse::http::HeadLimits;
///
/// static LIMITS: HeadLimits = HeadLimits::new().with_max_headers(16).with_max_head(2048);
/// assert_eq!(LIMITS.max_headers(), 16);
/// assert_eq!(LIMITS.max_start_line(), HeadLimits::DEFAULT.max_start_line());
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct HeadLimits {
    max_start_line: usize,
    max_headers: usize,
    max_head: usize,
}

impl HeadLimits {
    /// 2 KiB start line, 32 header lines, 8 KiB head.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::DEFAULT.max_head(), 8192);
    /// ```
    pub const DEFAULT: Self = Self {
        max_start_line: 2048,
        max_headers: 32,
        max_head: 8192,
    };

    /// Returns [`HeadLimits::DEFAULT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::new(), HeadLimits::DEFAULT);
    /// ```
    pub const fn new() -> Self {
        Self::DEFAULT
    }

    /// Sets the longest request or status line accepted, in bytes without the line ending.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::new().with_max_start_line(256).max_start_line(), 256);
    /// ```
    #[must_use]
    pub const fn with_max_start_line(mut self, bytes: usize) -> Self {
        self.max_start_line = bytes;
        self
    }

    /// Sets the most header lines accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::new().with_max_headers(8).max_headers(), 8);
    /// ```
    #[must_use]
    pub const fn with_max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Sets the largest head accepted, in bytes including every line ending and the empty line.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::new().with_max_head(1024).max_head(), 1024);
    /// ```
    #[must_use]
    pub const fn with_max_head(mut self, bytes: usize) -> Self {
        self.max_head = bytes;
        self
    }

    /// The longest start line accepted, in bytes without the line ending.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::DEFAULT.max_start_line(), 2048);
    /// ```
    pub const fn max_start_line(&self) -> usize {
        self.max_start_line
    }

    /// The most header lines accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::DEFAULT.max_headers(), 32);
    /// ```
    pub const fn max_headers(&self) -> usize {
        self.max_headers
    }

    /// The largest head accepted, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::HeadLimits;
    ///
    /// assert_eq!(HeadLimits::DEFAULT.max_head(), 8192);
    /// ```
    pub const fn max_head(&self) -> usize {
        self.max_head
    }
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Progress of a head reader after it was handed bytes.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, HeadStatus, ResponseReader};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// assert_eq!(reader.handle_bytes(b"HTTP/1.1 204 No Content\r\n"), Ok(HeadStatus::Partial));
/// assert_eq!(reader.handle_bytes(b"\r\nextra"), Ok(HeadStatus::Complete { consumed: 2 }));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[must_use]
pub enum HeadStatus {
    /// The head is not complete yet: feed more bytes. This is a normal state, not an error.
    Partial,
    /// The head is complete. `consumed` bytes of the latest input belonged to it; the rest of
    /// that input (`&input[consumed..]`) is the start of the body and was not copied.
    Complete {
        /// Bytes of the latest input that were part of the head.
        consumed: usize,
    },
}

/// An HTTP/1.x protocol version this crate speaks.
///
/// # Examples
///
/// ```
/// use sansse::http::Version;
///
/// assert_eq!(Version::Http11.as_str(), "HTTP/1.1");
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Version {
    /// HTTP/1.0: no chunked transfer coding, connections close by default.
    Http10,
    /// HTTP/1.1.
    Http11,
}

impl Version {
    /// The version as it appears on the wire.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Version;
    ///
    /// assert_eq!(Version::Http10.as_str(), "HTTP/1.0");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header lines of a parsed head, borrowed from the reader's buffer.
///
/// Names match case-insensitively. Values are bytes because HTTP allows opaque non-ASCII octets;
/// [`Headers::get_str`] gives the value as text when it is UTF-8.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, RequestReader};
///
/// let mut storage = [0u8; 256];
/// let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"GET / HTTP/1.1\r\nHost: a\r\nX-Tag: one\r\nx-tag: two\r\n\r\n");
/// let headers = reader.head().unwrap().headers();
/// assert_eq!(headers.get("X-TAG"), Some(&b"one"[..]));
/// assert_eq!(headers.len(), 3);
/// let tags: Vec<&[u8]> = headers.iter().filter(|h| h.is("x-tag")).map(|h| h.value).collect();
/// assert_eq!(tags, [&b"one"[..], &b"two"[..]]);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Eq, PartialEq)]
pub struct Headers<'a> {
    /// Validated field lines, each ending in LF (possibly preceded by CR).
    block: &'a [u8],
}

impl<'a> Headers<'a> {
    pub(crate) const fn new(block: &'a [u8]) -> Self {
        Self { block }
    }

    /// The value of the first header called `name` (case-insensitive), trimmed.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 256];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nServer:  demo \r\n\r\n");
    /// assert_eq!(reader.head().unwrap().headers().get("server"), Some(&b"demo"[..]));
    /// ```
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.iter().find(|h| h.is(name)).map(|h| h.value)
    }

    /// The value of the first header called `name` as text; `None` if absent or not UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 256];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nX-Raw: \xff\r\nX-Text: ok\r\n\r\n");
    /// let headers = reader.head().unwrap().headers();
    /// assert_eq!(headers.get_str("x-text"), Some("ok"));
    /// assert_eq!(headers.get_str("x-raw"), None);
    /// ```
    pub fn get_str(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Iterates the header lines in order, duplicates included.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 256];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n");
    /// let names: Vec<&str> = reader.head().unwrap().headers().iter().map(|h| h.name).collect();
    /// assert_eq!(names, ["A", "B"]);
    /// ```
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter { rest: self.block }
    }

    /// The number of header lines.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 256];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
    /// assert_eq!(reader.head().unwrap().headers().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are no header lines.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{HeadLimits, ResponseReader};
    ///
    /// let mut storage = [0u8; 256];
    /// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.0 200 OK\r\n\r\n");
    /// assert!(reader.head().unwrap().headers().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.block.is_empty()
    }

    /// Iterates the trimmed comma-separated elements of every header called `name`.
    pub(crate) fn list(&self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.iter()
            .filter(move |h| h.is(name))
            .flat_map(|h| list_elements(h.value))
    }

    /// The `Content-Length` of either kind of message (RFC 9112 section 6.3): absent is `None`;
    /// every value, over repeated lines and comma lists, must be the same `1*DIGIT` that fits a
    /// `u64`. Identical repeats are accepted as RFC 9110 section 8.6 allows; `+4`, `-1`, empty,
    /// differing values or a value past `u64::MAX` are errors, never clamped: a length that framing
    /// trusts must be exactly what the peer sent.
    pub(crate) fn content_length(&self) -> Result<Option<u64>, FramingError> {
        let mut found: Option<u64> = None;
        for element in self.list("content-length") {
            let Some(value) = parse_u64(element, Overflow::Reject) else {
                return Err(FramingError::InvalidContentLength);
            };
            if found.is_some_and(|f| f != value) {
                return Err(FramingError::InvalidContentLength);
            }
            found = Some(value);
        }
        // A header present with an empty value is as wrong as a non-number.
        if found.is_none() && self.get("content-length").is_some() {
            return Err(FramingError::InvalidContentLength);
        }
        Ok(found)
    }
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// One header line: its name as sent and its value with surrounding whitespace removed.
///
/// # Examples
///
/// ```
/// use sansse::http::Header;
///
/// let h = Header { name: "Content-Type", value: b"text/event-stream" };
/// assert!(h.is("content-type"));
/// assert_eq!(h.value_str(), Some("text/event-stream"));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Eq, Hash, PartialEq)]
pub struct Header<'a> {
    /// The field name as it was sent (a token, so always ASCII).
    pub name: &'a str,
    /// The field value without leading or trailing spaces and tabs.
    pub value: &'a [u8],
}

impl<'a> Header<'a> {
    /// Whether this header is called `name`, ignoring ASCII case.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Header;
    ///
    /// assert!(Header { name: "Last-Event-ID", value: b"7" }.is("last-event-id"));
    /// ```
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value as text, or `None` if it is not UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Header;
    ///
    /// assert_eq!(Header { name: "X", value: b"\xff" }.value_str(), None);
    /// ```
    pub fn value_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.value).ok()
    }
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Header");
        d.field("name", &self.name);
        match self.value_str() {
            Some(text) => d.field("value", &text),
            None => d.field("value", &self.value),
        };
        d.finish()
    }
}

/// Iterator over the [`Header`]s of a head; see [`Headers::iter`].
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, ResponseReader};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
/// let mut iter = reader.head().unwrap().headers().iter();
/// assert_eq!(iter.next().map(|h| h.name), Some("A"));
/// assert!(iter.next().is_none());
/// ```
#[derive(Clone, Debug)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        // The block was validated line by line, so every line has a colon and a token name.
        let end = memchr::memchr(b'\n', self.rest)?;
        let (line, rest) = self.rest.split_at(end);
        self.rest = &rest[1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = memchr::memchr(b':', line).unwrap_or(line.len());
        let name = core::str::from_utf8(&line[..colon]).unwrap_or_default();
        let value = trim_ows(line.get(colon + 1..).unwrap_or_default());
        Some(Header { name, value })
    }
}

/// Why the scanner stopped; the readers map these onto their own error enums.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum ScanError {
    StartLineTooLong,
    HeadTooLarge,
    TooManyHeaders,
    InvalidHeader,
    ObsoleteFold,
}

/// What a reader adds to the shared scanner: the start line and head-wide rules.
pub(crate) trait Grammar {
    type Error;

    /// Whether obs-fold continuation lines are unfolded (responses) or refused (requests).
    const UNFOLD: bool;

    /// Validates the start line at `line` (line ending excluded) in `buf` and records it.
    fn start_line(&mut self, buf: &[u8], line: Range<usize>) -> Result<(), Self::Error>;

    /// Sees one validated header line.
    fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), Self::Error>;

    /// Checks the complete head.
    fn finish(&mut self) -> Result<(), Self::Error>;

    /// Maps a scanner failure onto the reader's error type.
    fn scan_error(error: ScanError) -> Self::Error;
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Phase {
    StartLine,
    Headers,
    Done,
}

/// Line-at-a-time head scanner over a lent buffer.
#[derive(Clone, Debug)]
pub(crate) struct Scanner {
    /// Bytes of the head stored so far.
    filled: usize,
    /// Start of the line being received.
    line_start: usize,
    /// Start of the first header line.
    headers_start: usize,
    /// End of the last header line (start of the empty line) once done.
    headers_end: usize,
    header_count: usize,
    phase: Phase,
}

impl Scanner {
    pub(crate) const fn new() -> Self {
        Self {
            filled: 0,
            line_start: 0,
            headers_start: 0,
            headers_end: 0,
            header_count: 0,
            phase: Phase::StartLine,
        }
    }

    pub(crate) const fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The header block once the head is complete.
    pub(crate) fn headers<'a>(&self, buf: &'a [u8]) -> Headers<'a> {
        Headers::new(&buf[self.headers_start..self.headers_end])
    }

    /// Copies head bytes from `input` into `buf` and judges every completed line.
    ///
    /// Returns `Some(consumed)` once the empty line ending the head has been stored; bytes after
    /// it are not copied.
    pub(crate) fn feed<G: Grammar>(
        &mut self,
        buf: &mut [u8],
        limits: &HeadLimits,
        grammar: &mut G,
        input: &[u8],
    ) -> Result<Option<usize>, G::Error> {
        if self.is_done() {
            return Ok(Some(0));
        }
        let cap = limits.max_head.min(buf.len());
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            let (take, complete) = match memchr::memchr(b'\n', rest) {
                Some(i) => (i + 1, true),
                None => (rest.len(), false),
            };
            let end = self.filled + take;
            if end > cap {
                return Err(G::scan_error(self.overflow_error()));
            }
            buf[self.filled..end].copy_from_slice(&rest[..take]);
            self.filled = end;
            pos += take;
            if self.phase == Phase::StartLine {
                self.check_start_line_length(buf, limits, complete)
                    .map_err(G::scan_error)?;
            }
            if complete {
                let line = self.line_start..self.filled - 1;
                self.line_start = self.filled;
                self.on_line(buf, limits, grammar, line)?;
                if self.is_done() {
                    return Ok(Some(pos));
                }
            }
        }
        Ok(None)
    }

    fn overflow_error(&self) -> ScanError {
        match self.phase {
            Phase::StartLine => ScanError::StartLineTooLong,
            Phase::Headers | Phase::Done => ScanError::HeadTooLarge,
        }
    }

    /// Refuses a start line as soon as it provably exceeds the limit.
    ///
    /// While the line is incomplete one byte of slack is kept for a CR that may be the first half
    /// of the line ending; once complete, the exact length without the ending is compared. Both
    /// trigger at the same input byte whatever the chunking.
    fn check_start_line_length(
        &self,
        buf: &[u8],
        limits: &HeadLimits,
        complete: bool,
    ) -> Result<(), ScanError> {
        let line = &buf[self.line_start..self.filled];
        let content = if complete {
            let line = &line[..line.len() - 1];
            line.strip_suffix(b"\r").unwrap_or(line)
        } else {
            line.strip_suffix(b"\r").unwrap_or(line)
        };
        if content.len() > limits.max_start_line {
            return Err(ScanError::StartLineTooLong);
        }
        Ok(())
    }

    fn on_line<G: Grammar>(
        &mut self,
        buf: &mut [u8],
        limits: &HeadLimits,
        grammar: &mut G,
        line: Range<usize>,
    ) -> Result<(), G::Error> {
        let content_end = if line.end > line.start && buf[line.end - 1] == b'\r' {
            line.end - 1
        } else {
            line.end
        };
        let content = line.start..content_end;
        match self.phase {
            Phase::StartLine if content.is_empty() => Ok(()),
            Phase::StartLine => {
                grammar.start_line(buf, content)?;
                self.phase = Phase::Headers;
                self.headers_start = self.line_start;
                Ok(())
            }
            Phase::Headers if content.is_empty() => {
                self.headers_end = line.start;
                grammar.finish()?;
                self.phase = Phase::Done;
                Ok(())
            }
            Phase::Headers if matches!(buf[content.start], b' ' | b'\t') => {
                self.unfold::<G>(buf, line, content)
            }
            Phase::Headers => {
                self.header_count += 1;
                if self.header_count > limits.max_headers {
                    return Err(G::scan_error(ScanError::TooManyHeaders));
                }
                let bytes = &buf[content];
                let Some((name, value)) = split_field_line(bytes) else {
                    return Err(G::scan_error(ScanError::InvalidHeader));
                };
                grammar.header(name, value)
            }
            Phase::Done => Ok(()),
        }
    }

    /// Handles an obs-fold continuation line (RFC 9112 section 5.2).
    ///
    /// Responses must be unfolded by a user agent: the previous line ending is overwritten with
    /// spaces in the buffer, which keeps the header block line-based for [`HeaderIter`]. Requests
    /// are refused, which the same section allows a server to do.
    fn unfold<G: Grammar>(
        &mut self,
        buf: &mut [u8],
        line: Range<usize>,
        content: Range<usize>,
    ) -> Result<(), G::Error> {
        if !G::UNFOLD {
            return Err(G::scan_error(ScanError::ObsoleteFold));
        }
        if self.header_count == 0 || !buf[content].iter().all(|&b| is_field_byte(b)) {
            return Err(G::scan_error(ScanError::InvalidHeader));
        }
        // The previous line ends with LF at `line.start - 1`, perhaps preceded by CR.
        let lf = line.start - 1;
        buf[lf] = b' ';
        if lf > self.headers_start && buf[lf - 1] == b'\r' {
            buf[lf - 1] = b' ';
        }
        Ok(())
    }
}

/// Splits a field line into name and trimmed value, or `None` if it is malformed.
///
/// The name must be a token directly followed by the colon: whitespace before the colon is
/// refused (RFC 9112 section 5.1) because proxies disagree on what it means.
fn split_field_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', line)?;
    let name = &line[..colon];
    let value = trim_ows(&line[colon + 1..]);
    (is_token(name) && value.iter().all(|&b| is_field_byte(b))).then_some((name, value))
}

/// Parses `HTTP/<digit>.<digit>`: `Ok(Some(version))` for 1.0 and 1.1, `Ok(None)` for any other
/// well-formed version, `Err(())` for something that is not a version at all.
pub(crate) fn parse_version(bytes: &[u8]) -> Result<Option<Version>, ()> {
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = *bytes else {
        return Err(());
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(());
    }
    Ok(match (major, minor) {
        (b'1', b'0') => Some(Version::Http10),
        (b'1', b'1') => Some(Version::Http11),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grammar that accepts any start line and records header names.
    #[derive(Default)]
    struct Loose {
        start: Option<Range<usize>>,
        seen: usize,
    }

    impl Grammar for Loose {
        type Error = ScanError;
        const UNFOLD: bool = true;

        fn start_line(&mut self, _: &[u8], line: Range<usize>) -> Result<(), ScanError> {
            self.start = Some(line);
            Ok(())
        }

        fn header(&mut self, _: &[u8], _: &[u8]) -> Result<(), ScanError> {
            self.seen += 1;
            Ok(())
        }

        fn finish(&mut self) -> Result<(), ScanError> {
            Ok(())
        }

        fn scan_error(error: ScanError) -> ScanError {
            error
        }
    }

    fn scan(input: &[u8], limits: HeadLimits) -> Result<Option<usize>, ScanError> {
        let mut buf = [0u8; 128];
        let mut scanner = Scanner::new();
        scanner.feed(&mut buf, &limits, &mut Loose::default(), input)
    }

    #[test]
    fn leading_empty_lines_are_skipped_and_count_towards_the_head() {
        let mut buf = [0u8; 64];
        let mut scanner = Scanner::new();
        let mut grammar = Loose::default();
        let input = b"\r\n\nSTART\r\nA: 1\r\n\r\nbody";
        let done = scanner.feed(&mut buf, &HeadLimits::DEFAULT, &mut grammar, input);
        assert_eq!(done, Ok(Some(input.len() - 4)));
        assert_eq!(grammar.start, Some(3..8));
        assert_eq!(grammar.seen, 1);
        assert_eq!(scanner.headers(&buf).get("a"), Some(&b"1"[..]));
    }

    #[test]
    fn start_line_limit_keeps_one_byte_of_slack_for_cr() {
        let limits = HeadLimits::new().with_max_start_line(5);
        assert_eq!(scan(b"abcde\r", limits), Ok(None));
        assert_eq!(scan(b"abcde\r\n\r\n", limits), Ok(Some(9)));
        assert_eq!(scan(b"abcdef", limits), Err(ScanError::StartLineTooLong));
        assert_eq!(scan(b"abcde\r\r", limits), Err(ScanError::StartLineTooLong));
    }

    #[test]
    fn head_limit_counts_the_final_line_ending() {
        let limits = HeadLimits::new().with_max_head(9);
        assert_eq!(
            scan(b"S\r\nA: 1\r\n\r\n", limits),
            Err(ScanError::HeadTooLarge)
        );
        let limits = HeadLimits::new().with_max_head(11);
        assert_eq!(scan(b"S\r\nA: 1\r\n\r\n", limits), Ok(Some(11)));
    }

    #[test]
    fn obs_fold_is_unfolded_into_spaces() {
        let mut buf = [0u8; 64];
        let mut scanner = Scanner::new();
        let input = b"S\r\nA: 1\r\n  2\r\nB: 3\n\r\n";
        let done = scanner.feed(&mut buf, &HeadLimits::DEFAULT, &mut Loose::default(), input);
        assert_eq!(done, Ok(Some(input.len())));
        let headers = scanner.headers(&buf);
        assert_eq!(headers.get("a"), Some(&b"1    2"[..]));
        assert_eq!(headers.get("b"), Some(&b"3"[..]));
        assert_eq!(headers.len(), 2);
    }

    #[test]
    fn fold_right_after_the_start_line_is_invalid() {
        assert_eq!(
            scan(b"S\r\n x\r\n\r\n", HeadLimits::DEFAULT),
            Err(ScanError::InvalidHeader)
        );
    }

    #[test]
    fn field_lines_are_validated() {
        assert_eq!(split_field_line(b"A:b"), Some((&b"A"[..], &b"b"[..])));
        assert_eq!(split_field_line(b"A: \t"), Some((&b"A"[..], &b""[..])));
        assert_eq!(split_field_line(b"A : b"), None);
        assert_eq!(split_field_line(b": b"), None);
        assert_eq!(split_field_line(b"A b"), None);
        assert_eq!(split_field_line(b"A: b\rc"), None);
        assert_eq!(split_field_line(b"A: b\0"), None);
        assert_eq!(
            split_field_line(b"A: caf\xc3\xa9"),
            Some((&b"A"[..], &b"caf\xc3\xa9"[..]))
        );
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version(b"HTTP/1.1"), Ok(Some(Version::Http11)));
        assert_eq!(parse_version(b"HTTP/1.0"), Ok(Some(Version::Http10)));
        assert_eq!(parse_version(b"HTTP/2.0"), Ok(None));
        assert_eq!(parse_version(b"HTTP/1.2"), Ok(None));
        assert_eq!(parse_version(b"HTTP/1"), Err(()));
        assert_eq!(parse_version(b"http/1.1"), Err(()));
        assert_eq!(parse_version(b"HTTP/1.x"), Err(()));
    }
}
