//! The whole story in one process: a broadcast server, four clients, and the faults that kill
//! streams in the field, each recovered from without losing an event.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The server (the crate's async server loop on smol, one replay ring for every connection)
//! publishes an event every 20 ms. Four clients (the crate's pull `Client`, each on its
//! own thread) follow it on 127.0.0.1, and the demo breaks their connections one way each:
//!
//! - **bob**: the connection dies in the middle of an event. The client drops the partial
//!   event, reconnects after the server's `retry:` time and resumes with `Last-Event-ID`; the
//!   ring replays what he missed.
//! - **carol**: the stream stalls: the server stops writing to her connection, keep-alives
//!   included, without closing it (a half-open TCP connection looks like this). Her idle
//!   deadline, sized from the server's keep-alive announcement, declares it dead; she resumes.
//! - **dave**: his link slows to a trickle (as a full TCP window would) while events keep
//!   coming. His server session falls behind the ring, which evicts events he was not sent yet:
//!   the server says so in-band with a gap event, and the events he misses are exactly the
//!   ones it announced.
//! - **everyone** (alice has no fault of her own): the server restarts with a new epoch and an
//!   empty ring. The clients resume with ids the new server never issued, get a gap event
//!   (`other-epoch`), and carry on with the new history.
//!
//! Every server connection runs through a [`Link`], a stream wrapper the demo holds: that is
//! how it cuts, freezes and throttles one connection without touching the others.
//!
//! It ends with a table per client: events published, delivered, delivered twice, lost without
//! notice, gap events, and events missed but announced by a gap event. The exit status is
//! non-zero if any event was delivered twice or lost without a gap event, or if a client did
//! not reach the end of the stream.

use core::ops::ControlFlow;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;
use std::collections::HashMap;
use std::io;
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};

use embedded_io_async::{Read, Write};
use std::time::Instant as StdInstant;

use sansse::backoff::BackoffConfig;
use sansse::client::SessionEvent as ClientEvent;
use sansse::encode::EventName;
use sansse::heartbeat::IdleConfig;
use sansse::http::{ErrorResponse, RequestHead};
use sansse::io::server::{self, Answer};
use sansse::io::{FuturesIo, StdHub, StdTimer};
use sansse::replay::{Gap, Ring};
use sansse::server::{
    AcceptOptions, OverrunPolicy, ServerConfig, SessionEvent as ServerEvent, StreamStart,
};
use sansse::time::StdOrigin;
use sansse::{Client, ClientConfig, ClientItem, ClientMemory, Event, Instant, ParseError};

/// The replay ring every connection reads: the last 128 events (2.5 s of them).
type Log = Ring<128, { 32 << 10 }>;

/// One event every 20 ms.
const PUBLISH_EVERY: Duration = Duration::from_millis(20);
/// What each event carries after its number, so that it weighs like a real one.
const PAYLOAD: &str = "temperature=21.5 humidity=40 pressure=1013 status=ok";
/// The server's settings: keep-alive comments after 250 ms of silence (announced, so clients
/// size their idle deadline from it), a 300 ms reconnection time, gap events for readers that
/// fall behind.
const SERVER: ServerConfig<'static> = ServerConfig::new()
    .with_keepalive(Some(Duration::from_millis(250)))
    .with_retry(Some(Duration::from_millis(300)))
    .with_overrun(OverrunPolicy::Gap);
/// The clients' idle limit once the server announces 250 ms keep-alives: 2 x 250 + 200 ms.
const IDLE: IdleConfig = IdleConfig::new()
    .with_margin(Duration::from_millis(200))
    .with_announced_bounds(Duration::from_millis(300), Duration::from_secs(10));

const CLIENTS: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// How long the clients get to reach the end of the stream once it is published.
const PATIENCE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let demo = Arc::new(Demo::new());
    say(
        "demo",
        "server: one replay ring of 128 events, keep-alive after 250 ms, retry 300 ms",
    );
    let mut server = Server::start(&demo, 1, 0);
    let clients: Vec<JoinHandle<()>> = CLIENTS
        .iter()
        .zip(1..)
        .map(|(&name, seed)| spawn_client(&demo, name, server.port, seed))
        .collect();
    let connected = demo.wait_until(Duration::from_secs(5), |demo| {
        CLIENTS.iter().all(|name| demo.stats(name).opens > 0)
    });
    if !connected {
        say("demo", "FAIL: the clients did not connect");
        return ExitCode::FAILURE;
    }
    say(
        "demo",
        "four clients connected; publishing an event every 20 ms",
    );
    let publisher = Publisher::start(&demo);

    thread::sleep(Duration::from_millis(1000));
    say(
        "demo",
        "FAULT: bob's connection dies in the middle of the next event",
    );
    demo.fault("bob", Fault::Cut);

    thread::sleep(Duration::from_millis(1500));
    say(
        "demo",
        "FAULT: carol's stream stalls: no byte for 2.5 s, connection left open",
    );
    demo.fault(
        "carol",
        Fault::Freeze {
            until: after(Duration::from_millis(2500)),
        },
    );

    thread::sleep(Duration::from_millis(2500));
    say(
        "demo",
        "FAULT: dave's link slows to 400 bytes/s for 4 s while 50 events/s are published",
    );
    let slow = Fault::Throttle {
        until: after(Duration::from_secs(4)),
        every: Duration::from_millis(80),
        bytes: 32,
    };
    demo.fault("dave", slow);

    thread::sleep(Duration::from_millis(5000));
    say(
        "demo",
        "FAULT: the server restarts: its connections drop, its ring starts empty in epoch 2",
    );
    publisher.pause();
    let newest = demo.published.load(Ordering::SeqCst);
    let caught_up = demo.wait_until(Duration::from_secs(5), |demo| {
        CLIENTS.iter().all(|name| demo.stats(name).newest >= newest)
    });
    if !caught_up {
        say("demo", "some clients had not caught up before the restart");
    }
    server.stop();
    thread::sleep(Duration::from_millis(300));
    server = Server::start(&demo, 2, server.port);
    say("demo", "the server is back");
    publisher.resume();

    thread::sleep(Duration::from_millis(1500));
    let published = publisher.finish();
    say(
        "demo",
        &format!("published #1..#{published} and an end event"),
    );
    let deadline = StdInstant::now() + PATIENCE;
    let finished: Vec<bool> = clients
        .into_iter()
        .map(|client| {
            while !client.is_finished() && StdInstant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            client.is_finished()
        })
        .collect();
    server.stop();
    report(&demo, published, &finished)
}

/// Prints the table and decides the exit status.
fn report(demo: &Demo, published: u64, finished: &[bool]) -> ExitCode {
    const FAULTS: [&str; 4] = [
        "restart",
        "cut + restart",
        "stall + restart",
        "slow + restart",
    ];
    let row = |cells: [&dyn core::fmt::Display; 9]| {
        let [
            client,
            fault,
            published,
            delivered,
            twice,
            lost,
            gaps,
            announced,
            reconnects,
        ] = cells;
        println!(
            "{client:<6} {fault:<16} {published:>9} {delivered:>9} {twice:>6} {lost:>5} \
             {gaps:>4} {announced:>15} {reconnects:>10}"
        );
    };
    println!();
    row([
        &"client",
        &"faults",
        &"published",
        &"delivered",
        &"twice",
        &"lost",
        &"gaps",
        &"missed, in gaps",
        &"reconnects",
    ]);
    let mut ok = true;
    for ((name, fault), &finished) in CLIENTS.iter().zip(FAULTS).zip(finished) {
        let stats = demo.stats(name);
        // Events after the last one delivered never arrived: lost too.
        let lost = stats.lost + published.saturating_sub(stats.newest);
        row([
            name,
            &fault,
            &published,
            &stats.delivered,
            &stats.duplicated,
            &lost,
            &stats.gap_events,
            &stats.announced,
            &stats.opens.saturating_sub(1),
        ]);
        let accounted = stats.delivered + stats.announced + lost == published;
        ok &= finished && lost == 0 && stats.duplicated == 0 && accounted;
    }
    println!();
    println!("twice: delivered more than once; lost: missing with no gap event before it;");
    println!("gaps: gap events received; missed, in gaps: missing, as a gap event announced.");
    if ok {
        println!("PASS: every event arrived exactly once, or was announced missing by a gap event");
        ExitCode::SUCCESS
    } else {
        println!(
            "FAIL: an event was lost without notice or arrived twice, or a client did not finish"
        );
        ExitCode::FAILURE
    }
}

// --- shared state and narration -------------------------------------------------------------

/// Everything the threads share.
struct Demo {
    origin: StdOrigin,
    /// The hub of the server running now; replaced on restart.
    hub: Mutex<Arc<StdHub<Log>>>,
    /// The latest connection of each client, by the name in its request.
    links: Mutex<HashMap<String, Arc<LinkControl>>>,
    stats: Mutex<HashMap<String, Stats>>,
    published: AtomicU64,
}

/// What one client received, as the table counts it.
#[derive(Debug, Default)]
struct Stats {
    /// Streams opened.
    opens: u64,
    /// Distinct events delivered.
    delivered: u64,
    /// Events delivered again.
    duplicated: u64,
    /// Events skipped with no gap event before them.
    lost: u64,
    /// Gap events received.
    gap_events: u64,
    /// Events skipped right after a gap event.
    announced: u64,
    /// The highest event number delivered.
    newest: u64,
    /// A gap event arrived since the last numbered event.
    gap_pending: bool,
}

impl Demo {
    fn new() -> Self {
        Self {
            origin: StdOrigin::now(),
            hub: Mutex::new(Arc::new(StdHub::new(Log::new(0)))),
            links: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
            published: AtomicU64::new(0),
        }
    }

    fn fault(&self, name: &str, fault: Fault) {
        match lock(&self.links).get(name) {
            Some(control) => control.set(fault),
            None => say("demo", &format!("{name} has no connection to break")),
        }
    }

    fn stats(&self, name: &str) -> StatsGuard<'_> {
        StatsGuard {
            all: lock(&self.stats),
            name: name.to_owned(),
        }
    }

    /// Polls `done` every 10 ms until it holds or `limit` passes; says whether it held.
    fn wait_until(&self, limit: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = StdInstant::now() + limit;
        while !done(self) {
            if StdInstant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

/// One client's stats, locked.
struct StatsGuard<'d> {
    all: MutexGuard<'d, HashMap<String, Stats>>,
    name: String,
}

impl core::ops::Deref for StatsGuard<'_> {
    type Target = Stats;

    fn deref(&self) -> &Stats {
        self.all.get(&self.name).unwrap_or(&EMPTY)
    }
}

impl core::ops::DerefMut for StatsGuard<'_> {
    fn deref_mut(&mut self) -> &mut Stats {
        self.all.entry(self.name.clone()).or_default()
    }
}

static EMPTY: Stats = Stats {
    opens: 0,
    delivered: 0,
    duplicated: 0,
    lost: 0,
    gap_events: 0,
    announced: 0,
    newest: 0,
    gap_pending: false,
};

/// Prints one line of the story, with the time since the demo started.
fn say(who: &str, what: &str) {
    static START: OnceLock<StdInstant> = OnceLock::new();
    let start = START.get_or_init(StdInstant::now);
    println!("[{:6.2}s] {who:<6} | {what}", start.elapsed().as_secs_f64());
}

fn after(d: Duration) -> StdInstant {
    StdInstant::now() + d
}

/// Locks a mutex; a thread that panicked holding it leaves nothing half-done that matters here.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// --- the publisher --------------------------------------------------------------------------

/// Publishes `#1`, `#2`, ... every 20 ms into whichever hub is current, on its own thread.
struct Publisher {
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    demo: Arc<Demo>,
}

impl Publisher {
    fn start(demo: &Arc<Demo>) -> Self {
        let (paused, stop) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let thread = {
            let (demo, paused, stop) = (Arc::clone(demo), Arc::clone(&paused), Arc::clone(&stop));
            thread::spawn(move || {
                let mut next = StdInstant::now();
                while !stop.load(Ordering::SeqCst) {
                    if !paused.load(Ordering::SeqCst) {
                        let n = demo.published.load(Ordering::SeqCst) + 1;
                        let hub = Arc::clone(&lock(&demo.hub));
                        if hub.publish(None, &format!("#{n} {PAYLOAD}")).is_ok() {
                            demo.published.store(n, Ordering::SeqCst);
                        }
                    }
                    next += PUBLISH_EVERY;
                    thread::sleep(next.saturating_duration_since(StdInstant::now()));
                }
            })
        };
        Self {
            paused,
            stop,
            thread,
            demo: Arc::clone(demo),
        }
    }

    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        // The publisher may be in the middle of one; let it land.
        thread::sleep(PUBLISH_EVERY * 2);
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Stops publishing, publishes the end event, and returns the number of the last event.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        let hub = Arc::clone(&lock(&self.demo.hub));
        let end = EventName::new("end").expect("a valid event name");
        let _ = hub.publish(Some(end), "that's all");
        self.demo.published.load(Ordering::SeqCst)
    }
}

// --- the server -----------------------------------------------------------------------------

/// A running server: its thread, its port, and the channel that stops it.
struct Server {
    port: u16,
    stop: smol::channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server with a fresh ring of `epoch` on `port` (any free port if 0), and makes
    /// its hub the one the publisher uses.
    fn start(demo: &Arc<Demo>, epoch: u32, port: u16) -> Self {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("a loopback port for the demo");
        let port = listener.local_addr().expect("a bound listener").port();
        let hub = Arc::new(StdHub::new(Log::new(epoch)));
        *lock(&demo.hub) = Arc::clone(&hub);
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let demo = Arc::clone(demo);
        let thread = thread::spawn(move || {
            let listener = smol::Async::new(listener).expect("a non-blocking listener");
            let executor = smol::LocalExecutor::new();
            let accept = async {
                while let Ok((stream, _)) = listener.accept().await {
                    let connection = connection(stream, Arc::clone(&hub), Arc::clone(&demo));
                    executor.spawn(connection).detach();
                }
            };
            // Leaving drops the executor and every connection with it: what a crash does.
            smol::block_on(executor.run(smol::future::or(accept, async {
                let _ = stopped.recv().await;
            })));
        });
        say(
            "server",
            &format!("listening on http://127.0.0.1:{port}/events (epoch {epoch})"),
        );
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        let _ = self.stop.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves one connection with the crate's async server loop, through a [`Link`].
async fn connection(stream: smol::Async<TcpStream>, hub: Arc<StdHub<Log>>, demo: Arc<Demo>) {
    let control = Arc::new(LinkControl {
        fault: Mutex::new(Fault::None),
    });
    let name = Arc::new(OnceLock::new());
    let mut link = Link {
        io: FuturesIo::new(stream),
        control: Arc::clone(&control),
        name: Arc::clone(&name),
        next_slot: StdInstant::now(),
    };
    // The transmit buffer holds a few events: a slow link drains it slowly, and the session's
    // cursor waits for it meanwhile.
    let mut storage = server::ServerStorage::<1024, 256, 1024>::sized();
    let mut handler = ServerHandler {
        demo: &demo,
        control,
        name,
    };
    // The demo's one origin, so server and client times in the log compare.
    let _ = server::Server::with_timer(StdTimer::with_origin(demo.origin))
        .with_config(SERVER)
        .serve_with(&mut link, &*hub, &mut storage, &mut handler)
        .await;
}

/// The server's side of one connection: `/events?client=NAME` streams, anything else is 404.
struct ServerHandler<'d> {
    demo: &'d Demo,
    control: Arc<LinkControl>,
    name: Arc<OnceLock<String>>,
}

impl<'buf> server::Handler<'buf> for ServerHandler<'_> {
    fn decide(&mut self, _: Instant, request: &RequestHead<'_>) -> Answer<'buf> {
        if request.path() != "/events" {
            return Answer::Reject(ErrorResponse::not_found());
        }
        let name = request
            .query()
            .and_then(|query| query.strip_prefix("client="))
            .unwrap_or("anonymous");
        let _ = self.name.set(name.to_owned());
        lock(&self.demo.links).insert(name.to_owned(), Arc::clone(&self.control));
        Answer::Accept(AcceptOptions::new())
    }

    fn on_event(&mut self, _: Instant, event: ServerEvent) -> ControlFlow<()> {
        let name = self.name.get().map_or("?", String::as_str);
        match event {
            ServerEvent::Accepted {
                start: StreamStart::Replay,
            } => {
                say(
                    "server",
                    &format!("{name} is back with a Last-Event-ID: replaying what it missed"),
                );
            }
            ServerEvent::Accepted {
                start: StreamStart::Gap { gap },
            } => say(
                "server",
                &format!(
                    "{name} asked to resume after an id this ring cannot resume from ({gap}): gap event, then every kept event"
                ),
            ),
            ServerEvent::GapSent {
                gap: gap @ Gap::Overrun { .. },
            } => say(
                "server",
                &format!(
                    "{name} fell behind the ring ({gap}): gap event sent, carrying on from the oldest kept event"
                ),
            ),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

// --- the faults -----------------------------------------------------------------------------

/// What the demo does to one server connection.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Pass everything through.
    None,
    /// Write half of the next event, then fail: the connection dies mid-event.
    Cut,
    /// Write nothing, keep-alives included, until then; the connection stays open.
    Freeze { until: StdInstant },
    /// Write at most `bytes` every `every` until then.
    Throttle {
        until: StdInstant,
        every: Duration,
        bytes: usize,
    },
    /// After a cut: every read and write fails.
    Dead,
}

/// The demo's switch for one connection.
struct LinkControl {
    fault: Mutex<Fault>,
}

impl LinkControl {
    fn get(&self) -> Fault {
        *lock(&self.fault)
    }

    fn set(&self, fault: Fault) {
        *lock(&self.fault) = fault;
    }
}

/// A server connection with the demo's hand on it: smol's `TcpStream` through `FuturesIo`, and
/// a [`Fault`] applied to every write. The waits it adds write nothing, so its futures stay as
/// cancel-safe as the stream's, which the server loop needs.
struct Link {
    io: FuturesIo<smol::Async<TcpStream>>,
    control: Arc<LinkControl>,
    name: Arc<OnceLock<String>>,
    next_slot: StdInstant,
}

impl embedded_io_async::ErrorType for Link {
    type Error = io::Error;
}

impl Read for Link {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Fault::Dead = self.control.get() {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        self.io.read(buf).await
    }
}

impl Write for Link {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let now = StdInstant::now();
            match self.control.get() {
                Fault::None => return self.io.write(buf).await,
                Fault::Freeze { until } | Fault::Throttle { until, .. } if now >= until => {
                    self.control.set(Fault::None);
                }
                Fault::Freeze { until } => {
                    smol::Timer::at(until).await;
                }
                Fault::Throttle { every, bytes, .. } => {
                    if now < self.next_slot {
                        smol::Timer::at(self.next_slot).await;
                        continue;
                    }
                    self.next_slot = now + every;
                    let n = buf.len().min(bytes);
                    return self.io.write(&buf[..n]).await;
                }
                Fault::Cut if buf.windows(5).any(|w| w == b"data:") => {
                    let half = buf.len() / 2;
                    self.io.write_all(&buf[..half]).await?;
                    self.io.flush().await?;
                    self.control.set(Fault::Dead);
                    let name = self.name.get().map_or("?", String::as_str);
                    say(
                        "server",
                        &format!(
                            "cut {name}'s connection after {half} of {} bytes",
                            buf.len()
                        ),
                    );
                    return Err(io::ErrorKind::ConnectionReset.into());
                }
                Fault::Cut => return self.io.write(buf).await,
                Fault::Dead => return Err(io::ErrorKind::ConnectionReset.into()),
            }
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.io.flush().await
    }
}

// --- the clients ----------------------------------------------------------------------------

/// Starts a client on its own thread: the crate's async client loop on smol, following
/// `/events?client=NAME` until the end event.
fn spawn_client(demo: &Arc<Demo>, name: &'static str, port: u16, seed: u64) -> JoinHandle<()> {
    let demo = Arc::clone(demo);
    thread::spawn(move || {
        let target = format!("/events?client={name}");
        let config = ClientConfig::new("127.0.0.1", &target)
            .with_port(port)
            .with_idle(IDLE)
            .with_backoff(BackoffConfig::new().with_max_backoff(Duration::from_secs(2)));
        let mut memory = ClientMemory::<2048, 1024, 512, 128, 1024, 512>::new();
        // smol's TCP connect: the connection side of the runtime.
        let connect = async |host: &str, port: u16| {
            let stream = smol::net::TcpStream::connect((host, port)).await?;
            stream.set_nodelay(true)?;
            Ok::<_, io::Error>(FuturesIo::new(stream))
        };
        let timer = StdTimer::with_origin(demo.origin);
        let mut client = Client::with_timer(config, connect, timer, seed, &mut memory)
            .expect("a request that fits");
        let mut follower = Follower {
            name,
            demo: &demo,
            last_id: String::new(),
            reconnected: false,
        };
        smol::block_on(async {
            while let Some(item) = client.next().await {
                let flow = match item {
                    ClientItem::Event(event) => follower.on_message(Ok(event)),
                    ClientItem::Skipped(skipped) => follower.on_message(Err(skipped)),
                    ClientItem::Story(event) => {
                        if let ClientEvent::Closed { reason } = event {
                            say(name, &format!("ended early: closed: {reason}"));
                        }
                        follower.on_event(event)
                    }
                    _ => ControlFlow::Continue(()),
                };
                if flow.is_break() {
                    break;
                }
            }
        });
    })
}

/// A client's handler: counts every event into its [`Stats`] and narrates the recoveries.
struct Follower<'d> {
    name: &'static str,
    demo: &'d Demo,
    /// The id of the last event received: what a reconnect resumes after.
    last_id: String,
    /// The connection was lost and no event came since.
    reconnected: bool,
}

impl Follower<'_> {
    /// Counts an event; `Break` at the `end` event.
    fn on_message(&mut self, message: Result<Event<'_>, ParseError>) -> ControlFlow<()> {
        let Ok(event) = message else {
            say(self.name, "an event too large for the buffer was skipped");
            return ControlFlow::Continue(());
        };
        self.last_id.clear();
        self.last_id.push_str(event.id());
        match event.event_type() {
            "end" => return ControlFlow::Break(()),
            "sansse-gap" => {
                say(
                    self.name,
                    &format!(
                        "gap event {}: resync, the events after it are complete",
                        event.data()
                    ),
                );
                let mut stats = self.demo.stats(self.name);
                stats.gap_events += 1;
                stats.gap_pending = true;
                return ControlFlow::Continue(());
            }
            _ => {}
        }
        let Some(n) = number(event.data()) else {
            return ControlFlow::Continue(());
        };
        let mut stats = self.demo.stats(self.name);
        if n <= stats.newest {
            stats.duplicated += 1;
            say(self.name, &format!("#{n} delivered twice"));
            return ControlFlow::Continue(());
        }
        let skipped = n - stats.newest - 1;
        // The first event of a client is wherever it joined.
        if stats.newest > 0 {
            if stats.gap_pending {
                stats.announced += skipped;
            } else {
                stats.lost += skipped;
            }
        }
        if self.reconnected {
            let story = match (skipped, stats.gap_pending) {
                (0, _) => format!(
                    "back: first event is #{n}, right after #{}: nothing lost, nothing twice",
                    stats.newest
                ),
                (_, true) => {
                    format!("back: first event is #{n}: {skipped} missed, as the gap event said")
                }
                (_, false) => format!("back: first event is #{n}: {skipped} LOST without notice"),
            };
            say(self.name, &story);
            self.reconnected = false;
        } else if skipped > 0 && stats.gap_pending {
            say(
                self.name,
                &format!(
                    "#{n} follows #{}: {skipped} events missed, as the gap event said",
                    stats.newest
                ),
            );
        }
        stats.gap_pending = false;
        stats.newest = n;
        stats.delivered += 1;
        ControlFlow::Continue(())
    }

    /// Narrates the story.
    fn on_event(&mut self, event: ClientEvent<'_>) -> ControlFlow<()> {
        match event {
            ClientEvent::Open { .. } => {
                let mut stats = self.demo.stats(self.name);
                stats.opens += 1;
                // A reopened stream is told by its first event (an `Open` is heard after the
                // events that came in the same read as the response head).
                if stats.opens == 1 {
                    say(self.name, "connected");
                }
            }
            ClientEvent::Reconnecting { delay, reason } => {
                let resume = if self.last_id.is_empty() {
                    String::new()
                } else {
                    format!(" with Last-Event-ID: {}", self.last_id)
                };
                say(
                    self.name,
                    &format!(
                        "connection lost ({reason}); reconnecting in {} ms{resume}",
                        delay.delay.as_millis()
                    ),
                );
                self.reconnected = true;
            }
            ClientEvent::Closed { reason } => say(self.name, &format!("closed: {reason}")),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The number in an event's data, `#123 ...`.
fn number(data: &str) -> Option<u64> {
    let digits = data.strip_prefix('#')?.split(' ').next()?;
    // Digits only: `str::parse` would also take `+7` from whatever the server sent.
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}
