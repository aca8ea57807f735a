//! Writes the memory map for the target into OUT_DIR, where cortex-m-rt's `link.x` finds it,
//! and links defmt's linker script into the package that uses defmt.
//!
//! Shared by the firmware packages (`build = "../build.rs"`). All three QEMU boards have flash
//! at 0 and RAM at 0x2000_0000; the micro:bit (the only thumbv6m board used) has 16 KiB of RAM,
//! the others are given 64 KiB, a typical small Cortex-M3/M4 part.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    let ram = if target.starts_with("thumbv6m") {
        "16K"
    } else {
        "64K"
    };
    let memory = format!(
        "MEMORY\n{{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = {ram}\n}}\n"
    );
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // defmt keeps its format strings in sections its own linker script places; only the
    // package that links defmt may name it (the others would fail to find the script).
    if env::var("CARGO_PKG_NAME").as_deref() == Ok("sansse-firmware-defmt") {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }
    println!("cargo:rerun-if-changed=../build.rs");
}
