//! What differs between the targets the firmware runs on: the runtime's entry point, output
//! and exit over semihosting, the panic handler, and the stack's bounds. Everything else in the
//! firmware is plain `core` code that runs the same on every target.
//!
//! - `arm.rs`: Cortex-M (cortex-m-rt, cortex-m-semihosting, panic-semihosting);
//! - `riscv.rs`: RV32 on QEMU's `virt` machine (riscv-rt, riscv-semihosting, a panic handler
//!   of its own).

#[cfg(target_arch = "arm")]
#[path = "platform/arm.rs"]
mod target;

#[cfg(target_arch = "riscv32")]
#[path = "platform/riscv.rs"]
mod target;

pub(crate) use target::{entry, exit, print, stack_floor, stack_pointer};

/// Prints one line to the host's standard output over semihosting, formatted like `println!`.
macro_rules! hprintln {
    ($($arg:tt)*) => {
        $crate::platform::print(format_args!($($arg)*))
    };
}
pub(crate) use hprintln;
