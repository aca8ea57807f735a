//! The server's keep-alive timer.

use core::time::Duration;

use heapless::String;

use super::{at_least_one, keepalive_comment};
use crate::ascii::{duration_from_millis, millis};
use crate::time::{Instant, Monotonic};

#[cfg(doc)]
use super::IdleWatchdog;

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
        duration_from_millis(self.interval_ms)
    }

    /// The comment text announcing this interval (see [`keepalive_comment`]).
    pub fn announcement(&self) -> String<32> {
        keepalive_comment(self.interval())
    }
}

/// The deadline `interval_ms` (at least 1) after `now`, or `None` when it saturates to `now`
/// itself: a timer re-armed there would fire again at the same instant, forever.
const fn rearm(now: Instant, interval_ms: u64) -> Option<Instant> {
    let deadline = now.saturating_add(duration_from_millis(interval_ms));
    if deadline.as_millis() > now.as_millis() {
        Some(deadline)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_time::{at, ms};
    use super::*;

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
}
