//! Counts checks and prints the first failures over semihosting.

use core::fmt;

use crate::platform::hprintln;

/// Failures printed in full; the rest are only counted, so a broken build cannot flood the
/// log (semihosting output is slow under QEMU).
const PRINTED_FAILURES: u32 = 20;

/// Passed and failed checks so far.
#[derive(Clone, Copy)]
pub(crate) struct Report {
    pub(crate) passed: u32,
    pub(crate) failed: u32,
}

impl Report {
    pub(crate) const fn new() -> Self {
        Self {
            passed: 0,
            failed: 0,
        }
    }

    /// Records the outcome of one check; `what` names it when it failed.
    pub(crate) fn record<E: fmt::Display>(
        &mut self,
        what: fmt::Arguments<'_>,
        outcome: Result<(), E>,
    ) {
        match outcome {
            Ok(()) => self.passed += 1,
            Err(why) => {
                if self.failed < PRINTED_FAILURES {
                    hprintln!("FAIL {what}: {why}");
                }
                self.failed += 1;
            }
        }
    }

    /// Records that `ok` holds.
    pub(crate) fn check(&mut self, what: impl fmt::Display, ok: bool) {
        self.record(
            format_args!("{what}"),
            if ok { Ok(()) } else { Err("does not hold") },
        );
    }

    /// Records that `got` equals `expected`, printing both when it does not.
    pub(crate) fn eq<T: fmt::Debug + PartialEq>(
        &mut self,
        what: impl fmt::Display,
        got: T,
        expected: T,
    ) {
        let outcome = if got == expected {
            Ok(())
        } else {
            Err(Differ { got, expected })
        };
        self.record(format_args!("{what}"), outcome);
    }
}

/// A value that is not the one expected.
struct Differ<T> {
    got: T,
    expected: T,
}

impl<T: fmt::Debug> fmt::Display for Differ<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "got {:?}, expected {:?}", self.got, self.expected)
    }
}
