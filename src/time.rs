//! Monotonic time as the machines see it.
//!
//! Every machine in this crate takes `now: Instant` as an input instead of reading a clock, so the
//! same code runs on a server, under a fake clock in tests, and on a microcontroller tick counter.
//! An [`Instant`] is a count of milliseconds from an arbitrary origin chosen by the caller; only
//! differences between instants mean anything. All arithmetic saturates: nothing here panics.

use core::fmt;
use core::ops::{Add, AddAssign};
use core::time::Duration;

use crate::ascii::{duration_from_millis, millis};

/// A point in monotonic time, in milliseconds from an origin the caller chooses.
///
/// Arithmetic with [`Duration`] saturates at the ends of the range instead of panicking, and the
/// distance between two instants ([`Instant::saturating_duration_since`]) is zero when the
/// "later" one is in fact earlier.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::Instant;
///
/// let start = Instant::from_millis(1_000);
/// let later = start + Duration::from_secs(2);
/// assert_eq!(later.as_millis(), 3_000);
/// assert_eq!(later.saturating_duration_since(start), Duration::from_secs(2));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Instant(u64);

impl Instant {
    /// The origin: zero milliseconds.
    pub const ZERO: Self = Self(0);
    /// The latest representable instant; used as "never" by deadline arithmetic that saturates.
    pub const MAX: Self = Self(u64::MAX);

    /// Creates an instant `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Creates an instant `secs` seconds after the origin, saturating on overflow.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1_000))
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Returns `self + d`, or [`Instant::MAX`] if that does not fit.
    pub const fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(millis(d)))
    }

    /// Returns `self - d`, or [`Instant::ZERO`] if that would precede the origin.
    pub const fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(millis(d)))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is in fact later.
    pub const fn saturating_duration_since(self, earlier: Self) -> Duration {
        duration_from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Returns the later of two instants; used to clamp time that went backwards.
    #[must_use]
    pub const fn max(self, other: Self) -> Self {
        if self.0 >= other.0 { self } else { other }
    }
}

impl Add<Duration> for Instant {
    type Output = Self;

    /// Saturating: never panics.
    fn add(self, rhs: Duration) -> Self {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A monotonic clock that never reports a time earlier than one it already reported.
///
/// Machines use it to clamp their `now` inputs: an input older than the last one seen is treated
/// as the last one seen, so a clock that steps back never makes a deadline fire twice or panics.
///
/// # Examples
///
/// ```
/// use sansse::time::Monotonic;
/// use sansse::Instant;
///
/// let mut clock = Monotonic::new(Instant::from_millis(50));
/// assert_eq!(clock.observe(Instant::from_millis(40)), Instant::from_millis(50));
/// assert_eq!(clock.observe(Instant::from_millis(60)), Instant::from_millis(60));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Monotonic {
    last: Instant,
}

impl Monotonic {
    /// Starts at `now`.
    pub const fn new(now: Instant) -> Self {
        Self { last: now }
    }

    /// Records `now` and returns it, or the latest instant seen if `now` is earlier.
    pub fn observe(&mut self, now: Instant) -> Instant {
        self.last = self.last.max(now);
        self.last
    }

    /// The latest instant seen.
    pub const fn last(&self) -> Instant {
        self.last
    }
}

/// Converts from [`std::time::Instant`] against a fixed origin.
///
/// `std::time::Instant` has no public epoch, so the caller picks one (usually the program's start)
/// and this type counts milliseconds from it.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "std")] {
/// let origin = sansse::time::StdOrigin::new(std::time::Instant::now());
/// let now = origin.instant(std::time::Instant::now());
/// assert!(now.as_millis() < 60_000);
/// # }
/// ```
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdOrigin(std::time::Instant);

#[cfg(feature = "std")]
impl StdOrigin {
    /// Uses `origin` as millisecond zero.
    pub fn new(origin: std::time::Instant) -> Self {
        Self(origin)
    }

    /// Uses the current time as millisecond zero.
    pub fn now() -> Self {
        Self(std::time::Instant::now())
    }

    /// The [`Instant`] of `t`; a `t` before the origin maps to [`Instant::ZERO`].
    pub fn instant(&self, t: std::time::Instant) -> Instant {
        Instant::ZERO + t.saturating_duration_since(self.0)
    }

    /// The [`Instant`] of the current time.
    pub fn current(&self) -> Instant {
        self.instant(std::time::Instant::now())
    }

    /// The `std::time::Instant` of `t`, for sleeping until a machine's deadline.
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        let d = Duration::from_millis(t.as_millis());
        self.0
            .checked_add(d)
            .unwrap_or(self.0 + Duration::from_secs(86_400 * 365 * 100))
    }
}

#[cfg(feature = "embassy-time")]
impl From<embassy_time::Instant> for Instant {
    /// Uses embassy's own origin (boot).
    fn from(t: embassy_time::Instant) -> Self {
        Self(t.as_millis())
    }
}

#[cfg(feature = "embassy-time")]
impl From<Instant> for embassy_time::Instant {
    /// Saturates at `embassy_time::Instant::MAX`: at tick rates above 1 kHz a far deadline
    /// (such as [`Instant::MAX`], "never") does not fit in ticks, and wrapping would put it in
    /// the past.
    fn from(t: Instant) -> Self {
        Self::try_from_millis(t.as_millis()).unwrap_or(Self::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_millis(1), Instant::MAX);
        assert_eq!(
            Instant::ZERO.saturating_sub(Duration::from_secs(1)),
            Instant::ZERO
        );
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
        assert_eq!(Instant::from_secs(u64::MAX), Instant::MAX);
    }

    #[test]
    fn monotonic_clamps_backwards_time() {
        let mut m = Monotonic::new(Instant::from_millis(10));
        assert_eq!(m.observe(Instant::ZERO), Instant::from_millis(10));
        assert_eq!(
            m.observe(Instant::from_millis(11)),
            Instant::from_millis(11)
        );
        assert_eq!(m.last(), Instant::from_millis(11));
    }
}
