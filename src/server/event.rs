//! What a server session reports: the connection story ([`SessionEvent`]), why it ended
//! ([`CloseReason`]), which timer is next ([`Deadline`]) and where it stands ([`State`]).

use core::fmt;

use embedded_io::ErrorKind;

use crate::heartbeat::LeaseExpired;
use crate::http::RequestError;
use crate::replay::Gap;
use crate::time::Instant;

/// One step of a connection's story, from
/// [`ServerSession::poll_event`](super::ServerSession::poll_event), in the order they happen.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The request head is complete: read it with
    /// [`ServerSession::request`](super::ServerSession::request), then accept or reject it.
    RequestReady,
    /// The request was accepted; the stream starts as described.
    Accepted {
        /// Where the stream starts in the replay log.
        start: StreamStart,
    },
    /// A gap event went out (at resume, or after the reader fell behind). Overruns reported
    /// before the application drained this are added up into one.
    GapSent {
        /// What the client was told it missed.
        gap: Gap,
    },
    /// The session is over: close the connection. Always the last event.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Where an accepted stream starts, from the request's `Last-Event-ID`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum StreamStart {
    /// No id: live events only.
    Live,
    /// A known id: exactly the events after it, then live ones.
    Replay,
    /// An id the log cannot resume from: a gap event first, then every kept event.
    Gap {
        /// Why the id could not be resumed from.
        gap: Gap,
    },
}

/// Why a session ended.
///
/// # Examples
///
/// ```
/// use sansse::server::CloseReason;
///
/// assert_eq!(CloseReason::HeadTimeout.to_string(), "request head timed out");
/// assert!(CloseReason::Requested.is_graceful());
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application closed the session and everything it asked for was written.
    Requested,
    /// The request head was not complete within the head timeout (a slowloris client, or a
    /// dead one). Nothing was sent.
    HeadTimeout,
    /// The request head broke a limit or the grammar; the matching error response was written.
    BadRequest {
        /// What was wrong with it.
        error: RequestError,
    },
    /// The application rejected the request; the error response was written.
    Rejected {
        /// The status code sent.
        status: u16,
    },
    /// The reader fell behind the ring under [`OverrunPolicy::Disconnect`]; the retry hint and
    /// the end of the body were written.
    ///
    /// [`OverrunPolicy::Disconnect`]: super::OverrunPolicy::Disconnect
    Overrun {
        /// Events evicted before this session sent them.
        missed: u64,
    },
    /// The client's lease was not renewed in time.
    LeaseExpired {
        /// When and for how long it was last renewed.
        expired: LeaseExpired,
    },
    /// Bytes handed out were not confirmed written within the write timeout.
    WriteStalled {
        /// Bytes handed out and not confirmed.
        unconfirmed: usize,
        /// When the shell last confirmed a write (or first took bytes after a full flush).
        since: Instant,
    },
    /// The transport failed: reading from the client or writing to it, as reported with
    /// [`ServerSession::handle_error`](super::ServerSession::handle_error).
    Io {
        /// The transport's error kind.
        kind: ErrorKind,
    },
    /// The client closed the connection.
    PeerClosed,
}

impl CloseReason {
    /// Whether the session ended as the server meant it to: a graceful close, an error answer
    /// to a request, or the overrun policy. The others are failures of the peer or transport.
    pub const fn is_graceful(&self) -> bool {
        matches!(
            self,
            Self::Requested
                | Self::BadRequest { .. }
                | Self::Rejected { .. }
                | Self::Overrun { .. }
        )
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Requested => f.write_str("closed by the application"),
            Self::HeadTimeout => f.write_str("request head timed out"),
            Self::BadRequest { error } => write!(f, "bad request: {error}"),
            Self::Rejected { status } => write!(f, "rejected with status {status}"),
            Self::Overrun { missed } => write!(f, "reader fell behind: {missed} events missed"),
            Self::LeaseExpired { expired } => fmt::Display::fmt(expired, f),
            Self::WriteStalled { unconfirmed, .. } => {
                write!(f, "write stalled with {unconfirmed} bytes unconfirmed")
            }
            Self::Io { kind } => write!(f, "transport failed: {kind:?}"),
            Self::PeerClosed => f.write_str("closed by the client"),
        }
    }
}

/// Which of a session's timers a [`Deadline`] is for, for logs and tests.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
#[non_exhaustive]
pub enum TimerReason {
    /// The request head must be complete by then (slowloris guard).
    RequestHead,
    /// Bytes handed out must see a confirmed write by then.
    WriteStall,
    /// The client's lease lapses then unless renewed.
    Lease,
    /// A keep-alive comment is due then unless something is written before.
    KeepAlive,
}

impl fmt::Display for TimerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RequestHead => "request head",
            Self::WriteStall => "write stall",
            Self::Lease => "lease",
            Self::KeepAlive => "keep-alive",
        })
    }
}

/// The next instant a session needs [`handle_timeout`](super::ServerSession::handle_timeout),
/// and which timer it is for.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Deadline {
    /// When.
    pub at: Instant,
    /// Which timer.
    pub reason: TimerReason,
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.reason, self.at)
    }
}

/// Where a session stands, from [`ServerSession::state`](super::ServerSession::state).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum State {
    /// Reading the request head.
    ReadingRequest,
    /// The head is complete; the application has not accepted or rejected it yet.
    AwaitingDecision,
    /// Accepted: the stream is open.
    Streaming,
    /// Writing its last bytes (an error response, or the end of a stream) and waiting for them
    /// to be confirmed.
    Closing,
    /// Over; see [`ServerSession::close_reason`](super::ServerSession::close_reason).
    Closed,
}
