//! Cortex-M glue: cortex-m-rt starts the build; with `stack`, cortex-m-semihosting carries
//! the report and exit status to QEMU and panic-semihosting reports a panic.

pub use cortex_m_rt::entry;

#[cfg(feature = "stack")]
pub(crate) use semihosting::{exit, print, stack_floor, stack_pointer};

#[cfg(feature = "stack")]
mod semihosting {
    use core::fmt;

    use cortex_m as _; // links the critical-section implementation semihosting uses
    use cortex_m_semihosting::{debug, hprintln};
    use panic_semihosting as _;

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

    /// The lowest address the stack may reach (cortex-m-rt aligns it to 4).
    pub(crate) fn stack_floor() -> usize {
        (&raw const __sheap) as usize
    }

    /// The stack pointer of the calling frame (inlined, so it is the caller's).
    #[inline(always)]
    pub(crate) fn stack_pointer() -> usize {
        let sp: usize;
        // SAFETY: reads the stack pointer; no memory is touched.
        unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
        sp
    }
}
