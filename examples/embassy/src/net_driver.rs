//! A placeholder network driver: the link is up, frames sent go nowhere, none ever arrive.
//!
//! It exists so that embassy-net links without a board. A real board supplies its Ethernet or
//! Wi-Fi driver here, and `main` hands that to `embassy_net::new` instead: embassy-stm32's
//! `eth::Ethernet`, cyw43 (Raspberry Pi Pico W), esp-hal's Wi-Fi, or any other
//! `embassy_net_driver::Driver`.
//!
//! With this driver the stack sends ARP requests and SYNs that nobody answers, so the SSE task
//! shows its reconnect story (connect timeouts, growing delays) and never a message.

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// The largest Ethernet frame without its FCS: a 1500-byte IP MTU plus the 14-byte header.
const FRAME: usize = 1514;

/// An Ethernet interface with nothing behind it.
pub struct NoEthernet {
    /// Where outgoing frames are written, then forgotten.
    frame: [u8; FRAME],
}

impl NoEthernet {
    /// Creates the interface.
    pub const fn new() -> Self {
        Self { frame: [0; FRAME] }
    }
}

impl Driver for NoEthernet {
    type RxToken<'a> = NoFrame;
    type TxToken<'a> = Discard<'a>;

    fn receive(&mut self, _: &mut Context<'_>) -> Option<(NoFrame, Discard<'_>)> {
        // A real driver registers the waker here and wakes it when a frame arrives.
        None
    }

    fn transmit(&mut self, _: &mut Context<'_>) -> Option<Discard<'_>> {
        Some(Discard(&mut self.frame))
    }

    fn link_state(&mut self, _: &mut Context<'_>) -> LinkState {
        // A real driver reports the PHY's (or the Wi-Fi association's) state and wakes the
        // waker when it changes; the SSE task follows it through the stack.
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        capabilities.max_transmission_unit = FRAME;
        capabilities.max_burst_size = Some(1);
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        // A locally administered address (bit 1 of the first octet); a board reads its own
        // from OTP, EEPROM or the chip's unique id.
        HardwareAddress::Ethernet([0x02, 0x00, 0x00, 0x00, 0x00, 0x01])
    }
}

/// A received frame, which this driver never has: the type has no values.
pub enum NoFrame {}

impl RxToken for NoFrame {
    fn consume<R, F>(self, _: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        match self {}
    }
}

/// A frame to send, written into the driver's buffer and dropped.
pub struct Discard<'a>(&'a mut [u8; FRAME]);

impl TxToken for Discard<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // The stack never asks for more than the MTU; clamp anyway rather than panic.
        let len = len.min(FRAME);
        f(&mut self.0[..len])
    }
}
