//! The runtime alone (vector table, reset handler, `run`) with no sansse code: the footprint
//! of the other builds minus this one is what sansse adds.

#![no_std]
#![no_main]

use core::hint::black_box;

use sansse_firmware_footprint::{STREAM, Tally, run};

#[sansse_firmware_footprint::entry]
fn main() -> ! {
    run(
        workload,
        Tally {
            bytes: STREAM.len() as u32,
            ..Tally::default()
        },
        0,
    )
}

fn workload() -> Tally {
    Tally {
        bytes: black_box(STREAM).len() as u32,
        ..Tally::default()
    }
}
