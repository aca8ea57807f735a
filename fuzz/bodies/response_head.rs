//! Body of the `response_head` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/response_head.rs`) and the stable tests, which include this file with
//! `#[path]`.
//!
//! Input layout: byte 0 is a control byte (bits 0-2: how many chunk lengths follow, at most 7;
//! bits 3-4 pick the head limits), then the chunk lengths (used in a cycle), then the bytes a
//! server sent. It checks, for the client's [`ResponseReader`]:
//!
//! 1. nothing panics, in the reader or in any accessor of the head it returns, nor in
//!    [`classify`] or [`ResponseHead::framing`];
//! 2. the outcome does not depend on how the bytes were split: fed whole, in the fuzz-chosen
//!    chunks and byte by byte, the reader reports the same head (or error) at the same offset,
//!    never consuming more than it was given, and the same again after [`ResponseReader::reset`];
//! 3. the head never exceeds the lent storage or the limits; interim `1xx` heads are skipped, so
//!    the head offered is final; its reason and values hold no line break or control byte; errors
//!    stick and a complete head consumes nothing more;
//! 4. the head written back in canonical form (CRLF, `name: value`, folds already undone) reads
//!    back to the same head: what the reader accepts it describes exactly.

use sansse::http::{
    BodyFraming, HeadLimits, HeadStatus, Policy, ResponseError, ResponseReader, Verdict, Version,
    classify,
};

/// Storage lent to the reader: smaller than the default head limit, so the storage binds too.
const STORAGE: usize = 512;

/// Runs one fuzz input.
pub(crate) fn response_head(data: &[u8]) {
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

    let whole = read(&[stream], limits, STORAGE);
    let chunks = chunks(splits, stream);
    assert_eq!(read(&chunks, limits, STORAGE), whole, "chunks {chunks:?}");
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(read(&bytes, limits, STORAGE), whole, "byte by byte");

    if let Outcome::Complete { head, .. } = &whole {
        // Written back canonically, the head reads back the same. CRLF line ends may make it
        // longer than the original, so the head limit is lifted (and the storage with it).
        let canonical = head.write();
        let roomy = limits.with_max_head(4 * STORAGE);
        let again = read(&[&canonical], roomy, 4 * STORAGE);
        assert_eq!(
            again,
            Outcome::Complete {
                end: canonical.len(),
                head: head.clone(),
            },
            "canonical form {:?}",
            String::from_utf8_lossy(&canonical)
        );
    }
}

/// A head as owned values, so runs can be compared.
#[derive(Clone, Debug, Eq, PartialEq)]
struct Head {
    version: Version,
    status: u16,
    reason: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// The head in canonical form: one status line, one `name: value` line per field, CRLF.
    fn write(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.extend_from_slice(format!(" {:03} ", self.status).as_bytes());
        out.extend_from_slice(&self.reason);
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// What a reader made of the input.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Outcome {
    /// Still partial after all input.
    Partial,
    /// Complete after `end` bytes of the whole input.
    Complete { end: usize, head: Head },
    /// Refused after some input.
    Refused(ResponseError),
}

fn read(chunks: &[&[u8]], limits: HeadLimits, storage: usize) -> Outcome {
    let mut storage = vec![0u8; storage];
    let capacity = storage.len();
    let mut reader = ResponseReader::new(&mut storage, limits);
    let first = feed(&mut reader, chunks, limits, capacity);
    // The same reader, reset, reads the same input the same way.
    reader.reset();
    assert!(reader.head().is_none());
    let second = feed(&mut reader, chunks, limits, capacity);
    assert_eq!(first, second, "after reset");
    first
}

fn feed(
    reader: &mut ResponseReader<'_>,
    chunks: &[&[u8]],
    limits: HeadLimits,
    capacity: usize,
) -> Outcome {
    let mut offset = 0;
    for chunk in chunks {
        match reader.handle_bytes(chunk) {
            Ok(HeadStatus::Partial) => {
                assert!(reader.head().is_none());
                offset += chunk.len();
            }
            Ok(HeadStatus::Complete { consumed }) => {
                assert!(
                    consumed <= chunk.len(),
                    "consumed {consumed} of {}",
                    chunk.len()
                );
                let head = complete(reader, offset + consumed, limits, capacity);
                // What follows belongs to the body: a complete reader takes no more.
                assert_eq!(
                    reader.handle_bytes(b"HTTP/1.1 200 OK\r\n\r\n"),
                    Ok(HeadStatus::Complete { consumed: 0 })
                );
                return Outcome::Complete {
                    end: offset + consumed,
                    head,
                };
            }
            Err(error) => {
                assert_eq!(reader.handle_bytes(b"\r\n\r\n"), Err(error), "errors stick");
                assert!(reader.head().is_none());
                return Outcome::Refused(error);
            }
        }
    }
    assert!(reader.head().is_none());
    Outcome::Partial
}

fn complete(reader: &ResponseReader<'_>, end: usize, limits: HeadLimits, capacity: usize) -> Head {
    let head = reader.head().expect("a complete head");
    // Interim heads may precede the final one, so only the final head is bounded by the storage;
    // its own size is what the buffer holds.
    let status = head.status();
    assert!((100..=599).contains(&status), "status {status}");
    assert!(
        !(100..200).contains(&status) || status == 101,
        "interim status {status} offered as final"
    );
    assert!(head.headers().len() <= limits.max_headers());
    assert!(
        head.reason().len() < capacity.min(limits.max_head()),
        "reason of {} bytes",
        head.reason().len()
    );
    assert!(end > 0);
    assert!(head.reason().iter().all(|&b| is_field_byte(b)));

    // Every accessor must be safe on any head the reader accepts.
    let _ = (head.content_type(), head.location(), head.retry_after());
    let _ = (head.transfer_encoding(), head.content_length());
    let _ = (head.content_encoding(), head.has_content_coding());
    let framing = head.framing();
    let bodiless = status < 200 || status == 204 || status == 304;
    if bodiless {
        assert_eq!(framing, Ok(BodyFraming::Length(0)), "no body for {status}");
    }
    if framing == Ok(BodyFraming::Chunked) {
        assert!(head.transfer_encoding().is_some());
    }
    if let Ok(BodyFraming::Length(length)) = framing {
        assert!(
            bodiless || head.content_length() == Some(length),
            "framing {length} against Content-Length {:?}",
            head.content_length()
        );
    }
    let verdict = classify(&head, &Policy::DEFAULT);
    if verdict == Verdict::Open {
        assert!(
            status == 200 && head.is_event_stream(),
            "opened on {status}"
        );
    }

    let mut total = 0usize;
    let headers = head
        .headers()
        .iter()
        .map(|header| {
            assert!(header.is(header.name));
            assert!(!header.name.is_empty(), "an empty field name");
            assert!(
                header.value.iter().all(|&b| is_field_byte(b)),
                "a control byte in {:?}",
                header.value
            );
            assert!(
                head.headers().get(header.name).is_some(),
                "{} not found by name",
                header.name
            );
            total += header.name.len() + header.value.len();
            (header.name.to_owned(), header.value.to_vec())
        })
        .collect();
    assert!(total <= capacity, "headers larger than the storage");
    Head {
        version: head.version(),
        status,
        reason: head.reason().to_vec(),
        headers,
    }
}

/// Field-value octets (RFC 9110 section 5.5): visible ASCII, space, tab and `obs-text`.
fn is_field_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
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
