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
        let (q, r) = div_rem_small(n, 10);
        // `r` is below 10, so the cast cannot truncate.
        digits[start] = b'0' + r as u8;
        n = q;
        if n == 0 {
            break;
        }
    }
    &digits[start..]
}

/// `(n / d, n % d)` for a divisor below 2^16 (the crate divides by 10, 100 and 1000).
///
/// On 64-bit targets this is the plain operators. On 32-bit targets a `u64` division is a call
/// to `compiler_builtins`' 64-bit division, close to 900 bytes of flash on a Cortex-M4 that one
/// `/` anywhere in the firmware pulls in: there the quotient is found 16 bits at a time with
/// 32-bit divisions (one instruction on Cortex-M3 and up and on RV32IM), the remainder of each
/// step staying below `d` and so below 2^16.
#[inline]
pub(crate) const fn div_rem_small(n: u64, d: u16) -> (u64, u64) {
    #[cfg(target_pointer_width = "64")]
    {
        (n / d as u64, n % d as u64)
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        div_rem_by_halfwords(n, d)
    }
}

/// [`div_rem_small`]'s long division, 16 bits at a time; compiled on every target so that the
/// host's tests check it against the plain operators.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
const fn div_rem_by_halfwords(n: u64, d: u16) -> (u64, u64) {
    // Callers pass nonzero constants; a zero is taken as 1 rather than adding a panic path.
    let d = if d == 0 { 1 } else { d as u32 };
    let mut quotient = 0u64;
    let mut rem = 0u32;
    let mut shift = 64;
    while shift > 0 {
        shift -= 16;
        // `rem < d <= 0xFFFF`, so `rem << 16 | limb` fits in a u32.
        let part = rem << 16 | ((n >> shift) & 0xFFFF) as u32;
        quotient |= ((part / d) as u64) << shift;
        rem = part % d;
    }
    (quotient, rem as u64)
}

/// `n % d` for any divisor (`n` when `d` is 0, where `%` would panic; callers never pass 0).
///
/// On 32-bit targets by shifting and subtracting, a bit at a time, for the reason given at
/// [`div_rem_small`]; it runs once per reconnection (the backoff's jitter), so 64 steps cost
/// nothing that matters.
#[inline]
pub(crate) const fn rem_u64(n: u64, d: u64) -> u64 {
    if d == 0 {
        return n;
    }
    #[cfg(target_pointer_width = "64")]
    {
        n % d
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        rem_by_bits(n, d)
    }
}

/// [`rem_u64`]'s binary long division for a nonzero `d`; compiled on every target so that the
/// host's tests check it against `%`.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
const fn rem_by_bits(n: u64, d: u64) -> u64 {
    let mut rem = 0u64;
    let mut bit = 64;
    while bit > 0 {
        bit -= 1;
        // `rem < d` before the shift; the bit shifted out of the top is kept in `carry`, so
        // `carry:rem` is the true value and is below `2 * d`.
        let carry = rem >> 63 == 1;
        rem = rem << 1 | (n >> bit) & 1;
        if carry || rem >= d {
            rem = rem.wrapping_sub(d);
        }
    }
    rem
}

/// `Duration::from_millis(ms)` without its `u64` division by 1000 on 32-bit targets (see
/// [`div_rem_small`]).
#[inline]
pub(crate) const fn duration_from_millis(ms: u64) -> Duration {
    let (secs, rest) = div_rem_small(ms, 1000);
    // `rest < 1000`, so the nanoseconds are below a second and fit in a u32.
    Duration::new(secs, rest as u32 * 1_000_000)
}

/// `buf.copy_within(from..from + len, to)`.
///
/// On 64-bit targets this is that call. On 32-bit targets `copy_within` is `memmove`, which
/// `compiler_builtins` implements in about 1.6 KiB of flash on a Cortex-M4 (a forward and a
/// backward copy, each with word-at-a-time paths): there the bytes are moved one at a time,
/// front first or back first. The callers move text with invalid UTF-8, the dot segments of a
/// redirect target, and a server's chunk body once per write (a transmit buffer's worth): a
/// few cycles a byte there weigh less on a microcontroller than 1.6 KiB of flash.
#[inline]
pub(crate) fn move_within(buf: &mut [u8], from: usize, to: usize, len: usize) {
    if cfg!(target_pointer_width = "64") {
        buf.copy_within(from..from + len, to);
    } else {
        move_bytewise(buf, from, to, len);
    }
}

/// [`move_within`] without `memmove`; panics, as `copy_within` does, when a range is outside
/// `buf`. The bounds checks stay inside the loops, which keeps the compiler from turning them
/// back into a call to `memmove` (`benches/footprint.sh` would show its 1.6 KiB).
fn move_bytewise(buf: &mut [u8], from: usize, to: usize, len: usize) {
    if to < from {
        for i in 0..len {
            buf[to + i] = buf[from + i];
        }
    } else {
        for i in (0..len).rev() {
            buf[to + i] = buf[from + i];
        }
    }
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
// Out of line on 32-bit targets, which spell out the `u128` arithmetic in a hundred bytes or
// so at every call site.
#[cfg_attr(not(target_pointer_width = "64"), inline(never))]
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
    fn halfword_division_matches_the_operators() {
        let values = [
            0,
            1,
            9,
            10,
            65_535,
            65_536,
            4_294_967_295,
            4_294_967_296,
            1_000_000_007_000,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        for n in values {
            for d in [1u16, 2, 10, 100, 1000, 60_000, u16::MAX] {
                let want = (n / u64::from(d), n % u64::from(d));
                assert_eq!(div_rem_by_halfwords(n, d), want, "{n} / {d}");
                assert_eq!(div_rem_small(n, d), want, "{n} / {d}");
            }
        }
    }

    #[test]
    fn bitwise_remainder_matches_the_operator() {
        let values = [
            0,
            1,
            7,
            1000,
            4_294_967_296,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        for n in values {
            for d in values.into_iter().filter(|&d| d != 0) {
                assert_eq!(rem_by_bits(n, d), n % d, "{n} % {d}");
                assert_eq!(rem_u64(n, d), n % d, "{n} % {d}");
            }
            assert_eq!(rem_u64(n, 0), n);
        }
    }

    #[test]
    fn durations_from_millis_match_core() {
        for ms in [0, 1, 999, 1000, 1001, 86_400_000, u64::MAX - 1, u64::MAX] {
            assert_eq!(duration_from_millis(ms), Duration::from_millis(ms), "{ms}");
        }
    }

    #[test]
    fn moves_bytewise_like_copy_within_in_either_direction() {
        let original: [u8; 16] = core::array::from_fn(|i| i as u8);
        for from in 0..16 {
            for to in 0..16 {
                for len in 0..=16 - from.max(to) {
                    let mut want = original;
                    want.copy_within(from..from + len, to);
                    let mut got = original;
                    move_bytewise(&mut got, from, to, len);
                    assert_eq!(got, want, "{from} -> {to}, {len} bytes");
                    let mut got = original;
                    move_within(&mut got, from, to, len);
                    assert_eq!(got, want, "{from} -> {to}, {len} bytes");
                }
            }
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
