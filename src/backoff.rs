//! Reconnect timing: the server's reconnection time, exponential backoff with seeded jitter,
//! give-up limits, and `Retry-After`.
//!
//! [`Backoff`] is a policy machine that answers "when is the next connection attempt, and why?"
//! It never reads a clock: every input carries `now`, and randomness comes from a seed the
//! caller passes in, so a run can be replayed exactly.
//!
//! # The rules
//!
//! - **Reconnection time** (`r`). The WHATWG event-stream processing model waits the
//!   "reconnection time" before reconnecting; it starts at an implementation-defined value
//!   ("probably in the region of a few seconds") and a `retry:` field replaces it. The default
//!   here is 3000 ms, as in browsers. Going beyond the spec, [`Backoff::set_retry`] clamps the
//!   value into `[min_reconnection_time, max_reconnection_time]` (100 ms and 10 minutes by
//!   default), so `retry: 0` cannot make a client spin and `retry: 18446744073709551615` cannot
//!   park it forever. Neither bound goes below 1 ms; if the floor is above the cap, the floor
//!   wins.
//! - **Exponential growth.** Attempt `n` (1 for the first attempt of an outage) has the base
//!   delay `b(n) = min(r * factor^(n-1), C)` where `C = max(max_backoff, r)`: the cap stops the
//!   growth but never cuts below the server's reconnection time.
//! - **Jitter** (additive). The delay is `b(n) + j` with `j` drawn uniformly from
//!   `[0, b(n) * jitter_percent / 100]`. So every delay lies in
//!   `[b(n), b(n) + b(n) * jitter_percent / 100]`, never shorter than the reconnection time the
//!   server asked for, and spread on every attempt including the first (the one that matters
//!   when a restarting server drops all clients at once). With the defaults (50 %, 20 s cap)
//!   no backoff delay exceeds 30 s.
//! - **`Retry-After`.** [`Backoff::set_retry_after`] makes the next delay at least the given
//!   time, clamped to `max_retry_after` (1 hour by default).
//! - **Stable connections reset the count.** [`Backoff::handle_connected`] records when a
//!   connection opened; [`Backoff::handle_disconnected`] resets the attempt count only if it
//!   stayed up for `stable_after` (10 s by default). A server that accepts and then drops at
//!   once keeps climbing the ladder instead of being hammered every `r`.
//! - **Giving up.** After `max_attempts` attempts in one outage, or when the next attempt would
//!   start later than `max_elapsed` after the outage's first failure, [`Backoff::next_attempt`]
//!   answers [`GiveUp`] and keeps answering it until [`Backoff::reset`]. Both limits are off by
//!   default, as in browsers.
//!
//! # Driving it
//!
//! 1. When a connection drops (or an attempt fails), call [`Backoff::next_attempt`]; it counts
//!    one attempt and returns the [`Delay`] to wait, or [`GiveUp`].
//! 2. Sleep until [`Backoff::poll_timeout`]; [`Backoff::handle_timeout`] returns `true` once when
//!    the attempt is due. Calling it early or again is a harmless no-op that returns `false`.
//! 3. Call [`Backoff::handle_connected`] when a connection opens and
//!    [`Backoff::handle_disconnected`] when it ends.
//!
//! Time that goes backwards is clamped to the latest `now` seen.

use core::fmt;
use core::time::Duration;

use crate::ascii::{div_rem_small, duration_from_millis, millis, rem_u64};
use crate::time::{Instant, Monotonic};

/// Settings for [`Backoff`], built with `const fn`s so they can live in a `static`.
///
/// All durations are kept in whole milliseconds; sub-millisecond parts are dropped. The module
/// docs give the formulas every setting feeds.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::backoff::BackoffConfig;
///
/// static CONFIG: BackoffConfig = BackoffConfig::new()
///     .with_max_backoff(Duration::from_secs(60))
///     .with_max_attempts(10);
///
/// assert_eq!(CONFIG.max_backoff(), Duration::from_secs(60));
/// assert_eq!(CONFIG.reconnection_time(), BackoffConfig::DEFAULT_RECONNECTION_TIME);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct BackoffConfig {
    reconnection_time_ms: u64,
    min_reconnection_time_ms: u64,
    max_reconnection_time_ms: u64,
    factor: u32,
    max_backoff_ms: u64,
    jitter_percent: u8,
    stable_after_ms: u64,
    max_attempts: Option<u32>,
    max_elapsed_ms: Option<u64>,
    max_retry_after_ms: u64,
}

impl BackoffConfig {
    /// The reconnection time before the server sends `retry:`: 3000 ms, as browsers use.
    pub const DEFAULT_RECONNECTION_TIME: Duration = Duration::from_millis(3_000);
    /// The lowest reconnection time a `retry:` field can set: 100 ms.
    pub const DEFAULT_MIN_RECONNECTION_TIME: Duration = Duration::from_millis(100);
    /// The highest reconnection time a `retry:` field can set: 10 minutes.
    pub const DEFAULT_MAX_RECONNECTION_TIME: Duration = Duration::from_secs(600);
    /// The growth factor per consecutive failed attempt: 2.
    pub const DEFAULT_FACTOR: u32 = 2;
    /// The base delay at which growth stops: 20 s (30 s at most once jitter is added).
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(20);
    /// The jitter added on top of the base delay, in percent of it: 50.
    pub const DEFAULT_JITTER_PERCENT: u8 = 50;
    /// How long a connection must stay up to reset the attempt count: 10 s.
    ///
    /// Short enough that servers which close streams on purpose every 15 to 60 s do not walk
    /// their clients up the backoff ladder.
    pub const DEFAULT_STABLE_AFTER: Duration = Duration::from_secs(10);
    /// The longest `Retry-After` honoured: 1 hour.
    pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

    /// Creates the default settings (see the `DEFAULT_*` constants); no give-up limits.
    pub const fn new() -> Self {
        Self {
            reconnection_time_ms: millis(Self::DEFAULT_RECONNECTION_TIME),
            min_reconnection_time_ms: millis(Self::DEFAULT_MIN_RECONNECTION_TIME),
            max_reconnection_time_ms: millis(Self::DEFAULT_MAX_RECONNECTION_TIME),
            factor: Self::DEFAULT_FACTOR,
            max_backoff_ms: millis(Self::DEFAULT_MAX_BACKOFF),
            jitter_percent: Self::DEFAULT_JITTER_PERCENT,
            stable_after_ms: millis(Self::DEFAULT_STABLE_AFTER),
            max_attempts: None,
            max_elapsed_ms: None,
            max_retry_after_ms: millis(Self::DEFAULT_MAX_RETRY_AFTER),
        }
    }

    /// Sets the reconnection time used until the server sends `retry:`.
    ///
    /// It is clamped by the same bounds as a `retry:` value.
    pub const fn with_reconnection_time(mut self, time: Duration) -> Self {
        self.reconnection_time_ms = millis(time);
        self
    }

    /// Sets the bounds a `retry:` value (and the initial reconnection time) is clamped into.
    pub const fn with_reconnection_time_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_reconnection_time_ms = millis(min);
        self.max_reconnection_time_ms = millis(max);
        self
    }

    /// Sets the growth factor per consecutive failed attempt; 0 is treated as 1 (no growth).
    pub const fn with_factor(mut self, factor: u32) -> Self {
        self.factor = factor;
        self
    }

    /// Sets the base delay at which exponential growth stops.
    pub const fn with_max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff_ms = millis(max);
        self
    }

    /// Sets the jitter added on top of the base delay, in percent of it; capped at 100.
    ///
    /// 0 turns jitter off, which makes every client of a restarting server come back at once.
    pub const fn with_jitter_percent(mut self, percent: u8) -> Self {
        self.jitter_percent = if percent > 100 { 100 } else { percent };
        self
    }

    /// Sets how long a connection must stay up before its end resets the attempt count.
    pub const fn with_stable_after(mut self, time: Duration) -> Self {
        self.stable_after_ms = millis(time);
        self
    }

    /// Gives up after `attempts` attempts in one outage (0 gives up at the first question).
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Gives up when the next attempt would start more than `elapsed` after the outage's first
    /// failure.
    pub const fn with_max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed_ms = Some(millis(elapsed));
        self
    }

    /// Sets the longest `Retry-After` honoured; longer values are lowered to it.
    pub const fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after_ms = millis(max);
        self
    }

    /// The reconnection time used until the server sends `retry:` (before clamping).
    pub const fn reconnection_time(&self) -> Duration {
        duration_from_millis(self.reconnection_time_ms)
    }

    /// The lowest reconnection time a `retry:` value can set.
    pub const fn min_reconnection_time(&self) -> Duration {
        duration_from_millis(self.min_reconnection_time_ms)
    }

    /// The highest reconnection time a `retry:` value can set.
    pub const fn max_reconnection_time(&self) -> Duration {
        duration_from_millis(self.max_reconnection_time_ms)
    }

    /// The growth factor per consecutive failed attempt, as configured.
    pub const fn factor(&self) -> u32 {
        self.factor
    }

    /// The base delay at which exponential growth stops.
    pub const fn max_backoff(&self) -> Duration {
        duration_from_millis(self.max_backoff_ms)
    }

    /// The jitter added on top of the base delay, in percent of it.
    pub const fn jitter_percent(&self) -> u8 {
        self.jitter_percent
    }

    /// How long a connection must stay up before its end resets the attempt count.
    pub const fn stable_after(&self) -> Duration {
        duration_from_millis(self.stable_after_ms)
    }

    /// The number of attempts per outage before giving up, if limited.
    pub const fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The time budget per outage, if limited.
    pub const fn max_elapsed(&self) -> Option<Duration> {
        match self.max_elapsed_ms {
            Some(ms) => Some(duration_from_millis(ms)),
            None => None,
        }
    }

    /// The longest `Retry-After` honoured.
    pub const fn max_retry_after(&self) -> Duration {
        duration_from_millis(self.max_retry_after_ms)
    }

    /// Clamps a reconnection time into the configured bounds, never below 1 ms.
    const fn clamp_reconnection_ms(&self, ms: u64) -> u64 {
        let capped = if ms > self.max_reconnection_time_ms {
            self.max_reconnection_time_ms
        } else {
            ms
        };
        let floored = if capped < self.min_reconnection_time_ms {
            self.min_reconnection_time_ms
        } else {
            capped
        };
        // A zero reconnection time would make every base delay zero whatever the factor.
        if floored == 0 { 1 } else { floored }
    }
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The reconnect policy machine: reconnection time, attempt count, jitter source and give-up
/// state of one client.
///
/// See the [module docs](self) for the rules and the order of calls.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::backoff::{Backoff, BackoffConfig, DelayReason, GiveUp};
/// use sansse::Instant;
///
/// # fn main() -> Result<(), GiveUp> {
/// // Jitter off so the numbers below are exact.
/// static CONFIG: BackoffConfig = BackoffConfig::new().with_jitter_percent(0).with_max_attempts(3);
/// let mut backoff = Backoff::new(Instant::ZERO, CONFIG, 0x5eed);
///
/// backoff.set_retry(1_000); // the server sent `retry: 1000`
/// let first = backoff.next_attempt(Instant::ZERO)?;
/// assert_eq!((first.attempt, first.delay), (1, Duration::from_millis(1_000)));
/// assert_eq!(first.reason, DelayReason::ReconnectionTime);
///
/// // Not due one millisecond early; due at the deadline, once.
/// assert_eq!(backoff.poll_timeout(), Some(Instant::from_millis(1_000)));
/// assert!(!backoff.handle_timeout(Instant::from_millis(999)));
/// assert!(backoff.handle_timeout(Instant::from_millis(1_000)));
/// assert!(!backoff.handle_timeout(Instant::from_millis(1_000)));
///
/// // That attempt failed too: the delay doubles.
/// let second = backoff.next_attempt(Instant::from_millis(1_050))?;
/// assert_eq!((second.attempt, second.delay), (2, Duration::from_millis(2_000)));
/// assert_eq!(second.reason, DelayReason::Backoff);
///
/// backoff.next_attempt(Instant::from_millis(3_100))?;
/// assert_eq!(
///     backoff.next_attempt(Instant::from_millis(7_200)),
///     Err(GiveUp::Attempts { attempts: 3 })
/// );
/// # Ok(())
/// # }
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    clock: Monotonic,
    rng: SplitMix64,
    reconnection_time_ms: u64,
    /// Attempts counted in the current outage.
    attempt: u32,
    /// When the current outage's first attempt was asked for.
    outage_start: Option<Instant>,
    connected_at: Option<Instant>,
    retry_after_ms: Option<u64>,
    scheduled: Option<Instant>,
    gave_up: Option<GiveUp>,
}

impl Backoff {
    /// Creates the machine at `now` with no attempts counted.
    ///
    /// `seed` drives the jitter. The same seed gives the same sequence of delays, so give every
    /// client its own (a hardware random number, a device id mixed with boot time): clients
    /// sharing a seed jitter in lockstep, which defeats the point.
    pub fn new(now: Instant, config: BackoffConfig, seed: u64) -> Self {
        Self {
            reconnection_time_ms: config.clamp_reconnection_ms(config.reconnection_time_ms),
            config,
            clock: Monotonic::new(now),
            rng: SplitMix64(seed),
            attempt: 0,
            outage_start: None,
            connected_at: None,
            retry_after_ms: None,
            scheduled: None,
            gave_up: None,
        }
    }

    /// Sets the reconnection time from a `retry:` field value in milliseconds.
    ///
    /// The value is clamped into the configured bounds (100 ms to 10 minutes by default), which
    /// goes beyond the spec: it takes any digits as given. It lasts for the life of this machine,
    /// across connections, as the spec's reconnection time does.
    pub fn set_retry(&mut self, ms: u64) {
        self.reconnection_time_ms = self.config.clamp_reconnection_ms(ms);
    }

    /// Makes the next delay at least `delay`, from a `Retry-After` header (as
    /// [`ResponseHead::retry_after`](crate::http::ResponseHead::retry_after) reads it).
    ///
    /// The value is lowered to the configured `max_retry_after` and applies to the next call of
    /// [`Backoff::next_attempt`] only; a later call replaces an earlier one, and a connection
    /// that opens discards it.
    pub fn set_retry_after(&mut self, delay: Duration) {
        self.retry_after_ms = Some(millis(delay).min(self.config.max_retry_after_ms));
    }

    /// Records that a connection opened at `now`; any scheduled attempt is dropped.
    pub fn handle_connected(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        self.connected_at = Some(now);
        self.scheduled = None;
        self.retry_after_ms = None;
    }

    /// Records that the open connection ended at `now`, and returns whether it was stable.
    ///
    /// A connection that stayed up for at least `stable_after` ends the outage: the attempt
    /// count, the outage's start and any give-up are cleared. A shorter one leaves them, so the
    /// next delay keeps growing. Without an open connection this does nothing and returns
    /// `false`.
    pub fn handle_disconnected(&mut self, now: Instant) -> bool {
        let now = self.clock.observe(now);
        let Some(opened) = self.connected_at.take() else {
            return false;
        };
        if millis(now.saturating_duration_since(opened)) < self.config.stable_after_ms {
            return false;
        }
        self.attempt = 0;
        self.outage_start = None;
        self.gave_up = None;
        true
    }

    /// Counts one more attempt and says when to make it, or that it is time to give up.
    ///
    /// Call it when a connection ends or an attempt fails. A connection still recorded as open
    /// is first closed as by [`Backoff::handle_disconnected`]. The answer is also scheduled for
    /// [`Backoff::poll_timeout`].
    ///
    /// # Errors
    ///
    /// Returns [`GiveUp`] when a limit in the config is reached; it is returned again on every
    /// call until [`Backoff::reset`] or a stable connection.
    pub fn next_attempt(&mut self, now: Instant) -> Result<Delay, GiveUp> {
        let now = self.clock.observe(now);
        if self.connected_at.is_some() {
            self.handle_disconnected(now);
        }
        if let Some(give_up) = self.gave_up {
            return Err(give_up);
        }
        let start = *self.outage_start.get_or_insert(now);
        let attempt = self.attempt.saturating_add(1);
        if self.config.max_attempts.is_some_and(|max| attempt > max) {
            return Err(self.give_up(GiveUp::Attempts {
                attempts: self.attempt,
            }));
        }

        let (base_ms, mut reason) = self.base_ms(attempt);
        let mut delay_ms = base_ms.saturating_add(self.jitter_ms(base_ms));
        if let Some(retry_after_ms) = self.retry_after_ms.take() {
            if retry_after_ms > delay_ms {
                delay_ms = retry_after_ms;
                reason = DelayReason::RetryAfter;
            }
        }
        let delay = duration_from_millis(delay_ms);
        let at = now + delay;
        if let Some(budget_ms) = self.config.max_elapsed_ms {
            if at > start + duration_from_millis(budget_ms) {
                return Err(self.give_up(GiveUp::Elapsed {
                    elapsed: now.saturating_duration_since(start),
                }));
            }
        }

        self.attempt = attempt;
        self.scheduled = Some(at);
        Ok(Delay {
            at,
            delay,
            attempt,
            reason,
        })
    }

    /// Returns `true` once when the scheduled attempt is due at `now`.
    ///
    /// Calling it before the deadline, again after it returned `true`, or with nothing
    /// scheduled is a harmless no-op that returns `false`.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        let now = self.clock.observe(now);
        if self.scheduled.is_some_and(|at| now >= at) {
            self.scheduled = None;
            return true;
        }
        false
    }

    /// Starts over: no attempts counted, no outage, no give-up, nothing scheduled.
    ///
    /// Meant for the application (a user pressed "retry", the network link came back up). The
    /// reconnection time set by the server is kept, as the spec keeps it.
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.outage_start = None;
        self.retry_after_ms = None;
        self.scheduled = None;
        self.gave_up = None;
    }

    /// The instant of the scheduled attempt, if one is waiting.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.scheduled
    }

    /// The number of attempts counted in the current outage (0 when there is none).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The current reconnection time, after clamping.
    pub fn reconnection_time(&self) -> Duration {
        duration_from_millis(self.reconnection_time_ms)
    }

    /// The settings this machine was built with.
    pub fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// Whether a limit was reached (and [`Backoff::next_attempt`] answers [`GiveUp`]).
    pub fn has_given_up(&self) -> bool {
        self.gave_up.is_some()
    }

    /// The base delay of `attempt` (no jitter) and what decided it.
    fn base_ms(&self, attempt: u32) -> (u64, DelayReason) {
        let r = self.reconnection_time_ms;
        let ceiling = self.config.max_backoff_ms.max(r);
        let growth = u64::from(self.config.factor.max(1)).saturating_pow(attempt.saturating_sub(1));
        let grown = r.saturating_mul(growth);
        if grown <= r {
            (r, DelayReason::ReconnectionTime)
        } else if grown >= ceiling {
            (ceiling, DelayReason::Capped)
        } else {
            (grown, DelayReason::Backoff)
        }
    }

    /// A jitter drawn uniformly from `[0, base * jitter_percent / 100]`.
    ///
    /// Without 64-bit or wider divisions, which a 32-bit MCU does in a library routine of
    /// close to a kilobyte (see [`div_rem_small`]): `base * p / 100` is split at the hundreds,
    /// and the draw is reduced with [`rem_u64`].
    fn jitter_ms(&mut self, base_ms: u64) -> u64 {
        // The percentage is capped at 100, so `hundreds * percent <= base_ms` cannot overflow,
        // and the rest, below 100 * 100, is divided as a u32.
        let percent = u32::from(self.config.jitter_percent.min(100));
        let (hundreds, rest) = div_rem_small(base_ms, 100);
        let span = hundreds * u64::from(percent) + u64::from(rest as u32 * percent / 100);
        if span == 0 {
            return 0;
        }
        let draw = self.rng.next_u64();
        match span.checked_add(1) {
            Some(len) => rem_u64(draw, len),
            None => draw,
        }
    }

    fn give_up(&mut self, give_up: GiveUp) -> GiveUp {
        self.gave_up = Some(give_up);
        self.scheduled = None;
        give_up
    }
}

/// When to make the next connection attempt, and why.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct Delay {
    /// The instant to make the attempt: `now + delay`.
    pub at: Instant,
    /// How long to wait from the `now` of the question.
    pub delay: Duration,
    /// The attempt's number in the current outage, from 1.
    pub attempt: u32,
    /// What decided the delay's length.
    pub reason: DelayReason,
}

/// What decided the length of a [`Delay`], for logs.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum DelayReason {
    /// The reconnection time (the default or the server's `retry:`), plus jitter.
    ReconnectionTime,
    /// The reconnection time grown by the backoff factor, plus jitter.
    Backoff,
    /// The growth reached `max_backoff`; the cap plus jitter.
    Capped,
    /// A `Retry-After` longer than the backoff delay.
    RetryAfter,
}

/// The answer of [`Backoff::next_attempt`] once a limit in the config is reached.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum GiveUp {
    /// `max_attempts` attempts were made in this outage without a stable connection.
    Attempts {
        /// The number of attempts made.
        attempts: u32,
    },
    /// The next attempt would start later than `max_elapsed` after the outage's first failure.
    Elapsed {
        /// The time from the outage's first failure to the question.
        elapsed: Duration,
    },
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Attempts { attempts } => write!(f, "gave up after {attempts} attempts"),
            Self::Elapsed { elapsed } => {
                write!(f, "gave up after {} ms of outage", elapsed.as_millis())
            }
        }
    }
}

impl core::error::Error for GiveUp {}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and good for any seed including zero,
/// which is all jitter needs. Not for anything secret.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    const fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn no_jitter() -> BackoffConfig {
        BackoffConfig::new().with_jitter_percent(0)
    }

    /// Asks for `n` attempts at `now` and returns the delays in milliseconds.
    fn delays(backoff: &mut Backoff, now: Instant, n: usize) -> Vec<u64> {
        (0..n)
            .map(|_| millis(backoff.next_attempt(now).unwrap().delay))
            .collect()
    }

    #[test]
    fn default_reconnection_time_is_3000_ms() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        assert_eq!(backoff.reconnection_time(), ms(3_000));

        let delay = backoff.next_attempt(at(10)).unwrap();

        assert_eq!(delay.at, at(3_010));
        assert_eq!(delay.delay, ms(3_000));
        assert_eq!(delay.attempt, 1);
        assert_eq!(delay.reason, DelayReason::ReconnectionTime);
    }

    #[test]
    fn growth_doubles_from_server_retry_until_the_cap() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry(1_000);

        let got = delays(&mut backoff, at(0), 7);

        assert_eq!(got, [1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000]);
    }

    #[test]
    fn reasons_follow_the_formula() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry(5_000);

        let reasons: Vec<_> = (0..4)
            .map(|_| backoff.next_attempt(at(0)).unwrap().reason)
            .collect();

        assert_eq!(
            reasons,
            [
                DelayReason::ReconnectionTime,
                DelayReason::Backoff,
                DelayReason::Capped,
                DelayReason::Capped
            ]
        );
    }

    #[test]
    fn server_retry_above_the_cap_is_not_cut() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry(45_000);

        assert_eq!(delays(&mut backoff, at(0), 3), [45_000, 45_000, 45_000]);
    }

    #[test]
    fn factor_zero_and_one_mean_no_growth() {
        for factor in [0, 1] {
            let config = no_jitter().with_factor(factor);
            let mut backoff = Backoff::new(at(0), config, 0);

            assert_eq!(delays(&mut backoff, at(0), 3), [3_000, 3_000, 3_000]);
        }
    }

    #[test]
    fn fixed_seed_gives_an_exact_sequence() {
        let mut backoff = Backoff::new(at(0), BackoffConfig::new(), 42);
        backoff.set_retry(1_000);

        let got = delays(&mut backoff, at(0), 6);

        // Base 1 s, 2 s, 4 s, 8 s, 16 s, 20 s (capped), each plus `draw % (base / 2 + 1)` with
        // SplitMix64 draws for seed 42, worked out independently of this code.
        assert_eq!(got, [1_073, 2_313, 4_168, 8_542, 23_279, 29_641]);
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let run = |seed| {
            let mut backoff = Backoff::new(at(0), BackoffConfig::new(), seed);
            delays(&mut backoff, at(0), 8)
        };

        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn splitmix_matches_reference_values() {
        // First outputs for seed 1234567, from the published reference implementation.
        let mut rng = SplitMix64(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn retry_zero_is_raised_to_the_floor() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);

        backoff.set_retry(0);

        assert_eq!(backoff.reconnection_time(), ms(100));
        assert_eq!(delays(&mut backoff, at(0), 3), [100, 200, 400]);
    }

    #[test]
    fn retry_max_is_lowered_to_the_cap() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);

        backoff.set_retry(u64::MAX);

        assert_eq!(backoff.reconnection_time(), ms(600_000));
        assert_eq!(backoff.next_attempt(at(0)).unwrap().delay, ms(600_000));
    }

    #[test]
    fn zero_bounds_still_keep_one_millisecond() {
        let config = no_jitter()
            .with_reconnection_time_bounds(Duration::ZERO, Duration::ZERO)
            .with_max_backoff(Duration::ZERO);
        let mut backoff = Backoff::new(at(0), config, 0);

        backoff.set_retry(0);

        assert_eq!(delays(&mut backoff, at(0), 3), [1, 1, 1]);
    }

    #[test]
    fn floor_above_cap_wins() {
        let config = no_jitter().with_reconnection_time_bounds(ms(500), ms(200));
        let mut backoff = Backoff::new(at(0), config, 0);

        backoff.set_retry(300);

        assert_eq!(backoff.reconnection_time(), ms(500));
    }

    #[test]
    fn gives_up_after_max_attempts_and_stays_given_up() {
        let config = no_jitter().with_max_attempts(2);
        let mut backoff = Backoff::new(at(0), config, 0);
        backoff.next_attempt(at(0)).unwrap();
        backoff.next_attempt(at(3_000)).unwrap();

        let third = backoff.next_attempt(at(9_000));

        assert_eq!(third, Err(GiveUp::Attempts { attempts: 2 }));
        assert_eq!(backoff.poll_timeout(), None);
        assert!(backoff.has_given_up());
        assert_eq!(backoff.next_attempt(at(99_000)), third);
        assert_eq!(backoff.attempt(), 2);
    }

    #[test]
    fn max_attempts_zero_gives_up_at_once() {
        let mut backoff = Backoff::new(at(0), no_jitter().with_max_attempts(0), 0);

        assert_eq!(
            backoff.next_attempt(at(0)),
            Err(GiveUp::Attempts { attempts: 0 })
        );
    }

    #[test]
    fn gives_up_when_the_next_attempt_would_pass_the_budget() {
        // Delays 1 s, 2 s, 4 s: attempts at 1 s, 3 s (asked at 1 s), 7 s (asked at 3 s).
        let config = no_jitter().with_max_elapsed(ms(7_000));
        let mut backoff = Backoff::new(at(0), config, 0);
        backoff.set_retry(1_000);
        assert_eq!(backoff.next_attempt(at(0)).unwrap().at, at(1_000));
        assert_eq!(backoff.next_attempt(at(1_000)).unwrap().at, at(3_000));
        assert_eq!(backoff.next_attempt(at(3_000)).unwrap().at, at(7_000));

        // The fourth would start at 7 s + 8 s = 15 s, past the 7 s budget.
        let fourth = backoff.next_attempt(at(7_000));

        assert_eq!(fourth, Err(GiveUp::Elapsed { elapsed: ms(7_000) }));
    }

    #[test]
    fn budget_edge_is_inclusive() {
        let config = no_jitter().with_max_elapsed(ms(3_000));
        let mut backoff = Backoff::new(at(0), config, 0);

        // 3 s reconnection time from 0 lands exactly on the budget: allowed.
        assert_eq!(backoff.next_attempt(at(0)).unwrap().at, at(3_000));
        // One millisecond later the same delay would overrun it.
        let mut late = Backoff::new(at(0), config.with_max_elapsed(ms(2_999)), 0);
        assert!(matches!(
            late.next_attempt(at(0)),
            Err(GiveUp::Elapsed { .. })
        ));
    }

    #[test]
    fn short_connection_keeps_counting() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.next_attempt(at(0)).unwrap();
        backoff.handle_connected(at(3_000));

        // 9 999 ms up is one short of the 10 s stable period.
        assert!(!backoff.handle_disconnected(at(12_999)));
        let next = backoff.next_attempt(at(12_999)).unwrap();

        assert_eq!(next.attempt, 2);
        assert_eq!(next.delay, ms(6_000));
    }

    #[test]
    fn stable_connection_resets_the_count() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.next_attempt(at(0)).unwrap();
        backoff.next_attempt(at(3_000)).unwrap();
        backoff.handle_connected(at(9_000));

        assert!(backoff.handle_disconnected(at(19_000)));
        assert_eq!(backoff.attempt(), 0);
        let next = backoff.next_attempt(at(19_000)).unwrap();

        assert_eq!(next.attempt, 1);
        assert_eq!(next.delay, ms(3_000));
    }

    #[test]
    fn stable_connection_clears_give_up_and_restarts_the_budget() {
        let config = no_jitter().with_max_attempts(1);
        let mut backoff = Backoff::new(at(0), config, 0);
        backoff.next_attempt(at(0)).unwrap();
        assert!(backoff.next_attempt(at(3_000)).is_err());

        // The application retried by hand and the connection held.
        backoff.handle_connected(at(5_000));
        backoff.handle_disconnected(at(20_000));

        assert_eq!(backoff.next_attempt(at(20_000)).unwrap().attempt, 1);
    }

    #[test]
    fn next_attempt_while_connected_closes_the_connection_first() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.next_attempt(at(0)).unwrap();
        backoff.handle_connected(at(3_000));

        let next = backoff.next_attempt(at(60_000)).unwrap();

        assert_eq!(next.attempt, 1);
        assert!(!backoff.handle_disconnected(at(60_000)));
    }

    #[test]
    fn disconnect_without_connection_is_a_no_op() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.next_attempt(at(0)).unwrap();

        assert!(!backoff.handle_disconnected(at(100_000)));
        assert_eq!(backoff.attempt(), 1);
    }

    #[test]
    fn flapping_outage_counts_elapsed_from_its_first_failure() {
        let config = no_jitter().with_max_elapsed(ms(10_000));
        let mut backoff = Backoff::new(at(0), config, 0);
        backoff.next_attempt(at(0)).unwrap(); // outage starts at 0
        backoff.handle_connected(at(3_000));
        backoff.handle_disconnected(at(4_000)); // not stable

        // Attempt 2 at 4 s + 6 s = 10 s is inside the budget, attempt 3 is not.
        assert_eq!(backoff.next_attempt(at(4_000)).unwrap().at, at(10_000));
        assert_eq!(
            backoff.next_attempt(at(10_000)),
            Err(GiveUp::Elapsed {
                elapsed: ms(10_000)
            })
        );
    }

    #[test]
    fn retry_after_lengthens_the_next_delay_only() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry_after(Duration::from_secs(120));

        let first = backoff.next_attempt(at(0)).unwrap();
        let second = backoff.next_attempt(at(120_000)).unwrap();

        assert_eq!(first.delay, ms(120_000));
        assert_eq!(first.reason, DelayReason::RetryAfter);
        assert_eq!(second.delay, ms(6_000));
        assert_eq!(second.reason, DelayReason::Backoff);
    }

    #[test]
    fn short_retry_after_does_not_shorten_backoff() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry_after(Duration::from_secs(1));

        let first = backoff.next_attempt(at(0)).unwrap();

        assert_eq!(first.delay, ms(3_000));
        assert_eq!(first.reason, DelayReason::ReconnectionTime);
    }

    #[test]
    fn hostile_retry_after_is_capped() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry_after(Duration::MAX);

        assert_eq!(
            backoff.next_attempt(at(0)).unwrap().delay,
            Duration::from_secs(3_600)
        );
    }

    #[test]
    fn connecting_discards_a_pending_retry_after() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.set_retry_after(Duration::from_secs(120));
        backoff.handle_connected(at(0));
        backoff.handle_disconnected(at(1_000));

        assert_eq!(backoff.next_attempt(at(1_000)).unwrap().delay, ms(3_000));
    }

    #[test]
    fn timeout_fires_once_at_the_deadline() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        assert_eq!(backoff.poll_timeout(), None);
        assert!(!backoff.handle_timeout(at(50)));
        backoff.next_attempt(at(100)).unwrap();

        assert_eq!(backoff.poll_timeout(), Some(at(3_100)));
        assert!(!backoff.handle_timeout(at(3_099)));
        assert!(backoff.handle_timeout(at(3_100)));
        assert!(!backoff.handle_timeout(at(3_100)));
        assert_eq!(backoff.poll_timeout(), None);
    }

    #[test]
    fn backwards_time_is_clamped() {
        let mut backoff = Backoff::new(at(10_000), no_jitter(), 0);

        let delay = backoff.next_attempt(at(5)).unwrap();

        assert_eq!(delay.at, at(13_000));
        assert!(!backoff.handle_timeout(at(12_999)));
        assert!(!backoff.handle_timeout(at(0)));
        assert!(backoff.handle_timeout(at(13_000)));
    }

    #[test]
    fn delay_saturates_at_the_end_of_time() {
        let mut backoff = Backoff::new(Instant::MAX, no_jitter(), 0);

        let delay = backoff.next_attempt(Instant::MAX).unwrap();

        assert_eq!(delay.at, Instant::MAX);
        assert!(backoff.handle_timeout(Instant::MAX));
    }

    #[test]
    fn reset_starts_over_but_keeps_the_server_retry() {
        let mut backoff = Backoff::new(at(0), no_jitter().with_max_attempts(1), 0);
        backoff.set_retry(500);
        backoff.next_attempt(at(0)).unwrap();
        assert!(backoff.next_attempt(at(500)).is_err());

        backoff.reset();

        assert_eq!(backoff.attempt(), 0);
        assert_eq!(backoff.next_attempt(at(600)).unwrap().delay, ms(500));
    }

    #[test]
    fn attempt_counter_saturates() {
        let mut backoff = Backoff::new(at(0), no_jitter(), 0);
        backoff.attempt = u32::MAX;

        let delay = backoff.next_attempt(at(0)).unwrap();

        assert_eq!(delay.attempt, u32::MAX);
        assert_eq!(delay.delay, ms(20_000));
    }

    #[test]
    fn config_accessors_report_the_builders() {
        let config = BackoffConfig::new()
            .with_reconnection_time(ms(1_500))
            .with_reconnection_time_bounds(ms(10), ms(60_000))
            .with_factor(3)
            .with_max_backoff(ms(90_000))
            .with_jitter_percent(250)
            .with_stable_after(ms(30_000))
            .with_max_attempts(5)
            .with_max_elapsed(ms(120_000))
            .with_max_retry_after(ms(7_000));

        assert_eq!(config.reconnection_time(), ms(1_500));
        assert_eq!(config.min_reconnection_time(), ms(10));
        assert_eq!(config.max_reconnection_time(), ms(60_000));
        assert_eq!(config.factor(), 3);
        assert_eq!(config.max_backoff(), ms(90_000));
        assert_eq!(config.jitter_percent(), 100);
        assert_eq!(config.stable_after(), ms(30_000));
        assert_eq!(config.max_attempts(), Some(5));
        assert_eq!(config.max_elapsed(), Some(ms(120_000)));
        assert_eq!(config.max_retry_after(), ms(7_000));
        assert_eq!(BackoffConfig::default(), BackoffConfig::new());
        assert_eq!(BackoffConfig::new().max_elapsed(), None);
    }

    #[test]
    fn give_up_display_is_short_and_lowercase() {
        assert_eq!(
            std::format!("{}", GiveUp::Attempts { attempts: 4 }),
            "gave up after 4 attempts"
        );
        assert_eq!(
            std::format!("{}", GiveUp::Elapsed { elapsed: ms(2_500) }),
            "gave up after 2500 ms of outage"
        );
    }

    /// The documented bounds of attempt `n`'s delay, without `Retry-After`.
    fn bounds(config: &BackoffConfig, retry: u64, attempt: u32) -> (u64, u64) {
        let r = config.clamp_reconnection_ms(retry);
        let ceiling = config.max_backoff_ms.max(r);
        let growth = u128::from(config.factor.max(1)).saturating_pow(attempt - 1);
        let base = u128::from(r)
            .saturating_mul(growth)
            .min(u128::from(ceiling));
        let top = base + base * u128::from(config.jitter_percent) / 100;
        (
            u64::try_from(base).unwrap(),
            u64::try_from(top).unwrap_or(u64::MAX),
        )
    }

    fn any_config() -> impl Strategy<Value = BackoffConfig> {
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            0u32..20,
            any::<u64>(),
            any::<u8>(),
        )
            .prop_map(|(initial, min, max, factor, cap, jitter)| {
                BackoffConfig::new()
                    .with_reconnection_time(ms(initial))
                    .with_reconnection_time_bounds(ms(min), ms(max))
                    .with_factor(factor)
                    .with_max_backoff(ms(cap))
                    .with_jitter_percent(jitter)
            })
    }

    proptest! {
        #[test]
        fn default_delays_stay_within_documented_bounds(
            seed in any::<u64>(),
            retry in any::<u64>(),
            attempts in 1usize..40,
            start in any::<u64>(),
        ) {
            let config = BackoffConfig::new();
            let mut backoff = Backoff::new(at(start), config, seed);
            backoff.set_retry(retry);
            let r = millis(backoff.reconnection_time());
            prop_assert!((100..=600_000).contains(&r));

            for n in 1..=attempts {
                let delay = backoff.next_attempt(at(start)).unwrap();
                let (lo, hi) = bounds(&config, retry, u32::try_from(n).unwrap());
                let got = millis(delay.delay);
                prop_assert!(lo <= got && got <= hi, "attempt {n}: {got} not in [{lo}, {hi}]");
                prop_assert!(got >= r);
                prop_assert!(got <= 30_000.max(r + r / 2));
                prop_assert_eq!(delay.at, at(start) + delay.delay);
            }
        }

        #[test]
        fn any_config_delays_stay_within_bounds_and_never_panic(
            config in any_config(),
            seed in any::<u64>(),
            retry in any::<u64>(),
            attempt in any::<u32>(),
            retry_after in proptest::option::of(any::<u64>()),
        ) {
            let mut backoff = Backoff::new(at(0), config, seed);
            backoff.set_retry(retry);
            backoff.attempt = attempt.saturating_sub(1);
            if let Some(secs) = retry_after {
                backoff.set_retry_after(Duration::from_secs(secs));
            }

            let delay = backoff.next_attempt(at(0)).unwrap();

            let (lo, hi) = bounds(&config, retry, attempt.max(1));
            let got = millis(delay.delay);
            let floor = match retry_after {
                Some(secs) => secs.saturating_mul(1_000).min(config.max_retry_after_ms),
                None => 0,
            };
            prop_assert!(got >= lo.max(floor));
            prop_assert!(got <= hi.max(floor));
            if delay.reason == DelayReason::RetryAfter {
                prop_assert_eq!(got, floor);
            }
            if floor > hi {
                prop_assert_eq!(delay.reason, DelayReason::RetryAfter);
            }
        }

        #[test]
        fn give_up_limits_hold_for_any_schedule(
            seed in any::<u64>(),
            max_attempts in 0u32..10,
            budget in 0u64..200_000,
            gaps in proptest::collection::vec(0u64..40_000, 1..30),
        ) {
            let config = BackoffConfig::new()
                .with_max_attempts(max_attempts)
                .with_max_elapsed(ms(budget));
            let mut backoff = Backoff::new(at(0), config, seed);
            let mut now = at(0);
            let mut made = 0;
            for gap in gaps {
                match backoff.next_attempt(now) {
                    Ok(delay) => {
                        made += 1;
                        prop_assert!(delay.at <= at(budget));
                        prop_assert!(made <= max_attempts);
                        now = delay.at + ms(gap);
                    }
                    Err(_) => {
                        prop_assert!(backoff.next_attempt(now).is_err());
                        break;
                    }
                }
            }
        }
    }
}
