//! Deterministic corpora: the same bytes on every run and machine, so numbers compare.

/// One corpus: its name, a one-line description and the bytes.
pub struct Corpus {
    pub name: &'static str,
    pub about: &'static str,
    pub bytes: Vec<u8>,
    /// How many events the generator wrote: the ground truth for every parser.
    pub events: u64,
}

/// The corpora `keep` selects by name, each at least `target` bytes long and ending on an event
/// boundary.
///
/// `big_target` bounds the two 64 KiB-event corpora separately so `--quick` can keep them tiny
/// while still holding more than one event.
pub fn all(target: usize, big_target: usize, keep: impl Fn(&str) -> bool) -> Vec<Corpus> {
    type Make = Box<dyn Fn() -> (Vec<u8>, u64)>;
    let specs: [(&'static str, &'static str, Make); 5] = [
        (
            "llm-tokens",
            "~120 B `data:` LLM token chunks",
            Box::new(move || fill(target, llm_token)),
        ),
        (
            "notifications",
            "~230 B JSON with `id:` and `event:`",
            Box::new(move || fill(target, notification)),
        ),
        (
            "big-lf",
            "64 KiB events of 64 `data:` lines, LF",
            Box::new(move || fill(big_target, |rng, n, out| big_event(rng, n, out, b"\n"))),
        ),
        (
            "big-crlf",
            "the same with CRLF line ends",
            Box::new(move || fill(big_target, |rng, n, out| big_event(rng, n, out, b"\r\n"))),
        ),
        (
            "tokens+ping",
            "LLM tokens with `: ping` comments mixed in",
            Box::new(move || fill(target, token_with_pings)),
        ),
    ];
    specs
        .into_iter()
        .filter(|(name, ..)| keep(name))
        .map(|(name, about, make)| corpus(name, about, make()))
        .collect()
}

fn corpus(name: &'static str, about: &'static str, (bytes, events): (Vec<u8>, u64)) -> Corpus {
    Corpus {
        name,
        about,
        bytes,
        events,
    }
}

/// xorshift64*: tiny, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn fill(target: usize, mut event: impl FnMut(&mut Rng, u64, &mut Vec<u8>)) -> (Vec<u8>, u64) {
    let mut rng = Rng::new(0x5EED_5EED);
    let mut out = Vec::with_capacity(target + 70_000);
    let mut n = 0;
    while out.len() < target {
        event(&mut rng, n, &mut out);
        n += 1;
    }
    (out, n)
}

/// Token texts with some non-ASCII so UTF-8 validation does real work, and JSON escapes.
const TOKENS: &[&str] = &[
    " the",
    " of",
    " and",
    " model",
    " stream",
    "ing",
    ",",
    ".",
    " é",
    " naïve",
    " 東京",
    " 😀",
    "\\n",
    " \\\"quoted\\\"",
    " parser",
    " bytes",
    " Rust",
    " 42",
    " über",
    " event",
];

fn llm_token(rng: &mut Rng, n: u64, out: &mut Vec<u8>) {
    let tok = TOKENS[rng.below(TOKENS.len())];
    out.extend_from_slice(
        format!(
            "data: {{\"id\":\"chatcmpl-9f3a\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{tok}\"}},\"finish_reason\":null}}],\"seq\":{n}}}\n\n"
        )
        .as_bytes(),
    );
}

fn notification(rng: &mut Rng, n: u64, out: &mut Vec<u8>) {
    const STATUS: &[&str] = &["created", "paid", "shipped", "delivered", "refunded"];
    const NAMES: &[&str] = &["Zoë Ångström", "Li Wei", "Ana Souza", "Jean Dupont"];
    let status = STATUS[rng.below(STATUS.len())];
    let name = NAMES[rng.below(NAMES.len())];
    let order = rng.next() & 0xFFFF_FFFF;
    let amount = rng.below(100_000);
    let kind = if n.is_multiple_of(3) {
        "order.updated"
    } else {
        "order.created"
    };
    out.extend_from_slice(
        format!(
            "id: {n}\nevent: {kind}\ndata: {{\"type\":\"{kind}\",\"order_id\":\"ord_{order:08x}\",\"status\":\"{status}\",\"amount\":{amount},\"currency\":\"EUR\",\"customer\":{{\"id\":\"cus_{order:08x}\",\"name\":\"{name}\"}},\"ts\":\"2026-03-21T10:{:02}:{:02}Z\"}}\n\n",
            n / 60 % 60,
            n % 60
        )
        .as_bytes(),
    );
}

/// 64 lines of 1018 payload bytes: `data: ` + payload + LF is 1024 bytes, so the event is 64 KiB.
fn big_event(rng: &mut Rng, n: u64, out: &mut Vec<u8>, eol: &[u8]) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.extend_from_slice(format!("id: blob-{n}{}", eol_str(eol)).as_bytes());
    for _ in 0..64 {
        out.extend_from_slice(b"data: ");
        for _ in 0..1018 / 8 {
            let r = rng.next();
            for k in 0..8 {
                out.push(ALPHABET[(r >> (k * 6)) as usize & 63]);
            }
        }
        out.extend_from_slice(&ALPHABET[..1018 % 8]);
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
}

fn eol_str(eol: &[u8]) -> &str {
    std::str::from_utf8(eol).unwrap_or("\n")
}

/// Token events; a keep-alive block after about one in four, a comment line inside one in eight.
fn token_with_pings(rng: &mut Rng, n: u64, out: &mut Vec<u8>) {
    if rng.below(8) == 0 {
        out.extend_from_slice(b": ping\n");
    }
    llm_token(rng, n, out);
    if rng.below(4) == 0 {
        out.extend_from_slice(b": ping\n\n");
    }
}
