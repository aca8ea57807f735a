// Node's `eventsource` package (a WHATWG EventSource) against our server.
//
// usage: node node_client.mjs URL COUNT [TIMEOUT_MS]
// Collects events until COUNT distinct sequence numbers arrived, then checks they are exactly
// 1..COUNT in order with no duplicate, and that at least one reconnection happened (the server
// is started with a forced drop). Prints one JSON line per event; exit 0 only if all checks pass.
import { EventSource } from 'eventsource';

const [url, countArg, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
const timeout = Number(timeoutArg ?? 20000);
const seqs = [];
let opens = 0;

const es = new EventSource(url);
const fail = (why) => {
  console.error(`node client: FAIL: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail(`timeout after ${timeout} ms with ${seqs.length} events`), timeout);

es.addEventListener('open', () => {
  opens += 1;
});
es.addEventListener('tick', (e) => {
  // Ids are "<epoch>-<seq>": the sequence number is what must be contiguous.
  const seq = Number(e.lastEventId.split('-')[1]);
  console.log(JSON.stringify({ type: e.type, data: e.data, id: e.lastEventId }));
  seqs.push(seq);
  if (seqs.length === count) {
    clearTimeout(timer);
    es.close();
    for (let i = 0; i < count; i++) {
      if (seqs[i] !== i + 1) fail(`event ${i} has seq ${seqs[i]}, expected ${i + 1}: ${seqs}`);
    }
    if (opens < 2) fail(`expected a reconnection, saw ${opens} open(s)`);
    console.error(`node client: ok: ${count} events in order over ${opens} connections`);
    process.exit(0);
  }
});
