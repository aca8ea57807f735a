//! The peer of `examples/server` in the server-scale benchmark: an idiomatic axum 0.8 `Sse`
//! broadcast server on tokio (multi-thread runtime, default worker count).
//!
//! - `GET /events`: every event published from now on, from a `tokio::sync::broadcast` channel,
//!   each with a numeric id, and keep-alive comments. A subscriber that lags past the channel's
//!   capacity skips what it missed (the idiomatic `BroadcastStream` + `filter_map`).
//! - `POST /publish`: the body (UTF-8) becomes one event's data; answers 200 with the new id.
//!
//! ```text
//! axum_peer [--addr HOST:PORT] [--keepalive MS] [--capacity N]
//! ```
//!
//! The first line on stdout is `listening on http://ADDR` (default 127.0.0.1:0, a free port), as
//! with `examples/server`.

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

/// What every handler shares: the channel, and the last id handed out.
#[derive(Clone)]
struct App {
    /// Carries `(id, data)` to every subscriber.
    tx: broadcast::Sender<(u64, Arc<str>)>,
    /// The last id; held while sending, so ids reach the channel in order.
    last_id: Arc<Mutex<u64>>,
    keepalive: Duration,
}

const USAGE: &str = "usage: axum_peer [--addr HOST:PORT] [--keepalive MS] [--capacity N]";

fn main() {
    let mut addr = "127.0.0.1:0".to_owned();
    // axum's own default interval, the same as examples/server's.
    let mut keepalive = Duration::from_secs(15);
    let mut capacity = 1024usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || match args.next() {
            Some(value) => value,
            None => fail(&format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--addr" => addr = value(),
            "--keepalive" => match value().parse::<u64>() {
                Ok(ms) => keepalive = Duration::from_millis(ms),
                Err(_) => fail("--keepalive: not a number"),
            },
            "--capacity" => match value().parse::<usize>() {
                Ok(n) if n > 0 => capacity = n,
                _ => fail("--capacity: a positive number"),
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            other => fail(&format!("unknown flag {other}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| fail(&format!("no runtime: {error}")));
    runtime.block_on(serve(addr, keepalive, capacity));
}

fn fail(message: &str) -> ! {
    eprintln!("axum_peer: {message}\n{USAGE}");
    std::process::exit(2);
}

async fn serve(addr: String, keepalive: Duration, capacity: usize) {
    let (tx, _) = broadcast::channel(capacity);
    let app = App {
        tx,
        last_id: Arc::new(Mutex::new(0)),
        keepalive,
    };
    let router = Router::new()
        .route("/events", get(events))
        .route("/publish", post(publish))
        .with_state(app);
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("axum_peer: cannot listen on {addr}: {error}");
            std::process::exit(1);
        }
    };
    let local = listener
        .local_addr()
        .expect("a bound socket has an address");
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{local}");
    let _ = stdout.flush();
    if let Err(error) = axum::serve(listener, router).await {
        eprintln!("axum_peer: {error}");
        std::process::exit(1);
    }
}

/// `GET /events`: the events published from now on.
async fn events(State(app): State<App>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(app.tx.subscribe()).filter_map(|item| {
        // `Err` is a lag notice: the events it counts are gone, so the stream goes on without.
        let (id, data) = item.ok()?;
        Some(Ok(Event::default().id(id.to_string()).data(&*data)))
    });
    let keepalive = if app.keepalive.is_zero() {
        // `--keepalive 0` means none, as with examples/server: a year is never in a benchmark.
        KeepAlive::new().interval(Duration::from_secs(365 * 24 * 3600))
    } else {
        KeepAlive::new().interval(app.keepalive)
    };
    Sse::new(stream).keep_alive(keepalive)
}

/// `POST /publish`: the body becomes one event's data; the answer is its id.
async fn publish(State(app): State<App>, body: String) -> (StatusCode, String) {
    let mut last = app
        .last_id
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = last.saturating_add(1);
    *last = id;
    // No subscriber is not an error: the event is published to nobody.
    let _ = app.tx.send((id, Arc::from(body)));
    (StatusCode::OK, format!("{id}\n"))
}
