//! HTTP/1.1, just large enough for SSE.
//!
//! Everything here is sans-IO and allocation-free: readers copy a message head into a buffer the
//! caller lends, writers produce bytes into a buffer the caller lends, and nothing keeps memory
//! beyond what it was given at construction.
//!
//! Server half:
//!
//! - [`RequestReader`] reads a request head incrementally under [`HeadLimits`]; each violation is
//!   a [`RequestError`] that names the status to answer with ([`RequestError::status_code`]).
//!   [`RequestHead::content_length`] reads a body length strictly, for servers that take bodies.
//! - [`StreamResponse`] writes the `200 OK` head that opens an event stream, chunked or
//!   close-delimited; [`ErrorResponse`] writes the short answers (400, 404, 405, 414, 431, 503,
//!   505 and the 204 that tells a client to stop reconnecting).
//! - [`encode_chunk`], [`encode_last_chunk`] and [`frame_chunk_in_place`] apply the chunked
//!   transfer coding to outgoing event bytes.
//!
//! Client half:
//!
//! - [`Request`] writes the request head (and an optional body).
//! - [`ResponseReader`] reads a response head incrementally, skipping interim `1xx` responses.
//! - [`classify`] turns a [`ResponseHead`] into a [`Verdict`] (open, stop, redirect, retry or fail)
//!   under an overridable [`Policy`]; redirects carry a parsed [`Location`].
//! - [`BodyDecoder`] removes the body framing (chunked, `Content-Length` or close-delimited) and
//!   hands back payload slices borrowed from the input.
//!
//! Not supported on purpose: HTTP/2, content codings (a compressed event stream is refused),
//! transfer codings other than `chunked`, and TLS (an `https` redirect is reported, not followed).
//!
//! # Examples
//!
//! A server reads a request and answers with an event-stream head:
//!
//! ```
//! use sansse::http::{HeadLimits, HeadStatus, RequestReader, StreamResponse};
//!
//! let mut storage = [0u8; 1024];
//! let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
//! let input = b"GET /events HTTP/1.1\r\nHost: example.com\r\nLast-Event-ID: 41\r\n\r\n";
//! assert_eq!(reader.handle_bytes(input), Ok(HeadStatus::Complete { consumed: input.len() }));
//!
//! let head = reader.head().unwrap();
//! assert_eq!(head.path(), "/events");
//! assert_eq!(head.last_event_id(), Some("41"));
//!
//! let mut out = [0u8; 256];
//! let n = StreamResponse::for_request(&head).write(&mut out).unwrap();
//! assert!(out[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
//! ```

// One file per role over the pieces both roles share, so that no file imports one that imports
// it back: `status` (the client's policy) -> `client`, `location`; `client`, `server` -> `head`,
// `body`, `token`; `head` -> `body`, `token`; `body` -> `chunked` (which owns `BodyError`).
mod body;
mod chunked;
mod client;
mod head;
mod location;
mod server;
mod status;
mod token;

pub use body::{BodyDecoder, BodyFraming, Decoded, FramingError};
pub use chunked::{
    BodyError, CHUNK_HEADER_MAX, LAST_CHUNK, MAX_CHUNK_OVERHEAD, chunk_overhead, encode_chunk,
    encode_last_chunk, frame_chunk_in_place,
};
pub use client::{Request, RequestWriteError, ResponseError, ResponseHead, ResponseReader};
pub use head::{HeadLimits, HeadStatus, Header, HeaderIter, Headers, Version};
pub use location::{Location, LocationError, Scheme};
pub use server::{
    ErrorResponse, RequestError, RequestHead, RequestReader, ResponseWriteError, StreamResponse,
};
pub use status::{Failure, Policy, Redirect, Verdict, classify};
