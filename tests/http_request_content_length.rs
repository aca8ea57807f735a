//! `RequestHead::content_length` reads a request body's length strictly (RFC 9112 section 6.3):
//! only digits, one value, within `u64`. Anything a lenient `str::parse` would let through is an
//! error the server answers with 400.

use sansse::http::{FramingError, HeadLimits, HeadStatus, RequestReader};

/// The `content_length()` of a `POST` whose header lines are `lines` (each without CRLF).
fn length_of(lines: &[&str]) -> Result<Option<u64>, FramingError> {
    let mut input = String::from("POST /publish HTTP/1.1\r\nHost: h\r\n");
    for line in lines {
        input.push_str(line);
        input.push_str("\r\n");
    }
    input.push_str("\r\n");
    let mut storage = [0u8; 1024];
    let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    let status = reader.handle_bytes(input.as_bytes());
    assert_eq!(
        status,
        Ok(HeadStatus::Complete {
            consumed: input.len()
        })
    );
    reader.head().expect("complete head").content_length()
}

const INVALID: Result<Option<u64>, FramingError> = Err(FramingError::InvalidContentLength);

#[test]
fn an_absent_header_means_no_body_length() {
    assert_eq!(length_of(&[]), Ok(None));
}

#[test]
fn plain_digits_are_the_length() {
    assert_eq!(length_of(&["Content-Length: 4"]), Ok(Some(4)));
    assert_eq!(length_of(&["content-length:0"]), Ok(Some(0)));
    assert_eq!(length_of(&["Content-Length: 0004"]), Ok(Some(4)));
    assert_eq!(
        length_of(&["Content-Length: 18446744073709551615"]),
        Ok(Some(u64::MAX))
    );
}

#[test]
fn a_sign_is_not_a_digit() {
    assert_eq!(length_of(&["Content-Length: +4"]), INVALID);
    assert_eq!(length_of(&["Content-Length: -1"]), INVALID);
}

#[test]
fn empty_or_non_decimal_values_are_refused() {
    assert_eq!(length_of(&["Content-Length:"]), INVALID);
    assert_eq!(length_of(&["Content-Length: 4 4"]), INVALID);
    assert_eq!(length_of(&["Content-Length: 0x4"]), INVALID);
    assert_eq!(length_of(&["Content-Length: 4.0"]), INVALID);
}

#[test]
fn a_value_past_u64_max_is_refused_not_clamped() {
    assert_eq!(
        length_of(&["Content-Length: 18446744073709551616"]),
        INVALID
    );
    assert_eq!(
        length_of(&["Content-Length: 99999999999999999999999"]),
        INVALID
    );
}

#[test]
fn two_different_values_are_refused_on_separate_lines_or_in_a_list() {
    assert_eq!(
        length_of(&["Content-Length: 4", "Content-Length: 5"]),
        INVALID
    );
    assert_eq!(length_of(&["Content-Length: 4, 5"]), INVALID);
}

#[test]
fn identical_repeats_are_one_length() {
    assert_eq!(
        length_of(&["Content-Length: 4", "Content-Length: 4"]),
        Ok(Some(4))
    );
    assert_eq!(length_of(&["Content-Length: 4, 4"]), Ok(Some(4)));
}

#[test]
fn one_bad_value_among_good_ones_spoils_them_all() {
    assert_eq!(
        length_of(&["Content-Length: 4", "Content-Length: +4"]),
        INVALID
    );
}
