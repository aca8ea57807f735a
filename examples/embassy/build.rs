//! Puts `memory.x` where cortex-m-rt's `link.x` looks for it, and passes the linker scripts.
//!
//! The link arguments live here rather than in `.cargo/config.toml` so that they apply whatever
//! directory cargo runs from (`--manifest-path` from the repository root reads no config of
//! this package's).

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    // cortex-m-rt's script (which includes memory.x), and defmt's for its string table.
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
}
