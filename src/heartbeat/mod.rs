//! Heartbeat deadlines for both ends of a stream: the client's idle watchdog and ping schedule,
//! the server's keep-alive timer and client lease.
//!
//! Each is a small machine that never reads a clock. It answers [`poll_timeout`] with its next
//! deadline and acts in `handle_timeout(now)`; calling that early or again is a harmless no-op.
//! Every input takes `now`, and a `now` older than one already seen is treated as the latest
//! seen, so a clock that steps back never fires a deadline early or twice.
//!
//! | machine | side | deadline | outcome |
//! |---|---|---|---|
//! | [`IdleWatchdog`] | client | last byte received + idle limit | the stream is dead ([`IdleExpired`]) |
//! | [`PingSchedule`] | client | next ping, or ping sent + answer time | send a ping, or dead ([`PongOverdue`]) |
//! | [`KeepAlive`] | server | last byte written + interval | write a keep-alive comment |
//! | [`Lease`] | server | last renewal + lease duration | shed the client ([`LeaseExpired`]) |
//!
//! Deadlines are inclusive: a deadline at `t` fires for `now == t`, not for `now == t - 1 ms`.
//! The watchdog, the pong wait and the lease end for good when they fire; build a new machine
//! for the next connection.
//!
//! # Keep-alive announcement
//!
//! A client can only size its idle limit well if it knows how often the server writes when
//! there is nothing to say. This crate's convention: at stream start the server writes the
//! comment line
//!
//! ```text
//! :keepalive 15000
//! ```
//!
//! whose comment text is `keepalive`, one space, and the interval in milliseconds as ASCII
//! digits (no sign, not zero). A comment is ignored by every conforming SSE client, so the line
//! is harmless to peers that do not know it. [`keepalive_comment`] writes the text and
//! [`parse_keepalive_announcement`] reads it; the client then calls
//! [`IdleWatchdog::handle_announcement`].
//!
//! [`poll_timeout`]: IdleWatchdog::poll_timeout

mod announce;
mod deadline;
mod idle;
mod keepalive;
mod lease;
mod ping;

pub use announce::{keepalive_comment, parse_keepalive_announcement};
pub use idle::{IdleConfig, IdleExpired, IdleLimit, IdleWatchdog};
pub use keepalive::KeepAlive;
pub use lease::{Lease, LeaseExpired};
pub use ping::{PingAction, PingConfig, PingSchedule, PongOverdue};

/// Raises 0 to 1, for intervals that re-arm from the instant they fire.
const fn at_least_one(ms: u64) -> u64 {
    if ms == 0 { 1 } else { ms }
}

/// Shorthands for the tests of every machine.
#[cfg(test)]
mod test_time {
    use crate::time::Instant;
    use core::time::Duration;

    pub(super) const fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    pub(super) const fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::ToString;

    use super::test_time::{at, ms};
    use super::*;

    #[test]
    fn reasons_display_short_and_lowercase() {
        let idle = IdleExpired {
            last_activity: at(0),
            limit: ms(35_000),
            source: IdleLimit::Configured,
        };
        let pong = PongOverdue {
            sent_at: at(30_000),
            deadline: at(40_000),
        };
        let lease = LeaseExpired {
            renewed_at: at(0),
            duration: ms(60_000),
        };

        assert_eq!(idle.to_string(), "no data for 35000 ms");
        assert_eq!(pong.to_string(), "ping unanswered for 10000 ms");
        assert_eq!(lease.to_string(), "client lease expired after 60000 ms");
    }

    // Both ends together.

    /// A server with keep-alives and a client sized from its announcement, stepping from
    /// deadline to deadline: the client never times out while keep-alives flow, and times out
    /// exactly one limit after the last byte once the server stalls.
    #[test]
    fn announced_keepalives_keep_the_client_alive_until_the_server_stalls() {
        let mut server = KeepAlive::new(at(0), KeepAlive::DEFAULT_INTERVAL);
        let mut client = IdleWatchdog::new(at(0), IdleConfig::new());
        let announced = parse_keepalive_announcement(&server.announcement()).unwrap();
        server.handle_write(at(0));
        client.handle_announcement(at(0), announced);

        let stall_at = at(200_000);
        let mut last_byte = at(0);
        loop {
            let server_due = server.poll_timeout().unwrap();
            let client_due = client.poll_timeout().unwrap();
            let now = server_due.min(client_due);
            if let Some(expired) = client.handle_timeout(now) {
                assert_eq!(expired.last_activity, last_byte);
                assert_eq!(now, last_byte + ms(35_000));
                assert!(now > stall_at);
                break;
            }
            if server.handle_timeout(now) && now < stall_at {
                server.handle_write(now);
                client.handle_activity(now);
                last_byte = now;
            }
        }
        assert_eq!(last_byte, at(195_000));
    }
}
