// clients.mjs -- N EventSource clients (the `eventsource` npm package) on one URL, for
// tests/integration/clients/test_eventsource.py
//
// Usage: node clients.mjs URL N [REOPEN_MS]
//
// Each client is one EventSource that reconnects by itself (it sends Last-Event-ID). If it
// ends up CLOSED (an error status, e.g. 503 from the web server while the responder is
// down), the client opens a new EventSource after REOPEN_MS (default 500), carrying the
// last id it saw in a Last-Event-ID header, as the demo page does with ?lastEventId=.
//
// Protocol: one command per line on stdin, one JSON line per command on stdout:
//   stats  {"ok": true, "t": ms, "clients": [{"n", "first", "last", "opens", "errors",
//          "reopens", "state", "bad"}]}   (cheap: no id lists)
//   dump   the same with "ids" (every event's id, in arrival order, across reconnects)
//          and "errorLog" (the last errors: time, status code, message)
//   quit   closes every client, prints {"ok": true}, exits 0
// The first line printed is {"ready": true, "n": N}. Exits when stdin closes.

import { createInterface } from 'node:readline';
import { EventSource } from 'eventsource';

const [url, nArg, reopenArg] = process.argv.slice(2);
const N = Number(nArg);
const REOPEN_MS = reopenArg === undefined ? 500 : Number(reopenArg);
if (!url || !(N > 0) || !(REOPEN_MS >= 0)) {
  process.stderr.write('usage: node clients.mjs URL N [REOPEN_MS]\n');
  process.exit(2);
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

class Client {
  constructor(i) {
    this.i = i;
    this.ids = [];
    this.bad = [];        // events whose data does not match their id
    this.opens = 0;
    this.errors = 0;
    this.reopens = 0;
    this.errorLog = [];
    this.lastId = null;
    this.source = null;
    this.timer = null;
    this.closed = false;
    this.connect();
  }

  connect() {
    const last = this.lastId;
    // A new EventSource sends no Last-Event-ID of its own: add the last id seen.
    const fetchWithId = (u, init) => {
      const headers = { ...(init && init.headers) };
      if (last !== null && !Object.keys(headers).some((k) => k.toLowerCase() === 'last-event-id')) {
        headers['Last-Event-ID'] = last;
      }
      return fetch(u, { ...init, headers });
    };
    const es = new EventSource(url, { fetch: fetchWithId });
    this.source = es;
    es.addEventListener('open', () => {
      if (es === this.source) this.opens += 1;
    });
    es.addEventListener('message', (ev) => {
      if (es !== this.source) return;
      const id = Number(ev.lastEventId);
      this.ids.push(id);
      this.lastId = ev.lastEventId;
      if (ev.data !== 'Count: [' + ev.lastEventId + ']') {
        this.bad.push([ev.lastEventId, ev.data]);
      }
    });
    es.addEventListener('error', (ev) => {
      if (es !== this.source) return;
      this.errors += 1;
      this.errorLog.push([Date.now(), ev.code ?? null, ev.message ?? '']);
      if (this.errorLog.length > 20) this.errorLog.shift();
      if (es.readyState === EventSource.CLOSED && this.timer === null && !this.closed) {
        this.timer = setTimeout(() => {
          this.timer = null;
          if (this.closed) return;
          this.reopens += 1;
          this.connect();
        }, REOPEN_MS);
      }
    });
  }

  close() {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.source) this.source.close();
  }

  summary(full) {
    const s = {
      n: this.ids.length,
      first: this.ids.length ? this.ids[0] : null,
      last: this.ids.length ? this.ids[this.ids.length - 1] : null,
      opens: this.opens,
      errors: this.errors,
      reopens: this.reopens,
      state: this.source ? this.source.readyState : null,
      bad: this.bad.length,
    };
    if (full) {
      s.ids = this.ids;
      s.badEvents = this.bad.slice(0, 10);
      s.errorLog = this.errorLog;
    }
    return s;
  }
}

const clients = [];
for (let i = 0; i < N; i++) clients.push(new Client(i));
out({ ready: true, n: N });

function quit() {
  for (const c of clients) c.close();
  out({ ok: true });
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats' || cmd === 'dump') {
    out({ ok: true, t: Date.now(), clients: clients.map((c) => c.summary(cmd === 'dump')) });
  } else if (cmd === 'quit') {
    quit();
  } else if (cmd) {
    out({ ok: false, error: 'unknown command: ' + cmd });
  }
});
rl.on('close', quit);
