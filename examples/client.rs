//! curl for Server-Sent Events: follows one stream across reconnects and prints its events.
//!
//! ```text
//! client URL [--header K:V]... [--sensitive-header NAME]... [--last-event-id ID]
//!            [--idle-timeout SECS] [--method M --data BODY] [--max-events N] [--max-attempts N]
//! cargo run --example client -- http://127.0.0.1:8080/events --max-events 10
//! ```
//!
//! Credentials stay with the origin of the URL, as in curl without `--location-trusted`: when
//! a redirect leads to another host or port, the request there leaves out `Authorization`,
//! `Cookie`, `Proxy-Authorization` and every header named with `--sensitive-header` (the
//! session's own request writer does this; see `ClientConfig`'s "Credentials and redirects").
//!
//! Plain `http://` only: this crate has no TLS. For an `https://` stream, put a TLS-terminating
//! proxy on loopback in front of it, or use `curl -N URL | cargo run --example sse_dump`.
//!
//! Events go to stdout, one JSON object per line, exactly as `sse_dump` prints them:
//! `{"type":..,"data":..,"id":..}` per event and `{"retry":N}` when the server's `retry:`
//! changes the reconnection time (the value in force, clamped to 100 ms..10 min). The story of
//! the connection goes to stderr: opened, lost and why, when the next attempt is, the id it
//! resumes after, and why it ended.
//!
//! Exit status: 0 when `--max-events` were printed or the server answered `204 No Content`
//! (stop for good); 1 when it gave up (`--max-attempts` attempts in one outage); 2 for bad
//! usage; 3 when the server's answer can never become a stream (a `404`, the wrong content
//! type, a redirect to `https`); 4 when stdout failed.
//!
//! The client is `sansse::Client`, pulled on smol: the connect closure is the only piece that
//! knows about the runtime (the crate's `StdTimer` runs on any executor).

use core::ops::ControlFlow;
use core::time::Duration;
use std::io::{self, Write};
use std::process::ExitCode;

use sansse::backoff::BackoffConfig;
use sansse::client::{CloseReason, SessionEvent};
use sansse::heartbeat::IdleConfig;
use sansse::http::{Location, LocationError, Scheme};
use sansse::io::{FuturesIo, StdTimer};
use sansse::{Client, ClientConfig, ClientItem, ClientMemory, Event, ParseError};

#[path = "common/json.rs"]
mod json;

const USAGE: &str = "usage: client URL [--header K:V]... [--sensitive-header NAME]... \
                     [--last-event-id ID] [--idle-timeout SECS] [--method M --data BODY] [--max-events N] \
                     [--max-attempts N]";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("client: {problem}");
            }
            eprintln!("{USAGE}");
            return if problem.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let headers: Vec<(&str, &str)> = args
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let sensitive: Vec<&str> = args.sensitive.iter().map(String::as_str).collect();
    let mut backoff = BackoffConfig::new();
    if let Some(attempts) = args.max_attempts {
        backoff = backoff.with_max_attempts(attempts);
    }
    let mut config = ClientConfig::new(&args.host, &args.target)
        .with_port(args.port)
        .with_headers(&headers)
        .with_sensitive_headers(&sensitive)
        .with_last_event_id(&args.last_event_id)
        .with_method(&args.method)
        .with_backoff(backoff);
    if let Some(body) = &args.data {
        config = config.with_body(body.as_bytes());
    }
    if let Some(limit) = args.idle_timeout {
        // Pinned: the server's keep-alive announcement does not resize it.
        config = config.with_idle(
            IdleConfig::new()
                .with_timeout(limit)
                .with_announced_bounds(limit, limit),
        );
    }

    // Room for 1 MiB events; the parser skips (and reports) anything larger.
    let mut memory = Box::new(ClientMemory::<
        { 1 << 20 },
        8192,
        8192,
        2048,
        { 16 << 10 },
        8192,
    >::new());
    let seed = std::process::id().into();
    // smol's TCP connect, the one runtime-specific piece of the program.
    let connect = async |host: &str, port: u16| {
        let stream = smol::net::TcpStream::connect((host, port)).await?;
        // The request goes out in one piece; coalescing would only delay it.
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(FuturesIo::new(stream))
    };
    let mut client = match Client::with_timer(config, connect, StdTimer::new(), seed, &mut *memory)
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("client: {error}");
            return ExitCode::from(2);
        }
    };
    let mut printer = Printer {
        out: io::stdout(),
        printed: 0,
        max_events: args.max_events,
        resume_id: args.last_event_id.clone(),
        output_failed: None,
    };
    // `Some(reason)` when the session closed, `None` when the printer stopped.
    let closed = smol::block_on(async {
        while let Some(item) = client.next().await {
            let flow = match item {
                ClientItem::Event(event) => printer.on_message(Ok(event)),
                ClientItem::Skipped(skipped) => printer.on_message(Err(skipped)),
                ClientItem::Story(event) => {
                    let flow = printer.on_event(event);
                    if let SessionEvent::Closed { reason } = event {
                        return Some(reason);
                    }
                    flow
                }
                _ => ControlFlow::Continue(()),
            };
            if flow.is_break() {
                return None;
            }
        }
        None
    });

    match (closed, printer.output_failed) {
        (_, Some(error)) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (_, Some(error)) => {
            eprintln!("client: stdout: {error}");
            ExitCode::from(4)
        }
        // The story (on stderr) already said why.
        (None, None) => ExitCode::SUCCESS,
        (Some(reason), None) => exit_code(reason),
    }
}

fn exit_code(reason: CloseReason) -> ExitCode {
    match reason {
        CloseReason::NoContent | CloseReason::Local => ExitCode::SUCCESS,
        CloseReason::GaveUp(_) => ExitCode::from(1),
        _ => ExitCode::from(3),
    }
}

/// Prints events to stdout and the story to stderr; stops after `max_events`.
struct Printer {
    out: io::Stdout,
    printed: u64,
    max_events: Option<u64>,
    /// The id the next attempt resumes after, as far as the printer has seen.
    resume_id: String,
    output_failed: Option<io::Error>,
}

impl Printer {
    /// Writes one line and flushes it, so a reader of a live stream sees it at once.
    fn emit(
        &mut self,
        write: impl FnOnce(&mut io::StdoutLock<'_>) -> io::Result<()>,
    ) -> ControlFlow<()> {
        let mut out = self.out.lock();
        match write(&mut out).and_then(|()| out.flush()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                self.output_failed = Some(error);
                ControlFlow::Break(())
            }
        }
    }
}

impl Printer {
    /// Prints an event (or reports a skipped one); `Break` once `max_events` are printed.
    fn on_message(&mut self, message: Result<Event<'_>, ParseError>) -> ControlFlow<()> {
        let event = match message {
            Ok(event) => event,
            Err(skipped) => {
                eprintln!("client: {skipped}");
                return ControlFlow::Continue(());
            }
        };
        self.resume_id.clear();
        self.resume_id.push_str(event.id());
        self.emit(|out| json::write_event(out, event.event_type(), event.data(), event.id()))?;
        self.printed += 1;
        if self.max_events.is_some_and(|max| self.printed >= max) {
            eprintln!("client: {} events printed; done", self.printed);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// Tells the story on stderr, and the reconnection time on stdout.
    fn on_event(&mut self, event: SessionEvent<'_>) -> ControlFlow<()> {
        match event {
            SessionEvent::Open { status, .. } if self.resume_id.is_empty() => {
                eprintln!("client: open ({status})");
            }
            SessionEvent::Open { status, .. } => {
                eprintln!(
                    "client: open ({status}), resuming after id {:?}",
                    self.resume_id
                );
            }
            SessionEvent::RetryChanged(time) => {
                let ms = u64::try_from(time.as_millis()).unwrap_or(u64::MAX);
                return self.emit(|out| json::write_retry(out, ms));
            }
            SessionEvent::Redirected { status } => {
                eprintln!("client: following a {status} redirect")
            }
            SessionEvent::Reconnecting { delay, reason } => eprintln!(
                "client: {reason}; reconnecting in {} ms (attempt {}){}",
                delay.delay.as_millis(),
                delay.attempt,
                if self.resume_id.is_empty() {
                    String::new()
                } else {
                    format!(", resuming after id {:?}", self.resume_id)
                }
            ),
            SessionEvent::Closed { reason } => eprintln!("client: closed: {reason}"),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The command line, checked.
struct Args {
    host: String,
    port: u16,
    target: String,
    headers: Vec<(String, String)>,
    /// Header names withheld from other origins, beyond the built-in credentials.
    sensitive: Vec<String>,
    last_event_id: String,
    idle_timeout: Option<Duration>,
    method: String,
    data: Option<String>,
    max_events: Option<u64>,
    max_attempts: Option<u32>,
}

impl Args {
    /// Parses the arguments; `Err("")` asks for the usage text alone.
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut url = None;
        let mut parsed = Self {
            host: String::new(),
            port: 80,
            target: String::new(),
            headers: Vec::new(),
            sensitive: Vec::new(),
            last_event_id: String::new(),
            idle_timeout: None,
            method: "GET".into(),
            data: None,
            max_events: None,
            max_attempts: None,
        };
        let mut method = None;
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "-h" | "--help" => return Err(String::new()),
                "--header" | "-H" => {
                    let header = value("--header")?;
                    let (name, value) = header
                        .split_once(':')
                        .ok_or(format!("--header takes NAME:VALUE, not {header:?}"))?;
                    parsed
                        .headers
                        .push((name.trim().into(), value.trim().into()));
                }
                "--sensitive-header" => parsed
                    .sensitive
                    .push(value("--sensitive-header")?.trim().into()),
                "--last-event-id" => parsed.last_event_id = value("--last-event-id")?,
                "--idle-timeout" => {
                    let secs = value("--idle-timeout")?;
                    let secs = secs
                        .parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                        .filter(|d| !d.is_zero())
                        .ok_or(format!(
                            "--idle-timeout takes positive seconds, not {secs:?}"
                        ))?;
                    parsed.idle_timeout = Some(secs);
                }
                "--method" | "-X" => method = Some(value("--method")?),
                "--data" | "-d" => parsed.data = Some(value("--data")?),
                "--max-events" => parsed.max_events = Some(number(&value("--max-events")?)?),
                "--max-attempts" => {
                    let attempts = number(&value("--max-attempts")?)?;
                    parsed.max_attempts =
                        Some(u32::try_from(attempts).map_err(|_| "--max-attempts is too large")?);
                }
                _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        let url = url.ok_or("a URL is needed")?;
        let location = match Location::parse(&url) {
            Ok(location) => location,
            Err(LocationError::UnsupportedScheme) => {
                return Err(format!("{url:?}: only http:// URLs are supported"));
            }
            Err(_) => return Err(format!("{url:?} is not a valid http:// URL")),
        };
        match (location.scheme(), location.host(), location.port()) {
            (Some(Scheme::Http), Some(host), Some(port)) => {
                parsed.host = host.into();
                parsed.port = port;
                parsed.target = match location.target() {
                    "" => "/".into(),
                    target => target.into(),
                };
            }
            (Some(Scheme::Https), ..) => {
                return Err(format!(
                    "{url:?}: https is not supported (this crate has no TLS); use a \
                     TLS-terminating proxy on loopback, or `curl -N URL | sse_dump`"
                ));
            }
            _ => return Err(format!("{url:?} is not an absolute http:// URL")),
        }
        // A body without a method means POST, as in curl.
        parsed.method =
            method.unwrap_or_else(|| if parsed.data.is_some() { "POST" } else { "GET" }.into());
        Ok(parsed)
    }
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or(format!("expected a positive number, not {text:?}"))
}
