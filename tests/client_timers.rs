//! Timers under a fake clock: idle watchdog, keep-alive announcement, pings, backoff, link state.

mod client_harness;

use core::time::Duration;

use client_harness::{Act, Client, EXACT, Ev, connect_to};
use proptest::prelude::*;
use sansse::Instant;
use sansse::backoff::{Backoff, BackoffConfig, GiveUp};
use sansse::client::{ClientConfig, CloseReason, ReconnectReason, State, TimerReason};
use sansse::heartbeat::{IdleConfig, IdleExpired, IdleLimit, PingConfig, PongOverdue};

const CONFIG: ClientConfig<'static> =
    ClientConfig::new("example.com", "/events").with_backoff(EXACT);

fn deadline(client: &Client) -> (u64, TimerReason) {
    let d = client.session.poll_deadline().expect("a deadline");
    (d.at.as_millis(), d.reason)
}

#[test]
fn idle_stream_reconnects_exactly_at_the_deadline() {
    let mut client = Client::new(CONFIG);
    client.at(100).open(b"");
    assert_eq!(deadline(&client), (60_100, TimerReason::Idle));

    // Any byte re-arms, even one that completes nothing.
    client.at(30_000).feed(b":");
    assert_eq!(deadline(&client), (90_000, TimerReason::Idle));

    client.at(89_999).timeout();
    assert_eq!(client.state(), State::Open);
    assert!(client.take_events().iter().all(|e| *e == Ev::Open(200)));

    client.at(90_000).timeout();
    let events = client.take_events();
    let Some(Ev::Reconnecting {
        delay_ms: 1_000,
        attempt: 1,
        reason: ReconnectReason::Idle(expired),
    }) = events.last().cloned()
    else {
        panic!("{events:?}");
    };
    assert_eq!(expired.last_activity, Instant::from_millis(30_000));
    assert_eq!(expired.limit, Duration::from_secs(60));
    assert_eq!(expired.source, IdleLimit::Configured);
    assert_eq!(client.take_actions().last(), Some(&Act::Disconnect));
    assert_eq!(deadline(&client), (91_000, TimerReason::Reconnect));
}

#[test]
fn keepalive_announcement_resizes_the_idle_limit() {
    let mut client = Client::new(CONFIG);
    client.at(100).open(b"");
    assert_eq!(client.session.idle_limit(), Some(Duration::from_secs(60)));
    // Split across reads, as it may arrive.
    client.at(200).feed(b":keepal");
    client.at(250).feed(b"ive 15000\n");
    // 15 s * 2 + 5 s margin.
    assert_eq!(client.session.idle_limit(), Some(Duration::from_secs(35)));
    assert_eq!(deadline(&client), (35_250, TimerReason::Idle));
    client.at(35_249).timeout();
    assert_eq!(client.state(), State::Open);
    client.at(35_250).timeout();
    assert_eq!(client.state(), State::Waiting);
    let events = client.take_events();
    assert!(matches!(
        events.last(),
        Some(Ev::Reconnecting {
            reason: ReconnectReason::Idle(IdleExpired {
                source: IdleLimit::Announced { .. },
                ..
            }),
            ..
        })
    ));
}

#[test]
fn announcement_bounds_come_from_the_idle_config() {
    let idle = IdleConfig::new()
        .with_timeout(Duration::from_secs(20))
        .with_announced_bounds(Duration::from_secs(2), Duration::from_secs(40));
    let mut client = Client::new(CONFIG.with_idle(idle));
    client.open(b": keepalive 600000\n");
    assert_eq!(client.session.idle_limit(), Some(Duration::from_secs(40)));
    client.feed(b":keepalive 1\n");
    assert_eq!(
        client.session.idle_limit(),
        Some(Duration::from_millis(5_002))
    );
    // Other comments leave it alone.
    client.feed(b":keepalive soon\n: hello\n");
    assert_eq!(
        client.session.idle_limit(),
        Some(Duration::from_millis(5_002))
    );
}

#[test]
fn retry_field_sets_the_next_delay() {
    let mut client = Client::new(CONFIG);
    client.open(b"retry: 2500\n\n");
    assert_eq!(client.take_events(), [Ev::Open(200), Ev::Retry(2_500)]);
    client.eof();
    assert!(matches!(
        client.take_events()[..],
        [Ev::Reconnecting {
            delay_ms: 2_500,
            attempt: 1,
            ..
        }]
    ));
    // Hostile values are clamped into the configured bounds.
    client.fire();
    client.open(b"retry: 0\nretry: 99999999999999999999999\n");
    assert_eq!(
        client.take_events(),
        [Ev::Open(200), Ev::Retry(600_000)],
        "only the latest of several queued retry changes is kept"
    );
    client.feed(b"retry: 0\n");
    assert_eq!(client.take_events(), [Ev::Retry(100)]);
    assert_eq!(
        client.session.reconnection_time(),
        Duration::from_millis(100)
    );
}

#[test]
fn backoff_doubles_to_its_cap_without_jitter() {
    let mut client = Client::new(CONFIG);
    let mut delays = Vec::new();
    for _ in 0..6 {
        client.connected();
        client.feed(b"HTTP/1.1 500 x\r\n\r\n");
        let Some(Ev::Reconnecting {
            delay_ms, attempt, ..
        }) = client.take_events().pop()
        else {
            panic!("no reconnect");
        };
        delays.push((attempt, delay_ms));
        let fired = client.fire();
        assert_eq!(fired.as_millis(), client.now.as_millis());
    }
    assert_eq!(
        delays,
        [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (4, 8_000),
            (5, 8_000),
            (6, 8_000)
        ]
    );
}

#[test]
fn jittered_delays_are_exact_under_a_fixed_seed() {
    const JITTERED: BackoffConfig = BackoffConfig::new();
    let delays = |seed| {
        let mut client = Client::with_seed(CONFIG.with_backoff(JITTERED), seed);
        let mut out = Vec::new();
        for _ in 0..5 {
            client.connected();
            client.feed(b"HTTP/1.1 503 x\r\n\r\n");
            if let Some(Ev::Reconnecting { delay_ms, .. }) = client.take_events().pop() {
                out.push((client.now.as_millis(), delay_ms));
            }
            client.fire();
        }
        out
    };
    let first = delays(0x5eed);
    assert_eq!(first, delays(0x5eed), "same seed, same sequence");
    assert_ne!(
        first.iter().map(|d| d.1).collect::<Vec<_>>(),
        delays(0x5eee).iter().map(|d| d.1).collect::<Vec<_>>()
    );
    // The same as the backoff machine alone, asked at the same instants.
    let mut backoff = Backoff::new(Instant::ZERO, JITTERED, 0x5eed);
    for (now, delay) in &first {
        let expected = backoff.next_attempt(Instant::from_millis(*now)).unwrap();
        assert_eq!(expected.delay.as_millis() as u64, *delay);
    }
}

#[test]
fn stable_connection_resets_the_backoff() {
    let mut client = Client::new(CONFIG);
    client.connected();
    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    client.fire();
    client.connected();
    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    client.fire(); // attempt 2 was due at 3 s
    let opened = client.now.as_millis();
    client.open(b"data: a\n\n");
    // A short connection keeps climbing.
    client.at(opened + 9_999).eof();
    assert!(matches!(
        client.take_events().pop(),
        Some(Ev::Reconnecting {
            attempt: 3,
            delay_ms: 4_000,
            ..
        })
    ));
    client.fire();
    let opened = client.now.as_millis();
    client.open(b"data: a\n\n");
    client.at(opened + 10_000).eof();
    assert!(matches!(
        client.take_events().pop(),
        Some(Ev::Reconnecting {
            attempt: 1,
            delay_ms: 1_000,
            ..
        })
    ));
}

#[test]
fn give_up_closes_the_session() {
    let mut client = Client::new(CONFIG.with_backoff(EXACT.with_max_attempts(2)));
    for _ in 0..2 {
        client.connected();
        client.feed(b"HTTP/1.1 500 x\r\n\r\n");
        client.fire();
    }
    client.connected();
    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    assert_eq!(
        client.take_events().pop(),
        Some(Ev::Closed(CloseReason::GaveUp(GiveUp::Attempts {
            attempts: 2
        })))
    );
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.session.poll_timeout(), None);
}

#[test]
fn link_down_and_up_does_not_burn_attempts() {
    let mut client = Client::new(CONFIG);
    client.take_actions();
    client.connected();
    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    client.fire();
    client.connected();
    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    client.take_actions();
    client.take_events();
    assert_eq!(deadline(&client), (3_000, TimerReason::Reconnect));

    client.at(1_500);
    client.session.handle_link_down(client.now);
    client.session.handle_link_down(client.now);
    assert_eq!(client.take_events(), [Ev::WaitingForLink]);
    assert_eq!(client.session.poll_timeout(), None);
    // Hours pass: nothing is attempted.
    client.at(10_000_000).timeout();
    assert!(client.take_actions().is_empty());
    assert_eq!(client.state(), State::Waiting);

    client.session.handle_link_up(client.now);
    assert_eq!(client.take_actions(), [connect_to("example.com", 80)]);
    client.session.handle_link_up(client.now);
    assert!(client.take_actions().is_empty());
    client.connected();
    client.feed(b"HTTP/1.1 500 x\r\n\r\n");
    // The backoff starts over: the outage was the link's.
    assert_eq!(
        client.take_events(),
        [Ev::Reconnecting {
            delay_ms: 1_000,
            attempt: 1,
            reason: ReconnectReason::Status(500),
        }]
    );
}

#[test]
fn link_down_drops_an_open_stream_and_its_partial_event() {
    let mut client = Client::new(CONFIG);
    client.open(b"id: 1\ndata: a\n\nid: 2\ndata: par");
    client.take_actions();
    client.session.handle_link_down(client.now);
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    assert_eq!(client.state(), State::Waiting);
    assert!(client.feed(b"tial\n\n").is_empty());
    client.session.handle_link_up(client.now);
    client.connected();
    assert_eq!(client.last_request_id(), Some("1".to_owned()));
}

#[test]
fn link_down_before_the_first_connect_cancels_it() {
    let mut client = Client::new(CONFIG);
    // `Client::new` drains; build the session by hand to stop before the Connect is taken.
    let storage: &'static mut sansse::client::ClientStorage =
        Box::leak(Box::new(sansse::client::ClientStorage::new()));
    client.session =
        sansse::client::ClientSession::new(Instant::ZERO, CONFIG, storage.buffers(), 1).unwrap();
    client.actions.clear();
    client.session.handle_link_down(Instant::ZERO);
    assert_eq!(client.take_actions(), []);
    client.session.handle_link_up(Instant::from_millis(5));
    assert_eq!(client.take_actions(), [connect_to("example.com", 80)]);
}

#[test]
fn pings_are_asked_for_and_an_unanswered_one_reconnects() {
    let ping = PingConfig::new(Duration::from_secs(30), Duration::from_secs(10));
    let mut client = Client::new(CONFIG.with_ping(ping));
    client.open(b"");
    client.take_actions();
    assert_eq!(deadline(&client), (30_000, TimerReason::Ping));
    client.at(29_999).timeout();
    assert!(client.take_actions().is_empty());
    client.at(30_000).timeout();
    assert_eq!(client.take_actions(), [Act::SendPing]);
    assert_eq!(deadline(&client), (40_000, TimerReason::Pong));

    client.at(35_000);
    client.session.handle_pong(client.now);
    client.feed(b":\n"); // keeps the idle watchdog quiet
    assert_eq!(deadline(&client), (60_000, TimerReason::Ping));
    client.at(60_000).timeout();
    assert_eq!(client.take_actions(), [Act::SendPing]);
    client.at(65_000).feed(b":\n");
    client.at(69_999).timeout();
    assert_eq!(client.state(), State::Open);
    client.at(70_000).timeout();
    assert_eq!(client.take_actions(), [Act::Disconnect]);
    assert_eq!(
        client.take_events().pop(),
        Some(Ev::Reconnecting {
            delay_ms: 1_000,
            attempt: 1,
            reason: ReconnectReason::PongOverdue(pong_overdue(60_000, 70_000)),
        })
    );
    // A late pong from the dead connection is ignored.
    client.session.handle_pong(client.now);
    assert_eq!(client.state(), State::Waiting);
}

fn pong_overdue(sent: u64, due: u64) -> PongOverdue {
    let ping = PingConfig::new(Duration::from_millis(1), Duration::from_millis(due - sent));
    let mut schedule = sansse::heartbeat::PingSchedule::new(Instant::from_millis(sent - 1), ping);
    let _ = schedule.handle_timeout(Instant::from_millis(sent));
    match schedule.handle_timeout(Instant::from_millis(due)) {
        Some(sansse::heartbeat::PingAction::Dead(overdue)) => overdue,
        other => panic!("{other:?}"),
    }
}

#[test]
fn early_repeated_and_backwards_timeouts_are_no_ops() {
    let mut client = Client::new(CONFIG);
    client.at(1_000).open(b"");
    client.take_events();
    client.at(500).timeout();
    client.at(61_000 - 1).timeout();
    client.at(61_000 - 1).timeout();
    assert_eq!(client.state(), State::Open);
    // Bytes stamped in the past count at the latest time seen, not earlier.
    client.at(10).feed(b":\n");
    assert_eq!(deadline(&client), (61_000 - 1 + 60_000, TimerReason::Idle));
    client.at(120_999).timeout();
    assert_eq!(client.state(), State::Waiting);
    let reconnect_at = deadline(&client);
    client.at(120_999).timeout();
    client.at(5).timeout();
    assert_eq!(deadline(&client), reconnect_at);
    assert_eq!(client.take_events().len(), 1);
}

/// The base delay of attempt `n` and the top of its jitter, from the backoff's documented
/// formula.
fn bounds(config: &BackoffConfig, n: u32) -> (u64, u64) {
    let r = (config.reconnection_time().as_millis() as u64).clamp(
        (config.min_reconnection_time().as_millis() as u64).max(1),
        (config.max_reconnection_time().as_millis() as u64).max(1),
    );
    let cap = (config.max_backoff().as_millis() as u64).max(r);
    let growth = u64::from(config.factor().max(1)).saturating_pow(n - 1);
    let base = r.saturating_mul(growth).min(cap);
    (base, base + base * u64::from(config.jitter_percent()) / 100)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reconnect_delays_stay_within_the_backoff_bounds(
        seed in any::<u64>(),
        reconnect_ms in 1u64..10_000,
        max_backoff_ms in 1u64..60_000,
        factor in 0u32..5,
        jitter in 0u8..=100,
        outcomes in proptest::collection::vec(0u8..4, 1..24),
    ) {
        let backoff = BackoffConfig::new()
            .with_reconnection_time(Duration::from_millis(reconnect_ms))
            .with_max_backoff(Duration::from_millis(max_backoff_ms))
            .with_factor(factor)
            .with_jitter_percent(jitter);
        let mut client = Client::with_seed(CONFIG.with_backoff(backoff), seed);
        for outcome in outcomes {
            client.connected();
            match outcome {
                0 => { client.feed(b"HTTP/1.1 500 x\r\n\r\n"); }
                1 => { client.eof(); }
                2 => {
                    client.session.handle_error(client.now, sansse::client::ErrorKind::TimedOut);
                    client.drain();
                }
                _ => { client.fire(); } // connect timeout
            }
            let Some(Ev::Reconnecting { delay_ms, attempt, .. }) = client.take_events().pop() else {
                return Err(TestCaseError::fail("no reconnect"));
            };
            let (low, high) = bounds(&backoff, attempt);
            prop_assert!((low..=high).contains(&delay_ms), "{delay_ms} not in {low}..={high}");
            let before = client.now;
            let fired = client.fire();
            prop_assert_eq!(fired, before + Duration::from_millis(delay_ms));
            prop_assert!(client.session.poll_timeout().is_none_or(|t| t > client.now));
        }
    }
}
