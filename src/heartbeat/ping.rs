//! The client's ping schedule and its settings.

use core::fmt;
use core::time::Duration;

use super::at_least_one;
use crate::ascii::{duration_from_millis, millis};
use crate::time::{Instant, Monotonic};

#[cfg(doc)]
use super::Lease;

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
        duration_from_millis(self.every_ms)
    }

    /// How long a ping may go unanswered.
    pub const fn answer_within(&self) -> Duration {
        duration_from_millis(self.answer_within_ms)
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
                next_ping: now.saturating_add(duration_from_millis(config.every_ms)),
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

#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum PingState {
    Waiting { next_ping: Instant },
    AwaitingPong { sent_at: Instant, deadline: Instant },
    Dead(PongOverdue),
}

#[cfg(test)]
mod tests {
    use super::super::test_time::{at, ms};
    use super::*;

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
}
