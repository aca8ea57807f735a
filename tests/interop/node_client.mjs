// Node's `eventsource` package (v4, a WHATWG EventSource on fetch) against examples/server.
//
// usage: node node_client.mjs URL COUNT [TIMEOUT_MS]
//
// Collects `tick` events until COUNT arrived, then checks: their sequence numbers (ids are
// "<epoch>-<seq>") are exactly 1..COUNT in order; the server dropped the stream at least once
// and the client reconnected; every reconnect sent as Last-Event-ID the id of the last event
// seen before the drop (read from the request itself, through the fetch override). Prints one
// JSON line per event to stderr and a summary line to stdout:
//   ok events=N opens=K resumed-from=ID,.. sent-last-event-id=ID,..
// and exits 0, or prints `fail <why>` and exits 1. Gives up after TIMEOUT_MS (default 20000).
import { EventSource } from 'eventsource';

const [url, countArg, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
const timeout = Number(timeoutArg ?? 20000);
const ids = [];
const resumedFrom = []; // the last id seen when each drop happened
const sent = []; // Last-Event-ID of every request after the first
let opens = 0;
let requests = 0;
let lastId = '';

const fail = (why) => {
  console.log(`fail ${why} events=${ids.length} opens=${opens} ids=${ids.join(',')}`);
  process.exit(1);
};
const timer = setTimeout(() => fail(`timeout-after-${timeout}ms`), timeout);

const es = new EventSource(url, {
  fetch: (input, init) => {
    requests += 1;
    if (requests > 1) sent.push(init.headers['Last-Event-ID'] ?? '-');
    return fetch(input, init);
  },
});
es.addEventListener('open', () => {
  opens += 1;
});
es.addEventListener('error', () => {
  if (es.readyState === EventSource.CONNECTING) resumedFrom.push(lastId || '-');
});
es.addEventListener('sansse-gap', (e) => fail(`gap-event:${e.data}`));
es.addEventListener('tick', (e) => {
  lastId = e.lastEventId;
  console.error(JSON.stringify({ type: e.type, data: e.data, id: e.lastEventId }));
  ids.push(e.lastEventId);
  if (ids.length < count) return;
  clearTimeout(timer);
  es.close();
  const seqs = ids.map((id) => Number(id.split('-')[1]));
  for (let i = 0; i < count; i++) {
    if (seqs[i] !== i + 1) fail(`event-${i}-has-seq-${seqs[i]}`);
  }
  if (opens < 2) fail(`no-reconnection:${opens}-open`);
  if (sent.join(',') !== resumedFrom.join(',')) {
    fail(`sent-last-event-id=${sent.join(',')}-but-had-seen=${resumedFrom.join(',')}`);
  }
  console.log(
    `ok events=${count} opens=${opens} resumed-from=${resumedFrom.join(',')} ` +
      `sent-last-event-id=${sent.join(',')}`,
  );
  process.exit(0);
});
