//! What an SSE client does with a response head: a pure function over the head and a policy.
//!
//! The default rules follow the EventSource standard and what users of other clients asked for:
//! `200` with `text/event-stream` opens the stream; `204` stops for good; redirects are followed;
//! `408`, `429` and `5xx` are retried (honouring `Retry-After`); everything else fails.

use core::fmt;
use core::time::Duration;

use super::body::FramingError;
use super::client::ResponseHead;
use super::location::{Location, LocationError};

/// Which statuses a client retries and whether it follows redirects. Built with `const fn`s so
/// it can live in a `static`.
///
/// # Examples
///
/// ```
/// use sansse::http::Policy;
///
/// // A server that answers 404 while a topic is being created, and 503 only when retired.
/// static POLICY: Policy = Policy::new().retry_on(404).no_retry_on(503);
/// assert!(POLICY.is_retryable(404));
/// assert!(!POLICY.is_retryable(503));
/// assert!(POLICY.is_retryable(502));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Policy {
    /// One bit per status code 0..640.
    retry: [u64; 10],
    follow_redirects: bool,
}

impl Policy {
    /// Retries 408, 429 and 500-599; follows redirects.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(Policy::DEFAULT.is_retryable(503) && Policy::DEFAULT.follows_redirects());
    /// ```
    pub const DEFAULT: Self = {
        let mut policy = Self {
            retry: [0; 10],
            follow_redirects: true,
        };
        let mut status = 500;
        while status <= 599 {
            policy = policy.retry_on(status);
            status += 1;
        }
        policy.retry_on(408).retry_on(429)
    };

    /// Returns [`Policy::DEFAULT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(Policy::new().is_retryable(429));
    /// assert!(!Policy::new().is_retryable(404));
    /// ```
    pub const fn new() -> Self {
        Self::DEFAULT
    }

    /// Marks `status` as retryable. Codes of 600 and more are ignored; `200` is always judged by
    /// its content type, never retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(Policy::new().retry_on(409).is_retryable(409));
    /// ```
    #[must_use]
    pub const fn retry_on(mut self, status: u16) -> Self {
        if let Some((word, bit)) = slot(status) {
            self.retry[word] |= bit;
        }
        self
    }

    /// Marks `status` as not retryable: it then fails (or, for `204` and redirects, keeps its
    /// own meaning).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(!Policy::new().no_retry_on(500).is_retryable(500));
    /// ```
    #[must_use]
    pub const fn no_retry_on(mut self, status: u16) -> Self {
        if let Some((word, bit)) = slot(status) {
            self.retry[word] &= !bit;
        }
        self
    }

    /// Chooses whether redirects are followed; if not, they fail like any other status.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(!Policy::new().follow_redirects(false).follows_redirects());
    /// ```
    #[must_use]
    pub const fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Whether `status` is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(Policy::DEFAULT.is_retryable(408));
    /// ```
    pub const fn is_retryable(&self, status: u16) -> bool {
        match slot(status) {
            Some((word, bit)) => self.retry[word] & bit != 0,
            None => false,
        }
    }

    /// Whether redirects are followed.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Policy;
    ///
    /// assert!(Policy::DEFAULT.follows_redirects());
    /// ```
    pub const fn follows_redirects(&self) -> bool {
        self.follow_redirects
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The bitset position of a status code, if it is in range.
const fn slot(status: u16) -> Option<(usize, u64)> {
    let index = status as usize;
    if index >= 640 {
        return None;
    }
    Some((index / 64, 1 << (index % 64)))
}

/// What a client should do with a response.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::http::{HeadLimits, Policy, ResponseReader, Verdict, classify};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"HTTP/1.1 429 Slow Down\r\nRetry-After: 30\r\n\r\n");
/// let verdict = classify(&reader.head().unwrap(), &Policy::DEFAULT);
/// assert_eq!(verdict, Verdict::Retry { after: Some(Duration::from_secs(30)) });
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Verdict<'a> {
    /// The event stream is open: decode the body with
    /// [`BodyDecoder::new(head.framing()?)`](super::BodyDecoder::new).
    Open,
    /// `204 No Content`: the server asks the client to stop reconnecting for good.
    Stop,
    /// Follow the redirect (the client counts redirects and applies its own limit).
    Redirect(Redirect<'a>),
    /// Reconnect later; `after` is the server's `Retry-After`, in delta-seconds form, if any.
    Retry {
        /// The server's requested delay.
        after: Option<Duration>,
    },
    /// Give up: the response can never become an event stream.
    Fail(Failure),
}

/// A redirect to follow: its status and parsed `Location`.
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, Policy, ResponseReader, Verdict, classify};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"HTTP/1.1 303 See Other\r\nLocation: http://b:81/s\r\n\r\n");
/// let head = reader.head().unwrap();
/// let Verdict::Redirect(redirect) = classify(&head, &Policy::DEFAULT) else { panic!() };
/// assert_eq!(redirect.status(), 303);
/// assert!(redirect.location().changes_origin("a", 80));
/// assert!(redirect.rewrites_to_get("POST"));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Redirect<'a> {
    status: u16,
    location: Location<'a>,
}

impl<'a> Redirect<'a> {
    /// The redirect status: 301, 302, 303, 307 or 308.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, Policy, ResponseReader, Verdict, classify};
    /// # let mut storage = [0u8; 256];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 308 Moved\r\nLocation: /v2\r\n\r\n");
    /// let Verdict::Redirect(r) = classify(&reader.head().unwrap(), &Policy::DEFAULT) else { panic!() };
    /// assert_eq!(r.status(), 308);
    /// ```
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// Where to go; see [`Location::resolve_target`] and [`Location::changes_origin`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, Policy, ResponseReader, Verdict, classify};
    /// # let mut storage = [0u8; 256];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 302 Found\r\nLocation: /v2\r\n\r\n");
    /// let Verdict::Redirect(r) = classify(&reader.head().unwrap(), &Policy::DEFAULT) else { panic!() };
    /// assert_eq!(r.location().target(), "/v2");
    /// ```
    pub const fn location(&self) -> Location<'a> {
        self.location
    }

    /// Whether the next request must be a `GET` without body instead of repeating `method`:
    /// always for 303 (except `GET` and `HEAD`), for 301 and 302 only after `POST` (as browsers
    /// and the Fetch standard do), never for 307 and 308.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sansse::http::{HeadLimits, Policy, ResponseReader, Verdict, classify};
    /// # let mut storage = [0u8; 256];
    /// # let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
    /// let _ = reader.handle_bytes(b"HTTP/1.1 307 Temporary\r\nLocation: /v2\r\n\r\n");
    /// let Verdict::Redirect(r) = classify(&reader.head().unwrap(), &Policy::DEFAULT) else { panic!() };
    /// assert!(!r.rewrites_to_get("POST"));
    /// ```
    pub fn rewrites_to_get(&self, method: &str) -> bool {
        match self.status {
            303 => method != "GET" && method != "HEAD",
            301 | 302 => method == "POST",
            _ => false,
        }
    }
}

/// Why a response can never become an event stream.
///
/// # Examples
///
/// ```
/// use sansse::http::{Failure, HeadLimits, Policy, ResponseReader, Verdict, classify};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n");
/// let verdict = classify(&reader.head().unwrap(), &Policy::DEFAULT);
/// assert_eq!(verdict, Verdict::Fail(Failure::NotEventStream));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// A status the policy neither accepts, retries nor follows.
    Status(u16),
    /// A `200` whose `Content-Type` is missing or not `text/event-stream`.
    NotEventStream,
    /// A `200` with a content coding (such as `gzip`) that the client cannot undo.
    ContentCoding,
    /// A `200` whose body framing cannot be decoded.
    Framing(FramingError),
    /// A redirect without a `Location` header (or with one that is not UTF-8).
    MissingLocation,
    /// A redirect whose `Location` cannot be parsed.
    Location(LocationError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "unexpected status {status}"),
            Self::NotEventStream => f.write_str("content type is not text/event-stream"),
            Self::ContentCoding => f.write_str("unsupported content coding"),
            Self::Framing(e) => write!(f, "bad body framing: {e}"),
            Self::MissingLocation => f.write_str("redirect without location"),
            Self::Location(e) => write!(f, "bad redirect: {e}"),
        }
    }
}

impl core::error::Error for Failure {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Framing(e) => Some(e),
            Self::Location(e) => Some(e),
            _ => None,
        }
    }
}

/// Decides what a client does with a response head under `policy`.
///
/// In order: `200` opens if the body is an uncoded, decodable `text/event-stream` and fails
/// otherwise; a status the policy retries gives [`Verdict::Retry`] with `Retry-After`; `204`
/// stops; 301, 302, 303, 307 and 308 redirect (when the policy follows redirects); anything else
/// fails with [`Failure::Status`].
///
/// # Examples
///
/// ```
/// use sansse::http::{HeadLimits, Policy, ResponseReader, Verdict, classify};
///
/// let mut storage = [0u8; 256];
/// let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
/// let _ = reader.handle_bytes(
///     b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\r\n",
/// );
/// assert_eq!(classify(&reader.head().unwrap(), &Policy::DEFAULT), Verdict::Open);
/// ```
pub fn classify<'a>(head: &ResponseHead<'a>, policy: &Policy) -> Verdict<'a> {
    let status = head.status();
    if status == 200 {
        if !head.is_event_stream() {
            return Verdict::Fail(Failure::NotEventStream);
        }
        if head.has_content_coding() {
            return Verdict::Fail(Failure::ContentCoding);
        }
        if let Err(e) = head.framing() {
            return Verdict::Fail(Failure::Framing(e));
        }
        return Verdict::Open;
    }
    if policy.is_retryable(status) {
        return Verdict::Retry {
            after: head.retry_after(),
        };
    }
    match status {
        204 => Verdict::Stop,
        301 | 302 | 303 | 307 | 308 if policy.follows_redirects() => {
            let Some(value) = head.location() else {
                return Verdict::Fail(Failure::MissingLocation);
            };
            match Location::parse(value) {
                Ok(location) => Verdict::Redirect(Redirect { status, location }),
                Err(e) => Verdict::Fail(Failure::Location(e)),
            }
        }
        _ => Verdict::Fail(Failure::Status(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HeadLimits, ResponseReader};

    fn verdict_of(input: &[u8], policy: &Policy, check: impl FnOnce(Verdict<'_>)) {
        let mut storage = [0u8; 512];
        let mut reader = ResponseReader::new(&mut storage, HeadLimits::DEFAULT);
        let _ = reader.handle_bytes(input);
        check(classify(&reader.head().expect("complete head"), policy));
    }

    #[test]
    fn default_policy_table() {
        let secs = |s| Some(Duration::from_secs(s));
        let cases: &[(&[u8], Verdict<'_>)] = &[
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", Verdict::Open),
            (b"HTTP/1.1 200 OK\r\ncontent-type: TEXT/EVENT-STREAM;charset=UTF-8\r\n\r\n", Verdict::Open),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: identity\r\n\r\n", Verdict::Open),
            (b"HTTP/1.1 200 OK\r\n\r\n", Verdict::Fail(Failure::NotEventStream)),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-streams\r\n\r\n", Verdict::Fail(Failure::NotEventStream)),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n", Verdict::Fail(Failure::ContentCoding)),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: br, chunked\r\n\r\n", Verdict::Fail(Failure::Framing(FramingError::UnsupportedTransferCoding))),
            (b"HTTP/1.1 204 No Content\r\n\r\n", Verdict::Stop),
            (b"HTTP/1.1 500 Oops\r\n\r\n", Verdict::Retry { after: None }),
            (b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\n\r\n", Verdict::Retry { after: secs(7) }),
            (b"HTTP/1.1 599 x\r\nRetry-After: soon\r\n\r\n", Verdict::Retry { after: None }),
            (b"HTTP/1.1 408 Timeout\r\n\r\n", Verdict::Retry { after: None }),
            (b"HTTP/1.1 429 Slow\r\nRetry-After:  120 \r\n\r\n", Verdict::Retry { after: secs(120) }),
            (b"HTTP/1.1 404 Not Found\r\n\r\n", Verdict::Fail(Failure::Status(404))),
            (b"HTTP/1.1 401 Unauthorized\r\n\r\n", Verdict::Fail(Failure::Status(401))),
            (b"HTTP/1.1 304 Not Modified\r\n\r\n", Verdict::Fail(Failure::Status(304))),
            (b"HTTP/1.1 101 Switching\r\n\r\n", Verdict::Fail(Failure::Status(101))),
            (b"HTTP/1.1 201 Created\r\nContent-Type: text/event-stream\r\n\r\n", Verdict::Fail(Failure::Status(201))),
            (b"HTTP/1.1 302 Found\r\n\r\n", Verdict::Fail(Failure::MissingLocation)),
            (b"HTTP/1.1 302 Found\r\nLocation: gopher://x\r\n\r\n", Verdict::Fail(Failure::Location(LocationError::UnsupportedScheme))),
        ];
        for (input, expected) in cases {
            verdict_of(input, &Policy::DEFAULT, |v| {
                assert_eq!(v, *expected, "{:?}", core::str::from_utf8(input))
            });
        }
    }

    #[test]
    fn every_redirect_status_redirects() {
        for status in [b"301", b"302", b"303", b"307", b"308"] {
            let mut input = heapless::Vec::<u8, 64>::new();
            input.extend_from_slice(b"HTTP/1.1 ").unwrap();
            input.extend_from_slice(status).unwrap();
            input
                .extend_from_slice(b" R\r\nLocation: https://h/x\r\n\r\n")
                .unwrap();
            verdict_of(&input, &Policy::DEFAULT, |v| {
                let Verdict::Redirect(r) = v else {
                    panic!("{v:?}")
                };
                assert!(!r.location().is_supported());
                assert_eq!(r.location().target(), "/x");
            });
            verdict_of(&input, &Policy::new().follow_redirects(false), |v| {
                assert!(matches!(v, Verdict::Fail(Failure::Status(_))), "{v:?}");
            });
        }
    }

    #[test]
    fn policy_overrides() {
        let policy = Policy::new()
            .retry_on(404)
            .retry_on(204)
            .no_retry_on(503)
            .retry_on(700);
        verdict_of(b"HTTP/1.1 404 x\r\nRetry-After: 3\r\n\r\n", &policy, |v| {
            assert_eq!(
                v,
                Verdict::Retry {
                    after: Some(Duration::from_secs(3))
                }
            );
        });
        verdict_of(b"HTTP/1.1 204 x\r\n\r\n", &policy, |v| {
            assert_eq!(v, Verdict::Retry { after: None })
        });
        verdict_of(b"HTTP/1.1 503 x\r\n\r\n", &policy, |v| {
            assert_eq!(v, Verdict::Fail(Failure::Status(503)))
        });
        assert!(!policy.is_retryable(700));
        assert!(!Policy::DEFAULT.is_retryable(499));
        assert!(!Policy::DEFAULT.is_retryable(600));
        assert!(Policy::DEFAULT.is_retryable(500) && Policy::DEFAULT.is_retryable(599));
    }

    #[test]
    fn method_rewrites() {
        let location = Location::parse("/x").unwrap();
        let r = |status| Redirect { status, location };
        assert!(r(303).rewrites_to_get("PUT"));
        assert!(!r(303).rewrites_to_get("GET"));
        assert!(r(302).rewrites_to_get("POST"));
        assert!(!r(301).rewrites_to_get("REPORT"));
        assert!(!r(308).rewrites_to_get("POST"));
    }
}
