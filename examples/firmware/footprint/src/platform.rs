//! What differs between the targets the builds are measured on: the runtime (its entry
//! attribute, re-exported as [`crate::entry`]) and, with the `stack` feature, output and exit
//! over semihosting, the panic handler and the stack's bounds.
//!
//! - `arm.rs`: Cortex-M (cortex-m-rt; with `stack`, cortex-m-semihosting and
//!   panic-semihosting);
//! - `riscv.rs`: RV32 on QEMU's `virt` machine (riscv-rt; with `stack`, riscv-semihosting and a
//!   panic handler of its own).

#[cfg(target_arch = "arm")]
#[path = "platform/arm.rs"]
mod target;

#[cfg(target_arch = "riscv32")]
#[path = "platform/riscv.rs"]
mod target;

pub use target::entry;
#[cfg(feature = "stack")]
pub(crate) use target::{exit, print, stack_floor, stack_pointer};
