//! Body of the `request_head` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/request_head.rs`) and the stable tests, which include this file with
//! `#[path]`.
//!
//! Input layout: byte 0 is a control byte (bits 0-2: how many chunk lengths follow, at most 7;
//! bits 3-4 pick the head limits), then the chunk lengths (used in a cycle), then the bytes a
//! client sent. It checks:
//!
//! 1. nothing panics, in the reader or in any accessor of the head it returns;
//! 2. the outcome does not depend on how the bytes were split: fed whole, in the fuzz-chosen
//!    chunks and byte by byte, the reader reports the same head (or error) at the same offset;
//! 3. the head never exceeds the lent storage or the limits;
//! 4. a [`ServerSession`] fed the same chunks agrees: a complete head is offered as
//!    `RequestReady` with the same request line, and a refused one is answered with exactly the
//!    error response its error names, then closed.

use sansse::Instant;
use sansse::http::{HeadLimits, HeadStatus, RequestError, RequestReader};
use sansse::replay::Ring;
use sansse::server::{CloseReason, ServerConfig, ServerSession, SessionEvent, State};

/// Storage lent to the reader: smaller than the default head limit, so the storage binds too.
const STORAGE: usize = 512;

/// Runs one fuzz input.
pub(crate) fn request_head(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(control & 7).min(rest.len());
    let (splits, stream) = rest.split_at(count);
    let limits = match (control >> 3) & 3 {
        0 => HeadLimits::DEFAULT,
        1 => HeadLimits::new().with_max_headers(2),
        2 => HeadLimits::new().with_max_start_line(24),
        _ => HeadLimits::new().with_max_head(64),
    };

    let whole = read(&[stream], limits);
    let chunks = chunks(splits, stream);
    assert_eq!(read(&chunks, limits), whole, "chunks {chunks:?}");
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(read(&bytes, limits), whole, "byte by byte");
    check_session(&chunks, limits, &whole);
}

/// What a reader made of the input, owned so runs can be compared.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Outcome {
    /// Still partial after all input.
    Partial,
    /// Complete after `end` bytes of the whole input.
    Complete {
        end: usize,
        method: String,
        target: String,
        headers: Vec<(String, Vec<u8>)>,
    },
    /// Refused after some input.
    Refused(RequestError),
}

fn read(chunks: &[&[u8]], limits: HeadLimits) -> Outcome {
    let mut storage = [0u8; STORAGE];
    let mut reader = RequestReader::new(&mut storage, limits);
    let mut offset = 0;
    for chunk in chunks {
        match reader.handle_bytes(chunk) {
            Ok(HeadStatus::Partial) => offset += chunk.len(),
            Ok(HeadStatus::Complete { consumed }) => {
                assert!(consumed <= chunk.len());
                return complete(&reader, offset + consumed, limits);
            }
            Err(error) => {
                // The error sticks.
                assert_eq!(reader.handle_bytes(b"\r\n"), Err(error));
                assert!(reader.head().is_none());
                return Outcome::Refused(error);
            }
        }
    }
    assert!(reader.head().is_none());
    Outcome::Partial
}

fn complete(reader: &RequestReader<'_>, end: usize, limits: HeadLimits) -> Outcome {
    let head = reader.head().expect("a complete head");
    assert!(end <= STORAGE.min(limits.max_head()), "head of {end} bytes");
    assert!(head.headers().len() <= limits.max_headers());
    // Every accessor must be safe on any head the reader accepts.
    let _ = (
        head.path(),
        head.query(),
        head.version(),
        head.host(),
        head.accept(),
    );
    let _ = (
        head.last_event_id(),
        head.wants_close(),
        head.accepts_event_stream(),
    );
    let headers = head
        .headers()
        .iter()
        .map(|header| {
            assert!(header.is(header.name));
            (header.name.to_owned(), header.value.to_vec())
        })
        .collect();
    Outcome::Complete {
        end,
        method: head.method().to_owned(),
        target: head.target().to_owned(),
        headers,
    }
}

fn check_session(chunks: &[&[u8]], limits: HeadLimits, outcome: &Outcome) {
    let ring = Ring::<2, 128>::new(1);
    let mut storage = [0u8; STORAGE];
    let config = ServerConfig::new().with_head_limits(limits);
    let mut session = ServerSession::new(Instant::ZERO, &mut storage, config);
    for chunk in chunks {
        session.handle_bytes(Instant::ZERO, chunk);
    }
    match outcome {
        Outcome::Partial => assert_eq!(session.state(), State::ReadingRequest),
        Outcome::Complete { method, target, .. } => {
            assert_eq!(session.poll_event(), Some(SessionEvent::RequestReady));
            let head = session.request().expect("the head is offered");
            assert_eq!((head.method(), head.target()), (&**method, &**target));
        }
        Outcome::Refused(error) => {
            let mut buf = [0u8; 512];
            let n = session
                .poll_transmit(Instant::ZERO, &ring, &mut buf)
                .expect("512 bytes hold any error response")
                .expect("an error response");
            let mut want = [0u8; 512];
            let len = error.response().write(&mut want).expect("fits");
            assert_eq!(&buf[..n], &want[..len]);
            session
                .handle_written(Instant::ZERO, n)
                .expect("handed out");
            let reason = CloseReason::BadRequest { error: *error };
            assert_eq!(session.poll_event(), Some(SessionEvent::Closed { reason }));
        }
    }
}

fn chunks<'a>(splits: &[u8], stream: &'a [u8]) -> Vec<&'a [u8]> {
    if splits.is_empty() {
        return vec![stream];
    }
    let mut chunks = Vec::new();
    let mut rest = stream;
    for &len in splits.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(len).clamp(1, rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}
