//! Shells: the only code in the crate that touches sockets and clocks.
//!
//! Each shell is a loop around a sans-IO session: wait for bytes, for the session's deadline or
//! for news from the application, feed the session, drain its outputs, repeat. They are small on
//! purpose, so a shell for another runtime is a copy of one of them with its I/O calls swapped
//! (the README's "Writing a shell for another runtime" walks through the loop).
//!
//! What a shell needs from its surroundings:
//!
//! - a byte stream: with `embedded-io-async-0.7`, any `embedded_io_async::{Read, Write}`
//!   (embassy-net's sockets, or `FuturesIo` around smol's or tokio's `TcpStream`); with `std`, a
//!   blocking `std::net::TcpStream`;
//! - a clock: a [`Timer`] for the async shells (the crate ships `StdTimer` and
//!   `EmbassyTimer`), `time::StdOrigin` for the blocking one;
//! - for a server, the [`Hub`] its connections share: the replay log, and a way to learn that
//!   something was published.
//!
//! | feature | what it adds here |
//! | --- | --- |
//! | `embedded-io-async-0.7` | `server::serve`, the async server loop; `client::Client`, the async pull client |
//! | `futures-io-0.3` | `FuturesIo`, so smol's, async-io's and (through `tokio-util`'s compat) tokio's streams plug into them |
//! | `tls` | [`tls`]: `TlsConnector` and `TlsAcceptor` (rustls on ring) over any `futures_io` stream |
//! | `std` | `server::serve_blocking` and `client::BlockingClient` over `std::net`, `StdHub`, and `StdTimer` (futures-timer, any executor) |
//! | `embassy-time` with `embedded-io-async-0.7` | `EmbassyTimer` |
//!
//! # Waking many connections without a runtime
//!
//! Many server sessions read one replay log, and the application publishes into it from
//! elsewhere. A session learns about new events only when its shell polls it, so every shell
//! must wake on a publish. The [`Hub`] trait asks for the least that makes this work with no
//! allocator and no particular runtime: a *version*, a number the application changes on every
//! publish or command, and a future that completes once the version differs from one seen
//! before. A shell reads the version *before* it drains the session, so a publish that lands
//! while it drains changes the version and its next wait returns at once: no wake-up is lost,
//! whatever order things happen in. `StdHub` (with `std`) implements it with a mutex and a waker list; on
//! an embedded executor, one waker slot per connection (or `embassy-sync`'s multi-waker
//! registration) does the same.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll};

use crate::replay::{Interest, TopicLog};
use crate::time::Instant;

pub mod client;
#[cfg(feature = "embedded-tls")]
pub mod embedded_tls;
#[cfg(feature = "futures-io-0.3")]
mod futures_io;
#[cfg(feature = "std")]
mod hub;
pub mod server;
#[cfg(any(
    feature = "std",
    all(feature = "embassy-time", feature = "embedded-io-async-0.7")
))]
mod timers;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "futures-io-0.3")]
pub use futures_io::FuturesIo;
#[cfg(feature = "std")]
pub use hub::StdHub;
#[cfg(all(feature = "embassy-time", feature = "embedded-io-async-0.7"))]
pub use timers::EmbassyTimer;
#[cfg(feature = "std")]
pub use timers::StdTimer;

/// The clock an async shell runs on: the current time and a way to sleep until an [`Instant`].
///
/// Shells read [`Timer::now`] again after every wake-up instead of trusting the sleep, and the
/// machines treat an early `handle_timeout` as a no-op, so a timer that fires early or late
/// costs a turn of the loop, nothing more.
///
/// The crate ships two: [`StdTimer`] (with `std`, on any executor) and `EmbassyTimer` (with
/// `embassy-time` and `embedded-io-async-0.7`). Write one only for another clock.
///
/// # Examples
///
/// A clock that jumps to each deadline, for tests that must not wait:
///
/// ```
/// use sansse::{io::Timer, Instant};
///
/// struct Jump(Instant);
///
/// impl Timer for Jump {
///     fn now(&mut self) -> Instant {
///         self.0
///     }
///
///     async fn sleep_until(&mut self, deadline: Instant) {
///         self.0 = self.0.max(deadline);
///     }
/// }
///
/// let mut timer = Jump(Instant::ZERO);
/// let deadline = Instant::from_millis(5_000);
/// smol::block_on(timer.sleep_until(deadline));
/// assert_eq!(timer.now(), deadline);
/// ```
pub trait Timer {
    /// The current time. It should not go backwards; the machines clamp it if it does.
    fn now(&mut self) -> Instant;

    /// Completes at or after `deadline` (at once if it has passed).
    ///
    /// Must be cancel-safe: shells drop this future whenever bytes or a publish arrive first,
    /// and create a new one on the next turn.
    fn sleep_until(&mut self, deadline: Instant) -> impl Future<Output = ()>;
}

/// The state every connection of one server shares: the replay log, and news of changes to it.
///
/// See the [module docs](self) for why a version number. The application changes the version
/// after every publish, and after anything else its connections should look at (a command for
/// [`server::Handler::poll_commands`], such as a lease renewal or a request to close).
///
/// # Examples
///
/// A hub for one connection, with no allocator: a `RefCell` for the log and a single waker
/// slot. (A hub for many connections keeps one slot per connection.)
///
/// ```
/// use core::cell::{Cell, RefCell};
/// use core::future::{poll_fn, Future};
/// use core::task::{Poll, Waker};
/// use sansse::encode::EventName;
/// use sansse::io::Hub;
/// use sansse::replay::{Interest, Ring};
///
/// struct OneHub {
///     log: RefCell<Ring<16, 1024>>,
///     version: Cell<u64>,
///     waker: Cell<Option<Waker>>,
/// }
///
/// impl OneHub {
///     fn publish(&self, data: &str) {
///         let _ = self.log.borrow_mut().publish(None, data);
///         self.version.set(self.version.get().wrapping_add(1));
///         if let Some(waker) = self.waker.take() {
///             waker.wake();
///         }
///     }
/// }
///
/// impl Hub for OneHub {
///     type Log = Ring<16, 1024>;
///
///     fn with_log<T>(&self, f: impl FnOnce(&Self::Log) -> T) -> T {
///         f(&self.log.borrow())
///     }
///
///     fn version(&self) -> u64 {
///         self.version.get()
///     }
///
///     fn changed(&self, seen: u64, _interest: Interest) -> impl Future<Output = ()> {
///         poll_fn(move |cx| {
///             if self.version.get() != seen {
///                 return Poll::Ready(());
///             }
///             self.waker.set(Some(cx.waker().clone()));
///             Poll::Pending
///         })
///     }
/// }
///
/// let hub = OneHub { log: RefCell::new(Ring::new(1)), version: Cell::new(0), waker: Cell::new(None) };
/// let seen = hub.version();
/// hub.publish("hello");
/// assert_ne!(hub.version(), seen);
/// assert_eq!(hub.with_log(|log| log.len()), 1);
/// ```
pub trait Hub {
    /// The replay log the sessions read.
    type Log: TopicLog;

    /// Runs `f` with the log borrowed. Shells call it only to accept a request or to copy
    /// events out, never across an `.await`, so a plain `RefCell` or a blocking mutex is enough.
    fn with_log<T>(&self, f: impl FnOnce(&Self::Log) -> T) -> T;

    /// A number that changes after every publish or command. Only inequality matters, so it
    /// may wrap.
    fn version(&self) -> u64;

    /// Completes once [`Hub::version`] differs from `seen`, at once if it already does.
    ///
    /// `interest` summarises the topics the waiting connection follows
    /// ([`Topics::interest`](crate::replay::Topics::interest); [`Interest::ALL`] before it has
    /// chosen): a hub may leave it asleep through publishes that do not intersect it, as
    /// [`StdHub`] does, or wake it for every change, as a hub for one connection may.
    ///
    /// Must be cancel-safe: shells drop it whenever bytes or a deadline come first. A spurious
    /// completion costs a turn of the loop, nothing more.
    fn changed(&self, seen: u64, interest: Interest) -> impl Future<Output = ()>;
}

/// Which of two futures finished first.
#[derive(Debug)]
pub(crate) enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls both futures until one is ready and returns its output; the other one is dropped.
///
/// `a` is polled first, so bytes that are ready win over a deadline that is due too. Cancel-safe
/// exactly when both futures are.
#[cfg_attr(not(feature = "embedded-io-async-0.7"), allow(dead_code))]
pub(crate) async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    core::future::poll_fn(|cx: &mut Context<'_>| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(out));
        }
        Poll::Pending
    })
    .await
}

/// Sleeps until `deadline`, or forever without one: what a shell waits on for the session's
/// next timer.
#[cfg_attr(not(feature = "embedded-io-async-0.7"), allow(dead_code))]
pub(crate) async fn sleep_until<T: Timer>(timer: &mut T, deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => timer.sleep_until(deadline).await,
        None => core::future::pending().await,
    }
}
