//! The one-shot deadline the idle watchdog and the lease share: a fixed time after the last time
//! it was re-armed, firing once and then never again.

use crate::ascii::duration_from_millis;
use core::time::Duration;

use crate::time::{Instant, Monotonic};

/// A deadline `after_ms` after `armed_at`, fired at most once.
///
/// Inputs go through its [`Monotonic`] clock, so a `now` older than one already seen counts as
/// the latest seen: a clock that steps back can neither pull the deadline in nor fire it twice.
/// Once fired it is spent for good; re-arming is then ignored.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug)]
pub(super) struct Deadline {
    clock: Monotonic,
    armed_at: Instant,
    after_ms: u64,
    fired: bool,
}

impl Deadline {
    /// Armed at `now`, due `after_ms` later.
    pub(super) const fn new(now: Instant, after_ms: u64) -> Self {
        Self {
            clock: Monotonic::new(now),
            armed_at: now,
            after_ms,
            fired: false,
        }
    }

    /// `now`, clamped to the latest instant seen.
    pub(super) fn observe(&mut self, now: Instant) -> Instant {
        self.clock.observe(now)
    }

    /// Re-arms from `now` (already observed), unless the deadline has fired.
    pub(super) fn rearm(&mut self, now: Instant) {
        if !self.fired {
            self.armed_at = now;
        }
    }

    /// Sets the time after the last re-arm at which it falls due.
    pub(super) fn set_after(&mut self, after_ms: u64) {
        self.after_ms = after_ms;
    }

    /// Fires at or after the deadline: `true` once, `false` before the deadline and ever after.
    pub(super) fn fire(&mut self, now: Instant) -> bool {
        let now = self.clock.observe(now);
        if self.fired || now < self.due() {
            return false;
        }
        self.fired = true;
        true
    }

    /// The instant it falls due; `None` once it has fired.
    pub(super) fn poll(&self) -> Option<Instant> {
        if self.fired {
            return None;
        }
        Some(self.due())
    }

    /// Whether it has fired.
    pub(super) const fn fired(&self) -> bool {
        self.fired
    }

    /// When it was last armed.
    pub(super) const fn armed_at(&self) -> Instant {
        self.armed_at
    }

    /// The time from arming to the deadline.
    pub(super) const fn after(&self) -> Duration {
        duration_from_millis(self.after_ms)
    }

    /// Saturating: a deadline past [`Instant::MAX`] is due at [`Instant::MAX`].
    fn due(&self) -> Instant {
        self.armed_at + self.after()
    }
}
