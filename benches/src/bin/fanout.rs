//! Fan-out at the sans-IO level: one `Ring`, 1,000 `ServerSession`s accepted through
//! `Ring::following` views, each `poll_transmit` into a buffer, no sockets.
//!
//! ```text
//! cargo run --release --manifest-path benches/Cargo.toml --bin fanout             # full run
//! cargo run --release --manifest-path benches/Cargo.toml --bin fanout -- --quick  # CI smoke
//! ```
//!
//! Rows:
//!
//! - `broadcast`: every subscriber follows the default topic; each event goes to all of them.
//! - `per-user`: subscriber `i` follows `user/i` alone; each event is published to one user's
//!   topic (users in a scattered order), so it is delivered once.
//!
//! After every batch of publishes the shell polls the sessions a hub would wake: those whose
//! topics' `Interest` intersects a published event's (all of them for a broadcast; for a user's
//! topic, the subscribers sharing its bucket, about one in 64), each until it has nothing more
//! to send, confirming every byte. The clock covers publishing and delivering, not setting up.
//! Sessions are close-delimited without keep-alives, so every byte on the wire is event bytes,
//! and each run checks that exactly the expected bytes went out (exit status 1 otherwise).
//!
//! Options: `--quick` (few events, one run each), `--reps N` (runs per row, median reported),
//! `--subs N` (subscribers, default 1000).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sansse::replay::{Interest, Next, ReplayLog, Ring, Topics};
use sansse::server::{AcceptOptions, Decision, ServerConfig, ServerSession};

/// Events published between two rounds of polling.
const BATCH: usize = 8;
/// Bytes a session's `poll_transmit` writes into at most.
const BUF: usize = 16 << 10;

struct Options {
    quick: bool,
    reps: usize,
    subs: usize,
}

/// Who reads the ring for each subscriber.
#[derive(Clone, Copy, PartialEq)]
enum Drive {
    /// A `ServerSession`, polled until it has nothing to send.
    Sessions,
    /// A bare cursor read with `next` until `CaughtUp`, which moves it past other topics'
    /// events: what a session that advanced on `CaughtUp` would scan.
    EagerCursors,
}

#[derive(Clone, Copy, PartialEq)]
enum Pattern {
    Broadcast,
    PerUser,
}

/// One run's counts and time.
#[derive(Clone, Copy, Default)]
struct Run {
    time: Duration,
    events: u64,
    deliveries: u64,
    polls: u64,
    /// Bytes of events (gap events not counted).
    bytes: u64,
    /// Gap events sent, all of them for losses that did not happen (every session is polled
    /// right after each batch, far within the ring).
    gaps: u64,
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(opts) => opts,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let (broadcast_events, per_user_events) = if opts.quick { (40, 400) } else { (400, 20_000) };
    println!(
        "fan-out to {} sessions, {} run(s) per row, batches of {BATCH} publishes",
        opts.subs, opts.reps
    );
    println!();
    println!(
        "| row | ring (events, bytes) | events | deliveries | polls | median time | deliveries/s | ns per delivery | ns per poll | gap events |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ok = true;
    let broadcast = row::<4096, { 1 << 20 }>(
        "broadcast",
        Pattern::Broadcast,
        Drive::Sessions,
        broadcast_events,
        &opts,
        &mut ok,
    );
    let per_user = row::<4096, { 1 << 20 }>(
        "per-user",
        Pattern::PerUser,
        Drive::Sessions,
        per_user_events,
        &opts,
        &mut ok,
    );
    let per_user_small = row::<256, { 64 << 10 }>(
        "per-user",
        Pattern::PerUser,
        Drive::Sessions,
        per_user_events,
        &opts,
        &mut ok,
    );
    let eager = row::<4096, { 1 << 20 }>(
        "per-user, eager cursors (no sessions)",
        Pattern::PerUser,
        Drive::EagerCursors,
        per_user_events,
        &opts,
        &mut ok,
    );
    let broadcast_eager = row::<4096, { 1 << 20 }>(
        "broadcast, eager cursors (no sessions)",
        Pattern::Broadcast,
        Drive::EagerCursors,
        broadcast_events,
        &opts,
        &mut ok,
    );
    println!();
    let rate = |run: &Run| run.deliveries as f64 / run.time.as_secs_f64();
    println!(
        "per-user ÷ broadcast, deliveries per second: {:.3} (ring of 4096 events), {:.3} (ring of 256)",
        rate(&per_user) / rate(&broadcast),
        rate(&per_user_small) / rate(&broadcast),
    );
    let per_poll = |run: &Run| run.time.as_nanos() as f64 / run.polls.max(1) as f64;
    println!(
        "per-user ns per poll, ring of 4096 ÷ ring of 256: {:.2}",
        per_poll(&per_user) / per_poll(&per_user_small)
    );
    println!(
        "eager cursors, per-user ÷ broadcast, deliveries per second: {:.3}",
        rate(&eager) / rate(&broadcast_eager)
    );
    scan_table(&opts);
    if per_user.gaps + per_user_small.gaps + broadcast.gaps > 0 {
        println!(
            "warning: gap events for losses that did not happen (a caught-up session keeps its \
             cursor after its own last event; see tests/topic_properties.rs)"
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: some session sent other bytes than the events it follows");
        ExitCode::from(1)
    }
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        quick: false,
        reps: 0,
        subs: 1000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|v| *v > 0)
                .ok_or(format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--reps" => opts.reps = value("--reps")?,
            "--subs" => opts.subs = value("--subs")?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if opts.reps == 0 {
        opts.reps = if opts.quick { 1 } else { 7 };
    }
    Ok(opts)
}

/// Runs one row `reps` times and prints the median run.
fn row<const E: usize, const B: usize>(
    name: &str,
    pattern: Pattern,
    drive: Drive,
    events: usize,
    opts: &Options,
    ok: &mut bool,
) -> Run {
    let mut runs: Vec<Run> = (0..opts.reps)
        .map(|_| {
            let (run, matched) = run::<E, B>(pattern, drive, events, opts.subs);
            *ok &= matched;
            run
        })
        .collect();
    runs.sort_by_key(|run| run.time);
    let median = runs[runs.len() / 2];
    let secs = median.time.as_secs_f64();
    println!(
        "| {name} | {E}, {} KiB | {} | {} | {} | {:.1} ms | {:.3} M | {:.0} | {:.0} | {} |",
        B >> 10,
        median.events,
        median.deliveries,
        median.polls,
        secs * 1e3,
        median.deliveries as f64 / secs / 1e6,
        median.time.as_nanos() as f64 / median.deliveries.max(1) as f64,
        median.time.as_nanos() as f64 / median.polls.max(1) as f64,
        median.gaps,
    );
    median
}

/// The topic of subscriber `i`.
fn topics_for(pattern: Pattern, i: usize) -> Topics {
    match pattern {
        Pattern::Broadcast => Topics::default(),
        Pattern::PerUser => Topics::one(&format!("user/{i}")).expect("a valid topic"),
    }
}

/// One timed run: accepts `subs` sessions, then publishes `events` events in batches, polling
/// the woken sessions after each batch. Returns the run and whether exactly the expected bytes
/// went out.
fn run<const E: usize, const B: usize>(
    pattern: Pattern,
    drive: Drive,
    events: usize,
    subs: usize,
) -> (Run, bool) {
    let now = sansse::Instant::ZERO;
    let mut ring = Box::new(Ring::<E, B>::new(1));
    let topics: Vec<Topics> = (0..subs).map(|i| topics_for(pattern, i)).collect();
    let interests: Vec<Interest> = topics.iter().map(Topics::interest).collect();
    let config = ServerConfig::new()
        .with_keepalive(None)
        .with_close_delimited(true);
    let sessions_needed = if drive == Drive::Sessions { subs } else { 0 };
    let mut storages = vec![[0u8; 512]; sessions_needed];
    let mut sessions: Vec<ServerSession<'_>> = storages
        .iter_mut()
        .map(|storage| ServerSession::new(now, storage, config))
        .collect();
    let mut buf = vec![0u8; BUF];
    let request = b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
    for (session, topics) in sessions.iter_mut().zip(&topics) {
        session.handle_bytes(now, request);
        let decision = session
            .accept(now, &ring.following(topics), AcceptOptions::new())
            .expect("a valid request");
        assert!(matches!(decision, Decision::Accepted { .. }));
        // The response head goes out before the clock starts.
        while let Some(n) = session
            .poll_transmit(now, &ring.following(topics), &mut buf)
            .expect("the head fits")
        {
            session.handle_written(now, n).expect("handed out");
        }
    }
    let mut cursors = vec![ring.live_cursor(); subs];

    let data = "{\"kind\":\"notification\",\"title\":\"build finished\",\"ok\":true}";
    let mut woken = vec![false; subs];
    let mut woken_list = Vec::with_capacity(subs);
    let mut run = Run::default();
    let mut expected_bytes = 0u64;
    let mut user = 0usize;
    let started = Instant::now();
    let mut published = 0;
    while published < events {
        for _ in 0..BATCH.min(events - published) {
            let (to, followers) = match pattern {
                Pattern::Broadcast => (None, subs),
                Pattern::PerUser => {
                    // A scattered order of users, each in turn.
                    user = (user + 7919) % subs;
                    (Some(user), 1)
                }
            };
            let seq = match to {
                None => ring.publish(None, data),
                Some(user) => ring.publish_to(&topics[user], None, data),
            }
            .expect("events fit the ring");
            let len = ring.event(seq).map_or(0, <[u8]>::len) as u64;
            expected_bytes += len * followers as u64;
            run.deliveries += followers as u64;
            let interest = match to {
                None => Topics::default().interest(),
                Some(user) => interests[user],
            };
            for (i, follows) in interests.iter().enumerate() {
                if !woken[i] && follows.intersects(interest) {
                    woken[i] = true;
                    woken_list.push(i);
                }
            }
            published += 1;
        }
        for i in woken_list.drain(..) {
            woken[i] = false;
            let view = ring.following(&topics[i]);
            if drive == Drive::EagerCursors {
                loop {
                    run.polls += 1;
                    match view.next(&mut cursors[i]) {
                        Next::Event(bytes) => run.bytes += bytes.len() as u64,
                        Next::CaughtUp => break,
                        Next::Overrun { .. } => run.gaps += 1,
                    }
                }
                continue;
            }
            let session = &mut sessions[i];
            loop {
                run.polls += 1;
                match session.poll_transmit(now, &view, &mut buf) {
                    Ok(Some(n)) => {
                        let (gaps, gap_bytes) = gap_events(&buf[..n]);
                        run.gaps += gaps;
                        run.bytes += (n - gap_bytes) as u64;
                        session.handle_written(now, n).expect("handed out");
                    }
                    Ok(None) => break,
                    Err(error) => panic!("transmit failed: {error}"),
                }
            }
        }
    }
    run.time = started.elapsed();
    run.events = events as u64;
    let matched = run.bytes == expected_bytes;
    if !matched {
        eprintln!(
            "error: {} bytes of events went out, {expected_bytes} expected",
            run.bytes
        );
    }
    (run, matched)
}

/// How a `peek` costs with the distance to the reader's next own event: a reader of `user/0`
/// whose cursor is `lag` events of other users behind the live end, as a session's cursor sits
/// after its own last event. The cost is linear in `lag` (up to the ring's `EVENTS`).
fn scan_table(opts: &Options) {
    println!();
    println!(
        "| events since the cursor, none the reader's | ns per `peek` (`CaughtUp`) | ns per event scanned |"
    );
    println!("|---:|---:|---:|");
    let mine = Topics::one("user/0").expect("a valid topic");
    let data = "{\"kind\":\"notification\"}";
    for lag in [1usize, 16, 256, 4096] {
        let mut ring = Box::new(Ring::<4096, { 1 << 20 }>::new(1));
        let others: Vec<Topics> = (1..=64)
            .map(|i| Topics::one(&format!("user/{i}")).expect("a valid topic"))
            .collect();
        let cursor = ring.live_cursor();
        for n in 0..lag {
            ring.publish_to(&others[n % others.len()], None, data)
                .expect("fits");
        }
        let view = ring.following(&mine);
        let peeks = if opts.quick { 1_000 } else { 200_000 } / lag.max(1) + 10;
        let mut times: Vec<Duration> = (0..opts.reps.max(3))
            .map(|_| {
                let started = Instant::now();
                for _ in 0..peeks {
                    let next = std::hint::black_box(&view).peek(std::hint::black_box(&cursor));
                    assert!(matches!(next, Next::CaughtUp));
                }
                started.elapsed()
            })
            .collect();
        times.sort();
        let per_peek = times[times.len() / 2].as_nanos() as f64 / peeks as f64;
        println!("| {lag} | {per_peek:.0} | {:.2} |", per_peek / lag as f64);
    }
}

/// The gap events in a transmit and their bytes: every one here is spurious, since no session
/// falls behind far enough to lose one of its own events.
fn gap_events(bytes: &[u8]) -> (u64, usize) {
    let (mut count, mut len) = (0, 0);
    for start in memchr::memmem::find_iter(bytes, b"event: sansse-gap\n") {
        let end =
            memchr::memmem::find(&bytes[start..], b"\n\n").map_or(bytes.len(), |at| start + at + 2);
        count += 1;
        len += end - start;
    }
    (count, len)
}
