//! TLS for the std shells (feature `tls`): a client [`TlsConnector`] and a server
//! [`TlsAcceptor`] that turn an already-connected `futures_io` stream into a TLS stream, wrapped
//! in [`FuturesIo`] so the async shells (`serve`, the client loop) run over it unchanged.
//!
//! The TLS itself is [rustls](https://docs.rs/rustls) 0.23 with the `ring` provider (no
//! OpenSSL, and no cmake as its default aws-lc-rs would need), driven over `futures_io` by
//! [futures-rustls](https://docs.rs/futures-rustls) 0.26. This module only builds their
//! configurations and names their failures; it writes no TLS of its own.
//!
//! # No runtime of its own
//!
//! Neither side opens or accepts a socket. The caller connects (or accepts) TCP with its own
//! runtime (smol, async-std, tokio through `tokio_util::compat`) and hands the stream over
//! with the host name it dialled; the handshake and every later read and write only poll that
//! stream. So the module works on any executor and picks none.
//!
//! A connect step that serves both `http://` and `https://` URLs calls
//! [`TlsConnector::connect_maybe`], whose [`MaybeTlsStream`] is one type for both; the scheme
//! decides, never the port, and an `https://` URL never ends up in plain text.
//!
//! # Redirects
//!
//! The client session does not carry a scheme: a client is `https` (its connector runs
//! TLS) or `http` from its first connect to its last, and a redirect never changes that. What
//! a client over TLS does with a `Location`:
//!
//! - a relative one (`/v2/events`, `events?x=1`) is followed over TLS, to the same host
//!   and port;
//! - `https://…` closes the session with `CloseReason::UnsupportedRedirect`, also when the
//!   client is already `https` (the session was written for plain `http`);
//! - `http://…` (and scheme-relative `//host/…`, which the session takes for `http`, port 80
//!   unless given) is followed, but still over TLS: the handshake with a plain-HTTP port
//!   fails and the attempt is retried with backoff, so a redirect never downgrades the
//!   stream to plain text (`tests/blocking_tls.rs` checks that the plain server only ever
//!   sees a TLS ClientHello).
//!
//! # With the pull client
//!
//! The https connect step of an [`io::client::Client`](crate::io::client::Client) is an async
//! closure: TCP from the caller's runtime, then [`TlsConnector::connect`]. `TlsError`
//! converts from the TCP connect's `io::Error` and implements `embedded_io::Error`, so the
//! closure may return it as it is. The session learns only its
//! [kind](embedded_io::Error::kind) (`InvalidData` for a refused certificate) and retries
//! with backoff like any other failed connect; an application that wants to stop and say
//! which check failed keeps the typed error on the side:
//!
//! ```no_run
//! use core::cell::RefCell;
//! use sansse::client::{ClientConfig, SessionEvent};
//! use sansse::io::client::{Client, ClientMemory, Item};
//! use sansse::io::tls::{TlsConfig, TlsConnector, TlsError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let connector = TlsConnector::new(TlsConfig::new().with_ca_file("ca.pem")?);
//! let failure: RefCell<Option<TlsError>> = RefCell::new(None);
//! let connect = async |host: &str, port: u16| {
//!     let tls = async {
//!         let tcp = smol::net::TcpStream::connect((host, port)).await?;
//!         connector.connect(host, tcp).await
//!     };
//!     tls.await.map_err(|error: TlsError| {
//!         let kind = embedded_io::Error::kind(&error);
//!         failure.replace(Some(error));
//!         kind
//!     })
//! };
//! smol::block_on(async {
//!     let config = ClientConfig::new("example.com", "/events").with_port(443);
//!     let mut memory = ClientMemory::new();
//!     let mut client = Client::new(config, connect, &mut memory)?;
//!     while let Some(item) = client.next().await {
//!         match item {
//!             Item::Event(event) => println!("{}: {}", event.id(), event.data()),
//!             Item::Story(SessionEvent::Reconnecting { .. }) => {
//!                 if let Some(error) = failure.borrow().as_ref().filter(|e| e.is_certificate()) {
//!                     eprintln!("{error}"); // e.g. "TLS: the certificate of example.com has expired"
//!                     std::process::exit(3);
//!                 }
//!             }
//!             _ => {}
//!         }
//!     }
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # How the server's certificate is verified
//!
//! [`TlsConnector::connect`] runs rustls' standard WebPKI verification, which cannot be turned
//! off through this API:
//!
//! - the chain must lead to one of the configured roots: the Mozilla set compiled in from
//!   webpki-roots ([`TlsConfig::new`]), optionally the platform's store
//!   ([`TlsConfig::with_platform_roots`]), plus any CA added from PEM
//!   ([`TlsConfig::with_ca_pem`], [`TlsConfig::with_ca_file`], curl's `--cacert`);
//! - every certificate must be valid now (not expired, not yet valid), by the system clock;
//! - the end-entity certificate must name the host: a DNS name matches a `subjectAltName` DNS
//!   entry (wildcards as RFC 6125 allows), an IP address an IP entry. The common name is
//!   ignored, as browsers do;
//! - the handshake's signature must verify with the certificate's key, over TLS 1.3 or 1.2.
//!
//! The host name also goes out as SNI (not for IP addresses, which SNI cannot carry), and the
//! client offers ALPN `http/1.1`; the acceptor selects it. A failure is a [`TlsError`] that
//! says which check failed ([`TlsError::UnknownIssuer`], [`TlsError::WrongHost`],
//! [`TlsError::Expired`], ...). Nothing falls back to plain text: a peer that does not speak TLS
//! fails the handshake with [`TlsError::Protocol`].
//!
//! Revocation (CRLs, OCSP) is not checked.
//!
//! # Examples
//!
//! A TLS server and client on loopback, with a CA of the test's own (made here by `rcgen`; a
//! real server loads its certificate with [`TlsAcceptor::from_pem_files`]):
//!
//! ```
//! use embedded_io_async::{Read, Write};
//! use sansse::io::tls::{TlsAcceptor, TlsConfig, TlsConnector};
//!
//! # type Error = Box<dyn std::error::Error + Send + Sync>;
//! # fn main() -> Result<(), Error> {
//! # let ca_key = rcgen::KeyPair::generate()?;
//! # let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
//! # ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
//! # let ca_pem = ca_params.self_signed(&ca_key)?.pem();
//! # let issuer = rcgen::Issuer::new(ca_params, ca_key);
//! # let key = rcgen::KeyPair::generate()?;
//! # let cert_pem = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?
//! #     .signed_by(&key, &issuer)?
//! #     .pem();
//! # let key_pem = key.serialize_pem();
//! // cert_pem, key_pem: the server's chain and key; ca_pem: the CA that signed it.
//! let acceptor = TlsAcceptor::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
//! let connector = TlsConnector::new(TlsConfig::new().with_ca_pem(ca_pem.as_bytes())?);
//!
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let port = listener.local_addr()?.port();
//!     let server = smol::spawn(async move {
//!         let (tcp, _) = listener.accept().await?;
//!         let mut tls = acceptor.accept(tcp).await?;
//!         tls.write_all(b"hello").await?;
//!         tls.flush().await?;
//!         Ok::<_, Error>(())
//!     });
//!
//!     // The caller connects TCP with its own runtime, then hands the stream over.
//!     let tcp = smol::net::TcpStream::connect(("localhost", port)).await?;
//!     let mut tls = connector.connect("localhost", tcp).await?;
//!     let mut buf = [0u8; 5];
//!     tls.read_exact(&mut buf).await.map_err(|_| "short read")?;
//!     assert_eq!(&buf, b"hello");
//!     server.await?;
//!     Ok::<_, Error>(())
//! })
//! # }
//! ```

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::boxed::Box;
use std::format;
use std::io;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use futures_io::{AsyncRead, AsyncWrite};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore, ServerConfig};

use super::FuturesIo;

/// The rustls this module is built on, to name the types inside [`TlsError::Protocol`] and
/// [`TlsError::Certificate`].
pub use rustls;

/// The stream [`TlsConnector::connect`] returns inside its [`FuturesIo`].
pub type ClientTlsStream<S> = futures_rustls::client::TlsStream<S>;
/// The stream [`TlsAcceptor::accept`] returns inside its [`FuturesIo`].
pub type ServerTlsStream<S> = futures_rustls::server::TlsStream<S>;

/// The only application protocol either side offers: the shells speak HTTP/1.1.
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// Why a TLS connection, or the configuration for one, failed.
///
/// The certificate variants say which check the server's certificate failed; see the
/// [module docs](self) for the checks.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The host is neither a DNS name nor an IP address, so it cannot be verified.
    InvalidHostName {
        /// The host as given.
        host: String,
    },
    /// The server's chain does not lead to a trusted root: a private or self-signed CA that
    /// was not added with [`TlsConfig::with_ca_pem`] or [`TlsConfig::with_ca_file`], or a
    /// server that does not send its intermediates.
    UnknownIssuer {
        /// The host connected to.
        host: String,
    },
    /// The certificate is valid but for other names than the host connected to.
    WrongHost {
        /// The host connected to.
        host: String,
    },
    /// A certificate in the chain has expired (or the system clock is wrong).
    Expired {
        /// The host connected to.
        host: String,
    },
    /// A certificate in the chain is not valid yet (or the system clock is wrong).
    NotYetValid {
        /// The host connected to.
        host: String,
    },
    /// The server's certificate failed another check (bad signature, unsupported key,
    /// malformed). A chain issued by an untrusted CA whose name equals a trusted CA's ends
    /// here with `BadSignature` rather than in [`TlsError::UnknownIssuer`]: the issuer is
    /// found by name, then its signature does not verify.
    Certificate {
        /// The host connected to.
        host: String,
        /// What rustls found.
        error: CertificateError,
    },
    /// The handshake failed for a reason other than the certificate: the peer does not speak
    /// TLS (a plain-HTTP port), offers no common version or cipher suite, or sent an alert
    /// (for a server: the client refused its certificate).
    Protocol(rustls::Error),
    /// PEM input holds nothing usable of the kind asked for, or is malformed.
    Pem {
        /// What was looked for: `"certificate"` or `"private key"`.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the certificate chain or key of a [`TlsAcceptor`] (a key that does not
    /// match the certificate, or of an unsupported kind), or a CA certificate.
    Config(rustls::Error),
    /// A PEM file could not be read.
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The transport failed (reset, closed during the handshake).
    Io(io::Error),
}

impl TlsError {
    /// Names a handshake failure: futures-rustls reports rustls' errors as `InvalidData`
    /// I/O errors wrapping a [`rustls::Error`], which is unwrapped here into the variant that
    /// says which check failed.
    pub(crate) fn from_handshake(host: Option<&str>, error: io::Error) -> Self {
        let Some(error) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned()
        else {
            return Self::Io(error);
        };
        let (Some(host), rustls::Error::InvalidCertificate(certificate)) = (host, &error) else {
            return Self::Protocol(error);
        };
        let host = host.to_string();
        match certificate {
            CertificateError::UnknownIssuer => Self::UnknownIssuer { host },
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Self::WrongHost { host }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                Self::Expired { host }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                Self::NotYetValid { host }
            }
            other => Self::Certificate {
                host,
                error: other.clone(),
            },
        }
    }

    /// Whether the server's certificate was refused (as opposed to the transport, the
    /// protocol or the local configuration failing): a reason not to retry the same server.
    pub fn is_certificate(&self) -> bool {
        matches!(
            self,
            Self::UnknownIssuer { .. }
                | Self::WrongHost { .. }
                | Self::Expired { .. }
                | Self::NotYetValid { .. }
                | Self::Certificate { .. }
        )
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHostName { host } => {
                write!(f, "TLS: {host:?} is not a valid DNS name or IP address")
            }
            Self::UnknownIssuer { host } => write!(
                f,
                "TLS: the certificate of {host} is not signed by a trusted CA (unknown issuer)"
            ),
            Self::WrongHost { host } => write!(
                f,
                "TLS: the certificate presented by {host} is for another host name"
            ),
            Self::Expired { host } => write!(f, "TLS: the certificate of {host} has expired"),
            Self::NotYetValid { host } => {
                write!(f, "TLS: the certificate of {host} is not valid yet")
            }
            Self::Certificate { host, error } => {
                write!(f, "TLS: the certificate of {host} is invalid: {error}")
            }
            Self::Protocol(error) => write!(f, "TLS handshake failed: {error}"),
            Self::Pem { what, detail } => write!(f, "TLS: no usable {what} in PEM: {detail}"),
            Self::Config(error) => write!(f, "TLS configuration refused: {error}"),
            Self::File { path, error } => write!(f, "TLS: cannot read {}: {error}", path.display()),
            Self::Io(error) => write!(f, "TLS transport: {error}"),
        }
    }
}

impl core::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Protocol(error) | Self::Config(error) => Some(error),
            Self::File { error, .. } | Self::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for TlsError {
    /// A transport failure ([`TlsError::Io`]), so that `?` on the TCP connect works in a
    /// connect closure that returns `TlsError`.
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl embedded_io::Error for TlsError {
    /// What a client session is told ([`ReconnectReason::Io`](crate::client::ReconnectReason::Io)):
    /// `InvalidData` for a refused certificate or a failed handshake, `InvalidInput` for a
    /// host name or configuration that can never work, the transport's own kind otherwise.
    /// The kind alone does not say which check failed: keep the `TlsError` (see the
    /// [module docs](self)) to report it.
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::Io(error) | Self::File { error, .. } => embedded_io::Error::kind(error),
            Self::InvalidHostName { .. } | Self::Pem { .. } | Self::Config(_) => {
                embedded_io::ErrorKind::InvalidInput
            }
            _ => embedded_io::ErrorKind::InvalidData,
        }
    }
}

impl From<TlsError> for io::Error {
    /// For connect closures that return `io::Error`: the [`TlsError`] rides along as the
    /// source (`error.get_ref()` and `downcast_ref::<TlsError>()` recover it).
    fn from(error: TlsError) -> Self {
        match error {
            TlsError::Io(error) => error,
            other => Self::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// The ring provider, named explicitly so that another crate turning on rustls' aws-lc-rs
/// feature in the same build does not leave rustls unsure which process default to use.
///
/// rustls 0.23.48 deprecates it because ring has no post-quantum key exchange (X25519MLKEM768):
/// a conscious trade, since aws-lc-rs, which has one, needs cmake to build. The classical
/// groups (X25519, P-256, P-384) still negotiate with every peer.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in `pem`, or an error if it holds none or a malformed one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |detail: String| TlsError::Pem {
        what: "certificate",
        detail,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| bad(error.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE section".to_string()));
    }
    Ok(certs)
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::File {
        path: path.to_path_buf(),
        error,
    })
}

/// What a [`TlsConnector`] trusts. Every form verifies the server (see the
/// [module docs](self)); they differ only in the roots.
///
/// # Examples
///
/// ```no_run
/// use sansse::io::tls::TlsConfig;
///
/// // curl --cacert ca.pem: the public roots and one more CA.
/// let config = TlsConfig::new().with_ca_file("ca.pem")?;
/// // Only a private CA, nothing public.
/// let private = TlsConfig::without_roots().with_ca_file("ca.pem")?;
/// assert!(private.root_count() < config.root_count());
/// # Ok::<(), sansse::io::tls::TlsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TlsConfig {
    roots: RootCertStore,
}

impl TlsConfig {
    /// Trusts the Mozilla root set compiled into webpki-roots: the same on every machine,
    /// and updated with the crate, not with the system.
    pub fn new() -> Self {
        Self {
            roots: RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        }
    }

    /// Trusts nothing yet: add CAs with [`TlsConfig::with_ca_pem`] or
    /// [`TlsConfig::with_ca_file`] (a connector with no root at all refuses every server).
    pub fn without_roots() -> Self {
        Self {
            roots: RootCertStore::empty(),
        }
    }

    /// Also trusts the platform's store (through rustls-native-certs: the files OpenSSL
    /// would read on Linux, found with `SSL_CERT_FILE`/`SSL_CERT_DIR` or the usual paths, the
    /// keychain on macOS, the system store on Windows), for roots an administrator added.
    /// Unparsable entries are skipped, as the platform's own tools do.
    ///
    /// # Errors
    ///
    /// [`TlsError::Io`] when the store yields no usable certificate at all (no store found,
    /// or all of it unreadable).
    pub fn with_platform_roots(mut self) -> Result<Self, TlsError> {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = self.roots.add_parsable_certificates(found.certs);
        if added == 0 {
            let why = found
                .errors
                .first()
                .map_or_else(|| "no certificates found".to_string(), ToString::to_string);
            return Err(TlsError::Io(io::Error::new(
                io::ErrorKind::NotFound,
                format!("platform root store: {why}"),
            )));
        }
        Ok(self)
    }

    /// Also trusts every CA certificate in `pem` (one or more `CERTIFICATE` sections).
    ///
    /// # Errors
    ///
    /// [`TlsError::Pem`] when `pem` holds no certificate or a malformed one,
    /// [`TlsError::Config`] when one is not a usable trust anchor.
    pub fn with_ca_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        for cert in certificates(pem)? {
            self.roots.add(cert).map_err(TlsError::Config)?;
        }
        Ok(self)
    }

    /// Also trusts every CA certificate in the PEM file at `path`: curl's `--cacert`, except
    /// that the other roots stay trusted (start from [`TlsConfig::without_roots`] to drop them).
    ///
    /// # Errors
    ///
    /// As [`TlsConfig::with_ca_pem`], and [`TlsError::File`] when the file cannot be read.
    pub fn with_ca_file(self, path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let pem = read_file(path.as_ref())?;
        self.with_ca_pem(&pem)
    }

    /// How many roots are trusted.
    pub fn root_count(&self) -> usize {
        self.roots.len()
    }
}

impl Default for TlsConfig {
    /// [`TlsConfig::new`].
    fn default() -> Self {
        Self::new()
    }
}

/// The client side: verifies a server and wraps the stream to it.
///
/// Cheap to clone (the configuration is shared), so one connector serves every reconnect.
///
/// # Examples
///
/// The connect step of a client loop, with smol opening the TCP connection (the
/// [module docs](self) have a whole run):
///
/// ```no_run
/// use sansse::io::tls::{TlsConfig, TlsConnector, TlsError};
///
/// let connector = TlsConnector::new(TlsConfig::new());
/// // The shape `io::client::Client` takes as its connector.
/// let connect = async |host: &str, port: u16| -> Result<_, TlsError> {
///     let tcp = smol::net::TcpStream::connect((host, port)).await?;
///     connector.connect(host, tcp).await
/// };
/// let stream = smol::block_on(connect("example.com", 443))?;
/// # Ok::<(), TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConnector {
    inner: futures_rustls::TlsConnector,
    /// The same configuration, for the blocking client's rustls connections
    /// (futures-rustls does not hand its own back).
    config: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// A connector trusting `config`'s roots, offering TLS 1.3 and 1.2 and ALPN `http/1.1`.
    pub fn new(config: TlsConfig) -> Self {
        let mut client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            // The ring provider supports the default versions, so this cannot fail.
            .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
            .with_root_certificates(config.roots)
            .with_no_client_auth();
        client.alpn_protocols = std::vec![ALPN_HTTP_1_1.to_vec()];
        let config = Arc::new(client);
        Self {
            inner: futures_rustls::TlsConnector::from(Arc::clone(&config)),
            config,
        }
    }

    /// Runs the TLS handshake over `stream`, already connected to `host`, and verifies the
    /// server's certificate for `host` (a DNS name, or an IP address, with or without
    /// `[` `]`). `host` also goes out as SNI.
    ///
    /// The handshake has no deadline of its own: race it against a timer of your runtime.
    /// It is cancel-safe in the sense that dropping it drops the stream with it.
    ///
    /// # Errors
    ///
    /// [`TlsError::InvalidHostName`] before any byte is sent; the certificate variants when
    /// the server is not trusted for `host`; [`TlsError::Protocol`] when the peer does not
    /// complete a TLS handshake; [`TlsError::Io`] when the transport fails.
    pub async fn connect<S>(
        &self,
        host: &str,
        stream: S,
    ) -> Result<FuturesIo<ClientTlsStream<S>>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = server_name(host)?;
        let tls = self
            .inner
            .connect(name, stream)
            .await
            .map_err(|error| TlsError::from_handshake(Some(host), error))?;
        Ok(FuturesIo::new(tls))
    }

    /// [`TlsConnector::connect`] when `secure` (an `https://` URL), else `stream` as it is
    /// (`http://`): one stream type for a client whose connect step serves both schemes, as
    /// after a redirect from one to the other.
    ///
    /// # Errors
    ///
    /// As [`TlsConnector::connect`] when `secure`; never otherwise.
    pub async fn connect_maybe<S>(
        &self,
        secure: bool,
        host: &str,
        stream: S,
    ) -> Result<FuturesIo<MaybeTlsStream<S>>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if !secure {
            return Ok(FuturesIo::new(MaybeTlsStream::Plain(stream)));
        }
        let tls = self.connect(host, stream).await?.into_inner();
        Ok(FuturesIo::new(MaybeTlsStream::Tls(Box::new(tls))))
    }
}

impl TlsConnector {
    /// The rustls configuration, shared with the blocking client.
    pub(crate) fn client_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }
}

/// `host` as rustls names a server: a DNS name, or an IP address with or without `[` `]`.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(bare.to_string()).map_err(|_| TlsError::InvalidHostName {
        host: host.to_string(),
    })
}

/// A client stream that is TLS or plain, from [`TlsConnector::connect_maybe`]. Reads,
/// writes, flushes and closes go to whichever it is.
#[derive(Debug)]
pub enum MaybeTlsStream<S> {
    /// Plain text (`http://`).
    Plain(S),
    /// TLS (`https://`), verified. Boxed: a TLS session holds about a kilobyte of state,
    /// which the plain form should not carry.
    Tls(Box<ClientTlsStream<S>>),
}

impl<S> MaybeTlsStream<S> {
    /// Whether this is the TLS form.
    pub const fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_close(cx),
            Self::Tls(stream) => Pin::new(stream).poll_close(cx),
        }
    }
}

/// The server side: holds a certificate chain and its key, and runs the handshake on
/// accepted streams, so that `serve(acceptor.accept(tcp).await?, &hub, decide)` serves
/// `https://`.
///
/// Selects ALPN `http/1.1` when the client offers it (browsers offer `h2` first, which the
/// shells do not speak), and asks for no client certificate. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// use sansse::{AcceptOptions, Answer, Ring, StdHub, serve};
/// use sansse::io::tls::TlsAcceptor;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let acceptor = TlsAcceptor::from_pem_files("cert.pem", "key.pem")?;
/// let hub = StdHub::new(Ring::<64, 16_384>::new(1));
/// smol::block_on(async {
///     let listener = smol::net::TcpListener::bind("127.0.0.1:8443").await?;
///     let (tcp, _) = listener.accept().await?;
///     let tls = acceptor.accept(tcp).await?;
///     serve(tls, &hub, |_| Answer::Accept(AcceptOptions::new())).await?;
///     Ok(())
/// })
/// # }
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: futures_rustls::TlsAcceptor,
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// An acceptor presenting the chain in `cert_chain_pem` (the server's certificate first,
    /// then its intermediates) and proving it with the key in `key_pem` (PKCS#8, PKCS#1 or
    /// SEC1 `PRIVATE KEY` section; the first one found is used).
    ///
    /// # Errors
    ///
    /// [`TlsError::Pem`] when either holds nothing usable, [`TlsError::Config`] when the key
    /// does not match the certificate or is of an unsupported kind.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = certificates(cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| TlsError::Pem {
            what: "private key",
            detail: error.to_string(),
        })?;
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        server.alpn_protocols = std::vec![ALPN_HTTP_1_1.to_vec()];
        Ok(Self {
            inner: futures_rustls::TlsAcceptor::from(Arc::new(server)),
        })
    }

    /// [`TlsAcceptor::from_pem`] with both read from files (`--tls-cert`, `--tls-key`).
    ///
    /// # Errors
    ///
    /// As [`TlsAcceptor::from_pem`], and [`TlsError::File`] when a file cannot be read.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        Self::from_pem(&read_file(cert_chain.as_ref())?, &read_file(key.as_ref())?)
    }

    /// Runs the server side of the handshake over an accepted `stream`.
    ///
    /// The handshake has no deadline of its own: a client that connects and sends nothing
    /// holds it forever, so race it against a timer of your runtime.
    ///
    /// # Errors
    ///
    /// [`TlsError::Protocol`] when the client does not complete a TLS handshake (a
    /// plain-HTTP request, no common cipher suite, or an alert because it refused the
    /// certificate); [`TlsError::Io`] when the transport fails.
    pub async fn accept<S>(&self, stream: S) -> Result<FuturesIo<ServerTlsStream<S>>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let tls = self
            .inner
            .accept(stream)
            .await
            .map_err(|error| TlsError::from_handshake(None, error))?;
        Ok(FuturesIo::new(tls))
    }
}
