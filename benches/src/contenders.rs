//! One driver per implementation: feed a corpus in chunks, hand every event to a `Sink`.
//!
//! Each driver uses the fastest synchronous entry point its crate offers. The two crates that
//! only expose a `Stream` are polled with a no-op waker over an in-memory stream of the chunks;
//! that stream is always ready, so `Pending` never happens.

use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures_core::Stream;

/// The implementations compared, in table order.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Contender {
    Memchr2,
    Sansse,
    SseCore,
    SseStream,
    SseParse,
    EventsourceStream,
}

impl Contender {
    pub const ALL: [Self; 6] = [
        Self::Memchr2,
        Self::Sansse,
        Self::SseCore,
        Self::SseStream,
        Self::SseParse,
        Self::EventsourceStream,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Memchr2 => "memchr2",
            Self::Sansse => "sansse",
            Self::SseCore => "sse-core",
            Self::SseStream => "sse-stream",
            Self::SseParse => "sse-parse",
            Self::EventsourceStream => "eventsource-stream",
        }
    }

    /// Whether it dispatches events (the baseline only counts line breaks).
    pub fn parses(self) -> bool {
        self != Self::Memchr2
    }
}

/// Receives each dispatched event, already normalised to the spec's view: the type defaults to
/// `message` and the id is the last event ID in effect.
pub trait Sink {
    fn event(&mut self, event_type: &str, data: &str, id: &str);
}

/// For timed runs: touches every event's strings so nothing is optimised away.
#[derive(Default)]
pub struct Consume {
    pub events: u64,
    pub bytes: u64,
}

impl Sink for Consume {
    #[inline]
    fn event(&mut self, event_type: &str, data: &str, id: &str) {
        // Reads the data's last byte, as a caller that uses the data would. Passing the `&str`
        // itself through `black_box` made the harness copy the reference with one 16-byte load,
        // which stalls on the two 8-byte stores that just wrote it when the event comes back by
        // value (sansse): a cost of the harness, not of parsing.
        std::hint::black_box(data.as_bytes().last());
        self.events += 1;
        self.bytes += (event_type.len() + data.len() + id.len()) as u64;
    }
}

/// For the agreement check: an order-sensitive FNV-1a hash over every event's fields.
#[derive(Clone)]
pub struct Checksum {
    pub events: u64,
    pub hash: u64,
}

impl Default for Checksum {
    fn default() -> Self {
        Self {
            events: 0,
            hash: 0xCBF2_9CE4_8422_2325,
        }
    }
}

impl Checksum {
    fn mix(&mut self, bytes: &[u8], end: u8) {
        for &b in bytes.iter().chain([end].iter()) {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
    }
}

impl Sink for Checksum {
    fn event(&mut self, event_type: &str, data: &str, id: &str) {
        self.events += 1;
        // 0xFF never occurs in UTF-8, so the separators make the encoding unambiguous.
        self.mix(event_type.as_bytes(), 0xFF);
        self.mix(data.as_bytes(), 0xFF);
        self.mix(id.as_bytes(), 0xFE);
    }
}

/// Ends a run that takes too long (the quadratic cases), checking the clock only every 256 ticks.
pub struct Guard {
    deadline: Instant,
    countdown: u32,
    pub timed_out: bool,
    /// Line breaks counted by the baseline, or sansse's error count; kept to be printed.
    pub aux: u64,
}

impl Guard {
    pub fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            countdown: 256,
            timed_out: false,
            aux: 0,
        }
    }

    /// Returns true when the run must stop.
    #[inline]
    fn tick(&mut self) -> bool {
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = 256;
            if Instant::now() > self.deadline {
                self.timed_out = true;
            }
        }
        self.timed_out
    }
}

/// Runs `contender` over `corpus` split into `chunk`-byte pieces (`usize::MAX`: whole).
pub fn run<S: Sink>(
    contender: Contender,
    corpus: &[u8],
    chunk: usize,
    sink: &mut S,
    guard: &mut Guard,
) {
    let chunks = corpus.chunks(chunk.min(corpus.len().max(1)));
    match contender {
        Contender::Memchr2 => memchr2(chunks, guard),
        Contender::Sansse => sansse(chunks, sink, guard),
        Contender::SseCore => sse_core(chunks, sink, guard),
        Contender::SseStream => sse_stream(chunks, sink, guard),
        Contender::SseParse => sse_parse(chunks, sink, guard),
        Contender::EventsourceStream => eventsource_stream(chunks, sink, guard),
    }
}

type Chunks<'a> = std::slice::Chunks<'a, u8>;

// Kept out of line so a profiler can attribute (and `--toggle-collect`) each driver.
#[inline(never)]
fn memchr2(chunks: Chunks<'_>, guard: &mut Guard) {
    let mut lines = 0u64;
    for c in chunks {
        lines += memchr::memchr2_iter(b'\n', b'\r', c).count() as u64;
        if guard.tick() {
            break;
        }
    }
    guard.aux = std::hint::black_box(lines);
}

#[inline(never)]
fn sansse<S: Sink>(chunks: Chunks<'_>, sink: &mut S, guard: &mut Guard) {
    use sansse::parse::{Output, Parser};
    // Large enough for the 64 KiB events; the ids, types and comments get the default limits.
    let mut parser = Parser::with_buffer(vec![0u8; 128 * 1024]);
    for c in chunks {
        let mut feed = parser.feed(c);
        while let Some(out) = feed.next() {
            match out {
                Ok(Output::Event(e)) => sink.event(e.event_type(), e.data(), e.id()),
                Ok(_) => {}
                Err(_) => guard.aux += 1,
            }
            if guard.tick() {
                return;
            }
        }
    }
}

#[inline(never)]
fn sse_core<S: Sink>(chunks: Chunks<'_>, sink: &mut S, guard: &mut Guard) {
    use sse_core::{SseDecoder, SseEvent};
    let mut decoder = SseDecoder::new();
    for mut c in chunks {
        // `&[u8]` implements `bytes::Buf`; the decoder advances it and keeps partial lines itself.
        while let Some(out) = decoder.next(&mut c) {
            match out {
                Ok(SseEvent::Message(m)) => {
                    let id = m.last_event_id.as_deref().unwrap_or("");
                    sink.event(&m.event, &m.data, id);
                }
                Ok(SseEvent::Retry(_)) => {}
                Err(_) => guard.aux += 1,
            }
            if guard.tick() {
                return;
            }
        }
    }
}

#[inline(never)]
fn sse_parse<S: Sink>(chunks: Chunks<'_>, sink: &mut S, guard: &mut Guard) {
    let mut parser = sse_parse::SseParser::new();
    for c in chunks {
        parser.feed(c);
        while let Some(e) = parser.next_event() {
            sink.event(&e.event, &e.data, &e.id);
            if guard.tick() {
                return;
            }
        }
    }
}

#[inline(never)]
fn sse_stream<S: Sink>(chunks: Chunks<'_>, sink: &mut S, guard: &mut Guard) {
    let stream = sse_stream::SseByteStream::new(ChunkStream(chunks));
    // sse-stream hands out raw blocks and does not carry the id over; apply the spec here.
    let mut last_id = String::new();
    drive(stream, guard, |item, guard| match item {
        Ok(block) => {
            if let Some(id) = block.id {
                last_id = id;
            }
            if let Some(data) = block.data {
                let ty = match block.event.as_deref() {
                    None | Some("") => "message",
                    Some(t) => t,
                };
                sink.event(ty, &data, &last_id);
            }
        }
        Err(_) => guard.aux += 1,
    });
}

#[inline(never)]
fn eventsource_stream<S: Sink>(chunks: Chunks<'_>, sink: &mut S, guard: &mut Guard) {
    use eventsource_stream::Eventsource;
    let stream = ChunkStream(chunks).eventsource();
    drive(stream, guard, |item, guard| match item {
        Ok(e) => sink.event(&e.event, &e.data, &e.id),
        Err(_) => guard.aux += 1,
    });
}

/// Polls an always-ready stream to its end with a no-op waker.
fn drive<T: Stream>(stream: T, guard: &mut Guard, mut each: impl FnMut(T::Item, &mut Guard)) {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(item)) => each(item, guard),
            Poll::Ready(None) => return,
            Poll::Pending => unreachable!("in-memory stream is always ready"),
        }
        if guard.tick() {
            return;
        }
    }
}

/// The corpus chunks as a stream of `Result<&[u8], io::Error>`, as an HTTP body would give them.
struct ChunkStream<'a>(Chunks<'a>);

impl<'a> Stream for ChunkStream<'a> {
    type Item = Result<&'a [u8], io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.next().map(Ok))
    }
}
