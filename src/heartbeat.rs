//! Heartbeat deadlines for both ends of a stream: the client's idle watchdog and ping schedule,
//! the server's keep-alive timer and client lease.
//!
//! Each is a small machine that never reads a clock. It answers [`poll_timeout`] with its next
//! deadline and acts in `handle_timeout(now)`; calling that early or again is a harmless no-op.
//! Every input takes `now`, and a `now` older than one already seen is treated as the latest
//! seen, so a clock that steps back never fires a deadline early or twice.
//!
//! | machine | side | deadline | outcome |
//! |---|---|---|---|
//! | [`IdleWatchdog`] | client | last byte received + idle limit | the stream is dead ([`IdleExpired`]) |
//! | [`PingSchedule`] | client | next ping, or ping sent + answer time | send a ping, or dead ([`PongOverdue`]) |
//! | [`KeepAlive`] | server | last byte written + interval | write a keep-alive comment |
//! | [`Lease`] | server | last renewal + lease duration | shed the client ([`LeaseExpired`]) |
//!
//! Deadlines are inclusive: a deadline at `t` fires for `now == t`, not for `now == t - 1 ms`.
//! The watchdog, the pong wait and the lease end for good when they fire; build a new machine
//! for the next connection.
//!
//! # Keep-alive announcement
//!
//! A client can only size its idle limit well if it knows how often the server writes when
//! there is nothing to say. This crate's convention: at stream start the server writes the
//! comment line
//!
//! ```text
//! :keepalive 15000
//! ```
//!
//! whose comment text is `keepalive`, one space, and the interval in milliseconds as ASCII
//! digits (no sign, not zero). A comment is ignored by every conforming SSE client, so the line
//! is harmless to peers that do not know it. [`keepalive_comment`] writes the text and
//! [`parse_keepalive_announcement`] reads it; the client then calls
//! [`IdleWatchdog::handle_announcement`].
//!
//! [`poll_timeout`]: IdleWatchdog::poll_timeout

use core::fmt::{self, Write as _};
use core::time::Duration;

use heapless::String;

use crate::time::{Instant, Monotonic};

/// The word that opens a keep-alive announcement comment.
const KEEPALIVE_WORD: &str = "keepalive ";

/// Writes the comment text announcing a keep-alive `interval`, such as `keepalive 15000`.
///
/// Write it as a comment (`:` then the text, then a line break) at stream start. The interval is
/// in whole milliseconds; anything under 1 ms is announced as 1 ms, the least [`KeepAlive`]
/// uses, because the parser rejects zero. The longest text (`u64::MAX` milliseconds) is 30 bytes,
/// so it always fits.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::keepalive_comment;
///
/// assert_eq!(keepalive_comment(Duration::from_secs(15)), "keepalive 15000");
/// ```
pub fn keepalive_comment(interval: Duration) -> String<32> {
    let mut text = String::new();
    // 10 bytes of word and at most 20 digits fit in 32, so this write cannot fail.
    let _ = write!(text, "{KEEPALIVE_WORD}{}", millis(interval).max(1));
    text
}

/// Reads a keep-alive announcement from a comment's text (everything after the colon).
///
/// One leading space is stripped first, as the event-stream format strips it from field
/// values, so both `:keepalive 15000` and `: keepalive 15000` announce 15 s. Anything else
/// returns `None`: other words, extra spaces, trailing text, non-digits, zero, or a number too
/// large for a `u64`.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::parse_keepalive_announcement;
///
/// assert_eq!(parse_keepalive_announcement("keepalive 15000"), Some(Duration::from_secs(15)));
/// assert_eq!(parse_keepalive_announcement(" keepalive 15000"), Some(Duration::from_secs(15)));
/// assert_eq!(parse_keepalive_announcement("keepalive 15s"), None);
/// assert_eq!(parse_keepalive_announcement("just a comment"), None);
/// ```
pub fn parse_keepalive_announcement(comment_text: &str) -> Option<Duration> {
    let text = comment_text.strip_prefix(' ').unwrap_or(comment_text);
    let digits = text.strip_prefix(KEEPALIVE_WORD)?;
    if digits.is_empty() {
        return None;
    }
    let mut ms: u64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        ms = ms.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if ms == 0 {
        return None;
    }
    Some(Duration::from_millis(ms))
}

/// Settings for [`IdleWatchdog`], built with `const fn`s so they can live in a `static`.
///
/// Until the server announces its keep-alive interval, the idle limit is `timeout`. After an
/// announcement of interval `i` it is `i * factor + margin`, clamped into
/// `[min_announced, max_announced]` (the floor wins if it is above the cap): the factor lets a
/// keep-alive or two go missing, the margin absorbs network delay, the floor stops a tiny
/// announcement from making the watchdog trigger-happy, and the cap stops a huge one from
/// switching dead-connection detection off. Durations are kept in whole milliseconds.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::IdleConfig;
///
/// static CONFIG: IdleConfig = IdleConfig::new().with_timeout(Duration::from_secs(90));
///
/// // 15 s * 2 + 5 s with the default factor and margin.
/// assert_eq!(CONFIG.limit_for(Duration::from_secs(15)), Duration::from_secs(35));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct IdleConfig {
    timeout_ms: u64,
    factor: u32,
    margin_ms: u64,
    min_announced_ms: u64,
    max_announced_ms: u64,
}

impl IdleConfig {
    /// The idle limit before any announcement: 60 s, twice the slowest common keep-alive (30 s).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
    /// How many announced intervals may pass without a byte: 2.
    pub const DEFAULT_FACTOR: u32 = 2;
    /// Added to the announced intervals for network delay: 5 s.
    pub const DEFAULT_MARGIN: Duration = Duration::from_secs(5);
    /// The shortest limit an announcement can set: 1 s.
    pub const DEFAULT_MIN_ANNOUNCED: Duration = Duration::from_secs(1);
    /// The longest limit an announcement can set: 10 minutes.
    pub const DEFAULT_MAX_ANNOUNCED: Duration = Duration::from_secs(600);

    /// Creates the default settings (see the `DEFAULT_*` constants).
    pub const fn new() -> Self {
        Self {
            timeout_ms: millis(Self::DEFAULT_TIMEOUT),
            factor: Self::DEFAULT_FACTOR,
            margin_ms: millis(Self::DEFAULT_MARGIN),
            min_announced_ms: millis(Self::DEFAULT_MIN_ANNOUNCED),
            max_announced_ms: millis(Self::DEFAULT_MAX_ANNOUNCED),
        }
    }

    /// Sets the idle limit used before any announcement.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = millis(timeout);
        self
    }

    /// Sets how many announced intervals may pass without a byte.
    pub const fn with_factor(mut self, factor: u32) -> Self {
        self.factor = factor;
        self
    }

    /// Sets the time added to the announced intervals.
    pub const fn with_margin(mut self, margin: Duration) -> Self {
        self.margin_ms = millis(margin);
        self
    }

    /// Sets the bounds an announced limit is clamped into.
    pub const fn with_announced_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_announced_ms = millis(min);
        self.max_announced_ms = millis(max);
        self
    }

    /// The idle limit used before any announcement.
    pub const fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// How many announced intervals may pass without a byte.
    pub const fn factor(&self) -> u32 {
        self.factor
    }

    /// The time added to the announced intervals.
    pub const fn margin(&self) -> Duration {
        Duration::from_millis(self.margin_ms)
    }

    /// The shortest limit an announcement can set.
    pub const fn min_announced(&self) -> Duration {
        Duration::from_millis(self.min_announced_ms)
    }

    /// The longest limit an announcement can set.
    pub const fn max_announced(&self) -> Duration {
        Duration::from_millis(self.max_announced_ms)
    }

    /// The idle limit for an announced keep-alive `interval`: `interval * factor + margin`,
    /// clamped into the announced bounds. Saturates instead of overflowing.
    pub const fn limit_for(&self, interval: Duration) -> Duration {
        let grown = millis(interval)
            .saturating_mul(self.factor as u64)
            .saturating_add(self.margin_ms);
        let capped = if grown > self.max_announced_ms {
            self.max_announced_ms
        } else {
            grown
        };
        let floored = if capped < self.min_announced_ms {
            self.min_announced_ms
        } else {
            capped
        };
        Duration::from_millis(floored)
    }
}

impl Default for IdleConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The client's idle watchdog: a stream that receives no byte for the idle limit is dead.
///
/// Any received byte re-arms it ([`IdleWatchdog::handle_activity`]), keep-alive comments
/// included; that is what they are for. A keep-alive announcement resizes the limit (see
/// [`IdleConfig`]). Once it fires the stream counts as dead for good and later bytes are
/// ignored: reconnect and build a new watchdog.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::{IdleConfig, IdleWatchdog, parse_keepalive_announcement};
/// use sansse::Instant;
///
/// let mut watchdog = IdleWatchdog::new(Instant::ZERO, IdleConfig::new());
///
/// // The server announced 15 s keep-alives at 100 ms: dead after 35 s of silence.
/// let interval = parse_keepalive_announcement("keepalive 15000").unwrap();
/// watchdog.handle_announcement(Instant::from_millis(100), interval);
/// assert_eq!(watchdog.poll_timeout(), Some(Instant::from_millis(35_100)));
///
/// assert!(watchdog.handle_timeout(Instant::from_millis(35_099)).is_none());
/// let expired = watchdog.handle_timeout(Instant::from_millis(35_100)).unwrap();
/// assert_eq!(expired.limit, Duration::from_secs(35));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
pub struct IdleWatchdog {
    config: IdleConfig,
    clock: Monotonic,
    last_activity: Instant,
    limit_ms: u64,
    source: IdleLimit,
    expired: bool,
}

impl IdleWatchdog {
    /// Creates a watchdog armed at `now` with the configured (unannounced) limit.
    pub const fn new(now: Instant, config: IdleConfig) -> Self {
        Self {
            limit_ms: config.timeout_ms,
            config,
            clock: Monotonic::new(now),
            last_activity: now,
            source: IdleLimit::Configured,
            expired: false,
        }
    }

    /// Records that bytes arrived at `now`, which re-arms the deadline. Ignored once expired.
    pub fn handle_activity(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if !self.expired {
            self.last_activity = now;
        }
    }

    /// Resizes the limit from the server's announced keep-alive `interval`, received at `now`.
    ///
    /// The announcement arrived as bytes, so it also counts as activity. A later announcement
    /// replaces an earlier one. Ignored once expired.
    pub fn handle_announcement(&mut self, now: Instant, interval: Duration) {
        let now = self.clock.observe(now);
        if self.expired {
            return;
        }
        self.limit_ms = millis(self.config.limit_for(interval));
        self.source = IdleLimit::Announced { interval };
        self.last_activity = now;
    }

    /// Declares the stream dead if no byte arrived for the idle limit, returning why.
    ///
    /// Returns `Some` once, at or after the deadline. Calling it earlier, or again after it
    /// fired, is a harmless no-op that returns `None`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<IdleExpired> {
        let now = self.clock.observe(now);
        if self.expired || now < self.deadline() {
            return None;
        }
        self.expired = true;
        self.expired()
    }

    /// The instant the stream counts as dead without more bytes; `None` once it has fired.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.expired {
            return None;
        }
        Some(self.deadline())
    }

    /// Why the watchdog fired, if it has.
    pub fn expired(&self) -> Option<IdleExpired> {
        if !self.expired {
            return None;
        }
        Some(IdleExpired {
            last_activity: self.last_activity,
            limit: self.limit(),
            source: self.source,
        })
    }

    /// The current idle limit.
    pub fn limit(&self) -> Duration {
        Duration::from_millis(self.limit_ms)
    }

    /// Where the current idle limit came from.
    pub fn source(&self) -> IdleLimit {
        self.source
    }

    fn deadline(&self) -> Instant {
        self.last_activity + self.limit()
    }
}

/// Where an [`IdleWatchdog`]'s limit came from, for logs.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum IdleLimit {
    /// The configured timeout: the server announced nothing.
    Configured,
    /// Sized from the server's keep-alive announcement.
    Announced {
        /// The announced keep-alive interval.
        interval: Duration,
    },
}

/// Why an [`IdleWatchdog`] declared the stream dead.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct IdleExpired {
    /// When the last byte arrived (or the watchdog was created).
    pub last_activity: Instant,
    /// The idle limit that ran out.
    pub limit: Duration,
    /// Where that limit came from.
    pub source: IdleLimit,
}

impl fmt::Display for IdleExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no data for {} ms", self.limit.as_millis())
    }
}

impl core::error::Error for IdleExpired {}

/// Settings for [`PingSchedule`], built with a `const fn` so they can live in a `static`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct PingConfig {
    every_ms: u64,
    answer_within_ms: u64,
}

impl PingConfig {
    /// Pings `every` interval and expects each answer within `answer_within`.
    ///
    /// Both are whole milliseconds and at least 1 ms, so the schedule can never fire twice at
    /// the same instant.
    pub const fn new(every: Duration, answer_within: Duration) -> Self {
        Self {
            every_ms: at_least_one(millis(every)),
            answer_within_ms: at_least_one(millis(answer_within)),
        }
    }

    /// How often a ping is sent.
    pub const fn every(&self) -> Duration {
        Duration::from_millis(self.every_ms)
    }

    /// How long a ping may go unanswered.
    pub const fn answer_within(&self) -> Duration {
        Duration::from_millis(self.answer_within_ms)
    }
}

/// The client's ping schedule: a ping every interval, and death if one goes unanswered.
///
/// Pinging is optional; keep this in an `Option` when it is off. The session makes each ping
/// as a request on a second connection (which also renews the server's [`Lease`]) and reports
/// the answer with [`PingSchedule::handle_pong`]. One ping is outstanding at a time; the next is
/// due one interval after the previous one was sent, or at once if its answer came later than
/// that.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::{PingAction, PingConfig, PingSchedule};
/// use sansse::Instant;
///
/// let config = PingConfig::new(Duration::from_secs(30), Duration::from_secs(10));
/// let mut pings = PingSchedule::new(Instant::ZERO, config);
///
/// assert_eq!(pings.poll_timeout(), Some(Instant::from_secs(30)));
/// assert_eq!(pings.handle_timeout(Instant::from_secs(30)), Some(PingAction::SendPing));
/// assert_eq!(pings.poll_timeout(), Some(Instant::from_secs(40)));
///
/// pings.handle_pong(Instant::from_millis(30_200));
/// assert_eq!(pings.poll_timeout(), Some(Instant::from_secs(60)));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
pub struct PingSchedule {
    config: PingConfig,
    clock: Monotonic,
    state: PingState,
}

impl PingSchedule {
    /// Creates a schedule at `now`; the first ping is due one interval later.
    pub const fn new(now: Instant, config: PingConfig) -> Self {
        Self {
            config,
            clock: Monotonic::new(now),
            state: PingState::Waiting {
                next_ping: now.saturating_add(Duration::from_millis(config.every_ms)),
            },
        }
    }

    /// Records the answer to the outstanding ping at `now`.
    ///
    /// A pong with no ping outstanding (a duplicate, or one after death) is ignored.
    pub fn handle_pong(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        let PingState::AwaitingPong { sent_at, .. } = self.state else {
            return;
        };
        let next_ping = (sent_at + self.config.every()).max(now);
        self.state = PingState::Waiting { next_ping };
    }

    /// Says what is due at `now`: send a ping, or give the connection up as dead.
    ///
    /// Each action is returned once. Calling it before the deadline, or again after it acted,
    /// is a harmless no-op that returns `None`. A ping sent late (because this was called late)
    /// gets its full answer time from `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<PingAction> {
        let now = self.clock.observe(now);
        match self.state {
            PingState::Waiting { next_ping } if now >= next_ping => {
                self.state = PingState::AwaitingPong {
                    sent_at: now,
                    deadline: now + self.config.answer_within(),
                };
                Some(PingAction::SendPing)
            }
            PingState::AwaitingPong { sent_at, deadline } if now >= deadline => {
                let overdue = PongOverdue { sent_at, deadline };
                self.state = PingState::Dead(overdue);
                Some(PingAction::Dead(overdue))
            }
            PingState::Waiting { .. } | PingState::AwaitingPong { .. } | PingState::Dead(_) => None,
        }
    }

    /// The next ping time, or the answer deadline of the outstanding ping; `None` once dead.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            PingState::Waiting { next_ping } => Some(next_ping),
            PingState::AwaitingPong { deadline, .. } => Some(deadline),
            PingState::Dead(_) => None,
        }
    }

    /// When the outstanding ping was sent, if one is waiting for its answer.
    pub fn awaiting_pong(&self) -> Option<Instant> {
        match self.state {
            PingState::AwaitingPong { sent_at, .. } => Some(sent_at),
            PingState::Waiting { .. } | PingState::Dead(_) => None,
        }
    }

    /// Why the connection was given up as dead, if it was.
    pub fn dead(&self) -> Option<PongOverdue> {
        match self.state {
            PingState::Dead(overdue) => Some(overdue),
            PingState::Waiting { .. } | PingState::AwaitingPong { .. } => None,
        }
    }
}

/// What a [`PingSchedule`] wants done now.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum PingAction {
    /// Send a ping now and report its answer with [`PingSchedule::handle_pong`].
    SendPing,
    /// The outstanding ping went unanswered: treat the connection as dead.
    Dead(PongOverdue),
}

/// Why a [`PingSchedule`] gave the connection up: a ping was not answered in time.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct PongOverdue {
    /// When the unanswered ping was sent.
    pub sent_at: Instant,
    /// When its answer was due.
    pub deadline: Instant,
}

impl fmt::Display for PongOverdue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waited = self.deadline.saturating_duration_since(self.sent_at);
        write!(f, "ping unanswered for {} ms", waited.as_millis())
    }
}

impl core::error::Error for PongOverdue {}

/// The server's keep-alive timer: a comment is due when nothing was written for the interval.
///
/// Every write re-arms it ([`KeepAlive::handle_write`]), so a busy stream sends no keep-alives
/// and an idle one sends one per interval. Keep-alives stop proxies from cutting idle streams
/// and let the client's [`IdleWatchdog`] tell silence from death; announce the interval with
/// [`KeepAlive::announcement`] at stream start. Turning keep-alives off means holding no
/// `KeepAlive` (an `Option`).
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::KeepAlive;
/// use sansse::Instant;
///
/// let mut keepalive = KeepAlive::new(Instant::ZERO, KeepAlive::DEFAULT_INTERVAL);
/// assert_eq!(keepalive.announcement(), "keepalive 15000");
///
/// keepalive.handle_write(Instant::from_secs(4)); // an event went out
/// assert_eq!(keepalive.poll_timeout(), Some(Instant::from_secs(19)));
/// assert!(!keepalive.handle_timeout(Instant::from_millis(18_999)));
/// assert!(keepalive.handle_timeout(Instant::from_secs(19))); // write `:` now
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
pub struct KeepAlive {
    interval_ms: u64,
    clock: Monotonic,
    /// `None` once time has saturated at [`Instant::MAX`] and a keep-alive was due there: no
    /// later instant exists to re-arm to, and re-arming to the same one would fire forever.
    deadline: Option<Instant>,
}

impl KeepAlive {
    /// A common interval, short enough for proxies that cut streams idle for 30 s or more: 15 s.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// Creates a timer at `now` (counted as a write) with the given interval.
    ///
    /// The interval is whole milliseconds and at least 1 ms, so the timer can never fire twice
    /// at the same instant. Deadlines saturate at [`Instant::MAX`]; one that cannot be later than
    /// `now` (time itself at [`Instant::MAX`]) never falls due.
    pub const fn new(now: Instant, interval: Duration) -> Self {
        let interval_ms = at_least_one(millis(interval));
        Self {
            interval_ms,
            clock: Monotonic::new(now),
            deadline: rearm(now, interval_ms),
        }
    }

    /// Records that bytes were written at `now` (an event, a comment, anything), re-arming the
    /// timer.
    pub fn handle_write(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        self.deadline = rearm(now, self.interval_ms);
    }

    /// Returns `true` when a keep-alive comment is due at `now`, and re-arms from `now`.
    ///
    /// Calling it early, or again at the same instant after it returned `true`, is a harmless
    /// no-op that returns `false`. Report the comment's write with [`KeepAlive::handle_write`]
    /// as for any other write.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        let now = self.clock.observe(now);
        match self.deadline {
            Some(deadline) if now >= deadline => {
                self.deadline = rearm(now, self.interval_ms);
                true
            }
            Some(_) | None => false,
        }
    }

    /// The instant a keep-alive comment is due if nothing is written before. Always `Some`,
    /// except at the saturated end of time: `None` once `now` is [`Instant::MAX`] and the
    /// keep-alive due there was handed out, since no later instant exists.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The keep-alive interval.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// The comment text announcing this interval (see [`keepalive_comment`]).
    pub fn announcement(&self) -> String<32> {
        keepalive_comment(self.interval())
    }
}

/// The server's lease on a client: it lapses unless the application renews it in time.
///
/// A half-open connection looks healthy to the server as long as its writes fit in the
/// socket's buffers. A client that pings (a second request the application maps to
/// [`Lease::renew`]) proves it is alive; one that stops is shed when the lease lapses. Leases
/// are optional; hold an `Option<Lease>`. A lapsed lease stays lapsed.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::Lease;
/// use sansse::Instant;
///
/// let mut lease = Lease::new(Instant::ZERO, Duration::from_secs(60));
/// lease.renew(Instant::from_secs(50))?;
/// assert_eq!(lease.poll_timeout(), Some(Instant::from_secs(110)));
///
/// let expired = lease.handle_timeout(Instant::from_secs(110)).unwrap();
/// assert_eq!(expired.renewed_at, Instant::from_secs(50));
/// assert!(lease.renew(Instant::from_secs(111)).is_err());
/// # Ok::<(), sansse::heartbeat::LeaseExpired>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
pub struct Lease {
    duration_ms: u64,
    clock: Monotonic,
    renewed_at: Instant,
    expired: bool,
}

impl Lease {
    /// Grants a lease of `duration` (whole milliseconds) at `now`.
    pub const fn new(now: Instant, duration: Duration) -> Self {
        Self {
            duration_ms: millis(duration),
            clock: Monotonic::new(now),
            renewed_at: now,
            expired: false,
        }
    }

    /// Extends the lease to `duration` from `now`.
    ///
    /// # Errors
    ///
    /// Returns [`LeaseExpired`] if the lease already lapsed (its timeout fired); it stays
    /// lapsed, so the application can tell the pinging client to reconnect.
    pub fn renew(&mut self, now: Instant) -> Result<(), LeaseExpired> {
        let now = self.clock.observe(now);
        if let Some(expired) = self.expired() {
            return Err(expired);
        }
        self.renewed_at = now;
        Ok(())
    }

    /// Declares the lease lapsed at or after its deadline, returning why.
    ///
    /// Returns `Some` once. Calling it earlier, or again after it fired, is a harmless no-op
    /// that returns `None`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<LeaseExpired> {
        let now = self.clock.observe(now);
        if self.expired || now < self.deadline() {
            return None;
        }
        self.expired = true;
        self.expired()
    }

    /// The instant the lease lapses without renewal; `None` once it has.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.expired {
            return None;
        }
        Some(self.deadline())
    }

    /// Why the lease lapsed, if it has.
    pub fn expired(&self) -> Option<LeaseExpired> {
        if !self.expired {
            return None;
        }
        Some(LeaseExpired {
            renewed_at: self.renewed_at,
            duration: self.duration(),
        })
    }

    /// The lease duration.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }

    fn deadline(&self) -> Instant {
        self.renewed_at + self.duration()
    }
}

/// Why a [`Lease`] lapsed: it was not renewed within its duration.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct LeaseExpired {
    /// When the lease was last renewed (or granted).
    pub renewed_at: Instant,
    /// The lease duration that ran out.
    pub duration: Duration,
}

impl fmt::Display for LeaseExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "client lease expired after {} ms",
            self.duration.as_millis()
        )
    }
}

impl core::error::Error for LeaseExpired {}

#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum PingState {
    Waiting { next_ping: Instant },
    AwaitingPong { sent_at: Instant, deadline: Instant },
    Dead(PongOverdue),
}

/// Whole milliseconds of `d`, saturating.
const fn millis(d: Duration) -> u64 {
    Instant::ZERO.saturating_add(d).as_millis()
}

/// The deadline `interval_ms` (at least 1) after `now`, or `None` when it saturates to `now`
/// itself: a timer re-armed there would fire again at the same instant, forever.
const fn rearm(now: Instant, interval_ms: u64) -> Option<Instant> {
    let deadline = now.saturating_add(Duration::from_millis(interval_ms));
    if deadline.as_millis() > now.as_millis() {
        Some(deadline)
    } else {
        None
    }
}

/// Raises 0 to 1, for intervals that re-arm from the instant they fire.
const fn at_least_one(ms: u64) -> u64 {
    if ms == 0 { 1 } else { ms }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    const fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    const fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    // Announcement format.

    #[test]
    fn keepalive_comment_values() {
        assert_eq!(keepalive_comment(ms(15_000)), "keepalive 15000");
        assert_eq!(keepalive_comment(ms(1)), "keepalive 1");
        assert_eq!(keepalive_comment(Duration::ZERO), "keepalive 1");
        assert_eq!(
            keepalive_comment(Duration::from_micros(1_999)),
            "keepalive 1"
        );
        assert_eq!(
            keepalive_comment(Duration::MAX),
            "keepalive 18446744073709551615"
        );
    }

    #[test]
    fn announcement_parsing_table() {
        let cases: &[(&str, Option<u64>)] = &[
            ("keepalive 15000", Some(15_000)),
            (" keepalive 15000", Some(15_000)),
            ("keepalive 1", Some(1)),
            ("keepalive 0015000", Some(15_000)),
            ("keepalive 18446744073709551615", Some(u64::MAX)),
            ("keepalive 18446744073709551616", None), // one past u64::MAX
            ("keepalive 0", None),
            ("keepalive 000", None),
            ("keepalive ", None),
            ("keepalive", None),
            ("", None),
            (" ", None),
            ("  keepalive 15000", None), // only one leading space is stripped
            ("keepalive  15000", None),
            ("keepalive\t15000", None),
            ("keepalive 15000 ", None),
            ("keepalive 15000\r", None),
            ("keepalive 15000 ms", None),
            ("keepalive 15s", None),
            ("keepalive 1.5", None),
            ("keepalive +15", None),
            ("keepalive -15", None),
            ("keepalive 1_000", None),
            ("keepalive \u{0661}\u{0665}", None), // Arabic-Indic digits are not ASCII digits
            ("Keepalive 15000", None),
            ("KEEPALIVE 15000", None),
            ("keep-alive 15000", None),
            ("xkeepalive 15000", None),
            (":keepalive 15000", None), // the colon is the line's, not the text's
            ("heartbeat", None),
        ];
        for &(text, want) in cases {
            assert_eq!(
                parse_keepalive_announcement(text),
                want.map(Duration::from_millis),
                "text {text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn announcement_round_trips(interval in 1u64.., leading_space in any::<bool>()) {
            let text = keepalive_comment(ms(interval));
            let seen = if leading_space { std::format!(" {text}") } else { text.to_string() };

            prop_assert_eq!(parse_keepalive_announcement(&seen), Some(ms(interval)));
        }

        #[test]
        fn announcement_parser_never_panics(text in any::<std::string::String>()) {
            if let Some(interval) = parse_keepalive_announcement(&text) {
                prop_assert!(interval >= ms(1));
                prop_assert!(text.trim_start_matches(' ').starts_with("keepalive "));
            }
        }
    }

    // Idle watchdog.

    #[test]
    fn idle_fires_exactly_at_the_configured_limit() {
        let mut watchdog = IdleWatchdog::new(at(500), IdleConfig::new());

        assert_eq!(watchdog.poll_timeout(), Some(at(60_500)));
        assert_eq!(watchdog.handle_timeout(at(60_499)), None);
        let expired = watchdog.handle_timeout(at(60_500)).unwrap();

        assert_eq!(expired.last_activity, at(500));
        assert_eq!(expired.limit, ms(60_000));
        assert_eq!(expired.source, IdleLimit::Configured);
        assert_eq!(watchdog.expired(), Some(expired));
        assert_eq!(watchdog.poll_timeout(), None);
        assert_eq!(watchdog.handle_timeout(at(60_500)), None);
        assert_eq!(watchdog.handle_timeout(at(99_000)), None);
    }

    #[test]
    fn idle_activity_rearms() {
        let mut watchdog = IdleWatchdog::new(at(0), IdleConfig::new().with_timeout(ms(1_000)));

        watchdog.handle_activity(at(900));

        assert_eq!(watchdog.poll_timeout(), Some(at(1_900)));
        assert_eq!(watchdog.handle_timeout(at(1_000)), None);
        assert_eq!(watchdog.handle_timeout(at(1_899)), None);
        assert!(watchdog.handle_timeout(at(1_900)).is_some());
    }

    #[test]
    fn idle_announcement_sizes_the_limit() {
        let mut watchdog = IdleWatchdog::new(at(0), IdleConfig::new());

        watchdog.handle_announcement(at(20), ms(15_000));

        assert_eq!(watchdog.limit(), ms(35_000));
        assert_eq!(
            watchdog.source(),
            IdleLimit::Announced {
                interval: ms(15_000)
            }
        );
        assert_eq!(watchdog.poll_timeout(), Some(at(35_020)));
        assert_eq!(watchdog.handle_timeout(at(35_019)), None);
        let expired = watchdog.handle_timeout(at(35_020)).unwrap();
        assert_eq!(
            expired.source,
            IdleLimit::Announced {
                interval: ms(15_000)
            }
        );
    }

    #[test]
    fn idle_later_announcement_replaces_earlier() {
        let mut watchdog = IdleWatchdog::new(at(0), IdleConfig::new());
        watchdog.handle_announcement(at(0), ms(15_000));

        watchdog.handle_announcement(at(100), ms(2_000));

        assert_eq!(watchdog.poll_timeout(), Some(at(9_100)));
    }

    #[test]
    fn idle_limit_sizing_table() {
        let config = IdleConfig::new();
        // (interval, limit) with factor 2, margin 5 s, bounds [1 s, 10 min].
        let cases = [
            (1, 5_002),
            (15_000, 35_000),
            (30_000, 65_000),
            (297_500, 600_000),
            (297_501, 600_000),
            (u64::MAX, 600_000),
        ];
        for (interval, limit) in cases {
            assert_eq!(
                config.limit_for(ms(interval)),
                ms(limit),
                "interval {interval}"
            );
        }

        let no_margin = IdleConfig::new().with_margin(Duration::ZERO);
        assert_eq!(no_margin.limit_for(ms(100)), ms(1_000)); // raised to the floor
        assert_eq!(no_margin.limit_for(ms(501)), ms(1_002));

        let crossed = IdleConfig::new().with_announced_bounds(ms(5_000), ms(1_000));
        assert_eq!(crossed.limit_for(ms(100_000)), ms(5_000)); // the floor wins

        let factor_zero = IdleConfig::new().with_factor(0);
        assert_eq!(factor_zero.limit_for(ms(100_000)), ms(5_000));
        assert_eq!(
            IdleConfig::new()
                .with_factor(u32::MAX)
                .limit_for(Duration::MAX),
            ms(600_000)
        );
    }

    #[test]
    fn idle_backwards_time_is_clamped() {
        let mut watchdog = IdleWatchdog::new(at(0), IdleConfig::new().with_timeout(ms(1_000)));
        watchdog.handle_activity(at(800));

        // Bytes stamped before the last activity cannot pull the deadline in.
        watchdog.handle_activity(at(100));
        assert_eq!(watchdog.poll_timeout(), Some(at(1_800)));

        // A timeout check from the past does not fire, even far in the past.
        assert_eq!(watchdog.handle_timeout(at(0)), None);
        assert!(watchdog.handle_timeout(at(1_800)).is_some());
    }

    #[test]
    fn idle_ignores_bytes_after_death() {
        let mut watchdog = IdleWatchdog::new(at(0), IdleConfig::new().with_timeout(ms(10)));
        let expired = watchdog.handle_timeout(at(10)).unwrap();

        watchdog.handle_activity(at(11));
        watchdog.handle_announcement(at(12), ms(15_000));

        assert_eq!(watchdog.poll_timeout(), None);
        assert_eq!(watchdog.expired(), Some(expired));
        assert_eq!(watchdog.limit(), ms(10));
    }

    #[test]
    fn idle_zero_timeout_fires_at_once_and_only_once() {
        let mut watchdog = IdleWatchdog::new(at(5), IdleConfig::new().with_timeout(Duration::ZERO));

        assert_eq!(watchdog.poll_timeout(), Some(at(5)));
        assert!(watchdog.handle_timeout(at(5)).is_some());
        assert_eq!(watchdog.handle_timeout(at(5)), None);
    }

    #[test]
    fn idle_deadline_saturates() {
        let mut watchdog = IdleWatchdog::new(Instant::MAX, IdleConfig::new());

        assert_eq!(watchdog.poll_timeout(), Some(Instant::MAX));
        assert!(watchdog.handle_timeout(Instant::MAX).is_some());
    }

    #[test]
    fn idle_config_accessors_report_the_builders() {
        let config = IdleConfig::new()
            .with_timeout(ms(90_000))
            .with_factor(3)
            .with_margin(ms(2_000))
            .with_announced_bounds(ms(500), ms(120_000));

        assert_eq!(config.timeout(), ms(90_000));
        assert_eq!(config.factor(), 3);
        assert_eq!(config.margin(), ms(2_000));
        assert_eq!(config.min_announced(), ms(500));
        assert_eq!(config.max_announced(), ms(120_000));
        assert_eq!(IdleConfig::default(), IdleConfig::new());
    }

    // Ping schedule.

    fn pings() -> PingSchedule {
        PingSchedule::new(at(0), PingConfig::new(ms(30_000), ms(10_000)))
    }

    #[test]
    fn ping_is_due_exactly_every_interval() {
        let mut schedule = pings();

        assert_eq!(schedule.poll_timeout(), Some(at(30_000)));
        assert_eq!(schedule.handle_timeout(at(29_999)), None);
        assert_eq!(
            schedule.handle_timeout(at(30_000)),
            Some(PingAction::SendPing)
        );
        assert_eq!(schedule.handle_timeout(at(30_000)), None);
        assert_eq!(schedule.awaiting_pong(), Some(at(30_000)));
        assert_eq!(schedule.poll_timeout(), Some(at(40_000)));

        schedule.handle_pong(at(30_250));

        assert_eq!(schedule.awaiting_pong(), None);
        assert_eq!(schedule.poll_timeout(), Some(at(60_000)));
        assert_eq!(schedule.handle_timeout(at(59_999)), None);
        assert_eq!(
            schedule.handle_timeout(at(60_000)),
            Some(PingAction::SendPing)
        );
    }

    #[test]
    fn unanswered_ping_is_death_at_the_exact_deadline() {
        let mut schedule = pings();
        assert_eq!(
            schedule.handle_timeout(at(30_000)),
            Some(PingAction::SendPing)
        );

        assert_eq!(schedule.handle_timeout(at(39_999)), None);
        let action = schedule.handle_timeout(at(40_000));

        let overdue = PongOverdue {
            sent_at: at(30_000),
            deadline: at(40_000),
        };
        assert_eq!(action, Some(PingAction::Dead(overdue)));
        assert_eq!(schedule.dead(), Some(overdue));
        assert_eq!(schedule.poll_timeout(), None);
        assert_eq!(schedule.handle_timeout(at(40_000)), None);
        assert_eq!(schedule.handle_timeout(at(90_000)), None);
    }

    #[test]
    fn stray_pongs_are_ignored() {
        let mut schedule = pings();
        schedule.handle_pong(at(1_000));
        assert_eq!(schedule.poll_timeout(), Some(at(30_000)));

        schedule.handle_timeout(at(30_000));
        schedule.handle_timeout(at(40_000));
        schedule.handle_pong(at(40_001));

        assert!(schedule.dead().is_some());
        assert_eq!(schedule.poll_timeout(), None);
    }

    #[test]
    fn late_check_sends_late_and_gives_full_answer_time() {
        let mut schedule = pings();

        assert_eq!(
            schedule.handle_timeout(at(45_000)),
            Some(PingAction::SendPing)
        );

        assert_eq!(schedule.poll_timeout(), Some(at(55_000)));
    }

    #[test]
    fn pong_later_than_the_interval_makes_the_next_ping_due_at_once() {
        let config = PingConfig::new(ms(1_000), ms(5_000));
        let mut schedule = PingSchedule::new(at(0), config);
        schedule.handle_timeout(at(1_000));

        schedule.handle_pong(at(3_500));

        assert_eq!(schedule.poll_timeout(), Some(at(3_500)));
        assert_eq!(
            schedule.handle_timeout(at(3_500)),
            Some(PingAction::SendPing)
        );
    }

    #[test]
    fn ping_backwards_time_is_clamped() {
        let mut schedule = pings();
        schedule.handle_timeout(at(30_000));

        // A pong stamped before its ping counts as arriving at the ping's instant.
        schedule.handle_pong(at(10));

        assert_eq!(schedule.poll_timeout(), Some(at(60_000)));
        assert_eq!(schedule.handle_timeout(at(0)), None);
    }

    #[test]
    fn zero_ping_intervals_cannot_fire_twice_at_one_instant() {
        let config = PingConfig::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(config.every(), ms(1));
        assert_eq!(config.answer_within(), ms(1));
        let mut schedule = PingSchedule::new(at(0), config);

        assert_eq!(schedule.handle_timeout(at(1)), Some(PingAction::SendPing));
        schedule.handle_pong(at(1));
        assert_eq!(schedule.handle_timeout(at(1)), None);
        assert_eq!(schedule.poll_timeout(), Some(at(2)));
    }

    // Keep-alive.

    #[test]
    fn keepalive_is_due_exactly_one_interval_after_the_last_write() {
        let mut keepalive = KeepAlive::new(at(0), ms(15_000));

        assert_eq!(keepalive.poll_timeout(), Some(at(15_000)));
        keepalive.handle_write(at(7_000));
        assert_eq!(keepalive.poll_timeout(), Some(at(22_000)));
        assert!(!keepalive.handle_timeout(at(15_000)));
        assert!(!keepalive.handle_timeout(at(21_999)));
        assert!(keepalive.handle_timeout(at(22_000)));
        assert!(!keepalive.handle_timeout(at(22_000)));
        assert_eq!(keepalive.poll_timeout(), Some(at(37_000)));
    }

    #[test]
    fn keepalive_reporting_the_comment_write_keeps_the_deadline() {
        let mut keepalive = KeepAlive::new(at(0), ms(15_000));
        assert!(keepalive.handle_timeout(at(15_003)));

        keepalive.handle_write(at(15_003));

        assert_eq!(keepalive.poll_timeout(), Some(at(30_003)));
    }

    #[test]
    fn keepalive_backwards_time_is_clamped() {
        let mut keepalive = KeepAlive::new(at(1_000), ms(500));
        keepalive.handle_write(at(1_200));

        keepalive.handle_write(at(3));

        assert_eq!(keepalive.poll_timeout(), Some(at(1_700)));
        assert!(!keepalive.handle_timeout(at(0)));
        assert!(keepalive.handle_timeout(at(1_700)));
    }

    #[test]
    fn keepalive_zero_interval_is_one_millisecond() {
        let mut keepalive = KeepAlive::new(at(0), Duration::ZERO);

        assert_eq!(keepalive.interval(), ms(1));
        assert_eq!(keepalive.announcement(), "keepalive 1");
        assert!(keepalive.handle_timeout(at(1)));
        assert!(!keepalive.handle_timeout(at(1)));
        assert!(keepalive.handle_timeout(at(2)));
    }

    // Lease.

    #[test]
    fn lease_lapses_exactly_at_its_deadline() {
        let mut lease = Lease::new(at(100), ms(60_000));

        assert_eq!(lease.poll_timeout(), Some(at(60_100)));
        assert_eq!(lease.handle_timeout(at(60_099)), None);
        let expired = lease.handle_timeout(at(60_100)).unwrap();

        assert_eq!(
            expired,
            LeaseExpired {
                renewed_at: at(100),
                duration: ms(60_000)
            }
        );
        assert_eq!(lease.expired(), Some(expired));
        assert_eq!(lease.poll_timeout(), None);
        assert_eq!(lease.handle_timeout(at(60_100)), None);
    }

    #[test]
    fn lease_renewal_extends_from_now() {
        let mut lease = Lease::new(at(0), ms(10_000));

        assert_eq!(lease.renew(at(9_999)), Ok(()));

        assert_eq!(lease.poll_timeout(), Some(at(19_999)));
        assert_eq!(lease.handle_timeout(at(10_000)), None);
        assert!(lease.handle_timeout(at(19_999)).is_some());
    }

    #[test]
    fn lapsed_lease_refuses_renewal() {
        let mut lease = Lease::new(at(0), ms(10_000));
        let expired = lease.handle_timeout(at(10_000)).unwrap();

        assert_eq!(lease.renew(at(10_001)), Err(expired));
        assert_eq!(lease.poll_timeout(), None);
    }

    #[test]
    fn lease_backwards_time_is_clamped() {
        let mut lease = Lease::new(at(0), ms(10_000));
        lease.renew(at(5_000)).unwrap();

        // A renewal stamped in the past cannot shorten the lease.
        lease.renew(at(1_000)).unwrap();

        assert_eq!(lease.poll_timeout(), Some(at(15_000)));
        assert_eq!(lease.handle_timeout(at(0)), None);
        assert_eq!(lease.duration(), ms(10_000));
    }

    #[test]
    fn reasons_display_short_and_lowercase() {
        let idle = IdleExpired {
            last_activity: at(0),
            limit: ms(35_000),
            source: IdleLimit::Configured,
        };
        let pong = PongOverdue {
            sent_at: at(30_000),
            deadline: at(40_000),
        };
        let lease = LeaseExpired {
            renewed_at: at(0),
            duration: ms(60_000),
        };

        assert_eq!(idle.to_string(), "no data for 35000 ms");
        assert_eq!(pong.to_string(), "ping unanswered for 10000 ms");
        assert_eq!(lease.to_string(), "client lease expired after 60000 ms");
    }

    // Both ends together.

    /// A server with keep-alives and a client sized from its announcement, stepping from
    /// deadline to deadline: the client never times out while keep-alives flow, and times out
    /// exactly one limit after the last byte once the server stalls.
    #[test]
    fn announced_keepalives_keep_the_client_alive_until_the_server_stalls() {
        let mut server = KeepAlive::new(at(0), KeepAlive::DEFAULT_INTERVAL);
        let mut client = IdleWatchdog::new(at(0), IdleConfig::new());
        let announced = parse_keepalive_announcement(&server.announcement()).unwrap();
        server.handle_write(at(0));
        client.handle_announcement(at(0), announced);

        let stall_at = at(200_000);
        let mut last_byte = at(0);
        loop {
            let server_due = server.poll_timeout().unwrap();
            let client_due = client.poll_timeout().unwrap();
            let now = server_due.min(client_due);
            if let Some(expired) = client.handle_timeout(now) {
                assert_eq!(expired.last_activity, last_byte);
                assert_eq!(now, last_byte + ms(35_000));
                assert!(now > stall_at);
                break;
            }
            if server.handle_timeout(now) && now < stall_at {
                server.handle_write(now);
                client.handle_activity(now);
                last_byte = now;
            }
        }
        assert_eq!(last_byte, at(195_000));
    }
}
