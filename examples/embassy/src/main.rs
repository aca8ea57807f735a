//! An SSE client on embassy: sansse's pull `Client` over embassy-net TCP, on the crate's
//! `EmbassyTimer`, logging through defmt, in acknowledged mode with the acked id persisted.
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
use embassy_futures::select::{Either, select};
use embassy_net::tcp::client::TcpClientState;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use sansse::client::ResumeMode;
use sansse::io::EmbassyTimer;
use sansse::{Client, ClientConfig, ClientMemory};
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

use crate::net_driver::NoEthernet;
use crate::sse::{Flash, SOCKET_RX, SOCKET_TX, Story, Tcp};

/// The SSE server: an IPv4 literal (see `sse::connect` for names), from the documentation
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
    let memory = MEMORY.take();
    let tcp: &'static Tcp = TCP.init(Tcp::new(stack, TCP_STATE.take()));
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
        let connect = async |host: &str, port: u16| sse::connect(tcp, host, port).await;
        match Client::with_timer(config, connect, EmbassyTimer, seed, &mut *memory) {
            Ok(mut client) => {
                info!(
                    "sse: connecting to {=str}:{=u16}{=str}",
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
