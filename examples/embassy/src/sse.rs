//! The SSE client's three plug-ins for `sansse::io::client::run`: connections from embassy-net
//! ([`TcpConnector`]), the clock from embassy-time ([`EmbassyTimer`]) and the application
//! ([`Story`], which logs through defmt and persists acknowledged ids into [`Flash`]).

use core::fmt;
use core::future::Future;
use core::net::Ipv4Addr;
use core::ops::ControlFlow;

use defmt::{info, warn};
use embassy_net::Stack;
use embassy_net::tcp::{self, TcpSocket};
use embassy_time::{Duration, with_timeout};
use heapless::String;
use sansse::client::{ClientSession, ErrorKind, ID_CAPACITY, SessionEvent};
use sansse::io::Timer;
use sansse::io::client::{Connect, Handler};
use sansse::{Event, Instant, ParseError};

/// How long a new attempt waits for the reset of a connection left open to go out.
const RESET_GRACE: Duration = Duration::from_millis(200);

/// Opens the client's TCP connections over embassy-net, one at a time, on one socket.
///
/// The socket and its buffers are made once and reused for every connection, so reconnecting
/// allocates nothing and the stack needs one socket slot. Hosts are IPv4 literals: a board
/// with a DNS server enables embassy-net's `dns` feature and resolves the name in
/// [`Connect::connect`] with `embassy_net::dns::DnsSocket` before connecting.
pub struct TcpConnector {
    socket: TcpSocket<'static>,
}

impl TcpConnector {
    /// Creates the socket on `stack` with the buffers it keeps for its life. The receive
    /// buffer is the TCP window: a few times the largest event keeps a fast stream moving.
    pub fn new(stack: Stack<'static>, rx: &'static mut [u8], tx: &'static mut [u8]) -> Self {
        let mut socket = TcpSocket::new(stack, rx, tx);
        // TCP keep-alives are off: the session's idle watchdog (the server's heartbeat
        // comments) notices a dead peer, and a reconnect resumes from the last event.
        socket.set_keep_alive(None);
        Self { socket }
    }
}

/// Why a connection could not be opened.
#[derive(Clone, Copy, Debug, defmt::Format)]
pub enum ConnectError {
    /// The host is not an IPv4 literal (this example resolves no names).
    NotAnAddress,
    /// embassy-net refused the connection or gave up on it.
    Tcp(tcp::ConnectError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnAddress => f.write_str("host is not an ipv4 address"),
            Self::Tcp(error) => write!(f, "tcp connect failed: {error:?}"),
        }
    }
}

impl core::error::Error for ConnectError {}

impl embedded_io_async::Error for ConnectError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotAnAddress => ErrorKind::InvalidInput,
            Self::Tcp(error) => embedded_io_async::Error::kind(error),
        }
    }
}

impl Connect for TcpConnector {
    type Conn<'c> = Connection<'c>;
    type Error = ConnectError;

    async fn connect(&mut self, host: &str, port: u16) -> Result<Connection<'_>, ConnectError> {
        let address: Ipv4Addr = host.parse().map_err(|_| ConnectError::NotAnAddress)?;
        let socket = &mut self.socket;
        if socket.state() != tcp::State::Closed && socket.state() != tcp::State::TimeWait {
            // Still open: the previous connection's close has not finished, or an attempt
            // was abandoned at its deadline. Reset it, and give the reset a moment to go out
            // before the socket takes a new peer. Only a moment: it cannot leave until the
            // peer's (or the gateway's) hardware address is known, and an attempt abandoned
            // because nothing answered ARP would otherwise spend this attempt's whole connect
            // window waiting for it.
            socket.abort();
            let _ = with_timeout(RESET_GRACE, socket.flush()).await;
        }
        socket
            .connect((address, port))
            .await
            .map_err(ConnectError::Tcp)?;
        Ok(Connection(socket))
    }
}

/// An open connection: the shared socket, borrowed until the loop drops it.
///
/// Dropping it closes the sending half (a FIN): the loop drops a connection when the session
/// says `Disconnect`, and the server hears that the client left. embassy-net's own
/// `TcpSocket` drop would instead take the socket out of the stack silently, leaving the
/// server to find out by timeout.
pub struct Connection<'c>(&'c mut TcpSocket<'static>);

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl embedded_io_async::ErrorType for Connection<'_> {
    type Error = tcp::Error;
}

impl embedded_io_async::Read for Connection<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, tcp::Error> {
        self.0.read(buf).await
    }
}

impl embedded_io_async::Write for Connection<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, tcp::Error> {
        self.0.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), tcp::Error> {
        self.0.flush().await
    }
}

/// The loop's clock: embassy-time's, whose origin is boot.
pub struct EmbassyTimer;

impl Timer for EmbassyTimer {
    fn now(&mut self) -> Instant {
        embassy_time::Instant::now().into()
    }

    async fn sleep_until(&mut self, deadline: Instant) {
        // embassy-time's timers are cancel-safe, as the loop requires: dropping one
        // unregisters nothing and costs nothing.
        embassy_time::Timer::at(deadline.into()).await;
    }
}

/// Where a real board persists the acknowledged id: a flash page, an EEPROM cell or an NVS key
/// (`embassy-embedded-hal`'s flash partitions, `sequential-storage`, esp-idf NVS). Here it is
/// RAM, so it survives the session's restarts but not a reset.
pub struct Flash {
    id: String<ID_CAPACITY>,
}

impl Flash {
    /// Empty: no event has been acknowledged, so the first session starts from the live edge.
    pub const fn new() -> Self {
        Self { id: String::new() }
    }

    /// The id stored last, read once per session to resume from it.
    pub fn load(&self) -> String<ID_CAPACITY> {
        self.id.clone()
    }

    /// Stores `id`. Ids longer than sansse keeps never come out of a session, so the
    /// truncation below never happens; it only keeps this function free of panics.
    ///
    /// Real flash wears out: write when the id changes, as here, and for a fast stream batch
    /// the writes (keep the newest id in RAM and commit it every few seconds or events).
    fn store(&mut self, id: &str) {
        self.id.clear();
        let _ = self
            .id
            .push_str(id.get(..ID_CAPACITY.min(id.len())).unwrap_or(""));
    }
}

/// The application: logs every message and every step of the connection's story, persists
/// acknowledged ids, and tells the session when the network comes and goes.
pub struct Story {
    stack: Stack<'static>,
    /// The network's state as last told to the session, which starts out assuming it is up.
    network_up: bool,
    flash: &'static mut Flash,
}

impl Story {
    /// Creates the handler of a session on `stack`, persisting into `flash`.
    pub fn new(stack: Stack<'static>, flash: &'static mut Flash) -> Self {
        Self {
            stack,
            network_up: true,
            flash,
        }
    }

    /// The persisted id to resume from.
    pub fn resume_id(&self) -> String<ID_CAPACITY> {
        self.flash.load()
    }
}

impl Handler for Story {
    fn on_message(
        &mut self,
        _: Instant,
        message: Result<Event<'_>, ParseError>,
    ) -> ControlFlow<()> {
        match message {
            Ok(event) => info!(
                "sse: message id={=str} event={=str} data={=str}",
                event.id(),
                event.event_type(),
                event.data()
            ),
            Err(skipped) => warn!("sse: message skipped: {}", skipped),
        }
        // Returning `Continue` acknowledges the event (the session is in acknowledged mode):
        // a `PersistId` follows. Return `Break` for an event that could not be handled, and
        // the next connection starts again from it.
        ControlFlow::Continue(())
    }

    fn on_event(&mut self, now: Instant, event: SessionEvent<'_>) -> ControlFlow<()> {
        match event {
            SessionEvent::Open { status, framing } => {
                info!("sse: open at {}: status {=u16}, {}", now, status, framing);
            }
            SessionEvent::Reconnecting { delay, reason } => warn!(
                "sse: reconnecting in {=u64} ms (attempt {=u32}, {}): {}",
                u64::try_from(delay.delay.as_millis()).unwrap_or(u64::MAX),
                delay.attempt,
                delay.reason,
                reason
            ),
            SessionEvent::PersistId(id) => {
                self.flash.store(id);
                info!("sse: persisted id {=str}", id);
            }
            SessionEvent::Closed { reason } => info!("sse: closed: {}", reason),
            other => info!("sse: {}", other),
        }
        ControlFlow::Continue(())
    }

    fn poll_commands(&mut self, now: Instant, session: &mut ClientSession<'_>) {
        // "Up" means usable: link up and an address configured (static here, DHCP on most
        // boards). The session makes no attempt while it is down and spends no backoff.
        let up = self.stack.is_config_up();
        if up == self.network_up {
            return;
        }
        self.network_up = up;
        if up {
            session.handle_link_up(now);
        } else {
            session.handle_link_down(now);
        }
    }

    fn changed(&mut self) -> impl Future<Output = ()> {
        // Wakes the loop when the network changes, so `poll_commands` reports it: without
        // this a session waiting for the network (no deadline) would sleep for good. Both
        // waits are cancel-safe: they only register a waker.
        let stack = self.stack;
        let up = self.network_up;
        async move {
            if up {
                stack.wait_config_down().await;
            } else {
                stack.wait_config_up().await;
            }
        }
    }
}
