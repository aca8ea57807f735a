//! curl for Server-Sent Events: follows one stream across reconnects and prints its events.
//!
//! ```text
//! client URL [--header K:V]... [--sensitive-header NAME]... [--last-event-id ID]
//!            [--idle-timeout SECS] [--method M --data BODY] [--max-events N] [--max-attempts N]
//!            [--cacert FILE]
//! cargo run --example client -- http://127.0.0.1:8080/events --max-events 10
//! cargo run --features tls --example client -- https://example.com/events --cacert ca.pem
//! ```
//!
//! Credentials stay with the origin of the URL, as in curl without `--location-trusted`: when
//! a redirect leads to another host or port, the request there leaves out `Authorization`,
//! `Cookie`, `Proxy-Authorization` and every header named with `--sensitive-header` (the
//! session's own request writer does this; see `ClientConfig`'s "Credentials and redirects").
//!
//! `https://` URLs need the `tls` feature (`sansse::io::tls`, rustls): the connection is TLS
//! from the first byte, default port 443, with SNI, certificate and host-name verification for
//! the URL's host against the Mozilla roots (webpki-roots) plus any `--cacert FILE` (PEM, one
//! or more CA certificates, as in curl), and ALPN `http/1.1`. Nothing falls back to plain
//! text. Built without `tls`, an `https://` URL is refused with "built without the tls
//! feature". A refused certificate (unknown issuer, a certificate for another host, expired or
//! not yet valid) is reported once and ends the client (exit status 5): retrying the same
//! server cannot help. Any other failure to connect (refused, reset, a handshake that breaks
//! off) is retried with backoff, and every reconnect resumes with `Last-Event-ID`, over TLS as
//! over TCP.
//!
//! Redirects keep the scheme of the URL (the session carries no scheme): a redirect without one
//! (`/next`, `?page=2`) is followed on the same connection kind, one to an absolute `https://`
//! URL is refused and ends the client (exit status 3, saying that the redirect was not
//! followed), so a client started on `http://` never switches to TLS and one started on
//! `https://` never to plain text. An absolute `http://` redirect from an `https://` stream is
//! still connected with TLS (to that URL's port, where the handshake fails and is retried),
//! never in plain text.
//!
//! Events go to stdout, one JSON object per line, exactly as `sse_dump` prints them:
//! `{"type":..,"data":..,"id":..}` per event and `{"retry":N}` when the server's `retry:`
//! changes the reconnection time (the value in force, clamped to 100 ms..10 min). The story of
//! the connection goes to stderr: opened, lost and why, when the next attempt is, the id it
//! resumes after, and why it ended.
//!
//! Exit status: 0 when `--max-events` were printed or the server answered `204 No Content`
//! (stop for good); 1 when it gave up (`--max-attempts` attempts in one outage); 2 for bad
//! usage (an `https://` URL or `--cacert` without the `tls` feature too); 3 when the server's
//! answer can never become a stream (a `404`, the wrong content type, a redirect to another
//! scheme); 4 when stdout failed; 5 when the server's certificate was refused; 6 when the
//! `--cacert` file cannot be read or holds no usable CA certificate.
//!
//! The client is `sansse::Client`, pulled on smol: the connect closure is the only piece that
//! knows about the runtime (the crate's `StdTimer` runs on any executor).

#[cfg(feature = "tls")]
use core::cell::RefCell;
use core::ops::ControlFlow;
use core::time::Duration;
use std::io::{self, Write};
use std::process::ExitCode;

use sansse::backoff::BackoffConfig;
use sansse::client::{CloseReason, SessionEvent};
use sansse::heartbeat::IdleConfig;
use sansse::http::{Location, LocationError, Scheme};
#[cfg(not(feature = "tls"))]
use sansse::io::FuturesIo;
use sansse::io::StdTimer;
#[cfg(feature = "tls")]
use sansse::io::tls::{TlsConfig, TlsConnector, TlsError};
use sansse::{Client, ClientConfig, ClientItem, ClientMemory, Event, ParseError};

#[path = "common/json.rs"]
mod json;

const USAGE: &str = "usage: client URL [--header K:V]... [--sensitive-header NAME]... \
                     [--last-event-id ID] [--idle-timeout SECS] [--method M --data BODY] [--max-events N] \
                     [--max-attempts N] [--cacert FILE]\n\
                     https:// needs the tls feature; a redirect to another scheme is not followed \
                     (exit 3); exit 5: certificate refused; exit 6: bad --cacert file";

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
    #[cfg(feature = "tls")]
    let connector = match args.cacert.as_deref() {
        None => TlsConnector::new(TlsConfig::new()),
        Some(path) => match TlsConfig::new().with_ca_file(path) {
            Ok(config) => TlsConnector::new(config),
            Err(error) => {
                eprintln!("client: --cacert {path}: {error}");
                return ExitCode::from(EXIT_BAD_CACERT);
            }
        },
    };
    // The session learns only an error's kind; the certificate refusal itself is kept here,
    // so that it can be reported as what it is and end the client instead of a retry.
    #[cfg(feature = "tls")]
    let refused: RefCell<Option<TlsError>> = RefCell::new(None);
    let secure = args.secure;
    // smol's TCP connect, the one runtime-specific piece of the program, then TLS when the URL
    // is `https://` (the scheme decides, never the port).
    let connect = async |host: &str, port: u16| {
        let stream = smol::net::TcpStream::connect((host, port)).await?;
        // The request goes out in one piece; coalescing would only delay it.
        stream.set_nodelay(true)?;
        #[cfg(feature = "tls")]
        let stream = match connector.connect_maybe(secure, host, stream).await {
            Ok(stream) => stream,
            Err(error) if error.is_certificate() => {
                let kind = io::Error::from(io::ErrorKind::InvalidData);
                refused.replace(Some(error));
                return Err(kind);
            }
            Err(error) => return Err(io::Error::from(error)),
        };
        #[cfg(not(feature = "tls"))]
        let stream = {
            // `Args::parse` refuses `https://` in this build.
            debug_assert!(!secure);
            FuturesIo::new(stream)
        };
        Ok::<_, io::Error>(stream)
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
            #[cfg(feature = "tls")]
            if let ClientItem::Story(_) = item
                && let Some(error) = refused.borrow().as_ref()
            {
                // Said once, instead of the story of the failed connect (a retry, or giving
                // up): the same server will present the same certificate.
                eprintln!("client: {error}; not retrying");
                return Some(Closed::CertificateRefused);
            }
            let flow = match item {
                ClientItem::Event(event) => printer.on_message(Ok(event)),
                ClientItem::Skipped(skipped) => printer.on_message(Err(skipped)),
                ClientItem::Story(event) => {
                    let flow = printer.on_event(event);
                    if let SessionEvent::Closed { reason } = event {
                        return Some(Closed::Session(reason));
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
        (Some(Closed::CertificateRefused), None) => ExitCode::from(EXIT_CERTIFICATE_REFUSED),
        (Some(Closed::Session(reason)), None) => exit_code(reason),
    }
}

/// Exit status when the server's certificate was refused.
const EXIT_CERTIFICATE_REFUSED: u8 = 5;
/// Exit status when the `--cacert` file is unreadable or holds no usable CA certificate.
#[cfg(feature = "tls")]
const EXIT_BAD_CACERT: u8 = 6;

/// Why the stream ended, when it was not the printer's doing.
enum Closed {
    /// The session closed.
    Session(CloseReason),
    /// The TLS handshake refused the server's certificate.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    CertificateRefused,
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
            SessionEvent::Closed {
                reason: CloseReason::UnsupportedRedirect,
            } => eprintln!(
                "client: closed: the server redirected to an absolute https:// URL, which is \
                 not followed: this client keeps the scheme of its URL"
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
    /// The URL is `https://`: connect with TLS.
    secure: bool,
    /// A PEM file of extra CA certificates (`--cacert`).
    cacert: Option<String>,
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
            secure: false,
            cacert: None,
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
                "--cacert" => parsed.cacert = Some(value("--cacert")?),
                _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        let url = url.ok_or("a URL is needed")?;
        let location = match Location::parse(&url) {
            Ok(location) => location,
            Err(LocationError::UnsupportedScheme) => {
                return Err(format!(
                    "{url:?}: only http:// and https:// URLs are supported"
                ));
            }
            Err(_) => return Err(format!("{url:?} is not a valid http:// or https:// URL")),
        };
        let (Some(scheme), Some(host), Some(port)) =
            (location.scheme(), location.host(), location.port())
        else {
            return Err(format!(
                "{url:?} is not an absolute http:// or https:// URL"
            ));
        };
        parsed.secure = scheme == Scheme::Https;
        if !cfg!(feature = "tls") && (parsed.secure || parsed.cacert.is_some()) {
            return Err(format!(
                "{}: this client was built without the tls feature \
                 (cargo run --features tls --example client)",
                if parsed.secure {
                    url.as_str()
                } else {
                    "--cacert"
                }
            ));
        }
        parsed.host = host.into();
        parsed.port = port;
        parsed.target = match location.target() {
            "" => "/".into(),
            target => target.into(),
        };
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
