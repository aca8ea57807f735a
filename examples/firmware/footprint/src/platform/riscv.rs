//! RISC-V glue for QEMU's `virt` machine (`-bios none`, one hart, machine mode): riscv-rt
//! starts the build; with `stack`, riscv-semihosting carries the report and exit status to
//! QEMU (its output guarded by the `riscv` crate's single-hart critical section) and the panic
//! handler here reports a panic and exits with a failure, as panic-semihosting does on Cortex-M.

pub use riscv_rt::entry;

#[cfg(feature = "stack")]
pub(crate) use semihosting::{exit, print, stack_floor, stack_pointer};

#[cfg(feature = "stack")]
mod semihosting {
    use core::fmt;
    use core::panic::PanicInfo;

    use riscv as _; // links the critical-section implementation semihosting uses
    use riscv_semihosting::{debug, hprintln};

    unsafe extern "C" {
        /// riscv-rt: the bottom of the stack region, right after the statics and the heap
        /// (none here), word aligned.
        static __estack: u32;
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

    /// The lowest address the stack may reach.
    pub(crate) fn stack_floor() -> usize {
        (&raw const __estack) as usize
    }

    /// The stack pointer of the calling frame (inlined, so it is the caller's).
    #[inline(always)]
    pub(crate) fn stack_pointer() -> usize {
        let sp: usize;
        // SAFETY: reads the stack pointer; no memory is touched.
        unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
        sp
    }

    /// A panic fails the measurement: print where, then exit with status 1.
    #[panic_handler]
    fn panic(info: &PanicInfo<'_>) -> ! {
        print(format_args!("{info}"));
        exit(false)
    }
}
