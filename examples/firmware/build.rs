//! Writes the memory map for the target into OUT_DIR, where the runtime's `link.x` (cortex-m-rt
//! or riscv-rt) finds it, and links defmt's linker script into the package that uses defmt.
//!
//! Shared by the firmware packages (`build = "../build.rs"`). The three Cortex-M QEMU boards
//! have flash at 0 and RAM at 0x2000_0000; the micro:bit (the only thumbv6m board used) has
//! 16 KiB of RAM, the others are given 64 KiB, a typical small Cortex-M3/M4 part. QEMU's RISC-V
//! `virt` machine has only RAM, at 0x8000_0000, where `-bios none` starts the image: the first
//! 256 KiB stand for flash, the next 64 KiB for RAM, the same sizes as the Cortex-M4.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    let memory = if target.starts_with("riscv32") {
        // riscv-rt places each output section by region alias. The precompiled `core` carries
        // unwind tables that nothing reads (every build panics by aborting or exiting): they
        // are dropped, as cortex-m-rt's link.x drops `.ARM.exidx`, so flash holds code and
        // data only on both architectures.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x80000000, LENGTH = 256K\n  RAM : ORIGIN = 0x80040000, LENGTH = 64K\n}\n\
         REGION_ALIAS(\"REGION_TEXT\", FLASH);\nREGION_ALIAS(\"REGION_RODATA\", FLASH);\n\
         REGION_ALIAS(\"REGION_DATA\", RAM);\nREGION_ALIAS(\"REGION_BSS\", RAM);\n\
         REGION_ALIAS(\"REGION_HEAP\", RAM);\nREGION_ALIAS(\"REGION_STACK\", RAM);\n\
         SECTIONS\n{\n  /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) }\n}\n"
            .to_owned()
    } else {
        let ram = if target.starts_with("thumbv6m") {
            "16K"
        } else {
            "64K"
        };
        format!(
            "MEMORY\n{{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = {ram}\n}}\n"
        )
    };
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // defmt keeps its format strings in sections its own linker script places; only the
    // package that links defmt may name it (the others would fail to find the script).
    if env::var("CARGO_PKG_NAME").as_deref() == Ok("sansse-firmware-defmt") {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }
    println!("cargo:rerun-if-changed=../build.rs");
}
