//! An SSE client on embassy: sansse's pull `Client` over TLS 1.3 (sansse's `embedded-tls`
//! feature) over embassy-net TCP, on the crate's `EmbassyTimer`, logging through defmt, in
//! acknowledged mode with the acked id persisted.
//!
//! Three tasks: `net_task` runs the network stack, `tls_task` the TLS pump (the handshakes,
//! encryption and certificate checks, over TCP from embassy-net), `sse_task` the client, whose
//! connector is the pump's link. Everything lives in statics sized here, so the linker checks
//! that it fits RAM; nothing is allocated.
//!
//! What a board replaces (README.md says how): the network driver (`net_driver.rs`), the time
//! driver (`time_driver.rs`), the core clock, the addresses, the seed, the TLS random number
//! generator, the pinned CA, and `Flash`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod net_driver;
mod sse;
mod time_driver;

use defmt::{error, info};
use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::tcp::client::TcpClientState;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng as _;
use sansse::client::ResumeMode;
use sansse::io::EmbassyTimer;
use sansse::io::embedded_tls::{TlsLink, Verification};
use sansse::{Client, ClientConfig, ClientMemory};
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

use crate::net_driver::NoEthernet;
use crate::sse::{Flash, SOCKET_RX, SOCKET_TX, Story, Tcp};

/// The SSE server, `https://sse.example.com/events`: a name, because TLS verifies the
/// certificate against the name dialled; `sse::HOSTS` maps it to an address from the
/// documentation range (RFC 5737), so nothing real is ever addressed.
const SERVER: &str = "sse.example.com";
const SERVER_PORT: u16 = 443;

/// The one CA the server's certificate chain must lead to: ISRG Root X2 (Let's Encrypt's
/// ECDSA P-384 root, DER), which signs Let's Encrypt's ECDSA chains. The firmware verifier
/// checks ECDSA chains only (no RSA without an allocator) and trusts exactly this CA; pin
/// the CA (or intermediate) of your own endpoint. See sansse's `io::embedded_tls` docs.
static CA_DER: &[u8] = include_bytes!("../isrg-root-x2.der");
const SERVER_PATH: &str = "/events";

/// SysTick counts core cycles: 16 MHz is the reset clock (HSI) of the STM32F4 in memory.x.
const CORE_HZ: u32 = 16_000_000;

/// Seeds the TCP stack (ports, sequence numbers) and the backoff jitter. A real board takes it
/// from its hardware RNG, so that devices restarted together do not reconnect in step.
const SEED: u64 = 0x5EED_0F5A_455E;

/// After a session ends for good (a `204`, a refused response, a give-up), start a new one
/// this much later, from the persisted id.
const RESTART_AFTER: embassy_time::Duration = embassy_time::Duration::from_secs(60);

/// The TLS record buffers, reused by every connection of the pump: a whole record (16 KiB
/// of plaintext and its overhead) for reading, as servers send records that large; 1 KiB
/// for writing (the request, in records of up to 1 KiB less 128 bytes of overhead).
const RECORD_READ: usize = 16_640;
const RECORD_WRITE: usize = 1024;

/// Socket slots: the client's one, and one spare (a ping connection, or DNS).
static RESOURCES: StaticCell<StackResources<2>> = StaticCell::new();
/// The buffers of the client's one TCP connection (see `sse::Tcp`).
static TCP_STATE: ConstStaticCell<TcpClientState<1, SOCKET_TX, SOCKET_RX>> =
    ConstStaticCell::new(TcpClientState::new());
static TCP: StaticCell<Tcp> = StaticCell::new();
/// The client's memory: events up to 1 KiB, response heads up to 512 bytes, a 512-byte
/// request, 256 bytes for a redirect target, and the client's own 512-byte receive and
/// 256-byte transmit buffers.
static MEMORY: ConstStaticCell<ClientMemory<1024, 512, 512, 256, 512, 256>> =
    ConstStaticCell::new(ClientMemory::new());
static FLASH: ConstStaticCell<Flash> = ConstStaticCell::new(Flash::new());
/// Between the client and the TLS pump: 512 bytes of decrypted stream, 256 of request.
static LINK: ConstStaticCell<TlsLink> = ConstStaticCell::new(TlsLink::new());
static TLS_READ: ConstStaticCell<[u8; RECORD_READ]> = ConstStaticCell::new([0; RECORD_READ]);
static TLS_WRITE: ConstStaticCell<[u8; RECORD_WRITE]> = ConstStaticCell::new([0; RECORD_WRITE]);

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let core = defmt::unwrap!(cortex_m::Peripherals::take());
    time_driver::start(core.SYST, CORE_HZ);

    // A static address; with embassy-net's `dhcpv4` feature, `Config::dhcpv4(Default::default())`.
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(Ipv4Address::new(192, 0, 2, 50), 24),
        gateway: Some(Ipv4Address::new(192, 0, 2, 1)),
        dns_servers: heapless::Vec::new(),
    });
    let resources = RESOURCES.init(StackResources::new());
    let (stack, runner) = embassy_net::new(NoEthernet::new(), config, resources, SEED);

    let tcp: &'static Tcp = TCP.init(Tcp::new(stack, TCP_STATE.take()));
    let link: &'static TlsLink = LINK.take();
    spawner.spawn(defmt::unwrap!(net_task(runner)));
    spawner.spawn(defmt::unwrap!(tls_task(tcp, link)));
    spawner.spawn(defmt::unwrap!(sse_task(stack, link)));
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, NoEthernet>) -> ! {
    runner.run().await
}

/// The TLS pump: opens the TLS connection the client asks for, over TCP from embassy-net,
/// and carries its bytes, until the client drops it; then the next one.
#[embassy_executor::task]
async fn tls_task(tcp: &'static Tcp, link: &'static TlsLink) -> ! {
    // STAND-IN, NOT SECURE: the handshake's key shares come from this generator, and a fixed
    // seed makes them predictable to anyone who has the firmware image. A board seeds it
    // from its hardware TRNG at boot (or passes the HAL's TRNG driver itself, such as
    // embassy-stm32's `rng::Rng`, which implements the same `rand_core` traits).
    let mut rng = ChaCha20Rng::seed_from_u64(SEED ^ 0x7715);
    // Verified against the pinned CA: chain, handshake signature and host name. This board
    // has no wall clock, so certificate dates are NOT checked; with an RTC or SNTP, implement
    // `TlsClock` and add `.with_clock::<YourClock>()`.
    let verification = Verification::pinned_ca(CA_DER);
    let connect = async |host: &str, port: u16| sse::connect(tcp, host, port).await;
    link.run(
        connect,
        &mut rng,
        &verification,
        TLS_READ.take(),
        TLS_WRITE.take(),
    )
    .await
}

#[embassy_executor::task]
async fn sse_task(stack: Stack<'static>, link: &'static TlsLink) {
    let memory = MEMORY.take();
    let mut story = Story::new(stack, FLASH.take());
    let mut seed = SEED;
    loop {
        // Resume from the last acknowledged event: after a reset this is where a board reads
        // flash. The session borrows the copy, so the story may overwrite the stored one.
        let resume = story.resume_id();
        let config = ClientConfig::new(SERVER, SERVER_PATH)
            .with_port(SERVER_PORT)
            .with_resume(ResumeMode::Acknowledged)
            .with_last_event_id(&resume);
        // The same client as over plain TCP; only the connector differs (for `http://`, it
        // would be `async |host: &str, port: u16| sse::connect(tcp, host, port).await`).
        match Client::with_timer(config, link.connector(), EmbassyTimer, seed, &mut *memory) {
            Ok(mut client) => {
                info!(
                    "sse: connecting to https://{=str}:{=u16}{=str}",
                    SERVER, SERVER_PORT, SERVER_PATH
                );
                loop {
                    // `next` is cancel-safe: a network change may win the race at any time.
                    match select(client.next(), story.network_changed()).await {
                        Either::First(Some(item)) => {
                            if let Some(id) = story.on_item(item) {
                                // Cannot fail: acknowledged mode, and the id came from the parser.
                                let _ = client.ack(&id);
                            }
                        }
                        Either::First(None) => break,
                        Either::Second(up) => {
                            story.set_network_up(up);
                            if up {
                                client.link_up();
                            } else {
                                client.link_down();
                            }
                        }
                    }
                }
                info!("sse: session ended");
            }
            // Only a config that does not fit the buffers above; fix the sizes.
            Err(refused) => error!("sse: config refused: {}", refused),
        }
        seed = seed.wrapping_add(1);
        embassy_time::Timer::after(RESTART_AFTER).await;
    }
}
