//! The pieces of the chaos soak (`tests/chaos_soak.rs`): a seeded RNG, the fault proxy, the
//! restarting server, and the per-client ledger that tells delivered, duplicated, announced and
//! silently lost events apart.

use core::net::SocketAddr;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::net::{Shutdown, TcpListener};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use sansse::io::FuturesIo;
use sansse::io::server::Server;
use sansse::replay::Ring;
use sansse::server::ServerConfig;
use sansse::{AcceptOptions, Answer, StdHub};
use smol::Async;
use smol::future::FutureExt as _;
use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
use smol::net::TcpStream;

/// The server's ring: 64 events (about 1.3 s of history at the soak's rate), so a client
/// stalled past its idle deadline comes back to evicted events and must be told by a gap event.
pub(crate) type Log = Ring<64, 16_384>;

/// xorshift64*: small, seeded, good enough to pick faults; no dependency.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // A zero state would stay zero.
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `lo..=hi` (`lo <= hi`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo).saturating_add(1);
        lo.saturating_add(self.next_u64() % span)
    }
}

/// The data of event `epoch-seq`: its own id and a filler whose length depends on the id, so
/// a byte lost, doubled or reordered by the proxy's splitting shows up as a data mismatch.
pub(crate) fn payload(epoch: u32, seq: u64) -> String {
    let fill = usize::try_from(seq % 97).unwrap_or(0);
    format!("{epoch}-{seq}:{}", "x".repeat(fill))
}

/// `"<epoch>-<seq>"` as numbers.
pub(crate) fn parse_id(id: &str) -> Option<(u32, u64)> {
    let (epoch, seq) = id.split_once('-')?;
    Some((epoch.parse().ok()?, seq.parse().ok()?))
}

// ---------------------------------------------------------------------------------------------
// The server: epochs of a listener, a hub over a fresh ring, a publisher and the connections.
// ---------------------------------------------------------------------------------------------

/// What the server side reports back.
#[derive(Debug, Default)]
pub(crate) struct ServerLog {
    /// `published[e]`: events published in epoch `e` (index 0 unused).
    pub(crate) published: Vec<u64>,
    /// Connections accepted over all epochs.
    pub(crate) accepted: u64,
}

/// Settings of the restarting server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerPlan {
    pub(crate) seed: u64,
    pub(crate) until: StdInstant,
    pub(crate) publish_every: Duration,
    pub(crate) keepalive: Duration,
    /// Each epoch lasts a random time in this range (ms).
    pub(crate) epoch_ms: (u64, u64),
    /// The server is down between epochs for a random time in this range (ms).
    pub(crate) down_ms: (u64, u64),
}

/// The shortest last epoch: longer than the longest stall plus the idle limit and the backoff.
pub(crate) const FINAL_EPOCH: Duration = Duration::from_secs(6);

/// Binds `addr`, retrying for a while: between epochs the port sits free and (rarely) an
/// outgoing connection may borrow it as its local port for a moment.
fn bind_again(addr: SocketAddr) -> TcpListener {
    let start = StdInstant::now();
    loop {
        match TcpListener::bind(addr) {
            Ok(listener) => return listener,
            Err(error) if start.elapsed() < Duration::from_secs(10) => {
                eprintln!("rebinding {addr}: {error}; retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("cannot bind the server port {addr} again: {error}"),
        }
    }
}

/// Runs server epochs on the current thread until `plan.until` (the last one at least
/// [`FINAL_EPOCH`] long, so it may end a little later); epoch `e` serves a fresh
/// `Ring::new(e)`, so ids from an earlier epoch are foreign to it. At the end of an epoch the
/// listener, the publisher and every connection task are dropped, all sockets with them.
pub(crate) fn run_server(addr: SocketAddr, first: TcpListener, plan: ServerPlan) -> ServerLog {
    let mut rng = Rng::new(plan.seed ^ 0x5E4E);
    let mut log = ServerLog {
        published: vec![0],
        ..ServerLog::default()
    };
    let server = Server::new().with_config(
        ServerConfig::new()
            .with_keepalive(Some(plan.keepalive))
            // Short, so a stalled connection's server side goes away too.
            .with_write_timeout(Some(Duration::from_secs(5)))
            .with_head_timeout(Duration::from_secs(2)),
    );
    let mut listener = Some(first);
    let mut epoch: u32 = 0;
    while StdInstant::now() < plan.until {
        epoch = epoch.checked_add(1).expect("fewer than 2^32 epochs");
        let std_listener = match listener.take() {
            Some(listener) => listener,
            None => bind_again(addr),
        };
        let now = StdInstant::now();
        let mut epoch_end =
            now + Duration::from_millis(rng.range(plan.epoch_ms.0, plan.epoch_ms.1));
        // The last epoch lasts at least `FINAL_EPOCH`, even past `until`, so that every client,
        // stalled or not, has time to reach it.
        if epoch_end + FINAL_EPOCH > plan.until {
            epoch_end = plan.until.max(now + FINAL_EPOCH);
        }
        let hub = Rc::new(StdHub::new(Log::new(epoch)));
        let executor = smol::LocalExecutor::new();
        let published = Rc::new(core::cell::Cell::new(0u64));
        let accepted = Rc::new(core::cell::Cell::new(0u64));
        let tasks = Rc::new(core::cell::RefCell::new(Vec::<smol::Task<()>>::new()));
        let accept_loop = {
            let (hub, server, accepted, tasks) = (
                Rc::clone(&hub),
                server.clone(),
                Rc::clone(&accepted),
                Rc::clone(&tasks),
            );
            let executor = &executor;
            async move {
                let listener = Async::new(std_listener).expect("a non-blocking listener");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    accepted.set(accepted.get() + 1);
                    let (hub, server) = (Rc::clone(&hub), server.clone());
                    let task = executor.spawn(async move {
                        let stream = FuturesIo::new(stream);
                        let _ = server
                            .serve(stream, &*hub, |_| Answer::Accept(AcceptOptions::new()))
                            .await;
                    });
                    let mut tasks = tasks.borrow_mut();
                    tasks.retain(|task| !task.is_finished());
                    tasks.push(task);
                }
            }
        };
        let publisher = {
            let (hub, published) = (Rc::clone(&hub), Rc::clone(&published));
            async move {
                let mut next = StdInstant::now();
                loop {
                    next += plan.publish_every;
                    smol::Timer::at(next).await;
                    let seq = published.get() + 1;
                    let position = hub
                        .publish(None, &payload(epoch, seq))
                        .expect("every event fits the ring");
                    assert_eq!(position.get(), seq, "the ring numbers events from 1");
                    published.set(seq);
                }
            }
        };
        let deadline = async move {
            smol::Timer::at(epoch_end).await;
        };
        smol::block_on(executor.run(deadline.or(accept_loop).or(publisher)));
        // Cancel every connection of this epoch; the listener went with `accept_loop`.
        tasks.borrow_mut().clear();
        drop(executor);
        log.published.push(published.get());
        log.accepted += accepted.get();
        if StdInstant::now() < plan.until {
            std::thread::sleep(Duration::from_millis(
                rng.range(plan.down_ms.0, plan.down_ms.1),
            ));
        }
    }
    log
}

// ---------------------------------------------------------------------------------------------
// The fault proxy.
// ---------------------------------------------------------------------------------------------

/// What the proxy does to one connection's server-to-client bytes.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub(crate) enum Fault {
    /// Relays faithfully (in whatever pieces the reads give).
    Clean,
    /// Closes both sides after `after` bytes, usually in the middle of an event.
    Reset { after: u64 },
    /// Stops relaying after `after` bytes for `ms` (longer than the client's idle limit),
    /// then closes both sides.
    Stall { after: u64, ms: u64 },
    /// Sends the first `bytes` bytes one at a time, a millisecond apart.
    Drip { bytes: u64 },
    /// Cuts every read into random pieces written separately.
    Split,
    /// Waits up to `max_ms` before each write.
    Delay { max_ms: u64 },
    /// After `after` bytes shuts down the write half toward the client (it sees the end of the
    /// stream) while the server side stays open.
    HalfCloseToClient { after: u64 },
    /// After `after` bytes shuts down the write half toward the server (it sees the end of the
    /// request stream) and keeps relaying the stream to the client.
    HalfCloseToServer { after: u64 },
}

impl Fault {
    /// A fault's name for the summary.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Reset { .. } => "reset",
            Self::Stall { .. } => "stall",
            Self::Drip { .. } => "drip",
            Self::Split => "split",
            Self::Delay { .. } => "delay",
            Self::HalfCloseToClient { .. } => "half-close-to-client",
            Self::HalfCloseToServer { .. } => "half-close-to-server",
        }
    }

    fn pick(rng: &mut Rng, stall_ms: (u64, u64)) -> Self {
        // The response head and `:keepalive` take about 150 bytes; events about 60 to 160.
        let after = rng.range(1, 4000);
        match rng.range(0, 8) {
            0 | 1 => Self::Clean,
            2 => Self::Reset { after },
            3 => Self::Stall {
                after,
                ms: rng.range(stall_ms.0, stall_ms.1),
            },
            4 => Self::Drip {
                bytes: rng.range(100, 2000),
            },
            5 => Self::Split,
            6 => Self::Delay {
                max_ms: rng.range(1, 60),
            },
            7 => Self::HalfCloseToClient { after },
            _ => Self::HalfCloseToServer { after },
        }
    }
}

/// Proxy counts.
#[derive(Debug, Default)]
pub(crate) struct ProxyLog {
    /// Connections per fault kind.
    pub(crate) faults: std::collections::BTreeMap<&'static str, u64>,
    /// Client connections refused because the server was down.
    pub(crate) server_down: u64,
}

fn close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}

/// Relays one client connection to the server with `fault` applied.
async fn relay(client: TcpStream, server: TcpStream, fault: Fault, mut rng: Rng) {
    let half_closed_to_server = Rc::new(core::cell::Cell::new(false));
    let up = {
        let (client, server) = (client.clone(), server.clone());
        let half_closed = Rc::clone(&half_closed_to_server);
        async move {
            let mut buf = [0u8; 2048];
            let (mut from, mut to) = (client.clone(), server.clone());
            loop {
                match from.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if !half_closed.get() && to.write_all(&buf[..n]).await.is_err() {
                            // Keep reading: the client may still be reading the stream.
                            half_closed.set(true);
                        }
                    }
                }
            }
            // The client went away: so does the whole connection.
            close(&client);
            close(&server);
        }
    };
    let down = {
        let (client, server) = (client.clone(), server.clone());
        async move {
            let mut buf = [0u8; 4096];
            let (mut from, mut to) = (server.clone(), client.clone());
            let mut total: u64 = 0;
            let mut dripped: u64 = 0;
            let mut client_closed = false;
            'relay: loop {
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if client_closed {
                    continue; // drain the server side until it ends
                }
                let mut piece_start = 0;
                while piece_start < n {
                    let left = n - piece_start;
                    let mut len = match fault {
                        Fault::Split => usize::try_from(rng.range(1, left as u64)).unwrap_or(1),
                        Fault::Drip { bytes } if dripped < bytes => 1,
                        _ => left,
                    };
                    // Stop exactly at a fault's byte count.
                    if let Fault::Reset { after }
                    | Fault::Stall { after, .. }
                    | Fault::HalfCloseToClient { after }
                    | Fault::HalfCloseToServer { after } = fault
                    {
                        if total < after {
                            let room = usize::try_from(after - total).unwrap_or(usize::MAX);
                            len = len.min(room);
                        }
                    }
                    let piece = &buf[piece_start..piece_start + len];
                    match fault {
                        Fault::Delay { max_ms } => {
                            smol::Timer::after(Duration::from_millis(rng.range(0, max_ms))).await;
                        }
                        Fault::Drip { bytes } if dripped < bytes => {
                            dripped += 1;
                            smol::Timer::after(Duration::from_millis(1)).await;
                        }
                        _ => {}
                    }
                    if to.write_all(piece).await.is_err() {
                        break 'relay;
                    }
                    if matches!(fault, Fault::Split) {
                        let _ = to.flush().await;
                        smol::future::yield_now().await;
                    }
                    total += len as u64;
                    piece_start += len;
                    match fault {
                        Fault::Reset { after } if total >= after => break 'relay,
                        Fault::Stall { after, ms } if total >= after => {
                            smol::Timer::after(Duration::from_millis(ms)).await;
                            break 'relay;
                        }
                        Fault::HalfCloseToClient { after } if total >= after => {
                            let _ = client.shutdown(Shutdown::Write);
                            client_closed = true;
                            continue 'relay;
                        }
                        Fault::HalfCloseToServer { after }
                            if total >= after && !half_closed_to_server.get() =>
                        {
                            half_closed_to_server.set(true);
                            let _ = server.shutdown(Shutdown::Write);
                        }
                        _ => {}
                    }
                }
            }
            close(&client);
            close(&server);
        }
    };
    smol::future::zip(up, down).await;
}

/// Accepts client connections on `listener` until `stop`, and relays each to `server` with a
/// random fault. Every relay task is dropped (its sockets closed) when this returns.
pub(crate) fn run_proxy(
    listener: TcpListener,
    server: SocketAddr,
    seed: u64,
    stall_ms: (u64, u64),
    stop: Arc<AtomicBool>,
) -> ProxyLog {
    let log = Rc::new(core::cell::RefCell::new(ProxyLog::default()));
    let executor = smol::LocalExecutor::new();
    let tasks = Rc::new(core::cell::RefCell::new(Vec::<smol::Task<()>>::new()));
    let accept_loop = {
        let (log, tasks) = (Rc::clone(&log), Rc::clone(&tasks));
        let executor = &executor;
        async move {
            let mut rng = Rng::new(seed ^ 0x9809);
            let listener = Async::new(listener).expect("a non-blocking listener");
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let fault = Fault::pick(&mut rng, stall_ms);
                let relay_rng = Rng::new(rng.next_u64());
                let log = Rc::clone(&log);
                let task = executor.spawn(async move {
                    let client: TcpStream = client.into();
                    match TcpStream::connect(server).await {
                        Ok(server) => {
                            *log.borrow_mut().faults.entry(fault.name()).or_default() += 1;
                            relay(client, server, fault, relay_rng).await;
                        }
                        Err(_) => {
                            log.borrow_mut().server_down += 1;
                            close(&client);
                        }
                    }
                });
                let mut tasks = tasks.borrow_mut();
                tasks.retain(|task| !task.is_finished());
                tasks.push(task);
            }
        }
    };
    let stopped = async {
        while !stop.load(Ordering::Relaxed) {
            smol::Timer::after(Duration::from_millis(50)).await;
        }
    };
    smol::block_on(executor.run(stopped.or(accept_loop)));
    tasks.borrow_mut().clear();
    drop(executor);
    Rc::try_unwrap(log)
        .map(core::cell::RefCell::into_inner)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The ledger of one client.
// ---------------------------------------------------------------------------------------------

/// What one client saw, and what it should have seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ledger {
    /// Where the client stands: the epoch and sequence number of the last id it was given by
    /// an event or a gap event. `None` before its first event: a client that never had an id
    /// connects live, and what was published before that is not its to miss.
    at: Option<(u32, u64)>,
    /// Events delivered (not counting gap events).
    pub(crate) delivered: u64,
    /// Events delivered again (an id at or before the last one, same epoch).
    pub(crate) duplicates: u64,
    /// Events missing from the sequence with no gap event before them.
    pub(crate) silent: u64,
    /// Events a gap event said were missed (for `other-epoch`, those left in the old epoch
    /// after the client's last id, counted at the end, plus the new epoch's evicted ones).
    pub(crate) announced: u64,
    /// Gap events received, by reason.
    pub(crate) gaps: std::collections::BTreeMap<String, u64>,
    /// Gap events whose `missed` count disagrees with the ids around them, and other
    /// malformed items (wrong data, an id not of the ring's form).
    pub(crate) anomalies: Vec<String>,
    /// Epochs this client left through a gap event, with the last sequence number it had:
    /// resolved against the published counts at the end.
    left: Vec<(u32, u64, bool)>,
    /// Connections opened (the `Open` story).
    pub(crate) opens: u64,
    /// Reconnects, by reason.
    pub(crate) reconnects: std::collections::BTreeMap<String, u64>,
}

impl Ledger {
    /// An event (`name` `message`) or a gap event (`name` `sansse-gap`).
    pub(crate) fn event(&mut self, name: &str, id: &str, data: &str) {
        let Some((epoch, seq)) = parse_id(id) else {
            self.anomalies
                .push(format!("id {id:?} is not <epoch>-<seq>"));
            return;
        };
        if name == "sansse-gap" {
            self.gap(epoch, seq, data);
            return;
        }
        if name != "message" {
            self.anomalies
                .push(format!("unexpected event type {name:?}"));
        }
        if data != payload(epoch, seq) {
            self.anomalies.push(format!("event {id} carries {data:?}"));
        }
        self.delivered += 1;
        match self.at {
            None => {}
            Some((at_epoch, last)) if at_epoch == epoch => {
                if seq <= last {
                    self.duplicates += 1;
                    return; // stay at the later position
                }
                self.silent += seq - last - 1;
            }
            Some((at_epoch, last)) => {
                // Another epoch with no gap event: everything the client did not see of the
                // old epoch, and of the new one before this event, went silently.
                self.left.push((at_epoch, last, false));
                self.silent += seq - 1;
            }
        }
        self.at = Some((epoch, seq));
    }

    fn gap(&mut self, epoch: u32, seq: u64, data: &str) {
        let reason = json_field(data, "reason").unwrap_or("?").to_owned();
        let missed = json_field(data, "missed").and_then(|m| m.parse::<u64>().ok());
        *self.gaps.entry(reason.clone()).or_default() += 1;
        match (self.at, reason.as_str()) {
            (Some((at_epoch, last)), "evicted" | "overrun") if at_epoch == epoch => {
                // The gap event's id is the one just before the oldest kept event, so the
                // events after `last` up to it are the missed ones.
                let gone = seq.saturating_sub(last);
                if missed != Some(gone) || seq < last {
                    self.anomalies.push(format!(
                        "{reason} gap {epoch}-{seq} after {epoch}-{last} says {data}"
                    ));
                }
                self.announced += gone;
            }
            (Some((at_epoch, last)), "other-epoch") if at_epoch != epoch => {
                self.left.push((at_epoch, last, true));
                self.announced += seq;
            }
            (at, _) => {
                self.anomalies
                    .push(format!("gap {epoch}-{seq} {data} while at {at:?}"));
            }
        }
        self.at = Some((epoch, seq));
    }

    /// The epoch of the last id the client was given, if any.
    pub(crate) fn epoch(&self) -> Option<u32> {
        self.at.map(|(epoch, _)| epoch)
    }

    /// Closes the books against the server's published counts; returns the events of the
    /// final epoch published after the client's last id (in flight when the soak stopped,
    /// not lost).
    pub(crate) fn settle(&mut self, published: &[u64]) -> u64 {
        for (epoch, last, announced) in core::mem::take(&mut self.left) {
            let total = published.get(epoch as usize).copied().unwrap_or(0);
            let rest = total.saturating_sub(last);
            if announced {
                self.announced += rest;
            } else {
                self.silent += rest;
            }
        }
        match self.at {
            Some((epoch, last)) => published
                .get(epoch as usize)
                .copied()
                .unwrap_or(0)
                .saturating_sub(last),
            None => 0,
        }
    }
}

/// The raw value of `"key":value` in the gap event's flat JSON object.
fn json_field<'a>(data: &'a str, key: &str) -> Option<&'a str> {
    let start = data.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &data[start..];
    let end = rest.find([',', '}'])?;
    Some(rest[..end].trim_matches('"'))
}

#[cfg(test)]
mod ledger_tests {
    use super::{Ledger, payload};

    fn event(ledger: &mut Ledger, epoch: u32, seq: u64) {
        ledger.event("message", &format!("{epoch}-{seq}"), &payload(epoch, seq));
    }

    #[test]
    fn the_ledger_tells_duplicates_silent_losses_and_announced_gaps_apart() {
        let mut ledger = Ledger::default();
        event(&mut ledger, 1, 5);
        event(&mut ledger, 1, 6);
        event(&mut ledger, 1, 6);
        event(&mut ledger, 1, 9);
        ledger.event("sansse-gap", "1-12", r#"{"reason":"evicted","missed":3}"#);
        event(&mut ledger, 1, 13);
        ledger.event("sansse-gap", "2-0", r#"{"reason":"other-epoch"}"#);
        event(&mut ledger, 2, 1);
        event(&mut ledger, 3, 4);
        let in_flight = ledger.settle(&[0, 20, 7, 10]);
        assert_eq!(ledger.delivered, 7);
        assert_eq!(ledger.duplicates, 1);
        // 7 and 8 in epoch 1; 2..=7 of epoch 2 and 1..=3 of epoch 3 with no gap event.
        assert_eq!(ledger.silent, 2 + 6 + 3);
        // 10..=12 evicted, 14..=20 left in epoch 1.
        assert_eq!(ledger.announced, 3 + 7);
        assert_eq!(in_flight, 6);
        assert!(ledger.anomalies.is_empty(), "{:?}", ledger.anomalies);
    }
}
