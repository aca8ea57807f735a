//! The defmt proof: every public sansse type a firmware author would log formats through defmt
//! on a Cortex-M, and real values from a client and a server session log without a fault.
//!
//! [`FORMATTED`] names each type once. For each, a logging function is built (`defmt::println!`
//! of a value of that type) and its address kept, so the build fails to compile or link if a
//! type lacks `defmt::Format` or its impl is broken. `main` then logs values that a short
//! client and server run produce, over semihosting, and exits with `EXIT_SUCCESS`.
//!
//! ```text
//! cargo run --release                                  # Cortex-M4F under QEMU; frames on stdout
//! cargo run --release | defmt-print -e ../target/thumbv7em-none-eabihf/release/sansse-firmware-defmt
//! ```
//!
//! The output is binary defmt frames; `defmt-print` (`cargo install defmt-print`) turns them
//! into text. CI only checks that the build links, that the run exits cleanly and that it
//! wrote frames.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m as _; // links the critical-section implementation the logger needs
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use defmt_semihosting as _; // the global logger
use panic_semihosting as _;

use sansse::Instant;
use sansse::client::{ClientConfig, ClientSession, ClientStorage, ErrorKind};
use sansse::replay::{ReplayLog, Ring};
use sansse::server::{AcceptOptions, ServerConfig, ServerSession};

/// Builds the table of logging functions, one per type, as raw addresses.
macro_rules! formatted {
    ($($t:ty),* $(,)?) => {
        [$({
            let log: fn(&$t) = log::<$t>;
            log as *const ()
        }),*]
    };
}

/// Logs one value; instantiated once per type.
fn log<T: defmt::Format>(value: &T) {
    defmt::println!("{}", value);
}

/// Every public type meant for logs: errors, events, states, reasons, deadlines, time, delays,
/// actions, configs and the borrowed views (heads, events, ids). The sessions, parsers,
/// readers, storage and iterators are left out: they hold buffers; log their `state()`,
/// `poll_deadline()` or `config()` instead.
fn formatted() -> impl Sized {
    formatted![
        // buffer
        sansse::BufferTooSmall,
        // time
        sansse::time::Instant,
        sansse::time::Monotonic,
        // parse
        sansse::parse::ParseError,
        sansse::parse::Limits,
        sansse::parse::Event<'static>,
        sansse::parse::Output<'static>,
        sansse::parse::Field,
        sansse::parse::Fragment<'static>,
        sansse::parse::Token<'static>,
        sansse::parse::Tokenizer,
        // encode
        sansse::encode::EventName<'static>,
        sansse::encode::EventId<'static>,
        sansse::encode::EventNameBuf<32>,
        sansse::encode::EventIdBuf<48>,
        sansse::encode::InvalidField,
        sansse::encode::Message<'static>,
        sansse::encode::Comment<'static>,
        // backoff
        sansse::backoff::BackoffConfig,
        sansse::backoff::Backoff,
        sansse::backoff::Delay,
        sansse::backoff::DelayReason,
        sansse::backoff::GiveUp,
        // heartbeat
        sansse::heartbeat::IdleConfig,
        sansse::heartbeat::IdleWatchdog,
        sansse::heartbeat::IdleLimit,
        sansse::heartbeat::IdleExpired,
        sansse::heartbeat::PingConfig,
        sansse::heartbeat::PingSchedule,
        sansse::heartbeat::PingAction,
        sansse::heartbeat::PongOverdue,
        sansse::heartbeat::KeepAlive,
        sansse::heartbeat::Lease,
        sansse::heartbeat::LeaseExpired,
        // http
        sansse::http::BodyFraming,
        sansse::http::FramingError,
        sansse::http::BodyError,
        sansse::http::Decoded<'static>,
        sansse::http::HeadLimits,
        sansse::http::HeadStatus,
        sansse::http::Version,
        sansse::http::Headers<'static>,
        sansse::http::Header<'static>,
        sansse::http::Scheme,
        sansse::http::Location<'static>,
        sansse::http::LocationError,
        sansse::http::Request<'static>,
        sansse::http::RequestHead<'static>,
        sansse::http::RequestError,
        sansse::http::RequestWriteError,
        sansse::http::StreamResponse<'static>,
        sansse::http::ErrorResponse<'static>,
        sansse::http::ResponseWriteError,
        sansse::http::ResponseHead<'static>,
        sansse::http::ResponseError,
        sansse::http::Policy,
        sansse::http::Verdict<'static>,
        sansse::http::Redirect<'static>,
        sansse::http::Failure,
        // client
        sansse::client::ClientConfig<'static>,
        sansse::client::ResumeMode,
        sansse::client::ConfigError,
        sansse::client::Action<'static>,
        sansse::client::SessionEvent<'static>,
        sansse::client::ReconnectReason,
        sansse::client::CloseReason,
        sansse::client::State,
        sansse::client::Deadline,
        sansse::client::TimerReason,
        sansse::client::RequestBuildError,
        sansse::client::AckError,
        sansse::client::ErrorKind,
        // replay
        sansse::replay::EventSeq,
        sansse::replay::Cursor,
        sansse::replay::Resume,
        sansse::replay::Gap,
        sansse::replay::Next<'static>,
        sansse::replay::PublishError,
        sansse::replay::GapEvent<'static>,
        // server
        sansse::server::ServerConfig<'static>,
        sansse::server::OverrunPolicy,
        sansse::server::AcceptOptions<'static>,
        sansse::server::CloseOptions<'static>,
        sansse::server::Decision,
        sansse::server::AcceptError,
        sansse::server::RejectError,
        sansse::server::TransmitError,
        sansse::server::WrittenError,
        sansse::server::LeaseError,
        sansse::server::CloseError,
        sansse::server::SessionEvent,
        sansse::server::StreamStart,
        sansse::server::CloseReason,
        sansse::server::TimerReason,
        sansse::server::Deadline,
        sansse::server::State,
    ]
}

#[entry]
fn main() -> ! {
    // Keeps every logging function, so each type's impl is compiled and linked.
    black_box(formatted());
    client_values();
    server_values();
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        core::hint::spin_loop();
    }
}

/// Logs what a client session hands out on its way from connect to a reset.
fn client_values() {
    let mut storage = ClientStorage::<512, 256, 256, 64>::new();
    let config = ClientConfig::new("sensors.local", "/events");
    let mut session = match ClientSession::new(Instant::ZERO, config, storage.buffers(), 7) {
        Ok(session) => session,
        Err(e) => {
            log(&e);
            return;
        }
    };
    log(session.config());
    log(&session.state());
    while let Some(action) = session.poll_action() {
        log(&action);
    }
    log(&session.handle_connected(Instant::from_millis(3)));
    log(&session.poll_deadline());
    let response = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\ndata: hi\n\n";
    let mut messages = session.handle_bytes(Instant::from_millis(9), response);
    while let Some(message) = messages.next() {
        log(&message);
    }
    drop(messages);
    session.handle_error(Instant::from_millis(20), ErrorKind::ConnectionReset);
    while let Some(event) = session.poll_event() {
        log(&event);
    }
    log(&session.poll_deadline());
    log(&session.ack(Instant::ZERO, "1"));
}

/// Logs what a server session hands out for a request that resumes from an unknown id.
fn server_values() {
    let mut ring = Ring::<4, 256>::new(3);
    let _ = ring.publish(None, "one");
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(Instant::ZERO, &mut storage, ServerConfig::new());
    session.handle_bytes(
        Instant::from_millis(1),
        b"GET /events HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 9-9\r\n\r\n",
    );
    log(&session.request());
    log(&session.accept(Instant::from_millis(2), &ring, AcceptOptions::new()));
    let mut buf = [0u8; 8];
    log(&session.poll_transmit(Instant::from_millis(3), &ring, &mut buf));
    log(&ring.resume(Some(b"3-1")));
    session.handle_eof(Instant::from_millis(4));
    while let Some(event) = session.poll_event() {
        log(&event);
    }
    log(&session.poll_deadline());
}
