//! The clocks the crate ships for the async shells: [`StdTimer`] (with `std`, on any executor)
//! and [`EmbassyTimer`] (with `embassy-time` and `embedded-io-async-0.7`).

use super::Timer;
use crate::time::Instant;

/// The std clock for the async shells, on any executor: `std::time::Instant` for the time and
/// [futures-timer](https://docs.rs/futures-timer) for the sleeps.
///
/// futures-timer runs one helper thread for all its timers and wakes the waker of each sleep
/// when it is due, so the sleeps need no runtime: smol, tokio, async-std or a hand-rolled
/// `block_on` all drive it. Instants count from the timer's creation ([`StdOrigin`]).
///
/// A sleep is cancel-safe, as [`Timer::sleep_until`] requires: dropping it unregisters it.
///
/// [`StdOrigin`]: crate::time::StdOrigin
///
/// # Examples
///
/// ```
/// use sansse::io::{StdTimer, Timer};
///
/// let mut timer = StdTimer::new();
/// let deadline = timer.now() + core::time::Duration::from_millis(5);
/// smol::block_on(timer.sleep_until(deadline));
/// assert!(timer.now() >= deadline);
/// ```
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdTimer {
    origin: crate::time::StdOrigin,
}

#[cfg(feature = "std")]
impl StdTimer {
    /// A timer whose [`Instant::ZERO`] is now.
    pub fn new() -> Self {
        Self::with_origin(crate::time::StdOrigin::now())
    }

    /// A timer that counts from `origin`, to share one origin with other clocks.
    pub const fn with_origin(origin: crate::time::StdOrigin) -> Self {
        Self { origin }
    }

    /// Where the timer counts from, to convert its instants to `std::time::Instant`.
    pub const fn origin(&self) -> &crate::time::StdOrigin {
        &self.origin
    }
}

#[cfg(feature = "std")]
impl Default for StdTimer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Timer for StdTimer {
    fn now(&mut self) -> Instant {
        self.origin.current()
    }

    async fn sleep_until(&mut self, deadline: Instant) {
        let at = self.origin.to_std(deadline);
        let left = at.saturating_duration_since(std::time::Instant::now());
        if !left.is_zero() {
            futures_timer::Delay::new(left).await;
        }
    }
}

/// embassy-time's clock for the async shells: instants count from boot, and sleeps are
/// `embassy_time::Timer`s (cancel-safe: dropping one costs nothing).
///
/// # Examples
///
/// ```ignore
/// // On the device, with `embassy-time` and `embedded-io-async-0.7`:
/// let mut client = sansse::io::client::Client::with_timer(config, connect, sansse::io::EmbassyTimer, &mut storage);
/// ```
#[cfg(all(feature = "embassy-time", feature = "embedded-io-async-0.7"))]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct EmbassyTimer;

#[cfg(all(feature = "embassy-time", feature = "embedded-io-async-0.7"))]
impl Timer for EmbassyTimer {
    fn now(&mut self) -> Instant {
        embassy_time::Instant::now().into()
    }

    async fn sleep_until(&mut self, deadline: Instant) {
        embassy_time::Timer::at(deadline.into()).await;
    }
}
