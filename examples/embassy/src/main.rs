//! An SSE client on embassy: sansse's `ClientSession`, driven by `sansse::io::client::run` over
//! an embassy-net TCP socket, logging through defmt, in acknowledged mode with the acked id
//! persisted.
//!
//! Two tasks: `net_task` runs the network stack, `sse_task` the client. Everything lives in
//! statics sized here, so the linker checks that it fits RAM; nothing is allocated.
//!
//! What a board replaces (README.md says how): the network driver (`net_driver.rs`), the time
//! driver (`time_driver.rs`), the core clock, the addresses, the seed, and `Flash`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod net_driver;
mod sse;
mod time_driver;

use defmt::{error, info};
use embassy_executor::Spawner;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use sansse::client::{ClientConfig, ClientSession, ClientStorage, ResumeMode};
use sansse::io::Timer as _;
use sansse::io::client::run;
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

use crate::net_driver::NoEthernet;
use crate::sse::{EmbassyTimer, Flash, Story, TcpConnector};

/// The SSE server: an IPv4 literal (see `TcpConnector` for names), from the documentation
/// range (RFC 5737), so nothing real is ever addressed.
const SERVER: &str = "192.0.2.10";
const SERVER_PORT: u16 = 8080;
const SERVER_PATH: &str = "/events";

/// SysTick counts core cycles: 16 MHz is the reset clock (HSI) of the STM32F4 in memory.x.
const CORE_HZ: u32 = 16_000_000;

/// Seeds the TCP stack (ports, sequence numbers) and the backoff jitter. A real board takes it
/// from its hardware RNG, so that devices restarted together do not reconnect in step.
const SEED: u64 = 0x5EED_0F5A_455E;

/// After a session ends for good (a `204`, a refused response, a give-up), start a new one
/// this much later, from the persisted id.
const RESTART_AFTER: embassy_time::Duration = embassy_time::Duration::from_secs(60);

/// Socket slots: the client's one, and one spare (a ping connection, or DNS).
static RESOURCES: StaticCell<StackResources<2>> = StaticCell::new();
/// The TCP receive buffer is the window the server may fill before the client reads.
static SOCKET_RX: ConstStaticCell<[u8; 2048]> = ConstStaticCell::new([0; 2048]);
static SOCKET_TX: ConstStaticCell<[u8; 512]> = ConstStaticCell::new([0; 512]);
/// The session's memory: events up to 1 KiB, response heads up to 512 bytes, a 512-byte
/// request and 256 bytes for a redirect target.
static STORAGE: ConstStaticCell<ClientStorage<1024, 512, 512, 256>> =
    ConstStaticCell::new(ClientStorage::new());
static FLASH: ConstStaticCell<Flash> = ConstStaticCell::new(Flash::new());

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

    spawner.spawn(defmt::unwrap!(net_task(runner)));
    spawner.spawn(defmt::unwrap!(sse_task(stack)));
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, NoEthernet>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn sse_task(stack: Stack<'static>) {
    let storage = STORAGE.take();
    let mut connector = TcpConnector::new(stack, SOCKET_RX.take(), SOCKET_TX.take());
    let mut story = Story::new(stack, FLASH.take());
    // The loop's own buffers: bytes from the socket, and the request on its way to it.
    let mut rx = [0u8; 512];
    let mut tx = [0u8; 256];
    let mut seed = SEED;
    loop {
        // Resume from the last acknowledged event: after a reset this is where a board reads
        // flash. The session borrows the copy, so the handler may overwrite the stored one.
        let resume = story.resume_id();
        let config = ClientConfig::new(SERVER, SERVER_PATH)
            .with_port(SERVER_PORT)
            .with_resume(ResumeMode::Acknowledged)
            .with_last_event_id(&resume);
        match ClientSession::new(EmbassyTimer.now(), config, storage.buffers(), seed) {
            Ok(mut session) => {
                info!(
                    "sse: connecting to {=str}:{=u16}{=str}",
                    SERVER, SERVER_PORT, SERVER_PATH
                );
                let ended = run(
                    &mut connector,
                    &mut EmbassyTimer,
                    &mut session,
                    &mut story,
                    &mut rx,
                    &mut tx,
                )
                .await;
                info!("sse: session ended: {}", ended);
            }
            // Only a config that does not fit the buffers above; fix the sizes.
            Err(refused) => error!("sse: config refused: {}", refused),
        }
        seed = seed.wrapping_add(1);
        embassy_time::Timer::after(RESTART_AFTER).await;
    }
}
