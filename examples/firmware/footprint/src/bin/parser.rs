//! Parser only: a `Parser<[u8; 1024]>` in a static, fed [`STREAM`] in [`PIECE`]-byte pieces.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::MaybeUninit;

use sansse::parse::{Output, Parser};
use sansse_firmware_footprint::{PIECE, STREAM, Tally, run};

/// A typical small-device buffer; flash use does not depend on it, static RAM does.
const CAPACITY: usize = 1024;

#[sansse_firmware_footprint::entry]
fn main() -> ! {
    // Counted by hand from `STREAM`: five events whose type, data and id add up to 36 + 37 +
    // 43 + 22 + 49 = 187 bytes (U+FFFD counts 3, an absent type reads as "message"), one retry
    // of 3000, two comments of 10 + 4 bytes, and an empty last event ID at the end.
    run(
        workload,
        Tally {
            events: 5,
            retries: 1,
            comments: 2,
            errors: 0,
            bytes: 187 + 3000 + 14,
            steps: 0,
        },
        CAPACITY,
    )
}

fn workload() -> Tally {
    let parser = parser();
    // Counted in locals, the tally built at the end: a `Tally::default()` updated in place
    // is zeroed with a call to `memclr` that the library itself does not need (174 bytes).
    let (mut events, mut retries, mut comments, mut errors, mut bytes) = (0, 0, 0, 0, 0u32);
    for piece in black_box(STREAM).chunks(PIECE) {
        let mut feed = parser.feed(piece);
        while let Some(output) = feed.next() {
            match output {
                Ok(Output::Event(event)) => {
                    events += 1;
                    bytes +=
                        (event.event_type().len() + event.data().len() + event.id().len()) as u32;
                }
                Ok(Output::Retry(ms)) => {
                    retries += 1;
                    bytes = bytes.wrapping_add(ms as u32);
                }
                Ok(Output::Comment(text)) => {
                    comments += 1;
                    bytes += text.len() as u32;
                }
                Ok(_) => {}
                Err(_) => errors += 1,
            }
        }
    }
    bytes += parser.last_event_id().len() as u32;
    Tally {
        events,
        retries,
        comments,
        errors,
        bytes,
        steps: 0,
    }
}

/// The parser lives in `.bss`, built at run time: a `static` initialised with `Parser::new()`
/// would land in `.data` and cost its whole buffer in flash as well (its limits are not zero).
fn parser() -> &'static mut Parser<[u8; CAPACITY]> {
    static mut PARSER: MaybeUninit<Parser<[u8; CAPACITY]>> = MaybeUninit::uninit();
    let slot = &raw mut PARSER;
    // SAFETY: called once, from the only thread of this firmware, so the reference is unique.
    unsafe { (&mut *slot).write(Parser::new()) }
}
