//! What a server session is told: settings shared by every connection ([`ServerConfig`]), the
//! application's answer to one request ([`AcceptOptions`]) and how one stream ends
//! ([`CloseOptions`]).

use core::time::Duration;

use crate::ascii::millis;
use crate::encode::Message;
use crate::heartbeat::KeepAlive;
use crate::http::HeadLimits;
use crate::replay::GapEvent;

/// Settings for every [`ServerSession`](super::ServerSession), built with `const fn`s so they
/// can live in a `static`.
///
/// Durations are kept in whole milliseconds. `'a` is the lifetime of the gap event's name; a
/// `ServerConfig<'static>` works with sessions of any lifetime.
///
/// | setting | default | what it does |
/// |---|---|---|
/// | head limits | [`HeadLimits::DEFAULT`] | line, count and size caps on the request head |
/// | head timeout | 10 s | a request head not complete by then closes the connection |
/// | retry hint | off | a `retry:` block at stream start |
/// | keep-alive | 15 s | a comment after that long without a write, announced at start |
/// | lease | off | the application must renew the client's lease this often |
/// | write timeout | 30 s | bytes handed out and not confirmed written for that long close the session |
/// | overrun policy | [`OverrunPolicy::Gap`] | what a reader that fell behind the ring gets |
/// | gap event | `sansse-gap` | the in-band event that reports missed events |
/// | close-delimited | off | frame every stream by closing the connection, even for HTTP/1.1 |
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::server::{OverrunPolicy, ServerConfig};
///
/// static CONFIG: ServerConfig<'static> = ServerConfig::new()
///     .with_retry(Some(Duration::from_secs(2)))
///     .with_lease(Some(Duration::from_secs(60)))
///     .with_overrun(OverrunPolicy::Disconnect { retry: Some(Duration::from_secs(1)) });
///
/// assert_eq!(CONFIG.keepalive(), Some(Duration::from_secs(15)));
/// assert_eq!(CONFIG.lease(), Some(Duration::from_secs(60)));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct ServerConfig<'a> {
    head_limits: HeadLimits,
    head_timeout_ms: u64,
    retry_ms: Option<u64>,
    keepalive_ms: Option<u64>,
    lease_ms: Option<u64>,
    write_timeout_ms: Option<u64>,
    overrun: OverrunPolicy,
    gap_event: GapEvent<'a>,
    close_delimited: bool,
}

impl<'a> ServerConfig<'a> {
    /// How long a client may take to send its request head: 10 s, ample for a real client and
    /// short enough that a slowloris attack holds few connections.
    pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long handed-out bytes may stay unconfirmed: 30 s.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

    /// Creates the default settings (see the table above).
    pub const fn new() -> Self {
        Self {
            head_limits: HeadLimits::DEFAULT,
            head_timeout_ms: millis(Self::DEFAULT_HEAD_TIMEOUT),
            retry_ms: None,
            keepalive_ms: Some(millis(KeepAlive::DEFAULT_INTERVAL)),
            lease_ms: None,
            write_timeout_ms: Some(millis(Self::DEFAULT_WRITE_TIMEOUT)),
            overrun: OverrunPolicy::Gap,
            gap_event: GapEvent::new(GapEvent::DEFAULT_NAME),
            close_delimited: false,
        }
    }

    /// Sets the caps on the request head; the lent storage caps it too.
    #[must_use]
    pub const fn with_head_limits(mut self, limits: HeadLimits) -> Self {
        self.head_limits = limits;
        self
    }

    /// Sets how long after the session starts its request head must be complete.
    #[must_use]
    pub const fn with_head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout_ms = millis(timeout);
        self
    }

    /// Sets the reconnection time sent as a `retry:` block at stream start, or none.
    #[must_use]
    pub const fn with_retry(mut self, retry: Option<Duration>) -> Self {
        self.retry_ms = option_millis(retry);
        self
    }

    /// Sets the keep-alive interval, or turns keep-alives (and their announcement) off.
    ///
    /// An interval under 1 ms is raised to 1 ms, as [`KeepAlive`] does.
    #[must_use]
    pub const fn with_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.keepalive_ms = match option_millis(interval) {
            Some(0) => Some(1),
            other => other,
        };
        self
    }

    /// Sets the client lease duration, or turns leases off.
    ///
    /// With a lease, the application calls
    /// [`ServerSession::renew_lease`](super::ServerSession::renew_lease) whenever the client
    /// proves it is alive (for example a `POST /ping` on another connection); a lease not
    /// renewed in time closes the session.
    #[must_use]
    pub const fn with_lease(mut self, duration: Option<Duration>) -> Self {
        self.lease_ms = option_millis(duration);
        self
    }

    /// Sets how long bytes handed out by `poll_transmit` may go without any being confirmed
    /// written, or turns write-stall detection off.
    #[must_use]
    pub const fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout_ms = option_millis(timeout);
        self
    }

    /// Sets what a session whose reader fell behind the ring gets.
    #[must_use]
    pub const fn with_overrun(mut self, policy: OverrunPolicy) -> Self {
        self.overrun = policy;
        self
    }

    /// Sets the in-band event that reports missed events.
    #[must_use]
    pub const fn with_gap_event(mut self, gap_event: GapEvent<'a>) -> Self {
        self.gap_event = gap_event;
        self
    }

    /// Frames every stream by closing the connection, even for HTTP/1.1 clients.
    ///
    /// Useful behind proxies that mishandle chunked streams; HTTP/1.0 clients always get it.
    #[must_use]
    pub const fn with_close_delimited(mut self, close_delimited: bool) -> Self {
        self.close_delimited = close_delimited;
        self
    }

    /// The caps on the request head.
    pub const fn head_limits(&self) -> HeadLimits {
        self.head_limits
    }

    /// How long the request head may take.
    pub const fn head_timeout(&self) -> Duration {
        Duration::from_millis(self.head_timeout_ms)
    }

    /// The reconnection time sent at stream start, if any.
    pub const fn retry(&self) -> Option<Duration> {
        option_duration(self.retry_ms)
    }

    /// The keep-alive interval, if keep-alives are on.
    pub const fn keepalive(&self) -> Option<Duration> {
        option_duration(self.keepalive_ms)
    }

    /// The client lease duration, if leases are on.
    pub const fn lease(&self) -> Option<Duration> {
        option_duration(self.lease_ms)
    }

    /// The write-stall limit, if stall detection is on.
    pub const fn write_timeout(&self) -> Option<Duration> {
        option_duration(self.write_timeout_ms)
    }

    /// What a reader that fell behind the ring gets.
    pub const fn overrun(&self) -> OverrunPolicy {
        self.overrun
    }

    /// The in-band event that reports missed events.
    pub const fn gap_event(&self) -> GapEvent<'a> {
        self.gap_event
    }

    /// Whether every stream is close-delimited.
    pub const fn close_delimited(&self) -> bool {
        self.close_delimited
    }
}

impl Default for ServerConfig<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a session does when its reader fell behind the ring and events it had not sent yet were
/// evicted (a slow client, or a shell that stopped draining it).
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::server::{OverrunPolicy, ServerConfig};
///
/// let config = ServerConfig::new()
///     .with_overrun(OverrunPolicy::Disconnect { retry: Some(Duration::from_secs(5)) });
/// assert_ne!(config.overrun(), OverrunPolicy::Gap);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum OverrunPolicy {
    /// Send the gap event (reason `overrun`, with the number missed) and go on from the oldest
    /// kept event. The client stays connected and resyncs in-band.
    Gap,
    /// Close the stream gracefully: an optional `retry:` hint, the end of the body, then the
    /// connection. The client reconnects with its last id and is told about the gap by the
    /// next session, which frees this one's socket buffers meanwhile.
    Disconnect {
        /// The reconnection time to send before closing, if any.
        retry: Option<Duration>,
    },
}

/// The application's choices when it accepts one request, for
/// [`ServerSession::accept`](super::ServerSession::accept).
///
/// `'a` is the lifetime of the extra headers; the session keeps them until the response head
/// is written, so they must outlive it (a `static` list, or one stored beside the session).
///
/// # Examples
///
/// ```
/// use sansse::server::AcceptOptions;
///
/// static CORS: [(&str, &str); 1] = [("Access-Control-Allow-Origin", "*")];
/// let options = AcceptOptions::new().with_headers(&CORS);
/// assert_eq!(options.headers().len(), 1);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct AcceptOptions<'a> {
    headers: &'a [(&'a str, &'a str)],
    close_delimited: bool,
    any_method: bool,
}

impl<'a> AcceptOptions<'a> {
    /// No extra headers; framing from the request and the config; `GET` requests only.
    pub const fn new() -> Self {
        Self {
            headers: &[],
            close_delimited: false,
            any_method: false,
        }
    }

    /// Opens the stream whatever the request's method, not only for `GET`: for a stream that
    /// answers a `POST` with a body (as LLM APIs stream their answers). The `Accept` check
    /// still applies. Browsers' `EventSource` only ever sends `GET`, so this is off by default
    /// and `accept` answers any other method with `405 Method Not Allowed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::server::AcceptOptions;
    ///
    /// assert!(!AcceptOptions::new().any_method());
    /// assert!(AcceptOptions::new().with_any_method(true).any_method());
    /// ```
    #[must_use]
    pub const fn with_any_method(mut self, any_method: bool) -> Self {
        self.any_method = any_method;
        self
    }

    /// Whether the stream opens for any method, not only `GET`.
    pub const fn any_method(&self) -> bool {
        self.any_method
    }

    /// Sets extra response headers (CORS and the like), written after the standard ones.
    ///
    /// Headers that would contradict the stream's framing (`Content-Type`, `Content-Length`,
    /// `Content-Encoding`, `Transfer-Encoding`, `Connection`) are refused by `accept`.
    #[must_use]
    pub const fn with_headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    /// Frames this stream by closing the connection even if the client speaks HTTP/1.1.
    #[must_use]
    pub const fn with_close_delimited(mut self, close_delimited: bool) -> Self {
        self.close_delimited = close_delimited;
        self
    }

    /// The extra response headers.
    pub const fn headers(&self) -> &'a [(&'a str, &'a str)] {
        self.headers
    }

    /// Whether this stream is close-delimited by choice.
    pub const fn close_delimited(&self) -> bool {
        self.close_delimited
    }
}

/// How a stream ends, for [`ServerSession::close`](super::ServerSession::close).
///
/// Before a request was accepted there is no stream to write into, so closing answers
/// `503 Service Unavailable` instead, with the retry time as `Retry-After`.
///
/// `'a` is the lifetime of the last event's fields; the session keeps the event until it is
/// written. For text made on the spot, publish it to the ring instead (every session gets it).
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::encode::{EventName, Message};
/// use sansse::server::CloseOptions;
///
/// let options = CloseOptions::new()
///     .with_event(Message::new("restarting").with_name(EventName::new("bye")?))
///     .with_retry(Duration::from_secs(5));
/// assert_eq!(options.retry(), Some(Duration::from_secs(5)));
/// # Ok::<(), sansse::encode::InvalidField>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct CloseOptions<'a> {
    event: Option<Message<'a>>,
    retry_ms: Option<u64>,
}

impl<'a> CloseOptions<'a> {
    /// Ends the stream with nothing more than the end of the body.
    pub const fn new() -> Self {
        Self {
            event: None,
            retry_ms: None,
        }
    }

    /// Sends `event` as the stream's last event.
    #[must_use]
    pub const fn with_event(mut self, event: Message<'a>) -> Self {
        self.event = Some(event);
        self
    }

    /// Sends a `retry:` block after the last event, telling the client when to reconnect.
    #[must_use]
    pub const fn with_retry(mut self, retry: Duration) -> Self {
        self.retry_ms = Some(millis(retry));
        self
    }

    /// The last event, if any.
    pub const fn event(&self) -> Option<Message<'a>> {
        self.event
    }

    /// The reconnection time sent before closing, if any.
    pub const fn retry(&self) -> Option<Duration> {
        option_duration(self.retry_ms)
    }

    pub(super) const fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }
}

const fn option_millis(d: Option<Duration>) -> Option<u64> {
    match d {
        Some(d) => Some(millis(d)),
        None => None,
    }
}

const fn option_duration(ms: Option<u64>) -> Option<Duration> {
    match ms {
        Some(ms) => Some(crate::ascii::duration_from_millis(ms)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_table() {
        let config = ServerConfig::default();

        assert_eq!(config.head_limits(), HeadLimits::DEFAULT);
        assert_eq!(config.head_timeout(), Duration::from_secs(10));
        assert_eq!(config.retry(), None);
        assert_eq!(config.keepalive(), Some(Duration::from_secs(15)));
        assert_eq!(config.lease(), None);
        assert_eq!(config.write_timeout(), Some(Duration::from_secs(30)));
        assert_eq!(config.overrun(), OverrunPolicy::Gap);
        assert_eq!(config.gap_event(), GapEvent::default());
        assert!(!config.close_delimited());
    }

    #[test]
    fn zero_keepalive_is_one_millisecond_and_none_is_off() {
        let config = ServerConfig::new().with_keepalive(Some(Duration::ZERO));
        assert_eq!(config.keepalive(), Some(Duration::from_millis(1)));

        assert_eq!(ServerConfig::new().with_keepalive(None).keepalive(), None);
    }

    #[test]
    fn durations_saturate_to_whole_milliseconds() {
        let config = ServerConfig::new()
            .with_head_timeout(Duration::MAX)
            .with_retry(Some(Duration::from_micros(2_999)));

        assert_eq!(config.head_timeout(), Duration::from_millis(u64::MAX));
        assert_eq!(config.retry(), Some(Duration::from_millis(2)));
    }
}
