//! Parser throughput: sansse against other Rust SSE parsers and a `memchr2` line-count floor.
//!
//! ```text
//! cargo run --release --manifest-path benches/Cargo.toml              # full run, ~2-3 min
//! cargo run --release --manifest-path benches/Cargo.toml -- --quick   # smoke: builds and agrees
//! ```
//!
//! Options: `--quick`, `--only NAME[,NAME]` (contenders), `--corpus NAME[,NAME]`,
//! `--chunk N[,N]` (`whole` for one piece), `--reps N`, `--timeout SECS` (per run, default 2), `--loop N` (repeat the whole measurement
//! N times, for a profiler), `--no-check` (skip the checksum runs, for a profiler), `--strict` (exit 1 on any peer mismatch too).
//!
//! Every cell first runs once with a checksum over each event's type, data and id, compared with
//! sansse fed whole (and sansse with the generator's event count); that run also warms up. Then
//! it is timed up to `reps` times within a per-cell budget and the median is reported, next to
//! the `memchr2` baseline measured on the same corpus and chunking in the same process.
//!
//! Exit status: 1 when sansse disagrees with the generator or with itself across chunkings, or
//! reports an error on these valid corpora; peer mismatches are printed loudly (and fail only
//! with `--strict`, since some are the peers' own spec bugs).

mod conformance;
mod contenders;
mod corpus;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use contenders::{Checksum, Consume, Contender, Guard, Sink, run};
use corpus::Corpus;

const WHOLE: usize = usize::MAX;

struct Options {
    quick: bool,
    strict: bool,
    /// Skip the checksum runs, so a profiler sees only the timed runs.
    no_check: bool,
    reps: usize,
    loops: usize,
    only: Vec<String>,
    corpora: Vec<String>,
    chunks: Vec<usize>,
    /// Stop timing a cell once this much was spent on it (after at least `MIN_REPS` runs).
    cell_budget: Duration,
    /// Abandon a single run after this long: some peers are quadratic on some inputs.
    run_timeout: Duration,
}

const MIN_REPS: usize = 3;

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (target, big) = if opts.quick {
        (16 << 10, 200 << 10)
    } else {
        (4 << 20, 4 << 20)
    };
    let corpora: Vec<Corpus> = corpus::all(target, big, |name| {
        opts.corpora.is_empty() || opts.corpora.iter().any(|n| n == name)
    });
    let contenders: Vec<Contender> = Contender::ALL
        .into_iter()
        .filter(|c| opts.only.is_empty() || opts.only.iter().any(|n| n == c.name()))
        .collect();

    let started = Instant::now();
    let mut report = Report::default();
    for _ in 0..opts.loops {
        report = Report::default();
        for corpus in &corpora {
            measure_corpus(corpus, &contenders, &opts, &mut report);
        }
    }
    eprintln!("total time {:.1} s", started.elapsed().as_secs_f64());

    print_tables(&corpora, &contenders, &opts, &report);
    let parsers: Vec<Contender> = contenders.iter().copied().filter(|c| c.parses()).collect();
    let (rows, sansse_wrong) = conformance::check(&parsers);
    let spec_mismatches = print_conformance(&parsers, &rows);
    if sansse_wrong {
        eprintln!("!!!!! FAILURE: sansse disagrees with a spec case");
        report.sansse_failures += 1;
    }
    if spec_mismatches > 0 && opts.strict {
        report
            .mismatches
            .push(format!("{spec_mismatches} spec-case mismatches"));
    }
    if report.sansse_failures > 0 || (opts.strict && !report.mismatches.is_empty()) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// One measured cell.
struct Cell {
    corpus: &'static str,
    chunk: usize,
    contender: Contender,
    /// Median seconds of one pass over the corpus (or an estimate when `timed_out`).
    secs: f64,
    bytes: usize,
    events: u64,
    reps: usize,
    agrees: Agreement,
    timed_out: bool,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Agreement {
    Yes,
    No,
    /// The baseline dispatches nothing; a timed-out run cannot be compared.
    NotApplicable,
}

#[derive(Default)]
struct Report {
    cells: Vec<Cell>,
    mismatches: Vec<String>,
    sansse_failures: usize,
}

impl Report {
    fn cell(&self, corpus: &str, chunk: usize, contender: Contender) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.corpus == corpus && c.chunk == chunk && c.contender == contender)
    }
}

fn measure_corpus(corpus: &Corpus, contenders: &[Contender], opts: &Options, report: &mut Report) {
    let bytes = &corpus.bytes;
    eprintln!(
        "== {} ({:.2} MiB, {} events): {}",
        corpus.name,
        bytes.len() as f64 / (1 << 20) as f64,
        corpus.events,
        corpus.about
    );
    // The reference: sansse fed whole, checked against what the generator wrote.
    let (reference, errors) = if opts.no_check {
        let skipped = Checksum {
            events: corpus.events,
            ..Checksum::default()
        };
        (skipped, 0)
    } else {
        let (reference, errors, _) = checksum_run(Contender::Sansse, bytes, WHOLE, Duration::MAX);
        (reference.unwrap_or_default(), errors)
    };
    if reference.events != corpus.events || errors != 0 {
        let msg = format!(
            "sansse on {}: {} events and {} errors, the generator wrote {} events",
            corpus.name, reference.events, errors, corpus.events
        );
        eprintln!("!!!!! FAILURE: {msg}");
        report.mismatches.push(msg);
        report.sansse_failures += 1;
    }

    for &chunk in &opts.chunks {
        for &contender in contenders {
            let cell = measure_cell(corpus, chunk, contender, &reference, opts, report);
            let events = if contender.parses() {
                format!("{:>8.3} Mev/s", events_per_s(&cell) / 1e6)
            } else {
                format!("{:>14}", "")
            };
            eprintln!(
                "  {:>6} {:<19} {:>9.1} MB/s {events}  {} reps{}{}",
                chunk_name(chunk),
                contender.name(),
                mb_per_s(&cell),
                cell.reps,
                if cell.timed_out {
                    "  TIMED OUT (estimate)"
                } else {
                    ""
                },
                if cell.agrees == Agreement::No {
                    "  MISMATCH"
                } else {
                    ""
                },
            );
            report.cells.push(cell);
        }
    }
}

fn measure_cell(
    corpus: &Corpus,
    chunk: usize,
    contender: Contender,
    reference: &Checksum,
    opts: &Options,
    report: &mut Report,
) -> Cell {
    let bytes = &corpus.bytes;
    // Checked run, also the warm-up.
    // On time-out `errors_or_done` is the number of events delivered before the deadline.
    let (check, errors_or_done, first) = if opts.no_check {
        (Some(reference.clone()), 0, Duration::ZERO)
    } else {
        checksum_run(contender, bytes, chunk, opts.run_timeout)
    };
    let mut cell = Cell {
        corpus: corpus.name,
        chunk,
        contender,
        secs: first.as_secs_f64(),
        bytes: bytes.len(),
        events: reference.events,
        reps: 0,
        agrees: Agreement::NotApplicable,
        timed_out: check.is_none(),
    };
    let Some(check) = check else {
        // Extrapolate from the share of events delivered before the deadline; for a parser
        // whose cost per event grows as it goes this flatters it, which is the safe direction.
        let done = errors_or_done.max(1) as f64 / reference.events.max(1) as f64;
        cell.secs = first.as_secs_f64() / done.min(1.0);
        return cell;
    };
    let errors = errors_or_done;
    if contender.parses() && !opts.no_check {
        let same = check.events == reference.events && check.hash == reference.hash;
        cell.agrees = if same { Agreement::Yes } else { Agreement::No };
        if !same || errors != 0 {
            let msg = format!(
                "{} on {} in {} chunks: {} events (checksum {:016x}, {} errors), sansse whole: {} ({:016x})",
                contender.name(),
                corpus.name,
                chunk_name(chunk),
                check.events,
                check.hash,
                errors,
                reference.events,
                reference.hash,
            );
            eprintln!("!!!!! MISMATCH: {msg}");
            if let Some(diff) = first_difference(contender, bytes, chunk) {
                eprintln!("!!!!!   first difference: {diff}");
                report
                    .mismatches
                    .push(format!("{msg}; first difference: {diff}"));
            } else {
                report.mismatches.push(msg);
            }
            if contender == Contender::Sansse {
                report.sansse_failures += 1;
            }
        }
    }

    let mut times = Vec::with_capacity(opts.reps);
    let spent = Instant::now();
    while times.len() < opts.reps
        && (times.len() < MIN_REPS.min(opts.reps) || spent.elapsed() < opts.cell_budget)
    {
        let mut sink = Consume::default();
        let mut guard = Guard::new(Instant::now() + opts.run_timeout);
        let t = Instant::now();
        run(contender, bytes, chunk, &mut sink, &mut guard);
        let elapsed = t.elapsed();
        std::hint::black_box((sink.events, sink.bytes, guard.aux));
        if guard.timed_out {
            break;
        }
        times.push(elapsed.as_secs_f64());
    }
    if !times.is_empty() {
        times.sort_by(f64::total_cmp);
        cell.secs = times[times.len() / 2];
        cell.reps = times.len();
    }
    cell
}

/// One run with a checksum; returns `None` for the checksum when it timed out, plus the error
/// count (or, on time-out, the events delivered) and the time taken.
fn checksum_run(
    contender: Contender,
    bytes: &[u8],
    chunk: usize,
    timeout: Duration,
) -> (Option<Checksum>, u64, Duration) {
    let mut sink = Checksum::default();
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(far_future);
    let mut guard = Guard::new(deadline);
    let t = Instant::now();
    run(contender, bytes, chunk, &mut sink, &mut guard);
    let elapsed = t.elapsed();
    if guard.timed_out {
        return (None, sink.events, elapsed);
    }
    let errors = if contender.parses() { guard.aux } else { 0 };
    (Some(sink), errors, elapsed)
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// Collects both event lists and describes the first place they differ.
fn first_difference(contender: Contender, bytes: &[u8], chunk: usize) -> Option<String> {
    #[derive(Default)]
    struct Collect(Vec<(String, String, String)>);
    impl Sink for Collect {
        fn event(&mut self, event_type: &str, data: &str, id: &str) {
            self.0.push((event_type.into(), data.into(), id.into()));
        }
    }
    let collect = |who, chunk| {
        let mut sink = Collect::default();
        let mut guard = Guard::new(Instant::now() + Duration::from_secs(10));
        run(who, bytes, chunk, &mut sink, &mut guard);
        sink.0
    };
    let want = collect(Contender::Sansse, WHOLE);
    let got = collect(contender, chunk);
    let short = |s: &str| {
        let cut: String = s.chars().take(48).collect();
        if cut.len() < s.len() {
            format!("{cut:?}…({} B)", s.len())
        } else {
            format!("{cut:?}")
        }
    };
    let show = |e: Option<&(String, String, String)>| match e {
        None => "nothing".to_string(),
        Some((t, d, i)) => format!("type {} id {} data {}", short(t), short(i), short(d)),
    };
    (0..want.len().max(got.len()))
        .find(|&i| want.get(i) != got.get(i))
        .map(|i| {
            format!(
                "event #{i}: sansse gives [{}], {} gives [{}]",
                show(want.get(i)),
                contender.name(),
                show(got.get(i))
            )
        })
}

fn mb_per_s(cell: &Cell) -> f64 {
    cell.bytes as f64 / cell.secs / 1e6
}

fn events_per_s(cell: &Cell) -> f64 {
    cell.events as f64 / cell.secs
}

fn chunk_name(chunk: usize) -> String {
    if chunk == WHOLE {
        "whole".to_string()
    } else {
        format!("{chunk} B")
    }
}

fn print_tables(corpora: &[Corpus], contenders: &[Contender], opts: &Options, report: &Report) {
    let peers: Vec<Contender> = contenders
        .iter()
        .copied()
        .filter(|c| !matches!(c, Contender::Memchr2 | Contender::Sansse))
        .collect();
    let has = |c: Contender| contenders.contains(&c);

    println!();
    println!(
        "Throughput in MB/s (10^6 bytes/s), median of up to {} runs; in brackets the ratio to the \
         `memchr2` line-count baseline on the same corpus and chunking.",
        opts.reps
    );
    println!();
    let mut header = String::from("| corpus | chunk |");
    let mut rule = String::from("|---|---|");
    for c in contenders {
        header += &format!(" {} |", c.name());
        rule += "---:|";
    }
    if has(Contender::Sansse) && !peers.is_empty() {
        header += " sansse ÷ best peer |";
        rule += "---:|";
    }
    println!("{header}\n{rule}");
    let mut notes = Notes::default();
    for corpus in corpora {
        for &chunk in &opts.chunks {
            let base = report
                .cell(corpus.name, chunk, Contender::Memchr2)
                .map(mb_per_s);
            let mut row = format!("| {} | {} |", corpus.name, chunk_name(chunk));
            for &c in contenders {
                let Some(cell) = report.cell(corpus.name, chunk, c) else {
                    row += " n/a |";
                    continue;
                };
                let mbs = mb_per_s(cell);
                row += &format!(" {}", fmt_rate(mbs, cell.timed_out));
                if let (Some(base), true) = (base, c != Contender::Memchr2) {
                    row += &format!(" ({:.2}×)", mbs / base);
                }
                row += &notes.marks(cell);
                row += " |";
            }
            if has(Contender::Sansse) && !peers.is_empty() {
                row += &ratio_to_best_peer(report, corpus.name, chunk, &peers, mb_per_s);
            }
            println!("{row}");
        }
    }

    println!();
    println!("Events per second (millions), same runs.");
    println!();
    let mut header = String::from("| corpus | chunk |");
    let mut rule = String::from("|---|---|");
    for c in contenders.iter().filter(|c| c.parses()) {
        header += &format!(" {} |", c.name());
        rule += "---:|";
    }
    println!("{header}\n{rule}");
    for corpus in corpora {
        for &chunk in &opts.chunks {
            let mut row = format!("| {} | {} |", corpus.name, chunk_name(chunk));
            for &c in contenders.iter().filter(|c| c.parses()) {
                match report.cell(corpus.name, chunk, c) {
                    Some(cell) => {
                        row += &format!(
                            " {}{} |",
                            fmt_rate(events_per_s(cell) / 1e6, cell.timed_out),
                            notes.marks(cell)
                        )
                    }
                    None => row += " n/a |",
                }
            }
            println!("{row}");
        }
    }

    println!();
    println!("Corpora (deterministic, generated in process):");
    println!();
    for c in corpora {
        println!(
            "- `{}`: {}; {:.1} MiB, {} events.",
            c.name,
            c.about,
            c.bytes.len() as f64 / (1 << 20) as f64,
            c.events
        );
    }
    if notes.timed_out {
        println!(
            "\n⏱ one run did not finish within {} s (superlinear in the input); the figure is \
             extrapolated from the events delivered by then, and the output was not checked.",
            opts.run_timeout.as_secs()
        );
    }
    if notes.mismatch {
        println!("\n✗ events differ from sansse's (see the list below).");
    }
    if !report.mismatches.is_empty() {
        println!("\nMismatches:\n");
        for m in &report.mismatches {
            println!("- {m}");
        }
    } else {
        println!(
            "\nAll implementations produced the same events (count and checksum) as sansse on every corpus and chunking."
        );
    }
}

/// Prints the spec-case table and the details of each failure; returns how many failed.
fn print_conformance(parsers: &[Contender], rows: &[Vec<conformance::Verdict>]) -> usize {
    use conformance::{CASES, Verdict};
    println!();
    println!(
        "Spec cases (WHATWG HTML §9.2.6), each fed whole and byte by byte; ✓ when the events \
         (type, data, last event ID) are the spec's."
    );
    println!();
    let mut header = String::from("| case |");
    let mut rule = String::from("|---|");
    for c in parsers {
        header += &format!(" {} |", c.name());
        rule += ":---:|";
    }
    println!("{header}\n{rule}");
    let mut details = Vec::new();
    for (case, row) in CASES.iter().zip(rows) {
        let mut line = format!("| {} |", case.name);
        for (c, verdict) in parsers.iter().zip(row) {
            match verdict {
                Verdict::Pass => line += " ✓ |",
                Verdict::Fail(why) => {
                    line += " ✗ |";
                    details.push(format!(
                        "{} on \"{}\" (expected {:?}): {why}",
                        c.name(),
                        case.name,
                        case.expected
                    ));
                }
            }
        }
        println!("{line}");
    }
    if !details.is_empty() {
        println!("\nSpec-case failures:\n");
        for d in &details {
            println!("- {d}");
        }
    }
    details.len()
}

#[derive(Default)]
struct Notes {
    timed_out: bool,
    mismatch: bool,
}

impl Notes {
    fn marks(&mut self, cell: &Cell) -> String {
        let mut s = String::new();
        if cell.timed_out {
            self.timed_out = true;
            s += " ⏱";
        }
        if cell.agrees == Agreement::No {
            self.mismatch = true;
            s += " ✗";
        }
        s
    }
}

fn fmt_rate(v: f64, estimate: bool) -> String {
    let approx = if estimate { "≈" } else { "" };
    if v >= 100.0 {
        format!("{approx}{v:.0}")
    } else if v >= 10.0 {
        format!("{approx}{v:.1}")
    } else {
        format!("{approx}{v:.2}")
    }
}

fn ratio_to_best_peer(
    report: &Report,
    corpus: &str,
    chunk: usize,
    peers: &[Contender],
    rate: fn(&Cell) -> f64,
) -> String {
    let Some(ours) = report.cell(corpus, chunk, Contender::Sansse) else {
        return " n/a |".into();
    };
    let best = peers
        .iter()
        .filter_map(|&p| report.cell(corpus, chunk, p))
        .filter(|c| !c.timed_out)
        .max_by(|a, b| rate(a).total_cmp(&rate(b)));
    match best {
        Some(best) => format!(
            " {:.2}× ({}) |",
            rate(ours) / rate(best),
            best.contender.name()
        ),
        None => " n/a |".into(),
    }
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        strict: false,
        no_check: false,
        reps: 11,
        loops: 1,
        only: Vec::new(),
        corpora: Vec::new(),
        chunks: vec![WHOLE, 4096, 64, 7],
        cell_budget: Duration::from_millis(1200),
        run_timeout: Duration::from_secs(2),
    };
    let mut args = std::env::args().skip(1);
    let list = |v: Option<String>, flag: &str| -> Result<Vec<String>, String> {
        let v = v.ok_or(format!("{flag} needs a value"))?;
        Ok(v.split(',').map(str::to_string).collect())
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                o.quick = true;
                o.reps = 1;
            }
            "--strict" => o.strict = true,
            "--no-check" => o.no_check = true,
            "--only" => o.only = list(args.next(), "--only")?,
            "--corpus" => o.corpora = list(args.next(), "--corpus")?,
            "--chunk" => {
                o.chunks = list(args.next(), "--chunk")?
                    .iter()
                    .map(|c| match c.as_str() {
                        "whole" => Ok(WHOLE),
                        n => n.parse().map_err(|_| format!("bad chunk size {n}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--reps" => {
                o.reps = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--reps needs a positive number")?;
            }
            "--timeout" => {
                o.run_timeout = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .map(Duration::from_secs)
                    .ok_or("--timeout needs seconds")?;
            }
            "--loop" => {
                o.loops = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--loop needs a positive number")?;
            }
            // cargo bench passes this to harness = false binaries.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.chunks.contains(&0) {
        return Err("chunk size must be positive".into());
    }
    Ok(o)
}
