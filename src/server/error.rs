//! One small error per server-session operation. Peer misbehaviour never shows up here (it
//! ends the session with a [`CloseReason`](super::CloseReason)); these are the caller's
//! mistakes that are cheap to spot, and buffers that are too small.

use core::fmt;

use crate::BufferTooSmall;
use crate::heartbeat::LeaseExpired;
use crate::http::ResponseWriteError;

/// Why [`ServerSession::accept`](super::ServerSession::accept) refused; the session is unchanged.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum AcceptError {
    /// The request head is not complete yet: wait for [`SessionEvent::RequestReady`].
    ///
    /// [`SessionEvent::RequestReady`]: super::SessionEvent::RequestReady
    RequestNotReady,
    /// The request was already accepted or rejected.
    AlreadyAnswered,
    /// The session is closing or closed.
    Closed,
    /// An extra header is malformed or would contradict the stream's framing.
    InvalidHeaders {
        /// What the response writer found.
        error: ResponseWriteError,
    },
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RequestNotReady => f.write_str("request head not complete"),
            Self::AlreadyAnswered => f.write_str("request already answered"),
            Self::Closed => f.write_str("session closed"),
            Self::InvalidHeaders { error } => write!(f, "invalid response headers: {error}"),
        }
    }
}

impl core::error::Error for AcceptError {}

/// Why [`ServerSession::reject`](super::ServerSession::reject) refused; the session is unchanged.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum RejectError {
    /// The request was already accepted or rejected.
    AlreadyAnswered,
    /// The session is closing or closed.
    Closed,
    /// The response has a malformed header (or `Allow` list).
    InvalidResponse {
        /// What the response writer found.
        error: ResponseWriteError,
    },
}

impl fmt::Display for RejectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyAnswered => f.write_str("request already answered"),
            Self::Closed => f.write_str("session closed"),
            Self::InvalidResponse { error } => write!(f, "invalid error response: {error}"),
        }
    }
}

impl core::error::Error for RejectError {}

/// Why [`ServerSession::poll_transmit`](super::ServerSession::poll_transmit) wrote nothing.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TransmitError {
    /// The next whole piece of output (a response head, or one event with its chunk framing)
    /// does not fit; the buffer is untouched and the output waits for a larger one.
    ///
    /// `needed` is the buffer size that takes it.
    BufferTooSmall(BufferTooSmall),
}

impl fmt::Display for TransmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for TransmitError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::BufferTooSmall(e) => Some(e),
        }
    }
}

impl From<BufferTooSmall> for TransmitError {
    fn from(e: BufferTooSmall) -> Self {
        Self::BufferTooSmall(e)
    }
}

/// Why [`ServerSession::handle_written`](super::ServerSession::handle_written) refused; nothing
/// was counted.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum WrittenError {
    /// More bytes were reported written than were handed out and not yet confirmed.
    MoreThanHandedOut {
        /// Bytes handed out and not confirmed.
        unconfirmed: usize,
        /// Bytes reported written.
        written: usize,
    },
}

impl fmt::Display for WrittenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MoreThanHandedOut {
                unconfirmed,
                written,
            } => write!(
                f,
                "{written} bytes reported written but only {unconfirmed} unconfirmed"
            ),
        }
    }
}

impl core::error::Error for WrittenError {}

/// Why [`ServerSession::renew_lease`](super::ServerSession::renew_lease) did not renew.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum LeaseError {
    /// The config has no lease.
    Disabled,
    /// The request has not been accepted (the lease starts with the stream), or the session
    /// is closing or closed for another reason.
    NotStreaming,
    /// The lease lapsed; the session is closed. Tell the pinging client to reconnect.
    Expired {
        /// When and for how long it was last renewed.
        expired: LeaseExpired,
    },
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => f.write_str("leases are off"),
            Self::NotStreaming => f.write_str("session not streaming"),
            Self::Expired { expired } => fmt::Display::fmt(expired, f),
        }
    }
}

impl core::error::Error for LeaseError {}

/// Why [`ServerSession::close`](super::ServerSession::close) did nothing.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum CloseError {
    /// The session is already closing (a close, a rejection or an overrun is being written).
    AlreadyClosing,
    /// The session is closed.
    Closed,
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyClosing => "session already closing",
            Self::Closed => "session closed",
        })
    }
}

impl core::error::Error for CloseError {}
