//! Small spec cases (WHATWG HTML §9.2.6) where parsers are known to differ. Not timed: each case
//! runs whole and one byte at a time through every parser, and the events are compared with
//! sansse's, which its own spec tests pin down.

use std::time::{Duration, Instant};

use crate::contenders::{Contender, Guard, Sink, run};

/// One case: a name, the stream, and the events the spec gives, as `type|data|id` lines.
pub struct Case {
    pub name: &'static str,
    pub input: &'static [u8],
    pub expected: &'static [&'static str],
}

pub const CASES: &[Case] = &[
    Case {
        name: "CR line ends",
        input: b"data: a\rdata: b\r\r",
        expected: &["message|a\nb|"],
    },
    Case {
        name: "CR line ends, LF event after",
        input: b"data: a\r\rdata: b\n\n",
        expected: &["message|a|", "message|b|"],
    },
    Case {
        name: "CRLF line ends",
        input: b"data: a\r\n\r\n",
        expected: &["message|a|"],
    },
    Case {
        name: "leading BOM",
        input: b"\xEF\xBB\xBFdata: a\n\n",
        expected: &["message|a|"],
    },
    Case {
        name: "only one space stripped",
        input: b"data:  a\n\n",
        expected: &["message| a|"],
    },
    Case {
        name: "`data` without colon",
        input: b"data\n\n",
        expected: &["message||"],
    },
    Case {
        name: "last empty data line kept",
        input: b"data: a\ndata\n\n",
        expected: &["message|a\n|"],
    },
    Case {
        name: "id-only block sets last id",
        input: b"id: 1\n\ndata: a\n\n",
        expected: &["message|a|1"],
    },
    Case {
        name: "id carries over",
        input: b"id: 1\ndata: a\n\ndata: b\n\n",
        expected: &["message|a|1", "message|b|1"],
    },
    Case {
        name: "empty id resets",
        input: b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        expected: &["message|a|1", "message|b|"],
    },
    Case {
        name: "id with NUL ignored",
        input: b"id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n",
        expected: &["message|a|1", "message|b|1"],
    },
    Case {
        name: "type does not carry over",
        input: b"event: x\n\ndata: a\n\n",
        expected: &["message|a|"],
    },
    Case {
        name: "field names are case-sensitive",
        input: b"Data: a\n\ndata: b\n\n",
        expected: &["message|b|"],
    },
    Case {
        name: "invalid UTF-8 becomes U+FFFD",
        input: b"data: a\xFFb\n\n",
        expected: &["message|a\u{FFFD}b|"],
    },
    Case {
        name: "unterminated event discarded",
        input: b"data: a\n\ndata: b",
        expected: &["message|a|"],
    },
    Case {
        name: "unterminated event ending in CR",
        input: b"data: a\n\ndata: b\n\r",
        expected: &["message|a|", "message|b|"],
    },
];

struct Collect(Vec<String>);

impl Sink for Collect {
    fn event(&mut self, event_type: &str, data: &str, id: &str) {
        self.0.push(format!("{event_type}|{data}|{id}"));
    }
}

/// The events `contender` gives for `input` fed in `chunk`-byte pieces and its error count, or
/// the message it panicked with.
fn events(contender: Contender, input: &[u8], chunk: usize) -> Result<(Vec<String>, u64), String> {
    let attempt = std::panic::catch_unwind(|| {
        let mut sink = Collect(Vec::new());
        let mut guard = Guard::new(Instant::now() + Duration::from_secs(5));
        run(contender, input, chunk, &mut sink, &mut guard);
        (sink.0, guard.aux)
    });
    attempt.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        format!("panicked: {}", message.lines().next().unwrap_or(""))
    })
}

/// Outcome for one parser on one case.
pub enum Verdict {
    Pass,
    /// What differed, for the list under the table.
    Fail(String),
}

/// Runs every case; returns one row of verdicts per case, in `contenders` order, plus whether
/// sansse itself disagreed with the expected events (a harness or parser bug).
pub fn check(contenders: &[Contender]) -> (Vec<Vec<Verdict>>, bool) {
    // A peer that panics on a case is a finding, reported in the table, not a crash.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut sansse_wrong = false;
    let rows = CASES
        .iter()
        .map(|case| {
            contenders
                .iter()
                .map(|&c| {
                    let mut problems = Vec::new();
                    for (chunk, how) in [(usize::MAX, "whole"), (1, "byte by byte")] {
                        let (got, errors) = match events(c, case.input, chunk) {
                            Ok(outcome) => outcome,
                            Err(panic) => {
                                problems.push(format!("{how}: {panic}"));
                                continue;
                            }
                        };
                        if got != case.expected || errors != 0 {
                            problems.push(format!(
                                "{how}: {got:?}{}",
                                if errors > 0 {
                                    format!(" and {errors} error(s)")
                                } else {
                                    String::new()
                                }
                            ));
                        }
                    }
                    if problems.is_empty() {
                        Verdict::Pass
                    } else {
                        sansse_wrong |= c == Contender::Sansse;
                        Verdict::Fail(problems.join("; "))
                    }
                })
                .collect()
        })
        .collect();
    std::panic::set_hook(default_hook);
    (rows, sansse_wrong)
}
