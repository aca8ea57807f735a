//! A minimal embassy-time driver over SysTick, so this example needs no HAL.
//!
//! SysTick interrupts once per tick (1 ms, matching the `tick-hz-1_000` feature of
//! embassy-time); the handler counts ticks in a 64-bit counter, which is what
//! `embassy_time::Instant` reads, and wakes the timers that are due. Timers wait in a small
//! fixed queue (eight wakers: one per task that sleeps, with room to spare; a full queue wakes
//! its earliest entry early, which embassy-time allows).
//!
//! On a real board, use the time driver of your HAL instead (embassy-stm32's `time-driver-*`
//! features, embassy-nrf's RTC driver, esp-hal's): they run from a low-power timer, sleep
//! between deadlines instead of waking every millisecond, and keep time in low-power modes.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::queue_generic::ConstGenericQueue;

/// How many timers can wait at once.
const QUEUE: usize = 8;

/// Ticks since [`start`], and the timers waiting for a later tick.
struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    /// The earliest tick a queued timer waits for (`u64::MAX`: none), so that most interrupts
    /// only count.
    alarm: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<ConstGenericQueue<QUEUE>>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    alarm: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(ConstGenericQueue::new())),
});

/// Starts SysTick at one interrupt per millisecond from a core clock of `core_hz`.
///
/// Until then time stands at zero, which the driver contract allows.
pub fn start(mut syst: SYST, core_hz: u32) {
    syst.set_clock_source(SystClkSource::Core);
    // SysTick counts from the reload value down to zero: a period of reload + 1 cycles. The
    // reload register holds 24 bits, enough for 1 ms up to a 16 GHz core.
    syst.set_reload((core_hz / 1000).saturating_sub(1));
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let now = self.ticks.borrow(cs).get();
            if at <= now {
                waker.wake_by_ref();
                return;
            }
            let mut queue = self.queue.borrow_ref_mut(cs);
            if queue.schedule_wake(at, waker) {
                self.alarm.borrow(cs).set(queue.next_expiration(now));
            }
        });
    }
}

impl SysTickDriver {
    /// One tick: count it, and wake the timers that are due.
    fn tick(&self) {
        critical_section::with(|cs| {
            let ticks = self.ticks.borrow(cs);
            let now = ticks.get().saturating_add(1);
            ticks.set(now);
            let alarm = self.alarm.borrow(cs);
            if now >= alarm.get() {
                alarm.set(self.queue.borrow_ref_mut(cs).next_expiration(now));
            }
        });
    }
}

#[exception]
fn SysTick() {
    DRIVER.tick();
}
