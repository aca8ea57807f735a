//! Cortex-M glue: cortex-m-rt starts the firmware, cortex-m-semihosting carries its output and
//! exit status to QEMU, panic-semihosting reports a panic and exits with a failure.

use core::fmt;

use cortex_m as _; // links the critical-section implementation semihosting output takes
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

pub(crate) use cortex_m_rt::entry;

unsafe extern "C" {
    /// cortex-m-rt: the end of `.bss`/`.uninit`, the lowest address the stack may reach.
    static __sheap: u32;
}

/// Writes `line` and a line feed to the host's standard output.
pub(crate) fn print(line: fmt::Arguments<'_>) {
    hprintln!("{}", line);
}

/// Ends the QEMU run: exit status 0 when `success`, 1 otherwise.
pub(crate) fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a debugger or semihosting host.
    loop {
        core::hint::spin_loop();
    }
}

/// The lowest address the stack may reach (word aligned: cortex-m-rt aligns `__sheap` to 4).
pub(crate) fn stack_floor() -> usize {
    (&raw const __sheap) as usize
}

/// The stack pointer of the calling frame (inlined, so it is the caller's, not a callee's).
#[inline(always)]
pub(crate) fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer; no memory is touched.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}
