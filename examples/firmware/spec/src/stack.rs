//! The stack high-water mark of one scenario: paint the free stack, run it, find the deepest
//! word it overwrote.
//!
//! The only `unsafe` in the firmware besides reading the stack's bounds (`platform`); it
//! touches nothing but the free RAM between the statics and the live stack.

use core::fmt;

use crate::platform;
use crate::report::Report;

const PAINT: u32 = 0xA5C3_5AC3;

/// Bytes that must stay untouched below the deepest frame: what an exception entry stacks (the
/// Cortex-M hardware frame, riscv-rt's 16-word trap frame on RV32), so a fault handler could
/// still run.
const MARGIN: usize = 64;

/// Stack use of one run.
pub(crate) struct StackUse {
    /// Bytes below the caller's frame the run overwrote.
    pub(crate) used: usize,
    /// Bytes there were between the caller's frame and the statics.
    pub(crate) free: usize,
}

impl StackUse {
    /// Fails when the run came within [`MARGIN`] of the statics.
    pub(crate) fn check(&self) -> Result<(), Self> {
        if self.used.saturating_add(MARGIN) < self.free {
            Ok(())
        } else {
            Err(Self { ..*self })
        }
    }
}

impl fmt::Display for StackUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} free bytes of stack used", self.used, self.free)
    }
}

/// Runs `run` once and measures how deep its stack went.
#[inline(never)]
pub(crate) fn measure(run: fn(&mut Report), report: &mut Report) -> StackUse {
    let bottom = platform::stack_floor();
    let top = platform::stack_pointer();
    // Everything below the stack pointer is unused: this frame is complete, no interrupt is
    // enabled, and no call happens until `run`.
    let mut at = bottom;
    while at < top {
        // SAFETY: [bottom, top) is RAM between the statics and the live stack, word aligned
        // (both runtimes align the end of the statics to 4).
        unsafe { (at as *mut u32).write_volatile(PAINT) };
        at += 4;
    }
    core::hint::black_box(run)(report);
    let mut at = bottom;
    // SAFETY: as above; `run` has returned, so nothing lives below `top`.
    while at < top && unsafe { (at as *const u32).read_volatile() } == PAINT {
        at += 4;
    }
    StackUse {
        used: top - at,
        free: top - bottom,
    }
}
