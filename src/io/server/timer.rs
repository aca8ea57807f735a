//! The server's default clock with `std`: the system clock, and one timer thread for every
//! sleeping connection, so the async server loop runs on any executor (smol, tokio, a plain
//! `block_on`) without a runtime's own timer.
//!
//! A stand-in for a timer shipped crate-wide: it is as small as a correct timer can be, and the
//! server loop only needs [`Timer`](crate::io::Timer) from it.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant as StdInstant;
use std::vec::Vec;

use crate::io::Timer;
use crate::time::{Instant, StdOrigin};

/// The [`Timer`] the server uses by default with `std`: [`Instant`]s count from the moment the
/// timer was created, and sleeps are woken by one background thread shared by every timer in
/// the process (started on the first sleep). Works under any executor.
///
/// Cheap to clone; clones share the origin, so their instants compare.
///
/// # Panics
///
/// The first sleep panics if the operating system refuses to start the timer thread: without
/// it no sleep could ever end.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::io::Timer;
/// use sansse::io::server::DefaultTimer;
///
/// let mut timer = DefaultTimer::new();
/// let deadline = timer.now() + Duration::from_millis(5);
/// smol::block_on(timer.sleep_until(deadline));
/// assert!(timer.now() >= deadline);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DefaultTimer {
    origin: StdOrigin,
}

impl DefaultTimer {
    /// A timer whose [`Instant::ZERO`] is now.
    pub fn new() -> Self {
        Self {
            origin: StdOrigin::now(),
        }
    }
}

impl Default for DefaultTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for DefaultTimer {
    fn now(&mut self) -> Instant {
        self.origin.current()
    }

    fn sleep_until(&mut self, deadline: Instant) -> impl Future<Output = ()> {
        Sleep {
            at: self.origin.to_std(deadline),
            key: None,
        }
    }
}

/// One sleep: registered with the timer thread on its first pending poll, unregistered when it
/// completes or is dropped, so a loop that drops a sleep on every turn leaves nothing behind.
struct Sleep {
    at: StdInstant,
    /// Its entry in the thread's queue, once registered.
    key: Option<(StdInstant, u64)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if StdInstant::now() >= self.at {
            self.unregister();
            return Poll::Ready(());
        }
        let wheel = wheel();
        let mut queue = wheel.lock();
        let key = match self.key {
            Some(key) => key,
            None => {
                let key = (self.at, queue.next);
                queue.next = queue.next.wrapping_add(1);
                self.key = Some(key);
                key
            }
        };
        let earliest = queue
            .entries
            .first_key_value()
            .is_none_or(|(first, _)| key <= *first);
        queue.entries.insert(key, cx.waker().clone());
        drop(queue);
        if earliest {
            // The thread may be asleep until a later deadline.
            wheel.changed.notify_one();
        }
        Poll::Pending
    }
}

impl Sleep {
    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            wheel().lock().entries.remove(&key);
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// The timer thread's queue: wakers by deadline (and a sequence number, to keep equal
/// deadlines apart).
struct Queue {
    next: u64,
    entries: BTreeMap<(StdInstant, u64), Waker>,
}

struct Wheel {
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl Wheel {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A waker that panicked cannot leave the queue half-changed: keep going.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The thread: wakes every entry that is due, then sleeps until the next one or a change.
    fn run(&self) {
        let mut due = Vec::new();
        loop {
            let mut queue = self.lock();
            let now = StdInstant::now();
            while let Some(entry) = queue.entries.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if due.is_empty() {
                // Checked and waited under one lock: a sleep registered meanwhile notifies
                // after the wait began, so it is never missed.
                match queue.entries.first_key_value() {
                    Some((&(at, _), _)) => {
                        let wait = at.saturating_duration_since(now);
                        let waited = self.changed.wait_timeout(queue, wait);
                        drop(waited.unwrap_or_else(PoisonError::into_inner));
                    }
                    None => drop(
                        self.changed
                            .wait(queue)
                            .unwrap_or_else(PoisonError::into_inner),
                    ),
                }
                continue;
            }
            // Woken outside the lock: a waker that polls at once must not find it held.
            drop(queue);
            due.drain(..).for_each(Waker::wake);
        }
    }
}

/// The process's timer thread, started on first use.
fn wheel() -> &'static Wheel {
    static WHEEL: OnceLock<&'static Wheel> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let wheel: &'static Wheel = std::boxed::Box::leak(std::boxed::Box::new(Wheel {
            queue: Mutex::new(Queue {
                next: 0,
                entries: BTreeMap::new(),
            }),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("sansse-timer".into())
            .spawn(move || wheel.run())
            .expect("the timer thread can be started");
        wheel
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use core::time::Duration;

    #[test]
    fn a_sleep_ends_at_its_deadline_not_before() {
        let mut timer = DefaultTimer::new();
        let deadline = timer.now() + Duration::from_millis(20);

        smol::block_on(timer.sleep_until(deadline));

        assert!(timer.now() >= deadline);
    }

    #[test]
    fn an_earlier_sleep_registered_later_is_not_held_up_by_a_later_one() {
        let (mut first, mut second) = (DefaultTimer::new(), DefaultTimer::new());
        let far = first.now() + Duration::from_secs(5);
        let mut late = std::boxed::Box::pin(first.sleep_until(far));
        let waker = Waker::noop();
        assert!(
            late.as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
        let started = StdInstant::now();

        let near = second.now() + Duration::from_millis(20);
        smol::block_on(second.sleep_until(near));

        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_dropped_sleep_leaves_no_entry_behind() {
        let mut timer = DefaultTimer::new();
        let deadline = timer.now() + Duration::from_secs(3600);
        let mut sleep = std::boxed::Box::pin(timer.sleep_until(deadline));
        let waker = Waker::noop();
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
        let far = |queue: &Queue| {
            queue
                .entries
                .keys()
                .filter(|(at, _)| *at > StdInstant::now() + Duration::from_secs(3000))
                .count()
        };
        let before = far(&wheel().lock());

        drop(sleep);

        assert_eq!(far(&wheel().lock()), before - 1);
    }
}
