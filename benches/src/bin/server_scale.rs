//! Server scale: `examples/server` against an idiomatic axum `Sse` server (`axum_peer`), driven
//! by the same load generator over loopback. See benches/README.md, "Server scale".
//!
//! ```text
//! cargo build --release --example server
//! cargo build --release --manifest-path benches/Cargo.toml --bin axum_peer --bin server_scale
//! benches/target/release/server_scale [--quick] [--reps N] [--secs S] [--subscribers N]
//!     [--rates R,..] [--streams N,..] [--only sansse|axum] [--sansse PATH] [--axum PATH]
//! ```
//!
//! For each server, each started as a child process on 127.0.0.1 and killed at the end:
//! - RSS per idle stream: VmRSS above the idle baseline after opening 1,000 and 10,000 streams
//!   (each response head read), divided by the streams.
//! - Fan-out: subscribers, then events of ~100 bytes published one `POST /publish` at a time at
//!   each rate for `--secs`; each event's data is `<seq> <publish µs> xxx..`. Per subscriber:
//!   received, lost, duplicated; publish-to-receive p50/p99; deliveries/s; server CPU
//!   (utime+stime) per 1,000 deliveries; how far the publish loop fell behind its schedule.
//! - Slow reader: the same at the highest rate, with one more subscriber (small receive buffer)
//!   that stops reading after the first second until publishing ends; the others' p99 over the
//!   events published meanwhile.
//!
//! `--quick` (CI): 100 subscribers, 50 events/s for 2 s, once per server; exit 1 if anything
//! was lost or duplicated, a publish failed or a stream did not open.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};

/// Every timestamp is microseconds since this instant, shared by publisher and subscribers.
static ORIGIN: OnceLock<Instant> = OnceLock::new();

fn micros_now() -> u64 {
    let origin = *ORIGIN.get_or_init(Instant::now);
    u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The size of each published event's data.
const EVENT_BYTES: usize = 100;
/// Streams being opened at once (the listen backlogs are 128 and more).
const OPENING_AT_ONCE: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Sansse,
    Axum,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Sansse => "sansse",
            Kind::Axum => "axum",
        }
    }
}

struct Options {
    quick: bool,
    reps: usize,
    secs: f64,
    subscribers: usize,
    rates: Vec<u32>,
    streams: Vec<usize>,
    kinds: Vec<Kind>,
    sansse: PathBuf,
    axum: PathBuf,
}

const USAGE: &str = "usage: server_scale [--quick] [--reps N] [--secs S] [--subscribers N] \
                     [--rates R,..] [--streams N,..] [--only sansse|axum] [--sansse PATH] [--axum PATH]";

fn fail(message: &str) -> ! {
    eprintln!("server_scale: {message}\n{USAGE}");
    std::process::exit(2);
}

fn list<T: std::str::FromStr>(flag: &str, value: &str) -> Vec<T> {
    value
        .split(',')
        .map(|item| {
            item.trim()
                .parse()
                .unwrap_or_else(|_| fail(&format!("{flag}: bad value {item}")))
        })
        .collect()
}

impl Options {
    fn parse() -> Options {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .unwrap_or_default();
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut options = Options {
            quick: false,
            reps: 3,
            secs: 10.0,
            subscribers: 1000,
            rates: vec![100, 200],
            streams: vec![1000, 10_000],
            kinds: vec![Kind::Sansse, Kind::Axum],
            sansse: repo.join("target/release/examples/server"),
            axum: exe_dir.join("axum_peer"),
        };
        let mut explicit = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            if flag == "--quick" {
                options.quick = true;
                continue;
            }
            let value = args
                .next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
            explicit.push(flag.clone());
            match flag.as_str() {
                "--reps" => options.reps = list(&flag, &value)[0],
                "--secs" => options.secs = list(&flag, &value)[0],
                "--subscribers" => options.subscribers = list(&flag, &value)[0],
                "--rates" => options.rates = list(&flag, &value),
                "--streams" => options.streams = list(&flag, &value),
                "--only" => {
                    options.kinds = match value.as_str() {
                        "sansse" => vec![Kind::Sansse],
                        "axum" => vec![Kind::Axum],
                        _ => fail("--only: sansse or axum"),
                    }
                }
                "--sansse" => options.sansse = PathBuf::from(value),
                "--axum" => options.axum = PathBuf::from(value),
                _ => fail(&format!("unknown flag {flag}")),
            }
        }
        if options.quick {
            let keep = |name: &str| explicit.iter().any(|flag| flag == name);
            if !keep("--reps") {
                options.reps = 1;
            }
            if !keep("--secs") {
                options.secs = 2.0;
            }
            if !keep("--subscribers") {
                options.subscribers = 100;
            }
            if !keep("--rates") {
                options.rates = vec![50];
            }
        }
        let sane = options.reps > 0
            && options.secs > 0.0
            && options.secs < 3600.0
            && options.subscribers > 0
            && !options.rates.is_empty()
            && options.rates.iter().all(|&rate| rate > 0);
        if !sane {
            fail("--reps, --secs, --subscribers and --rates must be positive");
        }
        options
    }
}

/// The server under test, killed when dropped (also on a panic).
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(kind: Kind, options: &Options) -> Server {
        let mut command = match kind {
            Kind::Sansse => {
                let mut command = Command::new(&options.sansse);
                command.args(["--keepalive", "0", "--max-connections", "1000000"]);
                command
            }
            Kind::Axum => {
                let mut command = Command::new(&options.axum);
                command.args(["--keepalive", "0"]);
                command
            }
        };
        command.args(["--addr", "127.0.0.1:0"]);
        // The sansse example logs every connection and publish to stderr: discarded, not timed.
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = command.spawn().unwrap_or_else(|error| {
            eprintln!(
                "server_scale: cannot start {:?}: {error} (build it first, see --help)",
                command.get_program()
            );
            std::process::exit(2);
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("server_scale: {} said {line:?}", kind.name());
            std::process::exit(1);
        };
        Server { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of `pid` (or of this process), as a duration.
fn cpu_time(pid: Option<u32>) -> Duration {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let Ok(stat) = std::fs::read_to_string(path) else {
        return Duration::ZERO;
    };
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // Fields 14 and 15 (utime, stime) of proc(5), counted from the state, field 3.
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
    };
    let total = ticks(11)
        .unwrap_or(0)
        .saturating_add(ticks(12).unwrap_or(0));
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_micros(total.saturating_mul(1_000_000) / hz)
}

/// Raises this process's soft file limit to its hard limit (the servers inherit it); the
/// streams that fit.
fn raise_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum;
    let raised = rustix::process::Rlimit {
        current: hard,
        maximum: hard,
    };
    let soft = match setrlimit(Resource::Nofile, raised) {
        Ok(()) => hard,
        Err(_) => limit.current,
    };
    soft.unwrap_or(1 << 20)
}

/// Feeds the response body of one stream: undoes chunked transfer coding (axum) if asked, and
/// splits SSE lines; only `data:` and blank lines matter here.
struct Decoder {
    chunked: bool,
    /// Body bytes not decoded yet (chunked only: a size line split across reads).
    raw: Vec<u8>,
    /// Left in the current chunk; `None` while a size line is expected.
    chunk_left: Option<usize>,
    /// The CRLF after a chunk's data is still to skip.
    skip_crlf: usize,
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

impl Decoder {
    fn new(chunked: bool) -> Decoder {
        Decoder {
            chunked,
            raw: Vec::new(),
            chunk_left: None,
            skip_crlf: 0,
            line: Vec::new(),
            data: Vec::new(),
            has_data: false,
        }
    }

    /// Feeds body bytes; `event` gets the data of every complete event.
    fn feed(&mut self, bytes: &[u8], event: &mut impl FnMut(&[u8])) {
        if !self.chunked {
            self.lines(bytes, event);
            return;
        }
        self.raw.extend_from_slice(bytes);
        let raw = std::mem::take(&mut self.raw);
        let mut at = 0;
        while at < raw.len() {
            if self.skip_crlf > 0 {
                let skip = self.skip_crlf.min(raw.len() - at);
                at += skip;
                self.skip_crlf -= skip;
                continue;
            }
            match self.chunk_left {
                Some(left) => {
                    let take = left.min(raw.len() - at);
                    self.lines(&raw[at..at + take], event);
                    at += take;
                    if take == left {
                        self.chunk_left = None;
                        self.skip_crlf = 2;
                    } else {
                        self.chunk_left = Some(left - take);
                    }
                }
                None => {
                    let Some(end) = memchr::memchr(b'\n', &raw[at..]) else {
                        break;
                    };
                    let line = std::str::from_utf8(&raw[at..at + end]).unwrap_or("");
                    let hex = line.trim().split(';').next().unwrap_or("");
                    let size = usize::from_str_radix(hex, 16).unwrap_or(0);
                    at += end + 1;
                    // Size 0 is the end of the body: nothing more comes.
                    self.chunk_left = (size > 0).then_some(size);
                }
            }
        }
        self.raw = raw[at..].to_vec();
    }

    fn lines(&mut self, mut bytes: &[u8], event: &mut impl FnMut(&[u8])) {
        while let Some(end) = memchr::memchr(b'\n', bytes) {
            self.line.extend_from_slice(&bytes[..end]);
            bytes = &bytes[end + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                if self.has_data {
                    event(&self.data);
                }
                self.data.clear();
                self.has_data = false;
            } else if let Some(value) = line.strip_prefix(b"data:") {
                let value = value.strip_prefix(b" ").unwrap_or(value);
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            line.clear();
            self.line = line;
        }
        self.line.extend_from_slice(bytes);
    }
}

/// Opens `GET /events` and reads the response head; the stream and whether its body is chunked.
async fn open_stream(
    addr: SocketAddr,
    recv_buffer: Option<u32>,
) -> Result<(tokio::net::TcpStream, Decoder, Vec<u8>), String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if let Some(size) = recv_buffer {
        socket
            .set_recv_buffer_size(size)
            .map_err(|e| e.to_string())?;
    }
    let mut stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
    let request =
        format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the response head".to_owned());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > 64 * 1024 {
            return Err("response head too long".to_owned());
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let status = text.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("status {status}"));
    }
    let chunked = text
        .lines()
        .any(|line| line.starts_with("transfer-encoding:") && line.contains("chunked"));
    let rest = head[end..].to_vec();
    Ok((stream, Decoder::new(chunked), rest))
}

/// Opens `count` streams, `OPENING_AT_ONCE` at a time; the streams and the errors.
async fn open_many(addr: SocketAddr, count: usize) -> (Vec<tokio::net::TcpStream>, Vec<String>) {
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            open_stream(addr, None).await.map(|(stream, _, _)| stream)
        }));
    }
    let (mut streams, mut errors) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await {
            Ok(Ok(stream)) => streams.push(stream),
            Ok(Err(error)) => errors.push(error),
            Err(error) => errors.push(error.to_string()),
        }
    }
    (streams, errors)
}

/// RSS per idle stream.
struct RssFigures {
    idle_kib: u64,
    /// (streams, KiB per stream)
    per_stream: Vec<(usize, f64)>,
    errors: usize,
}

fn measure_rss(rt: &tokio::runtime::Runtime, kind: Kind, options: &Options) -> RssFigures {
    let server = Server::start(kind, options);
    std::thread::sleep(Duration::from_millis(500));
    let idle_kib = rss_kib(server.pid()).unwrap_or(0);
    let mut held = Vec::new();
    let mut figures = RssFigures {
        idle_kib,
        per_stream: Vec::new(),
        errors: 0,
    };
    for &count in &options.streams {
        let more = count.saturating_sub(held.len());
        let (streams, errors) = rt.block_on(open_many(server.addr, more));
        if let Some(error) = errors.first() {
            eprintln!(
                "  {}: {} of {more} streams did not open, e.g. {error}",
                kind.name(),
                errors.len()
            );
        }
        figures.errors += errors.len();
        held.extend(streams);
        // Lets the server finish whatever it does after the head (a first write, a timer).
        std::thread::sleep(Duration::from_millis(1000));
        let rss = rss_kib(server.pid()).unwrap_or(0);
        let per = rss.saturating_sub(idle_kib) as f64 / held.len().max(1) as f64;
        eprintln!(
            "  {}: {} streams, RSS {rss} KiB (idle {idle_kib}): {per:.1} KiB each",
            kind.name(),
            held.len()
        );
        figures.per_stream.push((held.len(), per));
    }
    drop(held);
    drop(server);
    figures
}

/// One fan-out run's figures.
#[derive(Default, Clone)]
struct FanOut {
    subscribers_opened: usize,
    open_errors: usize,
    published: u64,
    publish_failures: u64,
    deliveries: u64,
    lost: u64,
    duplicated: u64,
    p50_ms: f64,
    p99_ms: f64,
    deliveries_per_s: f64,
    cpu_ms_per_1000: f64,
    /// How far behind its schedule the publish loop ended.
    lag_ms: f64,
    generator_cpu_s: f64,
    /// Slow-reader runs: the others' p99 over the events published while it was stalled, and
    /// what the stalled one got of all the events.
    stalled_p99_ms: Option<f64>,
    stalled_received: Option<(u64, u64)>,
}

/// What one subscriber hands back.
struct SubResult {
    counts: Vec<u8>,
    /// (seq, latency µs)
    latencies: Vec<(u32, u32)>,
    last_rx: Option<Instant>,
    slow: bool,
}

/// The phases a subscriber follows: reading, stalled (the slow one only), stop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Read,
    Stall,
    Stop,
}

#[allow(clippy::too_many_arguments)]
async fn subscriber(
    addr: SocketAddr,
    index: usize,
    slow: bool,
    events: usize,
    gate: Arc<Semaphore>,
    opened: Arc<AtomicUsize>,
    received: Arc<Vec<AtomicU64>>,
    mut phase: watch::Receiver<Phase>,
) -> Result<SubResult, String> {
    let permit = gate.acquire().await;
    // The slow one gets a small receive window, so that stalling it pushes back on the server.
    let (mut stream, mut decoder, rest) = open_stream(addr, slow.then_some(4096))
        .await
        .inspect_err(|_| {
            opened.fetch_add(1, Ordering::SeqCst);
        })?;
    drop(permit);
    opened.fetch_add(1, Ordering::SeqCst);
    let mut result = SubResult {
        counts: vec![0u8; events],
        latencies: Vec::with_capacity(events),
        last_rx: None,
        slow,
    };
    let mut on_event = |data: &[u8]| {
        let now = micros_now();
        let mut fields = data.split(|&b| b == b' ');
        let seq = fields
            .next()
            .and_then(|f| std::str::from_utf8(f).ok()?.parse::<usize>().ok());
        let stamp = fields
            .next()
            .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u64>().ok());
        let (Some(seq), Some(stamp)) = (seq, stamp) else {
            return;
        };
        let Some(count) = result.counts.get_mut(seq) else {
            return;
        };
        *count = count.saturating_add(1);
        let latency = u32::try_from(now.saturating_sub(stamp)).unwrap_or(u32::MAX);
        result
            .latencies
            .push((u32::try_from(seq).unwrap_or(u32::MAX), latency));
        result.last_rx = Some(Instant::now());
        received[index].fetch_add(1, Ordering::Relaxed);
    };
    decoder.feed(&rest, &mut on_event);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let now = *phase.borrow_and_update();
        match now {
            Phase::Stop => break,
            Phase::Stall if slow => {
                if phase.changed().await.is_err() {
                    break;
                }
                continue;
            }
            _ => {}
        }
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => decoder.feed(&buf[..n], &mut on_event),
            },
            changed = phase.changed() => if changed.is_err() { break },
        }
    }
    Ok(result)
}

/// The body of event `seq`: `<seq> <µs> xxx..`, `EVENT_BYTES` long.
fn event_body(seq: u64) -> Vec<u8> {
    let mut body = format!("{seq} {} ", micros_now()).into_bytes();
    body.resize(EVENT_BYTES.max(body.len()), b'x');
    body
}

/// One `POST /publish` on a fresh connection (the sansse example answers one request per
/// connection; axum is asked to close too, so both pay the same).
fn publish(addr: SocketAddr, body: &[u8]) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let head = format!(
            "POST /publish HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response.starts_with(b"HTTP/1.1 200"))
    };
    attempt().unwrap_or(false)
}

fn fan_out(
    rt: &tokio::runtime::Runtime,
    kind: Kind,
    options: &Options,
    rate: u32,
    with_slow: bool,
) -> FanOut {
    let server = Server::start(kind, options);
    let events = (options.secs * f64::from(rate)).round().max(1.0) as usize;
    let total_subs = options.subscribers + usize::from(with_slow);
    let received: Arc<Vec<AtomicU64>> =
        Arc::new((0..total_subs).map(|_| AtomicU64::new(0)).collect());
    let opened = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let (phase_tx, phase_rx) = watch::channel(Phase::Read);
    let tasks: Vec<_> = (0..total_subs)
        .map(|index| {
            let slow = with_slow && index == options.subscribers;
            rt.spawn(subscriber(
                server.addr,
                index,
                slow,
                events,
                gate.clone(),
                opened.clone(),
                received.clone(),
                phase_rx.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while opened.load(Ordering::SeqCst) < total_subs && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Lets the last streams' first writes settle before the clock starts.
    std::thread::sleep(Duration::from_millis(500));

    let cpu_start = cpu_time(Some(server.pid()));
    let own_cpu_start = cpu_time(None);
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut ok = vec![false; events];
    let stall_at = with_slow.then(|| usize::try_from(rate).unwrap_or(usize::MAX));
    let mut stall_from_seq = None;
    for (seq, ok) in ok.iter_mut().enumerate() {
        if Some(seq) == stall_at {
            phase_tx.send_replace(Phase::Stall);
            stall_from_seq = Some(seq);
        }
        let due = start + interval.mul_f64(seq as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        *ok = publish(server.addr, &event_body(seq as u64));
    }
    let publish_end = Instant::now();
    let scheduled_end = start + interval.mul_f64(events.saturating_sub(1) as f64);
    let lag = publish_end.saturating_duration_since(scheduled_end);
    let stall_to_seq = events;
    phase_tx.send_replace(Phase::Read);

    // Waits until every subscriber has every event, or 3 s more.
    let published = ok.iter().filter(|&&ok| ok).count() as u64;
    let drain_deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < drain_deadline {
        // The slow reader may have lost events for good: it is not waited for.
        let all = received
            .iter()
            .take(options.subscribers)
            .all(|count| count.load(Ordering::Relaxed) >= published);
        if all {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let cpu = cpu_time(Some(server.pid())).saturating_sub(cpu_start);
    let own_cpu = cpu_time(None).saturating_sub(own_cpu_start);
    phase_tx.send_replace(Phase::Stop);
    let results: Vec<_> = rt.block_on(async {
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        results
    });
    drop(server);

    let mut figures = FanOut {
        published,
        publish_failures: events as u64 - published,
        lag_ms: lag.as_secs_f64() * 1e3,
        generator_cpu_s: own_cpu.as_secs_f64(),
        ..FanOut::default()
    };
    let mut latencies = Vec::new();
    let mut stalled_window = Vec::new();
    let mut last_rx = start;
    for result in results {
        let result = match result {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => {
                if figures.open_errors == 0 {
                    eprintln!("  {}: a stream did not open: {error}", kind.name());
                }
                figures.open_errors += 1;
                continue;
            }
            Err(error) => {
                eprintln!("  {}: a subscriber failed: {error}", kind.name());
                figures.open_errors += 1;
                continue;
            }
        };
        if result.slow {
            let got = result.counts.iter().filter(|&&count| count > 0).count() as u64;
            figures.stalled_received = Some((got, published));
            continue;
        }
        figures.subscribers_opened += 1;
        for (seq, &count) in result.counts.iter().enumerate() {
            if ok[seq] {
                figures.lost += u64::from(count == 0);
                figures.duplicated += u64::from(count.saturating_sub(1));
            }
        }
        figures.deliveries += result.latencies.len() as u64;
        if let Some(at) = result.last_rx {
            last_rx = last_rx.max(at);
        }
        for &(seq, latency) in &result.latencies {
            latencies.push(latency);
            let seq = seq as usize;
            if stall_from_seq.is_some_and(|from| seq >= from && seq < stall_to_seq) {
                stalled_window.push(latency);
            }
        }
    }
    figures.p50_ms = percentile(&mut latencies, 0.50);
    figures.p99_ms = percentile(&mut latencies, 0.99);
    if stall_from_seq.is_some() {
        figures.stalled_p99_ms = Some(percentile(&mut stalled_window, 0.99));
    }
    let window = last_rx.saturating_duration_since(start).as_secs_f64();
    figures.deliveries_per_s = figures.deliveries as f64 / window.max(1e-9);
    figures.cpu_ms_per_1000 = cpu.as_secs_f64() * 1e3 / (figures.deliveries.max(1) as f64 / 1e3);
    figures
}

/// The `q` quantile of `values` (µs), in ms; NaN when there are none.
fn percentile(values: &mut [u32], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    let (_, value, _) = values.select_nth_unstable(rank);
    f64::from(*value) / 1e3
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|value| !value.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A row of the table: the figure and one value per server.
struct Row {
    figure: String,
    values: Vec<Option<f64>>,
    /// How a value prints.
    format: fn(f64) -> String,
    /// Whether a ratio means anything for this row.
    ratio: bool,
}

fn print_table(kinds: &[Kind], rows: &[Row]) {
    let mut header = String::from("| figure |");
    let mut rule = String::from("|---|");
    for kind in kinds {
        header.push_str(&format!(" {} |", kind.name()));
        rule.push_str("---:|");
    }
    let both = kinds == [Kind::Sansse, Kind::Axum];
    if both {
        header.push_str(" sansse ÷ axum |");
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    for row in rows {
        let mut line = format!("| {} |", row.figure);
        for value in &row.values {
            let cell = value.map_or("-".to_owned(), row.format);
            line.push_str(&format!(" {cell} |"));
        }
        if both {
            let ratio = match (row.values.first(), row.values.get(1)) {
                (Some(Some(a)), Some(Some(b))) if row.ratio && *b != 0.0 => {
                    format!("{:.2}×", a / b)
                }
                _ => "-".to_owned(),
            };
            line.push_str(&format!(" {ratio} |"));
        }
        println!("{line}");
    }
}

fn main() {
    let options = Options::parse();
    ORIGIN.get_or_init(Instant::now);
    let files = raise_file_limit();
    // Each stream costs this process one file and the server one; both share the limit.
    let fits = usize::try_from(files.saturating_sub(200)).unwrap_or(usize::MAX);
    let mut options = options;
    for count in &mut options.streams {
        if *count > fits {
            eprintln!("server_scale: the file limit is {files}: {count} streams capped to {fits}");
            *count = fits;
        }
    }
    if options.subscribers + 1 > fits {
        eprintln!("server_scale: the file limit is {files}: fewer subscribers");
        options.subscribers = fits.saturating_sub(1).max(1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let kinds = options.kinds.clone();
    let mut rows = Vec::new();
    let ms = |v: f64| format!("{v:.1} ms");

    if !options.quick {
        let rss: Vec<RssFigures> = kinds
            .iter()
            .map(|&kind| measure_rss(&rt, kind, &options))
            .collect();
        rows.push(Row {
            figure: "idle RSS".to_owned(),
            values: rss.iter().map(|r| Some(r.idle_kib as f64)).collect(),
            format: |v| format!("{:.1} MiB", v / 1024.0),
            ratio: true,
        });
        for (i, &count) in options.streams.iter().enumerate() {
            rows.push(Row {
                figure: format!("RSS per idle stream, {count} streams"),
                values: rss
                    .iter()
                    .map(|r| r.per_stream.get(i).map(|&(_, per)| per))
                    .collect(),
                format: |v| format!("{v:.1} KiB"),
                ratio: true,
            });
        }
    }

    let mut failed = false;
    let runs = |rate: u32, slow: bool| -> Vec<Vec<FanOut>> {
        let mut per_kind = vec![Vec::new(); kinds.len()];
        for rep in 0..options.reps {
            for (k, &kind) in kinds.iter().enumerate() {
                let run = fan_out(&rt, kind, &options, rate, slow);
                eprintln!(
                    "  {} {rate}/s{} rep {}: {} subscribers, {} published ({} failed), \
                     {} deliveries ({:.0}/s), lost {}, duplicated {}, p50 {:.1} ms, p99 {:.1} ms, \
                     lag {:.0} ms, CPU {:.2} ms/1000, generator CPU {:.1} s{}",
                    kind.name(),
                    if slow { " + slow reader" } else { "" },
                    rep + 1,
                    run.subscribers_opened,
                    run.published,
                    run.publish_failures,
                    run.deliveries,
                    run.deliveries_per_s,
                    run.lost,
                    run.duplicated,
                    run.p50_ms,
                    run.p99_ms,
                    run.lag_ms,
                    run.cpu_ms_per_1000,
                    run.generator_cpu_s,
                    match (run.stalled_p99_ms, run.stalled_received) {
                        (Some(p99), Some((got, of))) => format!(
                            ", others' p99 while stalled {p99:.1} ms, stalled reader got {got} of {of}"
                        ),
                        _ => String::new(),
                    }
                );
                per_kind[k].push(run);
            }
        }
        per_kind
    };

    let mut all_runs = Vec::new();
    for &rate in &options.rates {
        let per_kind = runs(rate, false);
        let subs = options.subscribers;
        let med = |f: fn(&FanOut) -> f64| -> Vec<Option<f64>> {
            per_kind
                .iter()
                .map(|runs| Some(median(runs.iter().map(f).collect())))
                .collect()
        };
        rows.push(Row {
            figure: format!("{subs} subscribers, {rate} events/s: deliveries/s"),
            values: med(|r| r.deliveries_per_s),
            format: |v| format!("{:.1}k", v / 1e3),
            ratio: true,
        });
        rows.push(Row {
            figure: "… publish loop behind schedule at the end".to_owned(),
            values: med(|r| r.lag_ms),
            format: ms,
            ratio: false,
        });
        rows.push(Row {
            figure: "… publish-to-receive p50".to_owned(),
            values: med(|r| r.p50_ms),
            format: ms,
            ratio: true,
        });
        rows.push(Row {
            figure: "… publish-to-receive p99".to_owned(),
            values: med(|r| r.p99_ms),
            format: ms,
            ratio: true,
        });
        rows.push(Row {
            figure: "… server CPU per 1000 deliveries".to_owned(),
            values: med(|r| r.cpu_ms_per_1000),
            format: |v| format!("{v:.2} ms"),
            ratio: true,
        });
        rows.push(Row {
            figure: "… lost / duplicated (all runs)".to_owned(),
            values: per_kind
                .iter()
                .map(|runs| Some(runs.iter().map(|r| (r.lost + r.duplicated) as f64).sum()))
                .collect(),
            format: |v| format!("{v:.0}"),
            ratio: false,
        });
        all_runs.extend(per_kind.into_iter().enumerate());
    }

    if !options.quick {
        let rate = options.rates.iter().copied().max().unwrap_or(200);
        let per_kind = runs(rate, true);
        rows.push(Row {
            figure: format!("slow reader at {rate} events/s: the others' p99 while it stalls"),
            values: per_kind
                .iter()
                .map(|runs| {
                    Some(median(
                        runs.iter().filter_map(|r| r.stalled_p99_ms).collect(),
                    ))
                })
                .collect(),
            format: ms,
            ratio: true,
        });
        rows.push(Row {
            figure: "… events the stalled reader got in the end (of those published)".to_owned(),
            values: per_kind
                .iter()
                .map(|runs| {
                    Some(median(
                        runs.iter()
                            .filter_map(|r| r.stalled_received)
                            .map(|(got, of)| 100.0 * got as f64 / of.max(1) as f64)
                            .collect(),
                    ))
                })
                .collect(),
            format: |v| format!("{v:.0} %"),
            ratio: false,
        });
        all_runs.extend(per_kind.into_iter().enumerate());
    }

    for (k, runs) in &all_runs {
        for run in runs {
            let bad = run.lost > 0
                || run.duplicated > 0
                || run.publish_failures > 0
                || run.open_errors > 0
                || run.subscribers_opened < options.subscribers;
            if bad {
                failed = true;
                eprintln!(
                    "server_scale: {}: lost {}, duplicated {}, {} publishes failed, {} streams \
                     did not open",
                    kinds[*k].name(),
                    run.lost,
                    run.duplicated,
                    run.publish_failures,
                    run.open_errors
                );
            }
        }
    }
    print_table(&kinds, &rows);
    if failed {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::Decoder;

    /// Feeds `pieces` in turn; the data of every event decoded.
    fn decode(chunked: bool, pieces: &[&[u8]]) -> Vec<String> {
        let mut decoder = Decoder::new(chunked);
        let mut events = Vec::new();
        for piece in pieces {
            decoder.feed(piece, &mut |data| {
                events.push(String::from_utf8_lossy(data).into_owned())
            });
        }
        events
    }

    #[test]
    fn plain_body_events_split_anywhere_decode_whole() {
        let body = b"retry: 1000\n\nid: 1-1\ndata: 0 5 xx\n\n: ping\r\nid: 1-2\r\ndata:1 7\r\n\r\n";
        for cut in 0..body.len() {
            let events = decode(false, &[&body[..cut], &body[cut..]]);
            assert_eq!(events, ["0 5 xx", "1 7"], "cut at {cut}");
        }
    }

    #[test]
    fn chunked_body_split_anywhere_decodes_the_same_events() {
        let body = b"a\r\nid: 1\ndata\r\n1b\r\n: 0 5 xx\n\nid: 2\ndata: 1 7\n\n\r\n0\r\n\r\n";
        for cut in 0..body.len() {
            let events = decode(true, &[&body[..cut], &body[cut..]]);
            assert_eq!(events, ["0 5 xx", "1 7"], "cut at {cut}");
        }
    }
}
