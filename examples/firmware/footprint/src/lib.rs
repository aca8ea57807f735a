//! Shared runtime of the footprint builds: each binary in `src/bin` is one measured build (a
//! row of the table `benches/footprint.sh` prints) and hands its workload to [`run`].
//!
//! A workload parses [`STREAM`] or drives a session over canned bytes and folds what it sees
//! into a [`Tally`], which goes through `black_box` so the optimiser keeps every step. Without
//! features the build is as lean as a real firmware: no formatting, no semihosting, a panic
//! handler that parks. With `stack` it runs once under QEMU and reports its stack use and the
//! size of the buffers the application lends (so the script can tell the library's own RAM
//! from the application's).

#![no_std]

mod platform;

/// The runtime's entry attribute for the target (cortex-m-rt's or riscv-rt's): every build's
/// `main` takes it.
pub use platform::entry;

/// A small but varied stream: BOM, CRLF, CR and LF endings, comments, `retry`, ids, event
/// types, multi-line data, an invalid UTF-8 byte, and fields that straddle chunk edges.
pub const STREAM: &[u8] = b"\xEF\xBB\xBFretry: 3000\r\n: keep-alive\r\n\r\n\
id: 1\r\nevent: reading\r\ndata: {\"sensor\":\"t1\",\"value\":21.5}\r\n\r\n\
id: 2\nevent: reading\ndata: {\"sensor\":\"t2\",\ndata: \"value\":19.0}\n\n\
: ping\n\ndata: plain message with a stray \xFF byte\n\n\
event: alarm\rid: 3\rdata: over temperature\r\r\
id\ndata: id cleared, the next reconnect starts over\n\n";

/// The size of the pieces a workload feeds, like reads from a small socket buffer: most fields
/// cross a piece boundary, so the copying paths are exercised and linked.
pub const PIECE: usize = 48;

/// What a workload saw. Each build's docs say what it counts in each field.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Tally {
    /// Events dispatched (or, for a server, sent).
    pub events: u32,
    /// `retry` values accepted.
    pub retries: u32,
    /// Comments seen (or, for a server, keep-alive comments written).
    pub comments: u32,
    /// Events skipped with an error, or calls that failed.
    pub errors: u32,
    /// Bytes of text handed out (types, data, ids, comments) plus the retry values; for the
    /// sessions, bytes written and read.
    pub bytes: u32,
    /// Session steps: actions and story events of a client, story events of a server.
    pub steps: u32,
}

/// Runs `workload` once, then parks (or, with `stack`, reports and exits).
///
/// `buffers` is the RAM the application lends the library (parser buffers, session storage,
/// the replay ring, transmit buffers): reported with `stack`, so the script can show what the
/// library needs beyond it.
pub fn run(workload: fn() -> Tally, expected: Tally, buffers: usize) -> ! {
    #[cfg(feature = "stack")]
    report::stack_use(workload, expected, buffers);
    #[cfg(not(feature = "stack"))]
    {
        let _ = (expected, buffers);
        core::hint::black_box(workload());
        loop {
            core::hint::spin_loop();
        }
    }
}

/// Parks on panic: the measured builds carry no formatting or semihosting code.
#[cfg(not(feature = "stack"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(feature = "stack")]
mod report {
    //! The stack high-water mark: paint the free stack with a pattern, run the workload, and
    //! find the deepest word it overwrote.

    use core::hint::black_box;

    use super::Tally;
    use crate::platform;

    const PAINT: u32 = 0xA5C3_5AC3;

    /// Prints one line over semihosting.
    macro_rules! say {
        ($($arg:tt)*) => {
            platform::print(format_args!($($arg)*))
        };
    }

    pub(crate) fn stack_use(workload: fn() -> Tally, expected: Tally, buffers: usize) -> ! {
        let (used, free, tally) = measure(workload);
        say!("tally: {:?}", tally);
        say!("stack: {} bytes", used);
        say!("buffers: {} bytes", buffers);
        let ok = tally == expected && used < free;
        if tally != expected {
            say!("error: expected {:?}", expected);
        }
        if used >= free {
            say!("error: the workload used all {} free bytes of stack", free);
        }
        platform::exit(ok)
    }

    /// Returns the bytes of stack `workload` used below this frame, the bytes that were free,
    /// and its tally.
    #[inline(never)]
    fn measure(workload: fn() -> Tally) -> (usize, usize, Tally) {
        let bottom = platform::stack_floor();
        let top = platform::stack_pointer();
        // Everything below the stack pointer is unused: this frame is complete, no interrupt
        // is enabled, and no call happens until the workload.
        let mut at = bottom;
        while at < top {
            // SAFETY: [bottom, top) is RAM between the statics and the live stack.
            unsafe { (at as *mut u32).write_volatile(PAINT) };
            at += 4;
        }
        let tally = black_box(workload)();
        let mut at = bottom;
        // SAFETY: as above; the workload has returned, so nothing lives below `top`.
        while at < top && unsafe { (at as *const u32).read_volatile() } == PAINT {
            at += 4;
        }
        (top - at, top - bottom, tally)
    }
}
