//! RISC-V glue for QEMU's `virt` machine (`-bios none`, one hart, machine mode): riscv-rt
//! starts the firmware, riscv-semihosting carries its output and exit status to QEMU, the
//! `riscv` crate's single-hart critical section (interrupts off) guards semihosting output,
//! and the panic handler here reports a panic and exits with a failure, as panic-semihosting
//! does on Cortex-M.

use core::fmt;
use core::panic::PanicInfo;

use riscv as _; // links the critical-section implementation semihosting output takes
use riscv_semihosting::{debug, hprintln};

pub(crate) use riscv_rt::entry;

unsafe extern "C" {
    /// riscv-rt: the bottom of the stack region, right after `.bss`, `.uninit` and the heap
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

/// The stack pointer of the calling frame (inlined, so it is the caller's, not a callee's).
#[inline(always)]
pub(crate) fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer; no memory is touched.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// A panic in the library or a check fails the run: print where, then exit with status 1.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    print(format_args!("{info}"));
    exit(false)
}
