//! What a [`ClientSession`](super::ClientSession) is told once: where to connect, what to send,
//! its timers and policies, and the memory it works in.

use core::fmt;
use core::time::Duration;

use crate::ascii::{duration_from_millis, millis};
use crate::backoff::BackoffConfig;
use crate::heartbeat::{IdleConfig, PingConfig};
use crate::http::{HeadLimits, Policy};

use super::RequestBuildError;

/// Settings for a [`ClientSession`](super::ClientSession), built with `const fn`s so they can
/// live in a `static`.
///
/// Only the host and target are required; everything else has a default:
///
/// | setting | default |
/// |---|---|
/// | port | 80 |
/// | method, body | `GET`, none |
/// | headers | none (beyond `Host`, `Accept`, `Cache-Control`, `Last-Event-ID`) |
/// | headers withheld on a cross-origin redirect | [`DEFAULT_SENSITIVE_HEADERS`](Self::DEFAULT_SENSITIVE_HEADERS) (`Authorization`, `Cookie`, `Proxy-Authorization`) |
/// | initial `Last-Event-ID` | none |
/// | backoff | [`BackoffConfig::new`] (3 s reconnection time, doubling to 20 s, 50 % jitter) |
/// | idle watchdog | [`IdleConfig::new`] (60 s, resized by the server's announcement) |
/// | pings | off |
/// | redirects followed per attempt | 5 |
/// | connect timeout (from `Connect` to a complete response head) | 30 s |
/// | status policy | [`Policy::DEFAULT`] |
/// | response head limits | [`HeadLimits::DEFAULT`] (also bounded by the head buffer) |
/// | resume mode | [`ResumeMode::Dispatched`] |
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::client::{ClientConfig, ResumeMode};
///
/// static CONFIG: ClientConfig<'static> = ClientConfig::new("sensors.local", "/events")
///     .with_port(8080)
///     .with_headers(&[("X-Device", "42")])
///     .with_connect_timeout(Duration::from_secs(10))
///     .with_resume(ResumeMode::Acknowledged);
///
/// assert_eq!(CONFIG.port(), 8080);
/// assert_eq!(CONFIG.resume(), ResumeMode::Acknowledged);
/// ```
///
/// # Credentials and redirects
///
/// A redirect may lead to another origin: another host or port than the configured one (the
/// session carries no scheme: TLS, if any, is the connect step's, and the session does not
/// follow a redirect to an absolute `https` URL, so the scheme never changes). On a request to another origin the session leaves out every *sensitive* header,
/// configured ([`with_headers`](Self::with_headers)) or given per attempt
/// ([`handle_connected_with_headers`](super::ClientSession::handle_connected_with_headers)):
/// `Authorization`, `Cookie` and `Proxy-Authorization`, plus any named with
/// [`with_sensitive_headers`](Self::with_sensitive_headers), names compared without case.
/// A redirect chain that comes back to the configured origin sends them again there. curl (without
/// `--location-trusted`) and browsers (the Fetch standard's redirect steps) do the same, and this
/// crate follows them: a server must not be able to collect credentials meant for another one
/// by answering `307`. There is no switch to send them anyway; to talk to another origin with
/// credentials, configure that origin.
///
/// ```
/// use sansse::client::ClientConfig;
///
/// let config = ClientConfig::new("api.test", "/events")
///     .with_headers(&[("Authorization", "Bearer t"), ("X-Api-Key", "k"), ("X-Trace", "1")])
///     .with_sensitive_headers(&["X-Api-Key"]);
/// assert!(config.is_sensitive_header("authorization"));
/// assert!(config.is_sensitive_header("x-api-key"));
/// assert!(!config.is_sensitive_header("X-Trace"));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ClientConfig<'b> {
    pub(super) host: &'b str,
    pub(super) port: u16,
    pub(super) target: &'b str,
    pub(super) method: &'b str,
    pub(super) body: Option<&'b [u8]>,
    pub(super) headers: &'b [(&'b str, &'b str)],
    pub(super) sensitive_headers: &'b [&'b str],
    pub(super) last_event_id: &'b str,
    pub(super) backoff: BackoffConfig,
    pub(super) idle: IdleConfig,
    pub(super) ping: Option<PingConfig>,
    pub(super) max_redirects: u8,
    pub(super) connect_timeout_ms: u64,
    pub(super) policy: Policy,
    pub(super) head_limits: HeadLimits,
    pub(super) resume: ResumeMode,
}

impl<'b> ClientConfig<'b> {
    /// The number of redirects followed in one attempt before giving up: 5.
    pub const DEFAULT_MAX_REDIRECTS: u8 = 5;
    /// The time from a `Connect` action to a complete response head: 30 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The headers always withheld on a request to another origin than the configured one;
    /// see [Credentials and redirects](Self#credentials-and-redirects).
    pub const DEFAULT_SENSITIVE_HEADERS: &'static [&'static str] =
        &["Authorization", "Cookie", "Proxy-Authorization"];

    /// A `GET` of `target` (path and query, such as `/events?topic=a`) on `host`, port 80, with
    /// every other setting at its default.
    pub const fn new(host: &'b str, target: &'b str) -> Self {
        Self {
            host,
            port: 80,
            target,
            method: "GET",
            body: None,
            headers: &[],
            sensitive_headers: &[],
            last_event_id: "",
            backoff: BackoffConfig::new(),
            idle: IdleConfig::new(),
            ping: None,
            max_redirects: Self::DEFAULT_MAX_REDIRECTS,
            connect_timeout_ms: millis(Self::DEFAULT_CONNECT_TIMEOUT),
            policy: Policy::DEFAULT,
            head_limits: HeadLimits::DEFAULT,
            resume: ResumeMode::Dispatched,
        }
    }

    /// Sets the server port.
    #[must_use]
    pub const fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the method (a token such as `POST` or `REPORT`); it is used on every attempt.
    #[must_use]
    pub const fn with_method(mut self, method: &'b str) -> Self {
        self.method = method;
        self
    }

    /// Sets a request body, sent with `Content-Length` on every attempt. A `303` redirect (and a
    /// `301` or `302` after `POST`) turns the rest of that attempt into a `GET` without it.
    #[must_use]
    pub const fn with_body(mut self, body: &'b [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets headers sent on every attempt, before the per-attempt headers of
    /// [`ClientSession::handle_connected_with_headers`](super::ClientSession::handle_connected_with_headers).
    ///
    /// Sensitive ones (`Authorization`, `Cookie`, `Proxy-Authorization` and those named with
    /// [`with_sensitive_headers`](Self::with_sensitive_headers)) go to the configured origin
    /// only, never to another one a redirect leads to; see
    /// [Credentials and redirects](Self#credentials-and-redirects). Credentials that expire are
    /// better given per attempt, where they can be refreshed.
    #[must_use]
    pub const fn with_headers(mut self, headers: &'b [(&'b str, &'b str)]) -> Self {
        self.headers = headers;
        self
    }

    /// Names more headers (case-insensitively) that are withheld on a request to another origin
    /// than the configured one, in addition to
    /// [`DEFAULT_SENSITIVE_HEADERS`](Self::DEFAULT_SENSITIVE_HEADERS), which are always withheld:
    /// an API key in `X-Api-Key`, a session token in a custom header. Replaces the names given
    /// before.
    #[must_use]
    pub const fn with_sensitive_headers(mut self, names: &'b [&'b str]) -> Self {
        self.sensitive_headers = names;
        self
    }

    /// Sets the id to resume after on the first attempt, for example one persisted before a
    /// restart. An empty id sends no `Last-Event-ID`.
    #[must_use]
    pub const fn with_last_event_id(mut self, id: &'b str) -> Self {
        self.last_event_id = id;
        self
    }

    /// Sets the reconnect timing.
    #[must_use]
    pub const fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the idle watchdog: how long an open stream may stay silent before it counts as dead.
    #[must_use]
    pub const fn with_idle(mut self, idle: IdleConfig) -> Self {
        self.idle = idle;
        self
    }

    /// Turns pings on: while a stream is open the session asks for a ping on a second
    /// connection ([`Action::SendPing`](super::Action::SendPing)) on this schedule.
    #[must_use]
    pub const fn with_ping(mut self, ping: PingConfig) -> Self {
        self.ping = Some(ping);
        self
    }

    /// Sets how many redirects one attempt may follow; 0 treats every redirect as a failure.
    #[must_use]
    pub const fn with_max_redirects(mut self, max: u8) -> Self {
        self.max_redirects = max;
        self
    }

    /// Sets the time from a `Connect` action to a complete response head (whole milliseconds,
    /// at least 1 ms). An attempt that takes longer is dropped and retried.
    #[must_use]
    pub const fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        let ms = millis(timeout);
        self.connect_timeout_ms = if ms == 0 { 1 } else { ms };
        self
    }

    /// Sets which statuses are retried and whether redirects are followed.
    #[must_use]
    pub const fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the response head limits; the head buffer bounds the head size too.
    #[must_use]
    pub const fn with_head_limits(mut self, limits: HeadLimits) -> Self {
        self.head_limits = limits;
        self
    }

    /// Sets when the resume id advances; see [`ResumeMode`].
    #[must_use]
    pub const fn with_resume(mut self, resume: ResumeMode) -> Self {
        self.resume = resume;
        self
    }

    /// The configured host.
    pub const fn host(&self) -> &'b str {
        self.host
    }

    /// The configured port.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// The configured request target.
    pub const fn target(&self) -> &'b str {
        self.target
    }

    /// The configured method.
    pub const fn method(&self) -> &'b str {
        self.method
    }

    /// The configured body, if any.
    pub const fn body(&self) -> Option<&'b [u8]> {
        self.body
    }

    /// The headers sent on every attempt.
    pub const fn headers(&self) -> &'b [(&'b str, &'b str)] {
        self.headers
    }

    /// The header names added to [`DEFAULT_SENSITIVE_HEADERS`](Self::DEFAULT_SENSITIVE_HEADERS)
    /// with [`with_sensitive_headers`](Self::with_sensitive_headers).
    pub const fn sensitive_headers(&self) -> &'b [&'b str] {
        self.sensitive_headers
    }

    /// Whether a header named `name` is withheld on a request to another origin: one of
    /// [`DEFAULT_SENSITIVE_HEADERS`](Self::DEFAULT_SENSITIVE_HEADERS) or of
    /// [`sensitive_headers`](Self::sensitive_headers), compared without case.
    pub fn is_sensitive_header(&self, name: &str) -> bool {
        Self::DEFAULT_SENSITIVE_HEADERS
            .iter()
            .chain(self.sensitive_headers)
            .any(|sensitive| sensitive.eq_ignore_ascii_case(name))
    }

    /// The id the first attempt resumes after (`""` for none).
    pub const fn last_event_id(&self) -> &'b str {
        self.last_event_id
    }

    /// The reconnect timing.
    pub const fn backoff(&self) -> BackoffConfig {
        self.backoff
    }

    /// The idle watchdog settings.
    pub const fn idle(&self) -> IdleConfig {
        self.idle
    }

    /// The ping schedule, if pings are on.
    pub const fn ping(&self) -> Option<PingConfig> {
        self.ping
    }

    /// How many redirects one attempt may follow.
    pub const fn max_redirects(&self) -> u8 {
        self.max_redirects
    }

    /// The connect timeout.
    pub const fn connect_timeout(&self) -> Duration {
        duration_from_millis(self.connect_timeout_ms)
    }

    /// The status policy.
    pub const fn policy(&self) -> Policy {
        self.policy
    }

    /// The response head limits.
    pub const fn head_limits(&self) -> HeadLimits {
        self.head_limits
    }

    /// The resume mode.
    pub const fn resume(&self) -> ResumeMode {
        self.resume
    }
}

/// When the id sent as `Last-Event-ID` on a reconnect advances.
///
/// # Examples
///
/// ```
/// use sansse::client::{ClientConfig, ResumeMode};
///
/// let config = ClientConfig::new("h", "/").with_resume(ResumeMode::Acknowledged);
/// assert_eq!(config.resume(), ResumeMode::Acknowledged);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ResumeMode {
    /// As the spec says: the last event ID moves when an event block is dispatched, that is
    /// when [`Messages::next`](super::Messages::next) hands the event out.
    Dispatched,
    /// The resume id moves only when the application calls
    /// [`ClientSession::ack`](super::ClientSession::ack), so an event
    /// whose processing was cut short by a crash or reset is sent again. Persist the id from
    /// [`SessionEvent::PersistId`](super::SessionEvent::PersistId) and pass it back with
    /// [`ClientConfig::with_last_event_id`] after a restart.
    Acknowledged,
}

/// The memory a [`ClientSession`](super::ClientSession) works in, lent for its whole life.
///
/// | buffer | holds | size it needs |
/// |---|---|---|
/// | `parser` | the event being assembled, the last event ID | the largest event (see [`Parser`](crate::Parser)) |
/// | `head` | the response head | the largest head accepted (2 KiB is plenty for SSE servers), at least [`MIN_HEAD_BUFFER`](super::MIN_HEAD_BUFFER) |
/// | `transmit` | the request head while it is sent; a redirect target while it is resolved | the request head, with the longest `Last-Event-ID` |
/// | `redirect` | the host and target of the redirect being followed | host and target of the longest redirect |
///
/// [`ClientStorage`] owns all four as arrays.
#[derive(Debug)]
pub struct ClientBuffers<'b> {
    /// The parser's buffer.
    pub parser: &'b mut [u8],
    /// The response head buffer.
    pub head: &'b mut [u8],
    /// The request buffer.
    pub transmit: &'b mut [u8],
    /// The redirect buffer.
    pub redirect: &'b mut [u8],
}

/// Owned arrays for [`ClientBuffers`], sized by const generics with defaults fit for most
/// streams: 4 KiB parser, 2 KiB response head, 1 KiB request, 512 bytes redirect. Write the type
/// to get the defaults (`let mut storage: ClientStorage = ClientStorage::new();`): Rust does
/// not infer default const arguments from `ClientStorage::new()` alone.
///
/// # Examples
///
/// ```
/// use sansse::client::ClientStorage;
///
/// // A smaller footprint for a microcontroller: 1 KiB events, 512-byte heads.
/// let mut storage = ClientStorage::<1024, 512, 512, 256>::new();
/// let buffers = storage.buffers();
/// assert_eq!(buffers.parser.len(), 1024);
/// ```
#[derive(Clone, Debug)]
pub struct ClientStorage<
    const PARSER: usize = 4096,
    const HEAD: usize = 2048,
    const TRANSMIT: usize = 1024,
    const REDIRECT: usize = 512,
> {
    parser: [u8; PARSER],
    head: [u8; HEAD],
    transmit: [u8; TRANSMIT],
    redirect: [u8; REDIRECT],
}

impl<const PARSER: usize, const HEAD: usize, const TRANSMIT: usize, const REDIRECT: usize>
    ClientStorage<PARSER, HEAD, TRANSMIT, REDIRECT>
{
    /// Zeroed storage; `const` so it can be placed in a `static` cell.
    pub const fn new() -> Self {
        Self {
            parser: [0; PARSER],
            head: [0; HEAD],
            transmit: [0; TRANSMIT],
            redirect: [0; REDIRECT],
        }
    }

    /// Lends the four buffers.
    pub fn buffers(&mut self) -> ClientBuffers<'_> {
        ClientBuffers {
            parser: &mut self.parser,
            head: &mut self.head,
            transmit: &mut self.transmit,
            redirect: &mut self.redirect,
        }
    }
}

impl<const PARSER: usize, const HEAD: usize, const TRANSMIT: usize, const REDIRECT: usize> Default
    for ClientStorage<PARSER, HEAD, TRANSMIT, REDIRECT>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Why [`ClientSession::new`](super::ClientSession::new) refused a config.
///
/// # Examples
///
/// ```
/// use sansse::client::{ClientConfig, ClientSession, ClientStorage, ConfigError, RequestBuildError};
/// use sansse::http::RequestWriteError;
/// use sansse::Instant;
///
/// let mut storage = ClientStorage::<1024, 512, 64, 64>::new();
/// let config = ClientConfig::new("example.com", "/events");
/// let error = ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap_err();
/// assert!(matches!(
///     error,
///     ConfigError::Request(RequestBuildError::Write(RequestWriteError::BufferTooSmall(_)))
/// ));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The request cannot be written: an invalid field, or a transmit buffer too small for the
    /// head with the longest `Last-Event-ID` the parser accepts.
    Request(RequestBuildError),
    /// The initial `Last-Event-ID` is longer than the parser accepts.
    LastEventIdTooLong {
        /// The longest id accepted, in bytes.
        max: usize,
    },
    /// The head buffer (or [`HeadLimits::max_head`], if smaller) is below
    /// [`MIN_HEAD_BUFFER`](super::MIN_HEAD_BUFFER): no useful response head would fit, and the
    /// session would only ever fail to read one.
    HeadBufferTooSmall {
        /// The head limit the buffers and limits give, in bytes.
        available: usize,
        /// The least accepted, [`MIN_HEAD_BUFFER`](super::MIN_HEAD_BUFFER).
        min: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => write!(f, "request cannot be written: {e}"),
            Self::LastEventIdTooLong { max } => {
                write!(f, "initial last event id exceeds {max} bytes")
            }
            Self::HeadBufferTooSmall { available, min } => {
                write!(f, "response head limit of {available} bytes is below {min}")
            }
        }
    }
}

impl core::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            Self::LastEventIdTooLong { .. } | Self::HeadBufferTooSmall { .. } => None,
        }
    }
}
