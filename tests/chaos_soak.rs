//! A chaos soak over real loopback sockets: the crate's server shell and many of the crate's
//! pull clients, with a fault proxy between them and a server that restarts now and then.
//!
//! # What runs
//!
//! - **The server**: `Server::serve` (the paved path's loop, with a 300 ms keep-alive) over smol,
//!   one `StdHub` over a `Ring<64, 16 384>` per epoch, and a publisher publishing one numbered
//!   event every 20 ms. Every 3 to 12 s (the last epoch at least 6 s) the server restarts: its listener, its publisher and
//!   every connection are dropped, and after 0 to 400 ms of downtime a new listener takes the same
//!   port with a new ring of the next epoch (`Ring::new(epoch)`), so the ids of the old epoch are
//!   foreign to it.
//! - **The fault proxy** (`chaos_support::run_proxy`, a small smol TCP relay with a seeded
//!   xorshift RNG) picks one fault per connection: relay cleanly; close both sides after a random
//!   byte count (mostly mid-event); stall past the client's idle limit, then close; drip the
//!   first bytes one at a time; split every read into random writes; delay every write;
//!   half-close toward the client; half-close toward the server.
//!   A "reset" closes both sockets (a FIN, not an RST: stable std cannot set `SO_LINGER` 0
//!   and the soak takes no new dependency for it), which the client sees mid-event all the same.
//! - **20 clients**: `sansse::Client` through the proxy, with an idle limit of 1 s (the
//!   server's 300 ms announcement times 2 plus 200 ms, raised to the 1 s floor) and fast backoff
//!   (50 ms reconnection time, at most 500 ms).
//!
//! # What counts as lost without notice
//!
//! Every event carries the id `<epoch>-<seq>` and data derived from it. A client's ledger
//! (`chaos_support::Ledger`) follows the last id it was given, by an event or by a gap event:
//!
//! - An event of the same epoch must be the next number: a lower or equal one is a duplicate,
//!   a higher one a silent loss of the numbers between.
//! - A `sansse-gap` event (`src/replay.rs`: its id is the one just before the oldest event still
//!   kept, and after it every event arrives complete and in order) announces the events between
//!   the client's last id and its own id. For `evicted` and `overrun` its `missed` count must
//!   equal that difference (else an anomaly). For `other-epoch` (the first resume after a
//!   restart) it announces what the old epoch published after the client's last id (counted
//!   when the soak ends) and the new epoch's events before its id.
//! - An event of another epoch without a gap event before it is a silent loss of all of that.
//! - Before a client's first event nothing is expected: a client without an id connects live.
//! - Events of the last epoch published after a client's last id when the soak stops are "in
//!   flight", not lost.
//!
//! The ring holds about 1.3 s of events, so a client stalled past its idle limit often comes
//! back to evicted events: those must arrive as gap events, never silently. `overrun` gaps
//! (a connected reader falling behind the ring) are accounted for but rarely if ever happen
//! here: loopback socket buffers hold minutes of this stream, so the server never blocks long
//! enough; `tests/server_replay.rs` and `tests/replay_fan_out.rs` cover them.
//!
//! # Pass criteria
//!
//! - No duplicate, no silent loss, no anomaly (a gap count that disagrees with the ids, an
//!   event whose data does not match its id) in any client.
//! - Every client delivered events in the last epoch (it kept reconnecting to the end).
//! - The process's file descriptors (`/proc/self/fd`), measured after a warm-up that starts
//!   smol's reactor and the timer thread, are back within **4** of that baseline once every
//!   server, proxy and client socket is closed: the test owns nothing else, so anything more is
//!   a leak.
//! - The resident set (`VmRSS`) grows by at most **16 MiB** from the baseline: the server's
//!   memory is one ring and a fixed buffer per connection, each client's a fixed
//!   `ClientMemory`, so the soak's length must not show; the slack covers the allocator's
//!   retained arenas and the three threads' stacks.
//!
//! # Running it
//!
//! CI runs 90 s with seed 1. `SANSSE_SOAK_SECS` sets the duration and `SANSSE_SOAK_SEED` the
//! seed; an hour:
//!
//! ```sh
//! SANSSE_SOAK_SECS=3600 cargo test --release --all-features --test chaos_soak -- --nocapture
//! ```
//!
//! The summary table (per client and totals, faults by kind, fd and RSS at start and end) is
//! printed at the end; `--nocapture` shows it.
#![cfg(all(feature = "futures-io-0.3", target_os = "linux"))]

mod chaos_support;

use core::fmt::Write as _;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use chaos_support::{Ledger, ProxyLog, Rng, ServerPlan, run_proxy, run_server};
use sansse::backoff::BackoffConfig;
use sansse::client::SessionEvent;
use sansse::heartbeat::IdleConfig;
use sansse::io::FuturesIo;
use sansse::{Client, ClientConfig, ClientItem, ClientMemory};
use smol::future::FutureExt as _;
use smol::net::TcpStream;

const CLIENTS: usize = 20;
const DEFAULT_SECS: u64 = 90;
const DEFAULT_SEED: u64 = 1;
const FD_SLACK: usize = 4;
const RSS_SLACK: u64 = 16 * 1024 * 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Resident set size in bytes (`VmRSS` in `/proc/self/status`).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// Starts smol's reactor and the std timer's thread, which live for the rest of the process,
/// so that the baseline already holds their descriptors.
fn warm_up() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    smol::block_on(async {
        let listener = smol::Async::new(listener).unwrap();
        let (accepted, connected) =
            smol::future::zip(listener.accept(), TcpStream::connect(addr)).await;
        drop((accepted.unwrap(), connected.unwrap()));
        let mut timer = sansse::io::StdTimer::new();
        let now = sansse::io::Timer::now(&mut timer);
        sansse::io::Timer::sleep_until(&mut timer, now).await;
        smol::Timer::after(Duration::from_millis(1)).await;
    });
}

/// One client until `stop`: every item goes into its ledger.
async fn run_client(proxy_port: u16, seed: u64, stop: Arc<AtomicBool>) -> Ledger {
    let config = ClientConfig::new("127.0.0.1", "/events")
        .with_port(proxy_port)
        .with_idle(
            IdleConfig::new()
                .with_timeout(Duration::from_secs(1))
                .with_margin(Duration::from_millis(200)),
        )
        .with_backoff(
            BackoffConfig::new()
                .with_reconnection_time(Duration::from_millis(50))
                .with_reconnection_time_bounds(
                    Duration::from_millis(10),
                    Duration::from_millis(500),
                )
                .with_max_backoff(Duration::from_millis(500)),
        )
        .with_connect_timeout(Duration::from_secs(2));
    let connect =
        async |host: &str, port: u16| TcpStream::connect((host, port)).await.map(FuturesIo::new);
    let mut memory: ClientMemory = ClientMemory::new();
    let mut client = Client::with_timer(
        config,
        connect,
        sansse::io::StdTimer::new(),
        seed,
        &mut memory,
    )
    .expect("a valid client config");
    let mut ledger = Ledger::default();
    loop {
        let ledger = &mut ledger;
        let step = async {
            match client.next().await {
                Some(ClientItem::Event(event)) => {
                    ledger.event(event.event_type(), event.id(), event.data());
                }
                Some(ClientItem::Story(SessionEvent::Open { .. })) => ledger.opens += 1,
                Some(ClientItem::Story(SessionEvent::Reconnecting { reason, .. })) => {
                    let reason = format!("{reason:?}");
                    let kind = reason.split(['(', ' ', '{']).next().unwrap_or("?");
                    *ledger.reconnects.entry(kind.to_owned()).or_default() += 1;
                }
                Some(ClientItem::Story(SessionEvent::Closed { reason })) => {
                    ledger.anomalies.push(format!("client closed: {reason:?}"));
                    return false;
                }
                Some(ClientItem::Skipped(error)) => {
                    ledger
                        .anomalies
                        .push(format!("skipped an event: {error:?}"));
                }
                Some(_) => {}
                None => return false,
            }
            true
        };
        let stop = async {
            while !stop.load(Ordering::Relaxed) {
                smol::Timer::after(Duration::from_millis(50)).await;
            }
            false
        };
        if !step.or(stop).await {
            break;
        }
    }
    // Dropping the client closes its connection.
    drop(client);
    ledger
}

#[test]
fn clients_through_a_fault_proxy_and_restarts_lose_nothing_silently() {
    let secs = env_u64("SANSSE_SOAK_SECS", DEFAULT_SECS);
    let seed = env_u64("SANSSE_SOAK_SEED", DEFAULT_SEED);
    warm_up();
    let (fd_start, rss_start) = (open_fds(), rss_bytes());
    let started = StdInstant::now();

    let server_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_addr = server_listener.local_addr().unwrap();
    let proxy_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = proxy_listener.local_addr().unwrap().port();

    // The server stops first, the clients a little later (to see the last epoch through the
    // proxy), the proxy last.
    let server_until = started + Duration::from_secs(secs);
    let plan = ServerPlan {
        seed,
        until: server_until,
        publish_every: Duration::from_millis(20),
        keepalive: Duration::from_millis(300),
        epoch_ms: (3_000, 12_000),
        down_ms: (0, 400),
    };
    let server = std::thread::spawn(move || run_server(server_addr, server_listener, plan));
    let stop_proxy = Arc::new(AtomicBool::new(false));
    let proxy = {
        let stop = Arc::clone(&stop_proxy);
        // Stalls last longer than the clients' 1 s idle limit.
        std::thread::spawn(move || {
            run_proxy(proxy_listener, server_addr, seed, (1_200, 3_000), stop)
        })
    };
    let stop_clients = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&stop_clients);
    let clients = std::thread::spawn(move || {
        let executor = smol::LocalExecutor::new();
        let mut rng = Rng::new(seed ^ 0xC11E);
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| executor.spawn(run_client(proxy_port, rng.next_u64(), Arc::clone(&stop))))
            .collect();
        smol::block_on(executor.run(async {
            let mut ledgers = Vec::new();
            for task in tasks {
                ledgers.push(task.await);
            }
            ledgers
        }))
    });

    let server_log = server.join().expect("the server thread");
    std::thread::sleep(Duration::from_millis(300));
    stop_clients.store(true, Ordering::Relaxed);
    let mut ledgers = clients.join().expect("the client thread");
    stop_proxy.store(true, Ordering::Relaxed);
    let proxy_log: ProxyLog = proxy.join().expect("the proxy thread");
    // Let the kernel finish closing what the threads dropped.
    std::thread::sleep(Duration::from_millis(200));
    let (fd_end, rss_end) = (open_fds(), rss_bytes());

    let published = &server_log.published;
    let epochs = published.len() - 1;
    let last_epoch = u32::try_from(epochs).unwrap();
    let total_published: u64 = published.iter().sum();

    let mut table = String::new();
    let _ = writeln!(
        table,
        "chaos soak: {secs} s, seed {seed}, {CLIENTS} clients, {epochs} epochs, \
         {total_published} events published ({published:?} per epoch), {} connections accepted",
        server_log.accepted
    );
    let _ = writeln!(
        table,
        "{:>6} {:>9} {:>6} {:>6} {:>9} {:>9} {:>6} {:>6}  gaps / reconnects",
        "client", "delivered", "twice", "silent", "announced", "in-flight", "opens", "anomal"
    );
    let mut totals = [0u64; 6];
    let mut gaps_total: BTreeMap<String, u64> = BTreeMap::new();
    let mut reconnects_total: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for (n, ledger) in ledgers.iter_mut().enumerate() {
        let in_flight = ledger.settle(published);
        let row = [
            ledger.delivered,
            ledger.duplicates,
            ledger.silent,
            ledger.announced,
            in_flight,
            ledger.opens,
        ];
        for (total, value) in totals.iter_mut().zip(row) {
            *total += value;
        }
        for (reason, count) in &ledger.gaps {
            *gaps_total.entry(reason.clone()).or_default() += count;
        }
        for (reason, count) in &ledger.reconnects {
            *reconnects_total.entry(reason.clone()).or_default() += count;
        }
        let _ = writeln!(
            table,
            "{n:>6} {:>9} {:>6} {:>6} {:>9} {:>9} {:>6} {:>6}  {:?} / {:?}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            ledger.anomalies.len(),
            ledger.gaps,
            ledger.reconnects
        );
        if ledger.duplicates > 0 || ledger.silent > 0 || !ledger.anomalies.is_empty() {
            failures.push(format!(
                "client {n}: {} twice, {} silent, anomalies {:?}",
                ledger.duplicates,
                ledger.silent,
                ledger.anomalies.iter().take(5).collect::<Vec<_>>()
            ));
        }
        if ledger.epoch() != Some(last_epoch) {
            failures.push(format!(
                "client {n} ended at epoch {:?}, not in the last one ({last_epoch})",
                ledger.epoch()
            ));
        }
    }
    let _ = writeln!(
        table,
        "{:>6} {:>9} {:>6} {:>6} {:>9} {:>9} {:>6}",
        "total", totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]
    );
    let _ = writeln!(table, "gap events: {gaps_total:?}");
    let _ = writeln!(table, "reconnects: {reconnects_total:?}");
    let _ = writeln!(
        table,
        "proxy faults: {:?}; refused while the server was down: {}",
        proxy_log.faults, proxy_log.server_down
    );
    let _ = writeln!(
        table,
        "fds: {fd_start} at start, {fd_end} at end (bound +{FD_SLACK}); RSS: {} KiB at start, \
         {} KiB at end (bound +{} KiB)",
        rss_start / 1024,
        rss_end / 1024,
        RSS_SLACK / 1024
    );
    println!("{table}");

    assert!(epochs >= 2 || secs < 10, "the server restarted: {table}");
    assert!(
        failures.is_empty(),
        "duplicates, silent losses or anomalies:\n{}\n{table}",
        failures.join("\n")
    );
    assert!(
        fd_end <= fd_start + FD_SLACK,
        "file descriptors grew from {fd_start} to {fd_end}\n{table}"
    );
    assert!(
        rss_end <= rss_start + RSS_SLACK,
        "RSS grew from {rss_start} to {rss_end} bytes\n{table}"
    );
}
