//! What both client shells share: the items they hand out, their memory, and the small steps
//! of their turns.

use heapless::String;

use crate::client::Cursor;
use crate::client::{ClientSession, ClientStorage, SessionEvent};
use crate::parse::{Event, FoundEvent, ParseError};
use crate::time::Instant;

/// One thing a client shell hands out: [`Client::next`](super::Client::next) (async) or
/// [`BlockingClient::next`](super::BlockingClient::next).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug)]
#[non_exhaustive]
pub enum Item<'a> {
    /// An event. It borrows the client: copy what you keep (an id to
    /// [`ack`](super::Client::ack), say) before calling the client again.
    Event(Event<'a>),
    /// An event that was skipped because it did not fit the parser's buffer; the stream is
    /// already back in sync.
    Skipped(ParseError),
    /// A step in the story of the connection: `Open`, `Reconnecting` with its reason and delay,
    /// `RetryChanged`, `Redirected`, `WaitingForLink`, `PersistId`, and last `Closed`, after
    /// which `next()` returns `None`.
    ///
    /// Steps that bytes cause come after the events in those bytes: the `Open` of a stream
    /// comes after the events that arrived in the same read as its response head.
    Story(SessionEvent<'a>),
    /// A connection is up and its request not yet written: call
    /// [`attempt_headers`](super::Client::attempt_headers) now to add headers (fresh credentials) to
    /// this attempt's request. Ignore it and the request goes out with the configured headers.
    Connected {
        /// A redirect leads to another host or port than the configured one: withhold
        /// credentials meant for the configured origin.
        cross_origin: bool,
    },
    /// The session wants a ping: make a request on a second connection and call
    /// [`pong`](super::Client::pong) when it is answered.
    Ping,
}

/// The memory of a client shell: the session's buffers ([`ClientStorage`]) and the receive and
/// transmit buffers, sized by const generics with defaults fit for most streams (4 KiB parser,
/// 2 KiB response head, 1 KiB request, 512 bytes redirect, 1 KiB receive, 512 bytes transmit).
///
/// `Client::new` and `BlockingClient::new` take the default sizes, so `ClientMemory::new()` needs no type annotation
/// there; a firmware picks its own sizes with `ClientMemory::<..>::new()` and
/// `Client::with_timer` or `BlockingClient::with_memory`. `new` is `const`, so the memory can live in a `static` cell.
#[derive(Clone, Debug)]
pub struct ClientMemory<
    const PARSER: usize = 4096,
    const HEAD: usize = 2048,
    const TRANSMIT: usize = 1024,
    const REDIRECT: usize = 512,
    const RX: usize = 1024,
    const TX: usize = 512,
> {
    pub(super) session: ClientStorage<PARSER, HEAD, TRANSMIT, REDIRECT>,
    pub(super) rx: [u8; RX],
    pub(super) tx: [u8; TX],
}

impl<
    const PARSER: usize,
    const HEAD: usize,
    const TRANSMIT: usize,
    const REDIRECT: usize,
    const RX: usize,
    const TX: usize,
> ClientMemory<PARSER, HEAD, TRANSMIT, REDIRECT, RX, TX>
{
    /// Zeroed memory.
    pub const fn new() -> Self {
        Self {
            session: ClientStorage::new(),
            rx: [0; RX],
            tx: [0; TX],
        }
    }
}

impl<
    const PARSER: usize,
    const HEAD: usize,
    const TRANSMIT: usize,
    const REDIRECT: usize,
    const RX: usize,
    const TX: usize,
> Default for ClientMemory<PARSER, HEAD, TRANSMIT, REDIRECT, RX, TX>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Where the next connection goes. Host names longer than DNS allows are refused.
#[derive(Debug)]
pub(super) struct Dial {
    pub(super) host: String<253>,
    pub(super) port: u16,
    pub(super) cross_origin: bool,
}

/// What a turn found, before it is borrowed from the client.
pub(super) enum Ready {
    Message(FoundEvent, Cursor),
    Skipped(ParseError),
    Story(SessionEvent<'static>),
    Persist,
    Connected { cross_origin: bool },
    Ping,
}

/// A story step that borrows nothing, as `'static`; `None` for `PersistId`, which borrows the
/// session and is rebuilt from it when handed out.
pub(super) fn owned(event: SessionEvent<'_>) -> Option<SessionEvent<'static>> {
    Some(match event {
        SessionEvent::Open { status, framing } => SessionEvent::Open { status, framing },
        SessionEvent::RetryChanged(time) => SessionEvent::RetryChanged(time),
        SessionEvent::Redirected { status } => SessionEvent::Redirected { status },
        SessionEvent::Reconnecting { delay, reason } => {
            SessionEvent::Reconnecting { delay, reason }
        }
        SessionEvent::WaitingForLink => SessionEvent::WaitingForLink,
        SessionEvent::Closed { reason } => SessionEvent::Closed { reason },
        SessionEvent::PersistId(_) => return None,
    })
}

/// Moves as much of the queued request as fits into `tx` and returns its length.
pub(super) fn fill(now: Instant, session: &mut ClientSession<'_>, tx: &mut [u8]) -> usize {
    let mut len = 0;
    while let Some(rest) = tx.get_mut(len..) {
        match session.poll_transmit(now, rest) {
            Some(n) if n > 0 => len += n,
            _ => break,
        }
    }
    len
}

/// A backoff seed from the system's randomness (std seeds every `RandomState` from it):
/// enough for jitter.
#[cfg(feature = "std")]
pub(super) fn random_seed() -> u64 {
    use core::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8)
}
