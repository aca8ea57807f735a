//! The firmware proof: sansse's host test tables, run on a bare-metal Cortex-M or RISC-V under
//! QEMU.
//!
//! Each scenario is a function that records its checks in a [`Report`]; `main` runs them all,
//! prints `firmware: N passed, M failed` over semihosting and exits with status 0 only when
//! nothing failed (a panic exits with status 1). What differs per target is in [`platform`].
//!
//! ```text
//! cargo run --release --target thumbv6m-none-eabi      # Cortex-M0, micro:bit, 16 KiB RAM
//! cargo run --release --target thumbv7m-none-eabi      # Cortex-M3, LM3S6965
//! cargo run --release --target thumbv7em-none-eabihf   # Cortex-M4F, MPS2-AN386
//! cargo run --release --target riscv32imc-unknown-none-elf   # RV32IMC, virt
//! ```
//!
//! Nothing here allocates: every parser, session, ring and output line lives on the stack,
//! sized for the micro:bit's 16 KiB of RAM; each scenario's stack high-water mark is measured
//! and checked against the room there is.

#![no_std]
#![no_main]

mod client_session;
mod json;
mod parser_spec;
mod platform;
mod report;
mod server_session;
mod stack;

/// The host's spec table, the very same file (plain `const` data).
#[path = "../../../../tests/support/spec_cases.rs"]
mod spec_cases;

use platform::{entry, hprintln};
use report::Report;

/// Every scenario, in the order run. A new one is one more line here and one more module.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "parser spec table",
        run: parser_spec::run,
    },
    Scenario {
        name: "client session",
        run: client_session::run,
    },
    Scenario {
        name: "server session and replay ring",
        run: server_session::run,
    },
];

/// A group of checks run on the device.
struct Scenario {
    /// Shown in the per-scenario line of the log.
    name: &'static str,
    /// Runs every check, recording each in the report.
    run: fn(&mut Report),
}

#[entry]
fn main() -> ! {
    let mut report = Report::new();
    for Scenario { name, run } in SCENARIOS {
        let before = report;
        let stack = stack::measure(*run, &mut report);
        // One more check per scenario: the stack never reached the statics below it (on the
        // micro:bit, 16 KiB hold both), which would corrupt them without a fault.
        report.record(format_args!("{name}: stack use"), stack.check());
        let passed = report.passed - before.passed;
        let failed = report.failed - before.failed;
        hprintln!(
            "- {name}: {passed} checks ok, {failed} wrong, {} of {} bytes of stack",
            stack.used,
            stack.free
        );
    }
    // The line CI looks for; keep its shape.
    hprintln!(
        "firmware: {} passed, {} failed",
        report.passed,
        report.failed
    );
    platform::exit(report.failed == 0)
}
