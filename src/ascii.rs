//! The crate's one copy of the small text and number helpers every protocol layer needs.
//!
//! Peers send numbers as ASCII digits (`Content-Length`, chunk sizes are hex and live with the
//! chunked decoder, `Retry-After`, the status code, ring ids); the crate writes them back the same
//! way. Parsing is strict on purpose: `str::parse::<u64>` accepts a leading `+`, which HTTP's
//! `1*DIGIT` does not (RFC 9112 section 6.3 requires rejecting such a `Content-Length`), so every
//! peer number goes through [`parse_u64`] instead. What to do past `u64::MAX` differs by caller
//! (a delay may saturate, a body length must not), so the caller chooses with [`Overflow`].

use core::time::Duration;

/// What [`parse_u64`] does with a value that does not fit in a `u64`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Overflow {
    /// Clamp to `u64::MAX`: for values only ever compared with a smaller cap (delays).
    Saturate,
    /// Fail: for values that frame bytes (lengths, ids), where a clamped value would be a lie.
    Reject,
}

/// Parses `1*DIGIT` (ASCII `0`-`9` only: no sign, no whitespace, not empty) as a `u64`.
///
/// Leading zeros are accepted, as HTTP's grammar does; callers that need a canonical spelling
/// check for them first. Returns `None` for any other byte, for empty input, and past `u64::MAX`
/// when `overflow` is [`Overflow::Reject`].
pub(crate) const fn parse_u64(digits: &[u8], overflow: Overflow) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    let mut i = 0;
    while i < digits.len() {
        value = match push_digit(value, digits[i], overflow) {
            Some(value) => value,
            None => return None,
        };
        i += 1;
    }
    Some(value)
}

/// One step of [`parse_u64`], for numbers that arrive in pieces: `value * 10 + digit`, or `None`
/// if `b` is not an ASCII digit (or on overflow, under [`Overflow::Reject`]).
pub(crate) const fn push_digit(value: u64, b: u8, overflow: Overflow) -> Option<u64> {
    if !b.is_ascii_digit() {
        return None;
    }
    let digit = (b - b'0') as u64;
    match value.checked_mul(10) {
        Some(v) => match v.checked_add(digit) {
            Some(v) => Some(v),
            None => overflowed(overflow),
        },
        None => overflowed(overflow),
    }
}

const fn overflowed(overflow: Overflow) -> Option<u64> {
    match overflow {
        Overflow::Saturate => Some(u64::MAX),
        Overflow::Reject => None,
    }
}

/// Decimal digits in `u64::MAX`: the room [`write_u64`] needs.
pub(crate) const U64_DIGITS: usize = 20;

/// Formats `n` in decimal at the end of `digits` and returns the digits written.
#[inline]
pub(crate) fn write_u64(mut n: u64, digits: &mut [u8; U64_DIGITS]) -> &[u8] {
    let mut start = U64_DIGITS;
    loop {
        start -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[start..]
}

/// [`write_u64`] as text, for callers that build strings.
pub(crate) fn write_u64_str(n: u64, digits: &mut [u8; U64_DIGITS]) -> &str {
    // Only ASCII digits were written, so this is valid UTF-8 and the fallback never happens.
    core::str::from_utf8(write_u64(n, digits)).unwrap_or_default()
}

/// Drops leading and trailing optional whitespace (`OWS`: spaces and tabs, RFC 9110 section 5.6.3).
pub(crate) const fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Whole milliseconds of `d`, saturating at `u64::MAX`; sub-millisecond parts are dropped.
pub(crate) const fn millis(d: Duration) -> u64 {
    let ms = d.as_millis();
    if ms > u64::MAX as u128 {
        u64::MAX
    } else {
        ms as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Overflow; 2] = [Overflow::Saturate, Overflow::Reject];

    #[test]
    fn parses_plain_digits_with_either_policy() {
        for policy in BOTH {
            assert_eq!(parse_u64(b"0", policy), Some(0));
            assert_eq!(parse_u64(b"120", policy), Some(120));
            assert_eq!(parse_u64(b"18446744073709551615", policy), Some(u64::MAX));
        }
    }

    #[test]
    fn accepts_leading_zeros_as_http_does() {
        for policy in BOTH {
            assert_eq!(parse_u64(b"007", policy), Some(7));
            assert_eq!(parse_u64(b"00000000000000000000000042", policy), Some(42));
        }
    }

    #[test]
    fn rejects_signs_whitespace_and_empty_input() {
        for policy in BOTH {
            for input in [
                &b"+4"[..],
                b"-1",
                b" 4",
                b"4 ",
                b"\t4",
                b"",
                b"4a",
                b"0x4",
                b"1_000",
            ] {
                assert_eq!(parse_u64(input, policy), None, "{input:?}");
            }
        }
    }

    #[test]
    fn one_past_u64_max_saturates_or_is_rejected_as_asked() {
        assert_eq!(
            parse_u64(b"18446744073709551616", Overflow::Saturate),
            Some(u64::MAX)
        );
        assert_eq!(parse_u64(b"18446744073709551616", Overflow::Reject), None);
        // Overflow in the multiplication rather than the addition.
        assert_eq!(parse_u64(b"99999999999999999999", Overflow::Reject), None);
        assert_eq!(
            parse_u64(b"99999999999999999999999", Overflow::Saturate),
            Some(u64::MAX)
        );
    }

    #[test]
    fn a_non_digit_after_overflow_is_still_rejected_when_saturating() {
        assert_eq!(
            parse_u64(b"99999999999999999999999+", Overflow::Saturate),
            None
        );
    }

    #[test]
    fn digits_pushed_one_by_one_match_a_whole_parse() {
        let mut value = Some(0);
        for &b in b"18446744073709551615" {
            value = value.and_then(|v| push_digit(v, b, Overflow::Reject));
        }
        assert_eq!(value, Some(u64::MAX));
        assert_eq!(push_digit(u64::MAX, b'0', Overflow::Reject), None);
        assert_eq!(
            push_digit(u64::MAX, b'0', Overflow::Saturate),
            Some(u64::MAX)
        );
        assert_eq!(push_digit(1, b'+', Overflow::Saturate), None);
    }

    #[test]
    fn writes_zero_and_the_largest_value() {
        let mut digits = [0; U64_DIGITS];
        assert_eq!(write_u64(0, &mut digits), b"0");
        assert_eq!(write_u64(u64::MAX, &mut digits), b"18446744073709551615");
        assert_eq!(write_u64_str(10, &mut digits), "10");
    }

    #[test]
    fn written_values_parse_back() {
        let mut digits = [0; U64_DIGITS];
        for n in [0, 1, 9, 10, 99, 100, 4_294_967_296, u64::MAX - 1, u64::MAX] {
            let text = write_u64(n, &mut digits);
            assert_eq!(parse_u64(text, Overflow::Reject), Some(n));
        }
    }

    #[test]
    fn trims_spaces_and_tabs_only() {
        assert_eq!(trim_ows(b" \t5\t "), b"5");
        assert_eq!(trim_ows(b"a b"), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"\r5\n"), b"\r5\n");
    }

    #[test]
    fn millis_drop_fractions_and_saturate() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_micros(1_999)), 1);
        assert_eq!(millis(Duration::from_millis(u64::MAX)), u64::MAX);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
