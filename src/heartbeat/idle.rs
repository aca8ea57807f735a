//! The client's idle watchdog and its settings.

use core::fmt;
use core::time::Duration;

use super::deadline::Deadline;
use crate::ascii::{duration_from_millis, millis};
use crate::time::Instant;

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
        duration_from_millis(self.timeout_ms)
    }

    /// How many announced intervals may pass without a byte.
    pub const fn factor(&self) -> u32 {
        self.factor
    }

    /// The time added to the announced intervals.
    pub const fn margin(&self) -> Duration {
        duration_from_millis(self.margin_ms)
    }

    /// The shortest limit an announcement can set.
    pub const fn min_announced(&self) -> Duration {
        duration_from_millis(self.min_announced_ms)
    }

    /// The longest limit an announcement can set.
    pub const fn max_announced(&self) -> Duration {
        duration_from_millis(self.max_announced_ms)
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
        duration_from_millis(floored)
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
    /// Armed by every byte, due one idle limit later.
    deadline: Deadline,
    source: IdleLimit,
}

impl IdleWatchdog {
    /// Creates a watchdog armed at `now` with the configured (unannounced) limit.
    pub const fn new(now: Instant, config: IdleConfig) -> Self {
        Self {
            deadline: Deadline::new(now, config.timeout_ms),
            config,
            source: IdleLimit::Configured,
        }
    }

    /// Records that bytes arrived at `now`, which re-arms the deadline. Ignored once expired.
    pub fn handle_activity(&mut self, now: Instant) {
        let now = self.deadline.observe(now);
        self.deadline.rearm(now);
    }

    /// Resizes the limit from the server's announced keep-alive `interval`, received at `now`.
    ///
    /// The announcement arrived as bytes, so it also counts as activity. A later announcement
    /// replaces an earlier one. Ignored once expired.
    pub fn handle_announcement(&mut self, now: Instant, interval: Duration) {
        let now = self.deadline.observe(now);
        if self.deadline.fired() {
            return;
        }
        self.deadline
            .set_after(millis(self.config.limit_for(interval)));
        self.source = IdleLimit::Announced { interval };
        self.deadline.rearm(now);
    }

    /// Declares the stream dead if no byte arrived for the idle limit, returning why.
    ///
    /// Returns `Some` once, at or after the deadline. Calling it earlier, or again after it
    /// fired, is a harmless no-op that returns `None`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<IdleExpired> {
        if !self.deadline.fire(now) {
            return None;
        }
        self.expired()
    }

    /// The instant the stream counts as dead without more bytes; `None` once it has fired.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.poll()
    }

    /// Why the watchdog fired, if it has.
    pub fn expired(&self) -> Option<IdleExpired> {
        if !self.deadline.fired() {
            return None;
        }
        Some(IdleExpired {
            last_activity: self.deadline.armed_at(),
            limit: self.limit(),
            source: self.source,
        })
    }

    /// The current idle limit.
    pub fn limit(&self) -> Duration {
        self.deadline.after()
    }

    /// Where the current idle limit came from.
    pub fn source(&self) -> IdleLimit {
        self.source
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

#[cfg(test)]
mod tests {
    use super::super::test_time::{at, ms};
    use super::*;

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
}
