//! The SSE client's plug-ins for `sansse::Client`: connections from embassy-net
//! ([`connect`]) and the application ([`Story`], which logs through defmt, persists
//! acknowledged ids into [`Flash`] and watches the network). The clock is the crate's own
//! `sansse::io::EmbassyTimer`.

use core::fmt;
use core::future::Future;
use core::net::{Ipv4Addr, SocketAddr};

use defmt::{info, warn};
use embassy_net::Stack;
use embassy_net::tcp::client::{TcpClient, TcpConnection};
use embassy_net::tcp::{self};
use embedded_nal_async::TcpConnect as _;
use heapless::String;
use sansse::ClientItem;
use sansse::client::{ErrorKind, ID_CAPACITY, SessionEvent};

/// The TCP receive buffer is the window the server may fill before the client reads.
pub const SOCKET_RX: usize = 2048;
pub const SOCKET_TX: usize = 512;

/// embassy-net's connection pool with one connection: the socket buffers live in its
/// `TcpClientState` (a static), so a connection borrows that, not the connector, and the
/// client can own it. Dropping a connection closes it and returns its buffers to the pool.
pub type Tcp = TcpClient<'static, 1, SOCKET_TX, SOCKET_RX>;
/// An open connection from [`Tcp`].
pub type Connection = TcpConnection<'static, 1, SOCKET_TX, SOCKET_RX>;

/// Names this example resolves without DNS, like a hosts file: TLS verifies the server's
/// certificate against the host *name* the client dials, so an `https://` endpoint is dialled
/// by name. A board with a DNS server enables embassy-net's `dns` feature and resolves names
/// in [`connect`] with `embassy_net::dns::DnsSocket` instead.
pub const HOSTS: &[(&str, Ipv4Addr)] = &[("sse.example.com", Ipv4Addr::new(192, 0, 2, 10))];

/// Opens a TCP connection to `host:port`: an IPv4 literal, or a name in [`HOSTS`]. Used for
/// plain connections by the client directly, and for TLS ones by the TLS pump (`main.rs`,
/// `tls_task`), which runs the handshake over it.
///
/// Dropping the future abandons the attempt (the client does at the connect deadline): the
/// half-made socket goes back to the pool with it.
pub async fn connect(tcp: &'static Tcp, host: &str, port: u16) -> Result<Connection, ConnectError> {
    let address: Ipv4Addr = match host.parse() {
        Ok(address) => address,
        Err(_) => HOSTS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
            .map(|&(_, address)| address)
            .ok_or(ConnectError::NotAnAddress)?,
    };
    tcp.connect(SocketAddr::new(address.into(), port))
        .await
        .map_err(ConnectError::Tcp)
}

/// Why a connection could not be opened.
#[derive(Clone, Copy, Debug, defmt::Format)]
pub enum ConnectError {
    /// The host is neither an IPv4 literal nor in [`HOSTS`] (this example has no DNS).
    NotAnAddress,
    /// embassy-net refused the connection or gave up on it (its pool hands out one
    /// connection, so this is also what a second one at a time would get).
    Tcp(tcp::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnAddress => f.write_str("host is not an ipv4 address nor a known name"),
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

impl Story {
    /// Logs one item of the client and persists acknowledged ids; returns the id of an event
    /// it has processed, for the caller to acknowledge (the event borrows the client, so the
    /// id is copied out first).
    pub fn on_item(&mut self, item: ClientItem<'_>) -> Option<String<ID_CAPACITY>> {
        match item {
            ClientItem::Event(event) => {
                info!(
                    "sse: message id={=str} event={=str} data={=str}",
                    event.id(),
                    event.event_type(),
                    event.data()
                );
                // Processed: acknowledge it (a `PersistId` follows). Return `None` for an
                // event that could not be handled, and the next connection starts again
                // from it.
                String::try_from(event.id()).ok()
            }
            ClientItem::Skipped(skipped) => {
                warn!("sse: message skipped: {}", skipped);
                None
            }
            ClientItem::Story(event) => {
                match event {
                    SessionEvent::Open { status, framing } => {
                        info!("sse: open: status {=u16}, {}", status, framing);
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
                None
            }
            _ => None,
        }
    }

    /// Completes when the network changes from what the client was last told, with the new
    /// state: "up" means usable, link up and an address configured (static here, DHCP on most
    /// boards). Raced against `Client::next`: both are cancel-safe, and without it a client
    /// waiting for the network (no deadline) would wait for good.
    pub fn network_changed(&self) -> impl Future<Output = bool> + use<> {
        let stack = self.stack;
        let up = self.network_up;
        async move {
            if up {
                stack.wait_config_down().await;
            } else {
                stack.wait_config_up().await;
            }
            !up
        }
    }

    /// Records what the client was told about the network.
    pub fn set_network_up(&mut self, up: bool) {
        self.network_up = up;
    }
}
