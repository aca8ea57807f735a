//! TLS 1.3 for the async client on firmware (feature `embedded-tls`): `no_std`, no allocator,
//! fixed buffers, on [embedded-tls](https://docs.rs/embedded-tls) 0.19 (which implements the
//! same `embedded-io-async` 0.7 traits as this crate, so no adapter sits between them).
//!
//! The [`io::client::Client`](crate::io::client::Client) runs over it unchanged: its connector
//! is a [`TlsLink`]'s [`connector`](TlsLink::connector), where a plain client has its TCP
//! connector, and nothing else in the client's code differs between `http` and `https`.
//!
//! # How the server is verified: read this
//!
//! There are exactly two choices, both explicit ([`Verification`]); there is no default.
//!
//! - [`Verification::pinned_ca`]`(ca_der)`: embedded-tls's no_std verifier (its `rustpki`
//!   feature), checked by this module for completeness. What it does:
//!   - **chain**: every certificate the server sends must be signed by the next one, the last
//!     by the **one** CA given (DER). There is no root store: pin the CA (or the intermediate)
//!     your endpoint's chain ends at.
//!   - **algorithms**: ECDSA signatures only, on the chain and on the handshake
//!     (`CertificateVerify`): P-256/SHA-256, and P-384/SHA-384 with the `embedded-tls-p384`
//!     feature (about 150 KiB more flash on a Cortex-M4F). **RSA cannot be verified without
//!     an allocator**, so a server whose chain or key is RSA (most public CAs' roots, such as
//!     ISRG Root X1) fails the handshake; pin an ECDSA chain (Let's Encrypt's ECDSA chains
//!     under ISRG Root X2, which need `embedded-tls-p384`, or a private P-256 CA).
//!   - **host name**: the host the client dials must match a DNS `subjectAltName` (up to the
//!     first three are read; wildcards per RFC 6125), or else the common name. IP-address
//!     SANs are not matched: dial a name.
//!   - **time**: validity dates are checked **only with a clock**
//!     ([`Verification::with_clock`], a [`TlsClock`] returning Unix seconds). Without one
//!     (the default [`NoClock`]), an **expired certificate is accepted**.
//!   - **not checked at all**: basic constraints and key usage of the chain (any certificate
//!     the pinned CA signed can act as an intermediate), extended key usage, name
//!     constraints, revocation (CRL, OCSP).
//!   - this module also refuses a handshake in which the server sent no certificate or no
//!     `CertificateVerify` ([`TlsLinkError::Unverified`]), which embedded-tls alone would
//!     let through.
//! - [`Verification::insecure_no_verification`]: **no verification at all**. The connection
//!   is encrypted but anyone on the path can impersonate the server. Only for tests and for
//!   networks you trust by other means.
//!
//! On std, [`io::tls`](crate::io::tls) (rustls, WebPKI with root stores, RSA) verifies fully;
//! use it wherever there is an allocator.
//!
//! # Shape: a link and its pump
//!
//! embedded-tls keeps a TLS connection's state in a `TlsConnection` that borrows its two
//! record buffers (`&mut [u8]`) and gives them back only when it is dropped. The client owns
//! its connection and drops it at each disconnect, and a connection type that owned its
//! buffers while lending them to embedded-tls would borrow itself, which safe Rust cannot
//! express. So the TLS connection lives in the frame of a long-running future instead,
//! [`TlsLink::run`] (the *pump*), which reuses the record buffers for one connection after
//! another; the client's connection is a [`TlsStream`], a handle that passes bytes to and
//! from the pump through two small queues in the [`TlsLink`] both share. Run the pump
//! beside the client in the same task (`join`/`select`) or in a task of its own.
//!
//! The pump never cancels a TLS read to do something else (embedded-tls's reads are not
//! cancel-safe: a dropped read loses the record it was reading), so the [`TlsStream`] *is*
//! cancel-safe, as the client needs. The price: once the pump waits for a record, bytes
//! written to the stream leave only after that record arrived. The SSE client writes its
//! request before it reads and never again on the same connection, so it never waits.
//!
//! # Memory
//!
//! All of it fixed and chosen by the caller: the two record buffers passed to
//! [`TlsLink::run`] (16 640 bytes for reading is what a server may send in one record; a
//! smaller one works only with servers that keep their records smaller; the write buffer
//! must hold the ClientHello, 1 KiB is plenty, and the request), the link's queues (`RX` and
//! `TX` bytes, 512 and 256 by default), and the pump's own state, which includes a copy of
//! the server's certificate chain of up to [`CHAIN_CAPACITY`] bytes while it verifies.
//!
//! # Known limits of embedded-tls 0.19
//!
//! TLS 1.3 only, cipher suite `TLS_AES_128_GCM_SHA256`, key exchange on P-256 (secp256r1)
//! only. No session resumption. A server that sends a post-handshake message other than a
//! session ticket (a `KeyUpdate`) makes embedded-tls panic (`unimplemented!` in its record
//! handler); servers send one only after an enormous amount of data or when asked.
//!
//! # Examples
//!
//! The pump and the client side by side, on smol over loopback (the whole run, against the
//! crate's TLS server, is `tests/embedded_tls_loopback.rs`; `examples/embassy` does the same
//! on embassy-net):
//!
//! ```no_run
//! use sansse::client::ClientConfig;
//! use sansse::io::client::{Client, ClientMemory, Item};
//! use sansse::io::embedded_tls::{TlsLink, Verification};
//! use sansse::io::{FuturesIo, StdTimer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ca_der: Vec<u8> = Vec::new();
//! let link: TlsLink = TlsLink::new();
//! let tcp = async |host: &str, port: u16| {
//!     smol::net::TcpStream::connect((host, port)).await.map(FuturesIo::new)
//! };
//! let verification = Verification::pinned_ca(&ca_der);
//! let (mut record_read, mut record_write) = (vec![0; 16_640], vec![0; 4096]);
//! let mut rng = rand_core::OsRng;
//! let pump = link.run(tcp, &mut rng, &verification, &mut record_read, &mut record_write);
//!
//! let config = ClientConfig::new("localhost", "/events").with_port(8443);
//! let mut memory = ClientMemory::new();
//! let mut client = Client::new(config, link.connector(), &mut memory)?;
//! let events = async {
//!     while let Some(item) = client.next().await {
//!         if let Item::Event(event) = item {
//!             println!("{}: {}", event.id(), event.data());
//!         }
//!     }
//! };
//! // The pump never ends: the client decides when the run is over.
//! smol::block_on(smol::future::or(events, async { match pump.await {} }));
//! # Ok(())
//! # }
//! ```

use core::cell::RefCell;
use core::fmt;
use core::future::{Future, poll_fn};
use core::marker::PhantomData;
use core::task::{Context, Poll, Waker};

use embedded_io::{Error as _, ErrorKind, ErrorType};
use embedded_io_async::BufRead as _;
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CertificateRef, CertificateVerifyRef, CryptoProvider, TlsConfig,
    TlsConnection, TlsContext, TlsVerifier,
};
use heapless::{Deque, String, Vec};

pub use embedded_tls::{CryptoRngCore, NoClock, TlsClock, TlsError};

use super::client::Connect;
use super::{Either, select};

/// The longest certificate chain (all certificates the server sends, with their framing)
/// the verifier can hold: it copies the chain to check the handshake signature against it.
/// A longer chain fails the handshake with `TlsError::OutOfMemory`.
pub const CHAIN_CAPACITY: usize = 4096;

/// The longest host name the link can dial (and embedded-tls's verifier can match).
pub const HOST_CAPACITY: usize = 64;

/// What the pump offers in ALPN: the client speaks HTTP/1.1.
const ALPN: &[&[u8]] = &[b"http/1.1"];

/// How many request bytes the pump hands to embedded-tls at a time (a stack copy, so that
/// no borrow of the link is held across an await).
const WRITE_CHUNK: usize = 64;

/// How the server's certificate is checked. No default: the name of the choice is in the
/// code that makes it. See the [module docs](self) for exactly what is verified.
///
/// # Examples
///
/// ```
/// use sansse::io::embedded_tls::{TlsClock, Verification};
///
/// // A board with a real-time clock (here a fixed one) checks validity dates too.
/// struct Rtc;
/// impl TlsClock for Rtc {
///     fn now() -> Option<u64> {
///         Some(1_800_000_000)
///     }
/// }
///
/// # let ca_der = [0u8; 0];
/// let verified = Verification::pinned_ca(&ca_der).with_clock::<Rtc>();
/// assert!(verified.verifies());
/// let unverified = Verification::insecure_no_verification();
/// assert!(!unverified.verifies());
/// ```
pub struct Verification<'a, Clock: TlsClock = NoClock> {
    /// The pinned CA in DER, or `None` for no verification.
    ca: Option<&'a [u8]>,
    clock: PhantomData<fn() -> Clock>,
}

impl<'a> Verification<'a> {
    /// Verifies the chain up to the CA certificate `ca_der` (DER), the handshake signature and
    /// the host name; validity dates only with [`with_clock`](Self::with_clock).
    pub const fn pinned_ca(ca_der: &'a [u8]) -> Self {
        Self {
            ca: Some(ca_der),
            clock: PhantomData,
        }
    }

    /// **Verifies nothing**: any server, or anyone in between, is accepted. The stream is
    /// encrypted but not authenticated. For tests and for links secured by other means.
    pub const fn insecure_no_verification() -> Self {
        Self {
            ca: None,
            clock: PhantomData,
        }
    }
}

impl<'a, Clock: TlsClock> Verification<'a, Clock> {
    /// The same choice, with validity dates checked against `C::now()` (Unix seconds; a
    /// `None` from it skips the dates for that handshake).
    pub const fn with_clock<C: TlsClock>(self) -> Verification<'a, C> {
        Verification {
            ca: self.ca,
            clock: PhantomData,
        }
    }

    /// Whether the server is verified at all (false only for
    /// [`insecure_no_verification`](Verification::insecure_no_verification)).
    pub const fn verifies(&self) -> bool {
        self.ca.is_some()
    }
}

impl<Clock: TlsClock> fmt::Debug for Verification<'_, Clock> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ca {
            Some(ca) => write!(f, "Verification::pinned_ca({} bytes)", ca.len()),
            None => f.write_str("Verification::insecure_no_verification"),
        }
    }
}

/// Why a TLS connection could not be opened, or broke.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum TlsLinkError {
    /// The TCP connect failed.
    Tcp(ErrorKind),
    /// embedded-tls failed: the handshake (`InvalidCertificate`, `InvalidSignature` and
    /// `InvalidSignatureScheme` when the server was refused), or the stream later.
    Tls(TlsError),
    /// The server completed the handshake without presenting and proving a certificate,
    /// while [`Verification::pinned_ca`] asked for one.
    Unverified,
    /// The host name is longer than [`HOST_CAPACITY`].
    HostTooLong,
    /// A newer connection of the same link replaced this one.
    Superseded,
}

impl TlsLinkError {
    /// Whether the server was refused: its certificate, its proof of the key, or no
    /// certificate at all.
    pub const fn is_certificate(&self) -> bool {
        matches!(
            self,
            Self::Unverified
                | Self::Tls(
                    TlsError::InvalidCertificate
                        | TlsError::InvalidSignature
                        | TlsError::InvalidSignatureScheme
                )
        )
    }
}

impl fmt::Display for TlsLinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(kind) => write!(f, "TCP connect failed: {kind:?}"),
            Self::Tls(error) if self.is_certificate() => {
                write!(f, "TLS: the server's certificate was refused ({error:?})")
            }
            Self::Tls(error) => write!(f, "TLS: {error:?}"),
            Self::Unverified => f.write_str("TLS: the server presented no certificate"),
            Self::HostTooLong => f.write_str("TLS: host name too long"),
            Self::Superseded => f.write_str("TLS: replaced by a newer connection"),
        }
    }
}

impl core::error::Error for TlsLinkError {}

/// By hand, with embedded-tls's error through its `Debug`: sansse does not turn on
/// embedded-tls's own `defmt` feature, whose log calls would need a defmt logger linked into
/// every host build with `--all-features` (turn it on in your firmware's `Cargo.toml` for its
/// logs).
#[cfg(feature = "defmt")]
impl defmt::Format for TlsLinkError {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Self::Tcp(kind) => defmt::write!(f, "Tcp({})", kind),
            Self::Tls(error) => defmt::write!(f, "Tls({})", defmt::Debug2Format(error)),
            Self::Unverified => defmt::write!(f, "Unverified"),
            Self::HostTooLong => defmt::write!(f, "HostTooLong"),
            Self::Superseded => defmt::write!(f, "Superseded"),
        }
    }
}

impl embedded_io::Error for TlsLinkError {
    /// `InvalidData` for a refused server or a broken TLS stream, so the session retries with
    /// backoff like for any failed connect.
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Tcp(kind) | Self::Tls(TlsError::Io(kind)) => *kind,
            Self::Tls(TlsError::ConnectionClosed | TlsError::IoError) => ErrorKind::ConnectionReset,
            Self::Tls(_) | Self::Unverified => ErrorKind::InvalidData,
            Self::HostTooLong => ErrorKind::InvalidInput,
            Self::Superseded => ErrorKind::ConnectionAborted,
        }
    }
}

/// Where the link's one connection stands.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// No connection wanted.
    Idle,
    /// The client asked for a connection; the pump is connecting.
    Dialing,
    /// The handshake is done; bytes flow.
    Open,
    /// The connect failed; the client has not taken the error yet.
    Failed(TlsLinkError),
    /// The stream ended: `None` at the server's `close_notify`, else why it broke.
    Ended(Option<TlsLinkError>),
}

/// What the client side and the pump share. Never borrowed across an await.
struct Shared<const RX: usize, const TX: usize> {
    /// Counts connect requests, so that a handle outliving its connection is told apart.
    generation: u32,
    phase: Phase,
    host: String<HOST_CAPACITY>,
    port: u16,
    /// Decrypted bytes for the client.
    rx: Deque<u8, RX>,
    /// Plain bytes from the client, for the pump to encrypt.
    tx: Vec<u8, TX>,
    /// The client waits for `tx` to go out and be flushed.
    flush: bool,
    /// The client has read: the pump may start waiting for records.
    want_read: bool,
    client: Option<Waker>,
    pump: Option<Waker>,
}

impl<const RX: usize, const TX: usize> Shared<RX, TX> {
    fn wake_pump(&mut self) {
        if let Some(waker) = self.pump.take() {
            waker.wake();
        }
    }

    fn wake_client(&mut self) {
        if let Some(waker) = self.client.take() {
            waker.wake();
        }
    }

    fn is_current(&self, generation: u32) -> bool {
        self.generation == generation
    }
}

/// Registers `cx`'s waker in `slot`, cloning only when it changed.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The state a [`TlsStream`] and the pump ([`TlsLink::run`]) share: one TLS connection at a
/// time, with `RX` bytes of decrypted data and `TX` bytes of request queued between them.
///
/// `new` is `const`, so a link can be a `static` on firmware.
pub struct TlsLink<const RX: usize = 512, const TX: usize = 256> {
    shared: RefCell<Shared<RX, TX>>,
}

impl<const RX: usize, const TX: usize> Default for TlsLink<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize> fmt::Debug for TlsLink<RX, TX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("TlsLink");
        if let Ok(shared) = self.shared.try_borrow() {
            out.field("phase", &shared.phase);
        }
        out.finish_non_exhaustive()
    }
}

impl<const RX: usize, const TX: usize> TlsLink<RX, TX> {
    /// An idle link.
    ///
    /// # Panics
    ///
    /// If `RX` or `TX` is zero (at compile time when used in a `const` or `static`).
    pub const fn new() -> Self {
        assert!(RX > 0 && TX > 0, "the link needs non-empty queues");
        Self {
            shared: RefCell::new(Shared {
                generation: 0,
                phase: Phase::Idle,
                host: String::new(),
                port: 0,
                rx: Deque::new(),
                tx: Vec::new(),
                flush: false,
                want_read: false,
                client: None,
                pump: None,
            }),
        }
    }

    /// The connector to give the [`Client`](crate::io::client::Client) in place of a TCP
    /// connector. Each connect asks the pump for a TLS connection to the host and port and
    /// completes once the handshake did.
    pub const fn connector(&self) -> TlsConnect<'_, RX, TX> {
        TlsConnect { link: self }
    }

    /// The pump: opens each TLS connection the connector asks for over a TCP connection from
    /// `tcp`, verifies the server as `verification` says, and moves bytes between it and the
    /// client's [`TlsStream`] until the stream is dropped or the connection ends. Never
    /// returns: poll it for as long as the client runs (beside it, in the same task or
    /// another on the same executor).
    ///
    /// `rng` draws the handshake's key shares and randoms: a cryptographic generator (a
    /// hardware TRNG, or a CSPRNG seeded from one). `record_read` and `record_write` are the
    /// TLS record buffers, reused by every connection (see the [module docs](self) for
    /// sizes).
    ///
    /// Only one client may use a link: a second connect replaces the first connection.
    pub async fn run<C, R, Clock>(
        &self,
        mut tcp: C,
        rng: &mut R,
        verification: &Verification<'_, Clock>,
        record_read: &mut [u8],
        record_write: &mut [u8],
    ) -> !
    where
        C: Connect,
        R: CryptoRngCore,
        Clock: TlsClock,
    {
        loop {
            let (generation, host, port) = self.next_request().await;
            let opened = select(tcp.connect(&host, port), self.left(generation, Open::No)).await;
            let socket = match opened {
                Either::Left(Ok(socket)) => socket,
                Either::Left(Err(error)) => {
                    self.fail(generation, TlsLinkError::Tcp(error.kind()));
                    continue;
                }
                Either::Right(()) => continue,
            };
            let mut tls: TlsConnection<'_, C::Conn, Aes128GcmSha256> =
                TlsConnection::new(socket, &mut *record_read, &mut *record_write);
            let mut config = TlsConfig::new().with_server_name(&host).with_alpn(ALPN);
            if !verification.verifies() {
                // Nothing is verified anyway: accept any server's key type.
                config = config.enable_rsa_signatures();
            }
            let mut provider = Provider {
                rng: &mut *rng,
                checks: Checks::new(verification),
            };
            let handshake = select(
                tls.open(TlsContext::new(&config, &mut provider)),
                self.left(generation, Open::No),
            )
            .await;
            match handshake {
                Either::Left(Ok(())) if provider.checks.complete() => {}
                Either::Left(Ok(())) => {
                    self.fail(generation, TlsLinkError::Unverified);
                    continue;
                }
                Either::Left(Err(error)) => {
                    self.fail(generation, TlsLinkError::Tls(error));
                    continue;
                }
                Either::Right(()) => continue,
            }
            if self.opened(generation) {
                self.serve(generation, &mut tls).await;
            }
            // Dropping `tls` drops the TCP connection (no `close_notify`: the client is gone,
            // or the server went first) and frees the record buffers for the next one.
        }
    }

    /// Waits for a connect request; returns it with its host copied out.
    async fn next_request(&self) -> (u32, String<HOST_CAPACITY>, u16) {
        poll_fn(|cx| {
            let mut shared = self.shared.borrow_mut();
            if matches!(shared.phase, Phase::Dialing) {
                return Poll::Ready((shared.generation, shared.host.clone(), shared.port));
            }
            register(&mut shared.pump, cx);
            Poll::Pending
        })
        .await
    }

    /// Completes once connection `generation` is no longer wanted in its phase: the client
    /// dropped it, abandoned its connect, or asked for a newer one.
    fn left(&self, generation: u32, open: Open) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            let mut shared = self.shared.borrow_mut();
            let still = shared.is_current(generation)
                && match open {
                    Open::No => matches!(shared.phase, Phase::Dialing),
                    Open::Yes => matches!(shared.phase, Phase::Open),
                };
            if !still {
                return Poll::Ready(());
            }
            register(&mut shared.pump, cx);
            Poll::Pending
        })
    }

    /// The connect of `generation` failed: tell its client, if it still waits.
    fn fail(&self, generation: u32, error: TlsLinkError) {
        let mut shared = self.shared.borrow_mut();
        if shared.is_current(generation) && matches!(shared.phase, Phase::Dialing) {
            shared.phase = Phase::Failed(error);
            shared.wake_client();
        }
    }

    /// The handshake of `generation` is done: open it, if its client still waits.
    fn opened(&self, generation: u32) -> bool {
        let mut shared = self.shared.borrow_mut();
        if !(shared.is_current(generation) && matches!(shared.phase, Phase::Dialing)) {
            return false;
        }
        shared.phase = Phase::Open;
        shared.wake_client();
        true
    }

    /// Connection `generation` ended (`None`: cleanly).
    fn end(&self, generation: u32, error: Option<TlsLinkError>) {
        let mut shared = self.shared.borrow_mut();
        if shared.is_current(generation) && matches!(shared.phase, Phase::Open) {
            shared.phase = Phase::Ended(error);
            shared.wake_client();
        }
    }

    /// Moves bytes for an open connection until its client drops it or it ends.
    async fn serve<S>(&self, generation: u32, tls: &mut TlsConnection<'_, S, Aes128GcmSha256>)
    where
        S: embedded_io_async::Read + embedded_io_async::Write,
    {
        let mut chunk = [0u8; WRITE_CHUNK];
        loop {
            let step = {
                let shared = self.shared.borrow();
                if !(shared.is_current(generation) && matches!(shared.phase, Phase::Open)) {
                    return;
                }
                if !shared.tx.is_empty() {
                    let n = shared.tx.len().min(chunk.len());
                    chunk
                        .get_mut(..n)
                        .unwrap_or_default()
                        .copy_from_slice(shared.tx.get(..n).unwrap_or_default());
                    Step::Write(n)
                } else if shared.flush {
                    Step::Flush
                } else if shared.want_read && shared.rx.len() < RX {
                    Step::Read
                } else {
                    Step::Wait
                }
            };
            match step {
                Step::Write(n) => {
                    let bytes = chunk.get(..n).unwrap_or_default();
                    match select(tls.write(bytes), self.left(generation, Open::Yes)).await {
                        Either::Left(Ok(written)) => {
                            let mut shared = self.shared.borrow_mut();
                            let written = written.min(shared.tx.len());
                            // Drop the encrypted bytes from the front of the queue.
                            let rest = shared.tx.len().saturating_sub(written);
                            shared.tx.copy_within(written.., 0);
                            shared.tx.truncate(rest);
                            shared.wake_client();
                        }
                        Either::Left(Err(error)) => {
                            return self.end(generation, Some(TlsLinkError::Tls(error)));
                        }
                        Either::Right(()) => return,
                    }
                }
                Step::Flush => match select(tls.flush(), self.left(generation, Open::Yes)).await {
                    Either::Left(Ok(())) => {
                        let mut shared = self.shared.borrow_mut();
                        shared.flush = false;
                        shared.wake_client();
                    }
                    Either::Left(Err(error)) => {
                        return self.end(generation, Some(TlsLinkError::Tls(error)));
                    }
                    Either::Right(()) => return,
                },
                Step::Read => {
                    // Raced only against the client going away: a read dropped for anything
                    // else would lose the record it was in the middle of.
                    let taken = match select(tls.fill_buf(), self.left(generation, Open::Yes)).await
                    {
                        Either::Left(Ok(data)) => {
                            let mut shared = self.shared.borrow_mut();
                            let mut taken = 0;
                            for &byte in data {
                                if shared.rx.push_back(byte).is_err() {
                                    break;
                                }
                                taken += 1;
                            }
                            shared.wake_client();
                            taken
                        }
                        Either::Left(Err(TlsError::ConnectionClosed)) => {
                            return self.end(generation, None);
                        }
                        Either::Left(Err(error)) => {
                            return self.end(generation, Some(TlsLinkError::Tls(error)));
                        }
                        Either::Right(()) => return,
                    };
                    tls.consume(taken);
                }
                Step::Wait => {
                    poll_fn(|cx| {
                        let mut shared = self.shared.borrow_mut();
                        let busy = !shared.is_current(generation)
                            || !matches!(shared.phase, Phase::Open)
                            || !shared.tx.is_empty()
                            || shared.flush
                            || (shared.want_read && shared.rx.len() < RX);
                        if busy {
                            return Poll::Ready(());
                        }
                        register(&mut shared.pump, cx);
                        Poll::Pending
                    })
                    .await;
                }
            }
        }
    }
}

/// Which phase [`TlsLink::left`] watches.
#[derive(Clone, Copy)]
enum Open {
    No,
    Yes,
}

/// One turn of the pump on an open connection.
enum Step {
    Write(usize),
    Flush,
    Read,
    Wait,
}

/// The client's connector over a [`TlsLink`]: implements [`Connect`], so the
/// [`Client`](crate::io::client::Client) takes it where it takes a TCP connector.
#[derive(Clone, Copy)]
pub struct TlsConnect<'l, const RX: usize = 512, const TX: usize = 256> {
    link: &'l TlsLink<RX, TX>,
}

impl<const RX: usize, const TX: usize> fmt::Debug for TlsConnect<'_, RX, TX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnect").finish_non_exhaustive()
    }
}

impl<'l, const RX: usize, const TX: usize> Connect for TlsConnect<'l, RX, TX> {
    type Conn = TlsStream<'l, RX, TX>;
    type Error = TlsLinkError;

    /// Asks the pump for a TLS connection to `host:port` and waits for its handshake.
    /// Dropping the future abandons the attempt (the pump drops the half-made connection).
    fn connect(
        &mut self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Self::Conn, Self::Error>> {
        let link = self.link;
        async move {
            let generation = {
                let mut shared = link.shared.borrow_mut();
                let host = String::try_from(host).map_err(|_| TlsLinkError::HostTooLong)?;
                shared.generation = shared.generation.wrapping_add(1);
                shared.phase = Phase::Dialing;
                shared.host = host;
                shared.port = port;
                shared.rx.clear();
                shared.tx.clear();
                shared.flush = false;
                shared.want_read = false;
                shared.wake_pump();
                shared.generation
            };
            let mut abandon = Abandon {
                link,
                generation,
                armed: true,
            };
            let result = poll_fn(|cx| {
                let mut shared = link.shared.borrow_mut();
                if !shared.is_current(generation) {
                    return Poll::Ready(Err(TlsLinkError::Superseded));
                }
                match shared.phase {
                    Phase::Dialing => {
                        register(&mut shared.client, cx);
                        Poll::Pending
                    }
                    Phase::Open => Poll::Ready(Ok(())),
                    Phase::Failed(error) => {
                        shared.phase = Phase::Idle;
                        Poll::Ready(Err(error))
                    }
                    Phase::Idle | Phase::Ended(_) => Poll::Ready(Err(TlsLinkError::Superseded)),
                }
            })
            .await;
            abandon.armed = false;
            result.map(|()| TlsStream { link, generation })
        }
    }
}

/// Withdraws a connect request whose future was dropped before the pump answered.
struct Abandon<'l, const RX: usize, const TX: usize> {
    link: &'l TlsLink<RX, TX>,
    generation: u32,
    armed: bool,
}

impl<const RX: usize, const TX: usize> Drop for Abandon<'_, RX, TX> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut shared = self.link.shared.borrow_mut();
        if shared.is_current(self.generation)
            && matches!(shared.phase, Phase::Dialing | Phase::Failed(_))
        {
            shared.phase = Phase::Idle;
            shared.wake_pump();
        }
    }
}

/// An open TLS connection, as the client sees it: `embedded_io_async::{Read, Write}` over the
/// pump. Cancel-safe (every byte lives in the link, not in a future). Dropping it closes the
/// connection.
pub struct TlsStream<'l, const RX: usize = 512, const TX: usize = 256> {
    link: &'l TlsLink<RX, TX>,
    generation: u32,
}

impl<const RX: usize, const TX: usize> fmt::Debug for TlsStream<'_, RX, TX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl<const RX: usize, const TX: usize> Drop for TlsStream<'_, RX, TX> {
    fn drop(&mut self) {
        let mut shared = self.link.shared.borrow_mut();
        if shared.is_current(self.generation) {
            shared.phase = Phase::Idle;
            shared.rx.clear();
            shared.tx.clear();
            shared.flush = false;
            shared.want_read = false;
            shared.wake_pump();
        }
    }
}

impl<const RX: usize, const TX: usize> TlsStream<'_, RX, TX> {
    /// The shared state if this stream is still the link's connection, else why not.
    fn check(
        shared: &Shared<RX, TX>,
        generation: u32,
    ) -> Result<Option<Option<TlsLinkError>>, TlsLinkError> {
        if !shared.is_current(generation) {
            return Err(TlsLinkError::Superseded);
        }
        Ok(match shared.phase {
            Phase::Open => None,
            Phase::Ended(error) => Some(error),
            Phase::Idle | Phase::Dialing | Phase::Failed(_) => {
                return Err(TlsLinkError::Superseded);
            }
        })
    }
}

impl<const RX: usize, const TX: usize> ErrorType for TlsStream<'_, RX, TX> {
    type Error = TlsLinkError;
}

impl<const RX: usize, const TX: usize> embedded_io_async::Read for TlsStream<'_, RX, TX> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TlsLinkError> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut shared = self.link.shared.borrow_mut();
            let ended = Self::check(&shared, self.generation)?;
            if !shared.rx.is_empty() {
                let mut n = 0;
                for slot in buf.iter_mut() {
                    let Some(byte) = shared.rx.pop_front() else {
                        break;
                    };
                    *slot = byte;
                    n += 1;
                }
                shared.wake_pump();
                return Poll::Ready(Ok(n));
            }
            match ended {
                // Everything before the server's `close_notify` was read: the end.
                Some(None) => Poll::Ready(Ok(0)),
                Some(Some(error)) => Poll::Ready(Err(error)),
                None => {
                    if !shared.want_read {
                        shared.want_read = true;
                        shared.wake_pump();
                    }
                    register(&mut shared.client, cx);
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl<const RX: usize, const TX: usize> embedded_io_async::Write for TlsStream<'_, RX, TX> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, TlsLinkError> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut shared = self.link.shared.borrow_mut();
            if let Some(ended) = Self::check(&shared, self.generation)? {
                return Poll::Ready(Err(
                    ended.unwrap_or(TlsLinkError::Tls(TlsError::ConnectionClosed))
                ));
            }
            let free = TX.saturating_sub(shared.tx.len());
            if free == 0 {
                register(&mut shared.client, cx);
                return Poll::Pending;
            }
            let n = free.min(buf.len());
            // Cannot fail: `n` bytes fit.
            let _ = shared
                .tx
                .extend_from_slice(buf.get(..n).unwrap_or_default());
            shared.wake_pump();
            Poll::Ready(Ok(n))
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), TlsLinkError> {
        poll_fn(|cx| {
            let mut shared = self.link.shared.borrow_mut();
            if let Some(ended) = Self::check(&shared, self.generation)? {
                return Poll::Ready(Err(
                    ended.unwrap_or(TlsLinkError::Tls(TlsError::ConnectionClosed))
                ));
            }
            if shared.tx.is_empty() && !shared.flush {
                return Poll::Ready(Ok(()));
            }
            if !shared.flush {
                shared.flush = true;
                shared.wake_pump();
            }
            register(&mut shared.client, cx);
            Poll::Pending
        })
        .await
    }
}

/// The provider of one handshake: the caller's generator and this handshake's checks.
struct Provider<'r, 'a, R, Clock: TlsClock> {
    rng: &'r mut R,
    checks: Checks<'a, Clock>,
}

impl<R: CryptoRngCore, Clock: TlsClock> CryptoProvider for Provider<'_, '_, R, Clock> {
    type CipherSuite = Aes128GcmSha256;
    /// No client certificate is ever offered, so nothing is signed.
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut *self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Aes128GcmSha256>, TlsError> {
        Ok(&mut self.checks)
    }
}

/// embedded-tls's verifier for a pinned CA (or none), and a record that both of its checks
/// ran: embedded-tls completes a handshake in which the server sent no certificate, and
/// would panic on a `CertificateVerify` without one.
struct Checks<'a, Clock: TlsClock> {
    pinned: Option<CertVerifier<'a, Aes128GcmSha256, Clock, CHAIN_CAPACITY>>,
    certificate: bool,
    signature: bool,
}

impl<'a, Clock: TlsClock> Checks<'a, Clock> {
    fn new(verification: &Verification<'a, Clock>) -> Self {
        Self {
            pinned: verification
                .ca
                .map(|ca| CertVerifier::new(Certificate::X509(ca))),
            certificate: false,
            signature: false,
        }
    }

    /// Whether the handshake may be trusted: nothing was asked, or both checks passed.
    fn complete(&self) -> bool {
        self.pinned.is_none() || (self.certificate && self.signature)
    }
}

impl<Clock: TlsClock> TlsVerifier<Aes128GcmSha256> for Checks<'_, Clock> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        match &mut self.pinned {
            Some(pinned) => pinned.set_hostname_verification(hostname),
            None => Ok(()),
        }
    }

    fn verify_certificate(
        &mut self,
        transcript: &<Aes128GcmSha256 as embedded_tls::TlsCipherSuite>::Hash,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        if let Some(pinned) = &mut self.pinned {
            pinned.verify_certificate(transcript, cert)?;
        }
        self.certificate = true;
        Ok(())
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        if let Some(pinned) = &mut self.pinned {
            if !self.certificate {
                return Err(TlsError::InvalidCertificate);
            }
            pinned.verify_signature(verify)?;
        }
        self.signature = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};

    use embedded_io_async::{Read as _, Write as _};

    use super::*;

    type Link = TlsLink<8, 4>;

    /// Asks for a connection and plays the pump's part of a successful handshake.
    fn open(link: &Link) -> TlsStream<'_, 8, 4> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut connector = link.connector();
        let mut connect = pin!(connector.connect("example.com", 443));
        assert!(connect.as_mut().poll(&mut cx).is_pending());
        link.shared.borrow_mut().phase = Phase::Open;
        match connect.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(stream)) => stream,
            other => panic!("not opened: {other:?}"),
        }
    }

    #[test]
    fn a_connect_dropped_before_the_handshake_withdraws_its_request() {
        let link = Link::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut connector = link.connector();
        {
            let mut connect = pin!(connector.connect("example.com", 443));
            assert!(connect.as_mut().poll(&mut cx).is_pending());
            let shared = link.shared.borrow();
            assert!(matches!(shared.phase, Phase::Dialing));
            assert_eq!((shared.host.as_str(), shared.port), ("example.com", 443));
        }
        // The pump's `left` watch sees this and drops the half-made connection.
        assert!(matches!(link.shared.borrow().phase, Phase::Idle));
    }

    #[test]
    fn a_host_longer_than_the_link_holds_is_refused_before_any_connect() {
        let link = Link::new();
        let long = "a".repeat(HOST_CAPACITY + 1);
        let refused = smol::block_on(link.connector().connect(&long, 443));
        assert!(matches!(refused, Err(TlsLinkError::HostTooLong)));
        assert!(matches!(link.shared.borrow().phase, Phase::Idle));
    }

    #[test]
    fn a_dropped_read_loses_no_byte() {
        let link = Link::new();
        let mut stream = open(&link);
        let mut cx = Context::from_waker(Waker::noop());
        let mut buf = [0u8; 16];
        {
            let mut read = pin!(stream.read(&mut buf));
            assert!(read.as_mut().poll(&mut cx).is_pending());
        }
        // The dropped read asked the pump for records; the pump delivers after the drop.
        let mut shared = link.shared.borrow_mut();
        assert!(shared.want_read);
        for &byte in b"data: a" {
            shared.rx.push_back(byte).unwrap();
        }
        drop(shared);
        let n = smol::block_on(stream.read(&mut buf)).unwrap();
        assert_eq!(&buf[..n], b"data: a");
    }

    #[test]
    fn the_end_comes_after_the_last_decrypted_bytes() {
        let link = Link::new();
        let mut stream = open(&link);
        {
            let mut shared = link.shared.borrow_mut();
            shared.rx.push_back(b'x').unwrap();
            shared.phase = Phase::Ended(None);
        }
        let mut buf = [0u8; 4];
        assert_eq!(smol::block_on(stream.read(&mut buf)).unwrap(), 1);
        assert_eq!(smol::block_on(stream.read(&mut buf)).unwrap(), 0);
    }

    #[test]
    fn writes_queue_up_to_the_link_and_flush_waits_for_the_pump() {
        let link = Link::new();
        let mut stream = open(&link);
        let mut cx = Context::from_waker(Waker::noop());
        // The queue holds 4 bytes: a longer write takes what fits.
        assert_eq!(smol::block_on(stream.write(b"GET /")).unwrap(), 4);
        {
            let mut flush = pin!(stream.flush());
            assert!(flush.as_mut().poll(&mut cx).is_pending());
            assert!(link.shared.borrow().flush);
            // The pump encrypts the queue and flushes.
            let mut shared = link.shared.borrow_mut();
            assert_eq!(shared.tx.as_slice(), b"GET ");
            shared.tx.clear();
            shared.flush = false;
            drop(shared);
            assert!(matches!(flush.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        }
    }

    #[test]
    fn a_stream_of_a_replaced_connection_is_told_so_and_leaves_the_new_one_alone() {
        let link = Link::new();
        let mut old = open(&link);
        let new = open(&link);
        let mut buf = [0u8; 4];
        let superseded = smol::block_on(old.read(&mut buf));
        assert!(matches!(superseded, Err(TlsLinkError::Superseded)));
        drop(old);
        assert!(matches!(link.shared.borrow().phase, Phase::Open));
        drop(new);
        assert!(matches!(link.shared.borrow().phase, Phase::Idle));
    }
}
