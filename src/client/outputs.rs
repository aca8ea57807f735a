//! What a [`ClientSession`](super::ClientSession) hands back: actions for the shell, the story of
//! the connection, deadlines, and the errors of its commands.

use core::fmt;
use core::time::Duration;

use embedded_io::ErrorKind;

use crate::backoff::{Delay, GiveUp};
use crate::heartbeat::{IdleExpired, PongOverdue};
use crate::http::{BodyError, BodyFraming, Failure, RequestWriteError, ResponseError};
use crate::time::Instant;

/// Something the shell must do with sockets, from
/// [`ClientSession::poll_action`](super::ClientSession::poll_action).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Action<'s> {
    /// Open a TCP connection to `host:port`, then call
    /// [`handle_connected`](super::ClientSession::handle_connected) (or
    /// [`handle_error`](super::ClientSession::handle_error) if it fails). Every `Connect` is
    /// later matched by exactly one [`Action::Disconnect`].
    Connect {
        /// The host name or address; an IPv6 literal comes without brackets.
        host: &'s str,
        /// The port.
        port: u16,
        /// Whether a redirect leads to another host or port than the configured one. The
        /// session's request then already leaves out the sensitive headers (see
        /// [Credentials and redirects](super::ClientConfig#credentials-and-redirects)); withhold
        /// any other credential the shell holds for the configured origin too.
        cross_origin: bool,
    },
    /// Close the connection opened for the last `Connect` (or abandon the attempt to open it).
    Disconnect,
    /// Make a ping request on a second connection and call
    /// [`handle_pong`](super::ClientSession::handle_pong) when it is answered.
    SendPing,
}

/// A step in the story of the connection, from
/// [`ClientSession::poll_event`](super::ClientSession::poll_event).
///
/// The messages themselves come out of [`Messages`](super::Messages).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent<'s> {
    /// The server answered with an event stream.
    Open {
        /// The response status (200).
        status: u16,
        /// How the body is delimited.
        framing: BodyFraming,
    },
    /// A `retry:` field set the reconnection time; this is the value in force after clamping.
    RetryChanged(Duration),
    /// A redirect is being followed; the next [`Action::Connect`] goes where it points.
    Redirected {
        /// The redirect status.
        status: u16,
    },
    /// The connection ended or an attempt failed; the next attempt waits for `delay`.
    Reconnecting {
        /// When and why then: the delay, the attempt's number and what decided its length.
        delay: Delay,
        /// Why the connection ended.
        reason: ReconnectReason,
    },
    /// The link is down: no attempt is made (and no backoff spent) until
    /// [`handle_link_up`](super::ClientSession::handle_link_up).
    WaitingForLink,
    /// In [`ResumeMode::Acknowledged`](super::ResumeMode::Acknowledged), the acknowledged id
    /// changed: persist it (flash, NVS) to resume from it after a restart.
    PersistId(&'s str),
    /// The session is over for good.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why a connection ended (or an attempt failed) in a way that is retried.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ReconnectReason {
    /// The server closed the connection ([`handle_eof`](super::ClientSession::handle_eof)).
    Eof,
    /// The response body ended (last chunk or `Content-Length` reached).
    BodyEnded,
    /// The shell reported an I/O error: the connect failed or the connection was reset.
    Io(ErrorKind),
    /// The response head was not complete within the connect timeout.
    ConnectTimeout,
    /// No byte arrived for the idle limit.
    Idle(IdleExpired),
    /// A ping went unanswered.
    PongOverdue(PongOverdue),
    /// The server answered with a status the policy retries (5xx, 429, 408 by default).
    Status(u16),
    /// The response head was malformed, or its status line too long. (A head over the head
    /// buffer or with too many header lines closes the session instead:
    /// [`CloseReason::HeadTooLarge`], [`CloseReason::TooManyHeaders`].)
    InvalidResponse(ResponseError),
    /// The chunked body framing was malformed.
    InvalidBody(BodyError),
    /// A [`Messages`](super::Messages) was dropped before an event in its input was handed out;
    /// the stream resumes from the event before it.
    Undelivered,
}

impl fmt::Display for ReconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eof => f.write_str("server closed the connection"),
            Self::BodyEnded => f.write_str("response body ended"),
            Self::Io(kind) => write!(f, "connection error: {kind:?}"),
            Self::ConnectTimeout => f.write_str("no response in time"),
            Self::Idle(e) => write!(f, "stream idle: {e}"),
            Self::PongOverdue(e) => write!(f, "stream dead: {e}"),
            Self::Status(status) => write!(f, "retryable status {status}"),
            Self::InvalidResponse(e) => write!(f, "invalid response: {e}"),
            Self::InvalidBody(e) => write!(f, "invalid body: {e}"),
            Self::Undelivered => f.write_str("events left undelivered"),
        }
    }
}

/// Why a session closed for good.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The server answered `204 No Content`: stop reconnecting.
    NoContent,
    /// The response can never become an event stream (status, content type, coding, framing,
    /// or a broken redirect).
    Failed(Failure),
    /// A give-up limit of the backoff was reached.
    GaveUp(GiveUp),
    /// More redirects than the configured limit in one attempt.
    TooManyRedirects {
        /// The limit.
        limit: u8,
    },
    /// A redirect to `https`, which this crate cannot follow.
    UnsupportedRedirect,
    /// A redirect's host and target do not fit the redirect buffer (or its target the transmit
    /// buffer).
    RedirectTooLong {
        /// Bytes needed.
        needed: usize,
    },
    /// The request could not be written.
    Request(RequestBuildError),
    /// The application called [`close`](super::ClientSession::close).
    Local,
    /// A response head did not fit the head buffer (or
    /// [`HeadLimits::max_head`](crate::http::HeadLimits::max_head), if smaller). The server
    /// would send the same head again, so the session stops instead of reconnecting for ever:
    /// give it a larger head buffer.
    HeadTooLarge {
        /// The head limit in force, in bytes.
        limit: usize,
    },
    /// A response head had more header lines than
    /// [`HeadLimits::max_headers`](crate::http::HeadLimits::max_headers). As for
    /// [`HeadTooLarge`](Self::HeadTooLarge), the server would send the same head again, so the
    /// session stops instead of reconnecting for ever: raise the limit.
    TooManyHeaders {
        /// The header line limit in force.
        limit: usize,
    },
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoContent => f.write_str("server answered 204: no more reconnects"),
            Self::Failed(e) => write!(f, "response refused: {e}"),
            Self::GaveUp(e) => write!(f, "{e}"),
            Self::TooManyRedirects { limit } => write!(f, "more than {limit} redirects"),
            Self::UnsupportedRedirect => f.write_str("redirect to https is not supported"),
            Self::RedirectTooLong { needed } => {
                write!(f, "redirect too long: {needed} bytes needed")
            }
            Self::Request(e) => write!(f, "request cannot be written: {e}"),
            Self::Local => f.write_str("closed by the application"),
            Self::HeadTooLarge { limit } => {
                write!(f, "response head larger than the {limit}-byte head buffer")
            }
            Self::TooManyHeaders { limit } => {
                write!(f, "response head with more than {limit} header lines")
            }
        }
    }
}

/// The session's coarse state, from [`ClientSession::state`](super::ClientSession::state).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum State {
    /// An attempt is under way: connecting, sending the request or reading the response head.
    Connecting,
    /// The event stream is open.
    Open,
    /// Waiting for the next attempt (or for the link to come up).
    Waiting,
    /// Over for good.
    Closed,
}

/// The next deadline and what it is for, from
/// [`ClientSession::poll_deadline`](super::ClientSession::poll_deadline).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct Deadline {
    /// When to call [`handle_timeout`](super::ClientSession::handle_timeout).
    pub at: Instant,
    /// What happens then, for logs.
    pub reason: TimerReason,
}

/// What a [`Deadline`] is for.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TimerReason {
    /// The backoff delay ends: the next attempt starts.
    Reconnect,
    /// The connect timeout: the response head must be complete by then.
    Connect,
    /// The idle watchdog: the stream counts as dead without a byte by then.
    Idle,
    /// The next ping is due.
    Ping,
    /// The outstanding ping must be answered by then.
    Pong,
}

impl fmt::Display for TimerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reconnect => "reconnect",
            Self::Connect => "connect timeout",
            Self::Idle => "idle timeout",
            Self::Ping => "ping",
            Self::Pong => "pong deadline",
        })
    }
}

/// Why the request could not be written.
///
/// # Examples
///
/// ```
/// use sansse::client::{ClientConfig, ClientSession, ClientStorage, RequestBuildError};
/// use sansse::http::RequestWriteError;
/// use sansse::Instant;
///
/// let mut storage = ClientStorage::<1024, 512, 512, 64>::new();
/// let config = ClientConfig::new("example.com", "/events");
/// let mut session = ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap();
/// let _ = session.poll_action(); // Connect
/// let bad = [("X-Token", "a\r\nInjected: 1")];
/// assert_eq!(
///     session.handle_connected_with_headers(Instant::ZERO, &bad),
///     Err(RequestBuildError::Write(RequestWriteError::InvalidHeaderValue))
/// );
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum RequestBuildError {
    /// The configured and per-attempt headers together are more than
    /// [`MAX_HEADERS`](super::MAX_HEADERS).
    TooManyHeaders {
        /// The most headers a request carries.
        max: usize,
    },
    /// The request writer refused a field, or the transmit buffer is too small.
    Write(RequestWriteError),
}

impl fmt::Display for RequestBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyHeaders { max } => write!(f, "more than {max} request headers"),
            Self::Write(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for RequestBuildError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::TooManyHeaders { .. } => None,
            Self::Write(e) => Some(e),
        }
    }
}

/// Why an acknowledgement was refused.
///
/// # Examples
///
/// ```
/// use sansse::client::{AckError, ClientConfig, ClientSession, ClientStorage};
/// use sansse::Instant;
///
/// let mut storage = ClientStorage::<1024, 512, 512, 64>::new();
/// let config = ClientConfig::new("example.com", "/events"); // not in acknowledged mode
/// let mut session = ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap();
/// assert_eq!(session.ack(Instant::ZERO, "7"), Err(AckError::NotAcknowledgedMode));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum AckError {
    /// The session is not in [`ResumeMode::Acknowledged`](super::ResumeMode::Acknowledged).
    NotAcknowledgedMode,
    /// The id is longer than the parser accepts.
    IdTooLong {
        /// The longest id accepted, in bytes.
        max: usize,
    },
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAcknowledgedMode => f.write_str("session is not in acknowledged mode"),
            Self::IdTooLong { max } => write!(f, "acknowledged id exceeds {max} bytes"),
        }
    }
}

impl core::error::Error for AckError {}
