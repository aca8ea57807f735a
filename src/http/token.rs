//! The small pieces of HTTP syntax every message shares (RFC 9110 section 5): tokens, field-value
//! octets and comma-separated lists. A leaf: both roles and the head scanner build on it.

use crate::ascii::trim_ows;

/// `tchar` from RFC 9110 section 5.6.2: the characters of methods, header names and codings.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `bytes` is a non-empty `token` (RFC 9110 section 5.6.2).
pub(super) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// Field-value octets (RFC 9110 section 5.5): visible ASCII, space, tab and opaque `obs-text`.
pub(super) const fn is_field_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

/// Iterates the comma-separated elements of a list-valued header (RFC 9110 section 5.6.1),
/// trimmed, skipping the empty elements the grammar allows.
pub(super) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// A header value the writer may emit: no CR, LF, NUL or other control except tab.
pub(super) fn is_safe_value(value: &str) -> bool {
    value.bytes().all(is_field_byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_elements_trim_and_skip_empty() {
        let mut it = list_elements(b" gzip ,, chunked\t");
        assert_eq!(it.next(), Some(&b"gzip"[..]));
        assert_eq!(it.next(), Some(&b"chunked"[..]));
        assert_eq!(it.next(), None);
    }
}
