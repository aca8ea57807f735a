//! A [`Hub`] for programs with `std`: the log behind a mutex, a version counter, and the
//! wakers and threads waiting for it to change.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::Hub;
use crate::encode::EventName;
use crate::replay::{Interest, TopicLog, Topics};

/// The replay log every connection of a server shares, with the wake-ups that tell them about
/// publishes; usable from async tasks (`io::server::serve`) and from threads
/// (`io::server::serve_blocking`) at once.
///
/// Every publish changes the [version](Hub::version) and wakes the waiting connections whose
/// topics it may concern (by their [`Interest`]), which then draw their new events and run their
/// [`poll_commands`](super::server::Handler::poll_commands); a publish to a topic nobody
/// follows wakes nobody. [`StdHub::notify`] wakes every connection. The [`Hub::changed`]
/// future is cancel-safe: dropped before it completes, it takes its waker with it, so the
/// waker table holds one entry per connection that is waiting, no more.
///
/// # Examples
///
/// ```
/// use sansse::io::{Hub, StdHub};
/// use sansse::replay::{Interest, Ring};
///
/// let hub = StdHub::new(Ring::<64, 8192>::new(1));
/// let seen = hub.version();
/// let seq = hub.publish(None, "hello")?;
/// assert_eq!(seq.get(), 1);
/// assert_ne!(hub.version(), seen);
/// // A connection that saw `seen` is woken at once.
/// smol::block_on(hub.changed(seen, Interest::ALL));
/// # Ok::<(), sansse::replay::PublishError>(())
/// ```
pub struct StdHub<L> {
    state: Mutex<State<L>>,
    changed: Condvar,
}

struct State<L> {
    log: L,
    version: u64,
    /// Key for the next waiter's waker.
    next_key: u64,
    /// Each waiting connection's waker and what it follows.
    wakers: HashMap<u64, (Waker, Interest)>,
}

impl<L> StdHub<L> {
    /// Wraps `log`, at version 0.
    pub fn new(log: L) -> Self {
        Self {
            state: Mutex::new(State {
                log,
                version: 0,
                next_key: 0,
                wakers: HashMap::new(),
            }),
            changed: Condvar::new(),
        }
    }

    /// Runs `f` with the log borrowed mutably, then wakes every connection as a publish does.
    ///
    /// For changes [`StdHub::publish`] does not cover: several events under one lock, or a log
    /// with calls of its own.
    pub fn update<T>(&self, f: impl FnOnce(&mut L) -> T) -> T {
        let mut state = self.lock();
        let out = f(&mut state.log);
        self.bump(state, Interest::ALL);
        out
    }

    /// Changes the version and wakes every connection without touching the log: how the
    /// application tells connections to look at a command meant for them (see
    /// [`Handler::poll_commands`](super::server::Handler::poll_commands)).
    pub fn notify(&self) {
        self.bump(self.lock(), Interest::ALL);
    }

    /// Blocks the calling thread until the version differs from `seen` or `deadline` passes,
    /// whichever comes first. Returns whether the version changed.
    pub fn wait_changed(&self, seen: u64, deadline: Option<std::time::Instant>) -> bool {
        let mut state = self.lock();
        while state.version == seen {
            let Some(deadline) = deadline else {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Locks the state. A panic elsewhere while it was locked leaves nothing half-done that
    /// matters here (the log's own calls keep it consistent), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State<L>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the version on and wakes the connections `change` may concern, outside the
    /// lock. Blocked threads are all woken: they re-check the version and wait again.
    fn bump(&self, mut state: MutexGuard<'_, State<L>>, change: Interest) {
        state.version = state.version.wrapping_add(1);
        let mut woken = std::vec::Vec::new();
        state.wakers.retain(|_, (waker, interest)| {
            if interest.intersects(change) {
                woken.push(waker.clone());
                false
            } else {
                true
            }
        });
        drop(state);
        self.changed.notify_all();
        for waker in woken {
            waker.wake();
        }
    }
}

impl<L: TopicLog> StdHub<L> {
    /// Publishes an event to the [default topic](crate::replay::Topic::DEFAULT) and wakes its
    /// followers.
    ///
    /// # Errors
    ///
    /// The log's publish error; nothing is published and nobody is woken.
    pub fn publish(
        &self,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<L::Position, L::PublishError> {
        self.publish_to(&Topics::default(), name, data)
    }

    /// Publishes one event to every topic of `topics` and wakes the connections following any
    /// of them (and, rarely, a few others: see [`Interest`]).
    ///
    /// # Errors
    ///
    /// The log's publish error; nothing is published and nobody is woken.
    pub fn publish_to(
        &self,
        topics: &Topics,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<L::Position, L::PublishError> {
        let mut state = self.lock();
        let position = state.log.publish_to(topics, name, data)?;
        self.bump(state, topics.interest());
        Ok(position)
    }
}

impl<L: TopicLog> Hub for StdHub<L> {
    type Log = L;

    fn with_log<T>(&self, f: impl FnOnce(&L) -> T) -> T {
        f(&self.lock().log)
    }

    fn version(&self) -> u64 {
        self.lock().version
    }

    fn changed(&self, seen: u64, interest: Interest) -> impl Future<Output = ()> {
        Waiter {
            hub: self,
            seen,
            interest,
            key: None,
        }
    }
}

impl<L> fmt::Debug for StdHub<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("StdHub")
            .field("version", &state.version)
            .field("waiting", &state.wakers.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`Hub::changed`]: registered under its own key while pending, so dropping it
/// removes exactly its waker.
struct Waiter<'h, L> {
    hub: &'h StdHub<L>,
    seen: u64,
    interest: Interest,
    key: Option<u64>,
}

impl<L> Future for Waiter<'_, L> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.hub.lock();
        if state.version != this.seen {
            if let Some(key) = this.key.take() {
                state.wakers.remove(&key);
            }
            return Poll::Ready(());
        }
        let key = *this.key.get_or_insert_with(|| {
            let key = state.next_key;
            state.next_key = key.wrapping_add(1);
            key
        });
        match state.wakers.get_mut(&key) {
            Some((waker, _)) if waker.will_wake(cx.waker()) => {}
            Some((waker, _)) => waker.clone_from(cx.waker()),
            None => {
                state
                    .wakers
                    .insert(key, (cx.waker().clone(), this.interest));
            }
        }
        Poll::Pending
    }
}

impl<L> Drop for Waiter<'_, L> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.hub.lock().wakers.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::replay::Ring;
    use core::time::Duration;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(core::sync::atomic::AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
        }
    }

    fn poll_once(future: Pin<&mut impl Future<Output = ()>>, waker: &Waker) -> Poll<()> {
        future.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_publish_wakes_each_waiter_once_and_a_dropped_waiter_leaves_no_waker() {
        let hub = StdHub::new(Ring::<4, 256>::new(1));
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let seen = hub.version();
        let mut first = core::pin::pin!(hub.changed(seen, Interest::ALL));
        assert_eq!(poll_once(first.as_mut(), &waker), Poll::Pending);
        assert_eq!(poll_once(first.as_mut(), &waker), Poll::Pending);
        {
            let mut second = core::pin::pin!(hub.changed(seen, Interest::ALL));
            assert_eq!(poll_once(second.as_mut(), &waker), Poll::Pending);
            assert_eq!(hub.lock().wakers.len(), 2);
        }
        assert_eq!(hub.lock().wakers.len(), 1);

        hub.publish(None, "x").unwrap();

        assert_eq!(count.0.load(core::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(poll_once(first.as_mut(), &waker), Poll::Ready(()));
        assert!(hub.lock().wakers.is_empty());
    }

    #[test]
    fn a_publish_wakes_only_the_followers_of_its_topics() {
        let hub = StdHub::new(Ring::<8, 1024>::new(1));
        let (alice, bob) = (Topics::one("alice").unwrap(), Topics::one("bob").unwrap());
        assert!(
            !alice.interest().intersects(bob.interest()),
            "distinct buckets"
        );
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let seen = hub.version();
        let mut waiting = core::pin::pin!(hub.changed(seen, bob.interest()));
        assert_eq!(poll_once(waiting.as_mut(), &waker), Poll::Pending);

        hub.publish_to(&alice, None, "for alice").unwrap();
        assert_eq!(count.0.load(core::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(hub.lock().wakers.len(), 1);

        hub.publish_to(&bob, None, "for bob").unwrap();
        assert_eq!(count.0.load(core::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(poll_once(waiting.as_mut(), &waker), Poll::Ready(()));
    }

    #[test]
    fn a_failed_publish_changes_nothing() {
        let hub = StdHub::new(Ring::<4, 16>::new(1));
        let seen = hub.version();

        assert!(hub.publish(None, "far too long for sixteen bytes").is_err());

        assert_eq!(hub.version(), seen);
    }

    #[test]
    fn a_waiting_thread_wakes_on_notify_and_times_out_without() {
        let hub = StdHub::new(Ring::<4, 256>::new(1));
        let seen = hub.version();
        let soon = std::time::Instant::now() + Duration::from_millis(20);
        assert!(!hub.wait_changed(seen, Some(soon)));
        assert!(std::time::Instant::now() >= soon);

        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(10));
                hub.notify();
            });
            assert!(hub.wait_changed(seen, None));
        });
        assert!(
            hub.wait_changed(seen, None),
            "already changed: returns at once"
        );
    }
}
