//! The server's lease on a client.

use core::fmt;
use core::time::Duration;

use super::deadline::Deadline;
use crate::ascii::millis;
use crate::time::Instant;

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
    /// Armed by every renewal, due one lease duration later.
    deadline: Deadline,
}

impl Lease {
    /// Grants a lease of `duration` (whole milliseconds) at `now`.
    pub const fn new(now: Instant, duration: Duration) -> Self {
        Self {
            deadline: Deadline::new(now, millis(duration)),
        }
    }

    /// Extends the lease to `duration` from `now`.
    ///
    /// # Errors
    ///
    /// Returns [`LeaseExpired`] if the lease already lapsed (its timeout fired); it stays
    /// lapsed, so the application can tell the pinging client to reconnect.
    pub fn renew(&mut self, now: Instant) -> Result<(), LeaseExpired> {
        let now = self.deadline.observe(now);
        if let Some(expired) = self.expired() {
            return Err(expired);
        }
        self.deadline.rearm(now);
        Ok(())
    }

    /// Declares the lease lapsed at or after its deadline, returning why.
    ///
    /// Returns `Some` once. Calling it earlier, or again after it fired, is a harmless no-op
    /// that returns `None`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<LeaseExpired> {
        if !self.deadline.fire(now) {
            return None;
        }
        self.expired()
    }

    /// The instant the lease lapses without renewal; `None` once it has.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.poll()
    }

    /// Why the lease lapsed, if it has.
    pub fn expired(&self) -> Option<LeaseExpired> {
        if !self.deadline.fired() {
            return None;
        }
        Some(LeaseExpired {
            renewed_at: self.deadline.armed_at(),
            duration: self.duration(),
        })
    }

    /// The lease duration.
    pub fn duration(&self) -> Duration {
        self.deadline.after()
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

#[cfg(test)]
mod tests {
    use super::super::test_time::{at, ms};
    use super::*;

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
}
