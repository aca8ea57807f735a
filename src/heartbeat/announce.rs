//! The keep-alive announcement: the comment a server writes at stream start to tell clients
//! its keep-alive interval (see the module docs of `heartbeat`).

use core::fmt::Write as _;
use core::time::Duration;

use heapless::String;

use crate::ascii::{Overflow, duration_from_millis, millis, parse_u64};

#[cfg(doc)]
use super::KeepAlive;

/// The word that opens a keep-alive announcement comment.
const KEEPALIVE_WORD: &str = "keepalive ";

/// Writes the comment text announcing a keep-alive `interval`, such as `keepalive 15000`.
///
/// Write it as a comment (`:` then the text, then a line break) at stream start. The interval is
/// in whole milliseconds; anything under 1 ms is announced as 1 ms, the least [`KeepAlive`]
/// uses, because the parser rejects zero. The longest text (`u64::MAX` milliseconds) is 30 bytes,
/// so it always fits.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::keepalive_comment;
///
/// assert_eq!(keepalive_comment(Duration::from_secs(15)), "keepalive 15000");
/// ```
pub fn keepalive_comment(interval: Duration) -> String<32> {
    let mut text = String::new();
    // 10 bytes of word and at most 20 digits fit in 32, so this write cannot fail.
    let _ = write!(text, "{KEEPALIVE_WORD}{}", millis(interval).max(1));
    text
}

/// Reads a keep-alive announcement from a comment's text (everything after the colon).
///
/// One leading space is stripped first, as the event-stream format strips it from field
/// values, so both `:keepalive 15000` and `: keepalive 15000` announce 15 s. Anything else
/// returns `None`: other words, extra spaces, trailing text, non-digits, zero, or a number too
/// large for a `u64`.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::heartbeat::parse_keepalive_announcement;
///
/// assert_eq!(parse_keepalive_announcement("keepalive 15000"), Some(Duration::from_secs(15)));
/// assert_eq!(parse_keepalive_announcement(" keepalive 15000"), Some(Duration::from_secs(15)));
/// assert_eq!(parse_keepalive_announcement("keepalive 15s"), None);
/// assert_eq!(parse_keepalive_announcement("just a comment"), None);
/// ```
pub fn parse_keepalive_announcement(comment_text: &str) -> Option<Duration> {
    let text = comment_text.strip_prefix(' ').unwrap_or(comment_text);
    let digits = text.strip_prefix(KEEPALIVE_WORD)?;
    let ms = parse_u64(digits.as_bytes(), Overflow::Reject)?;
    if ms == 0 {
        return None;
    }
    Some(duration_from_millis(ms))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use proptest::prelude::*;
    use std::string::ToString;

    use super::super::test_time::ms;
    use super::*;

    #[test]
    fn keepalive_comment_values() {
        assert_eq!(keepalive_comment(ms(15_000)), "keepalive 15000");
        assert_eq!(keepalive_comment(ms(1)), "keepalive 1");
        assert_eq!(keepalive_comment(Duration::ZERO), "keepalive 1");
        assert_eq!(
            keepalive_comment(Duration::from_micros(1_999)),
            "keepalive 1"
        );
        assert_eq!(
            keepalive_comment(Duration::MAX),
            "keepalive 18446744073709551615"
        );
    }

    #[test]
    fn announcement_parsing_table() {
        let cases: &[(&str, Option<u64>)] = &[
            ("keepalive 15000", Some(15_000)),
            (" keepalive 15000", Some(15_000)),
            ("keepalive 1", Some(1)),
            ("keepalive 0015000", Some(15_000)),
            ("keepalive 18446744073709551615", Some(u64::MAX)),
            ("keepalive 18446744073709551616", None), // one past u64::MAX
            ("keepalive 0", None),
            ("keepalive 000", None),
            ("keepalive ", None),
            ("keepalive", None),
            ("", None),
            (" ", None),
            ("  keepalive 15000", None), // only one leading space is stripped
            ("keepalive  15000", None),
            ("keepalive\t15000", None),
            ("keepalive 15000 ", None),
            ("keepalive 15000\r", None),
            ("keepalive 15000 ms", None),
            ("keepalive 15s", None),
            ("keepalive 1.5", None),
            ("keepalive +15", None),
            ("keepalive -15", None),
            ("keepalive 1_000", None),
            ("keepalive \u{0661}\u{0665}", None), // Arabic-Indic digits are not ASCII digits
            ("Keepalive 15000", None),
            ("KEEPALIVE 15000", None),
            ("keep-alive 15000", None),
            ("xkeepalive 15000", None),
            (":keepalive 15000", None), // the colon is the line's, not the text's
            ("heartbeat", None),
        ];
        for &(text, want) in cases {
            assert_eq!(
                parse_keepalive_announcement(text),
                want.map(Duration::from_millis),
                "text {text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn announcement_round_trips(interval in 1u64.., leading_space in any::<bool>()) {
            let text = keepalive_comment(ms(interval));
            let seen = if leading_space { std::format!(" {text}") } else { text.to_string() };

            prop_assert_eq!(parse_keepalive_announcement(&seen), Some(ms(interval)));
        }

        #[test]
        fn announcement_parser_never_panics(text in any::<std::string::String>()) {
            if let Some(interval) = parse_keepalive_announcement(&text) {
                prop_assert!(interval >= ms(1));
                prop_assert!(text.trim_start_matches(' ').starts_with("keepalive "));
            }
        }
    }
}
