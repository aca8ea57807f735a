//! The heartbeat machines at the extremes of their durations and of time: zero, sub-millisecond,
//! `Duration::MAX`, and instants at `Instant::MAX`. Every deadline saturates instead of
//! overflowing, and no machine fires twice at one instant, even where time itself saturates.

use core::time::Duration;

use sansse::Instant;
use sansse::heartbeat::{
    IdleConfig, IdleLimit, IdleWatchdog, KeepAlive, Lease, PingAction, PingConfig, PingSchedule,
    keepalive_comment, parse_keepalive_announcement,
};

const LONGEST: Duration = Duration::from_millis(u64::MAX);

/// Durations that test the conversion to whole milliseconds at both ends.
const DURATIONS: [Duration; 6] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_nanos(999_999),
    Duration::from_millis(1),
    LONGEST,
    Duration::MAX,
];

/// Whole milliseconds, saturating: what every machine stores.
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[test]
fn idle_config_saturates_every_duration_to_whole_milliseconds() {
    for d in DURATIONS {
        let config = IdleConfig::new()
            .with_timeout(d)
            .with_margin(d)
            .with_announced_bounds(d, d);
        assert_eq!(config.timeout(), whole_ms(d), "{d:?}");
        assert_eq!(config.margin(), whole_ms(d), "{d:?}");
        assert_eq!(config.min_announced(), whole_ms(d), "{d:?}");
        assert_eq!(config.max_announced(), whole_ms(d), "{d:?}");
        // Bounds of one value pin every announced limit to it.
        for interval in DURATIONS {
            assert_eq!(
                config.limit_for(interval),
                whole_ms(d),
                "{d:?} {interval:?}"
            );
        }
    }
    let widest = IdleConfig::new()
        .with_factor(u32::MAX)
        .with_margin(Duration::MAX)
        .with_announced_bounds(Duration::ZERO, Duration::MAX);
    assert_eq!(widest.limit_for(Duration::MAX), LONGEST);
    assert_eq!(widest.limit_for(Duration::ZERO), LONGEST);
    let no_growth = widest.with_factor(0).with_margin(Duration::ZERO);
    assert_eq!(no_growth.limit_for(Duration::MAX), Duration::ZERO);
}

#[test]
fn an_idle_watchdog_with_the_longest_timeout_fires_once_at_the_end_of_time() {
    for start in [Instant::ZERO, Instant::from_millis(1), Instant::MAX] {
        let mut watchdog = IdleWatchdog::new(start, IdleConfig::new().with_timeout(Duration::MAX));
        assert_eq!(watchdog.limit(), LONGEST);
        assert_eq!(watchdog.poll_timeout(), Some(Instant::MAX));
        if start < Instant::MAX {
            assert_eq!(
                watchdog.handle_timeout(Instant::from_millis(u64::MAX - 1)),
                None
            );
        }
        let expired = watchdog.handle_timeout(Instant::MAX).unwrap();
        assert_eq!(expired.limit, LONGEST);
        assert_eq!(watchdog.handle_timeout(Instant::MAX), None);
        assert_eq!(watchdog.poll_timeout(), None);
    }
}

#[test]
fn an_idle_watchdog_with_no_timeout_fires_at_once_and_once() {
    for timeout in [Duration::ZERO, Duration::from_nanos(999_999)] {
        let mut watchdog = IdleWatchdog::new(
            Instant::from_secs(3),
            IdleConfig::new().with_timeout(timeout),
        );
        assert_eq!(watchdog.poll_timeout(), Some(Instant::from_secs(3)));
        assert!(watchdog.handle_timeout(Instant::from_secs(3)).is_some());
        assert!(watchdog.handle_timeout(Instant::from_secs(3)).is_none());
    }
}

#[test]
fn announcements_at_the_extremes_stay_inside_the_bounds() {
    let config = IdleConfig::new();
    for interval in DURATIONS {
        let mut watchdog = IdleWatchdog::new(Instant::ZERO, config);
        watchdog.handle_announcement(Instant::from_millis(10), interval);
        assert!(watchdog.limit() >= config.min_announced(), "{interval:?}");
        assert!(watchdog.limit() <= config.max_announced(), "{interval:?}");
        assert_eq!(watchdog.source(), IdleLimit::Announced { interval });
        assert_eq!(
            watchdog.poll_timeout(),
            Some(Instant::from_millis(10) + watchdog.limit())
        );
    }
    // An announcement at the end of time saturates the deadline instead of wrapping it.
    let mut watchdog = IdleWatchdog::new(Instant::MAX, config);
    watchdog.handle_announcement(Instant::MAX, Duration::MAX);
    assert_eq!(watchdog.poll_timeout(), Some(Instant::MAX));
}

#[test]
fn ping_configs_at_the_extremes_keep_at_least_one_millisecond() {
    for d in DURATIONS {
        let config = PingConfig::new(d, d);
        let want = whole_ms(d).max(Duration::from_millis(1));
        assert_eq!(config.every(), want, "{d:?}");
        assert_eq!(config.answer_within(), want, "{d:?}");
    }
}

#[test]
fn the_longest_ping_schedule_acts_once_per_step_at_the_end_of_time() {
    let config = PingConfig::new(Duration::MAX, Duration::MAX);
    let mut pings = PingSchedule::new(Instant::ZERO, config);
    assert_eq!(pings.poll_timeout(), Some(Instant::MAX));
    assert_eq!(
        pings.handle_timeout(Instant::from_millis(u64::MAX - 1)),
        None
    );
    assert_eq!(
        pings.handle_timeout(Instant::MAX),
        Some(PingAction::SendPing)
    );
    // The answer deadline saturates where the ping was sent; the next step is death, once.
    assert_eq!(pings.poll_timeout(), Some(Instant::MAX));
    assert!(matches!(
        pings.handle_timeout(Instant::MAX),
        Some(PingAction::Dead(_))
    ));
    assert_eq!(pings.handle_timeout(Instant::MAX), None);
    assert_eq!(pings.poll_timeout(), None);
}

#[test]
fn a_ping_answered_at_the_end_of_time_saturates_the_next_ping() {
    let mut pings = PingSchedule::new(Instant::ZERO, PingConfig::new(LONGEST, LONGEST));
    assert_eq!(
        pings.handle_timeout(Instant::MAX),
        Some(PingAction::SendPing)
    );
    pings.handle_pong(Instant::MAX);
    assert_eq!(pings.awaiting_pong(), None);
    assert_eq!(pings.poll_timeout(), Some(Instant::MAX));
}

#[test]
fn keepalive_intervals_at_the_extremes() {
    for d in DURATIONS {
        let keepalive = KeepAlive::new(Instant::ZERO, d);
        let want = whole_ms(d).max(Duration::from_millis(1));
        assert_eq!(keepalive.interval(), want, "{d:?}");
        assert_eq!(keepalive.poll_timeout(), Some(Instant::ZERO + want));
        assert_eq!(
            parse_keepalive_announcement(&keepalive.announcement()),
            Some(want)
        );
    }
    assert_eq!(
        keepalive_comment(Duration::MAX),
        "keepalive 18446744073709551615"
    );
}

/// At `Instant::MAX` no later deadline exists. Re-arming there would make the keep-alive due
/// again at the same instant, and a server reporting each comment's write would write
/// keep-alives in a busy loop; instead the timer falls silent.
#[test]
fn a_keepalive_at_the_end_of_time_fires_once_and_then_never() {
    let mut keepalive = KeepAlive::new(Instant::ZERO, Duration::MAX);
    assert_eq!(keepalive.poll_timeout(), Some(Instant::MAX));
    assert!(!keepalive.handle_timeout(Instant::from_millis(u64::MAX - 1)));
    assert!(keepalive.handle_timeout(Instant::MAX));
    assert_eq!(keepalive.poll_timeout(), None);
    assert!(!keepalive.handle_timeout(Instant::MAX));
    keepalive.handle_write(Instant::MAX);
    assert_eq!(keepalive.poll_timeout(), None);
    assert!(!keepalive.handle_timeout(Instant::MAX));

    // The same for the shortest interval, created where time already ends.
    let mut late = KeepAlive::new(Instant::MAX, Duration::ZERO);
    assert_eq!(late.poll_timeout(), None);
    assert!(!late.handle_timeout(Instant::MAX));

    // One millisecond earlier there is still one instant left to fire at.
    let mut almost = KeepAlive::new(Instant::from_millis(u64::MAX - 1), Duration::ZERO);
    assert_eq!(almost.poll_timeout(), Some(Instant::MAX));
    assert!(almost.handle_timeout(Instant::MAX));
    assert!(!almost.handle_timeout(Instant::MAX));
}

#[test]
fn leases_at_the_extremes() {
    // A zero lease lapses where it was granted, once.
    let mut lease = Lease::new(Instant::from_secs(1), Duration::from_nanos(999_999));
    assert_eq!(lease.duration(), Duration::ZERO);
    assert_eq!(lease.poll_timeout(), Some(Instant::from_secs(1)));
    assert!(lease.handle_timeout(Instant::from_secs(1)).is_some());
    assert!(lease.handle_timeout(Instant::from_secs(1)).is_none());
    assert!(lease.renew(Instant::from_secs(1)).is_err());

    // The longest lease runs to the end of time and no further, renewed or not.
    let mut lease = Lease::new(Instant::ZERO, Duration::MAX);
    assert_eq!(lease.duration(), LONGEST);
    assert_eq!(lease.renew(Instant::from_millis(u64::MAX - 1)), Ok(()));
    assert_eq!(lease.poll_timeout(), Some(Instant::MAX));
    assert!(
        lease
            .handle_timeout(Instant::from_millis(u64::MAX - 1))
            .is_none()
    );
    let expired = lease.handle_timeout(Instant::MAX).unwrap();
    assert_eq!(expired.duration, LONGEST);
    assert_eq!(lease.renew(Instant::MAX), Err(expired));
    assert_eq!(lease.poll_timeout(), None);
}
