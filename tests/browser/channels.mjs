// channels.mjs -- EventSource subscribers to channels (.../events) for
// tests/integration/channels/test_channels.py:
// node ones (the `eventsource` npm package) and ones in headless Chromium (playwright-core)
//
// Usage: node channels.mjs [CHROMIUM]   (CHROMIUM defaults to /usr/bin/chromium; the browser
//        starts only at the first "browser" command, never downloaded)
//
// Protocol: one JSON command per line on stdin, one JSON reply per line on stdout, in order;
// every reply has "ok" (and "error" when false). The first line printed is {"ready": true}.
//   {"cmd": "browser", "dir": D, "url": U}   start Chromium (profile in D), load page U: the
//        subscribers of kind "browser" are EventSources created in that page (same origin)
//   {"cmd": "open", "name": N, "kind": "node"|"browser", "url": U, "types": [T...],
//    "lastEventId": ID}   a new EventSource on U, listening for "message" and each type T;
//        lastEventId (node only): sent as a Last-Event-ID header on the first request
//        (EventSource itself sends it on its own reconnects); reopenMs (node only): when the
//        EventSource ends up CLOSED (an error status such as 502/503 while a responder is
//        gone), a new one is opened after reopenMs with the last id seen as Last-Event-ID
//        (what the demo page does); "reopens" counts them
//   {"cmd": "get", "name": N}   {"events": [{"type", "id", "data", "t"}], "opens", "errors",
//        "state"} of subscriber N, across its reconnects
//   {"cmd": "close", "name": N}  closes it
//   {"cmd": "quit"}              closes everything, exits 0
// The process exits when stdin closes, so a test that dies takes the browser with it.

import { out, serve } from './lines.mjs';
import { EventSource } from 'eventsource';

const executablePath = process.argv[2] || '/usr/bin/chromium';

const nodeSubs = new Map();
let context = null;
let page = null;

function openNode(c) {
  const rec = { events: [], opens: 0, errors: 0, reopens: 0, es: null, closed: false };
  let last = c.lastEventId ?? null;
  const connect = () => {
    const first = last;
    let used = false;
    const fetchWithId = (u, init) => {
      const headers = { ...(init && init.headers) };
      if (!used && first !== null &&
          !Object.keys(headers).some((k) => k.toLowerCase() === 'last-event-id')) {
        headers['Last-Event-ID'] = first;
      }
      used = true;
      return fetch(u, { ...init, headers });
    };
    const es = new EventSource(c.url, { fetch: fetchWithId });
    rec.es = es;
    es.addEventListener('open', () => { rec.opens += 1; });
    es.addEventListener('error', () => {
      rec.errors += 1;
      if (c.reopenMs !== undefined && es.readyState === EventSource.CLOSED && !rec.closed &&
          es === rec.es) {
        setTimeout(() => {
          if (rec.closed) return;
          rec.reopens += 1;
          connect();
        }, c.reopenMs);
      }
    });
    for (const type of ['message', ...(c.types || [])]) {
      es.addEventListener(type, (ev) => {
        if (es !== rec.es) return;
        last = ev.lastEventId || last;
        rec.events.push({ type, id: ev.lastEventId, data: ev.data, t: Date.now() });
      });
    }
  };
  connect();
  nodeSubs.set(c.name, rec);
  return {};
}

// Runs in the page.
function pageOpen([name, url, types]) {
  window.__subs = window.__subs || {};
  const rec = { events: [], opens: 0, errors: 0, es: null };
  const es = new EventSource(url);
  rec.es = es;
  es.addEventListener('open', () => { rec.opens += 1; });
  es.addEventListener('error', () => { rec.errors += 1; });
  for (const type of ['message', ...types]) {
    es.addEventListener(type, (ev) => {
      rec.events.push({ type, id: ev.lastEventId, data: ev.data, t: Date.now() });
    });
  }
  window.__subs[name] = rec;
}

function pageGet(name) {
  const rec = window.__subs && window.__subs[name];
  if (!rec) return null;
  return { events: rec.events, opens: rec.opens, errors: rec.errors, state: rec.es.readyState };
}

function pageClose(name) {
  const rec = window.__subs && window.__subs[name];
  if (rec) rec.es.close();
}

async function handle(c) {
  switch (c.cmd) {
    case 'browser': {
      const { chromium } = await import('playwright-core');
      context = await chromium.launchPersistentContext(c.dir, {
        executablePath,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--disable-quic'],
        timeout: 20000,
      });
      page = context.pages()[0] || await context.newPage();
      const resp = await page.goto(c.url, { waitUntil: 'load', timeout: 10000 });
      return { status: resp ? resp.status() : null };
    }
    case 'open':
      if (c.kind === 'browser') {
        await page.evaluate(pageOpen, [c.name, c.url, c.types || []]);
        return {};
      }
      return openNode(c);
    case 'get': {
      if (c.kind === 'browser') {
        const r = await page.evaluate(pageGet, c.name);
        return r || { error: 'no such subscriber' };
      }
      const rec = nodeSubs.get(c.name);
      if (!rec) throw new Error('no such subscriber: ' + c.name);
      return { events: rec.events, opens: rec.opens, errors: rec.errors, reopens: rec.reopens,
        state: rec.es.readyState };
    }
    case 'close':
      if (c.kind === 'browser') {
        await page.evaluate(pageClose, c.name);
      } else if (nodeSubs.has(c.name)) {
        nodeSubs.get(c.name).closed = true;
        nodeSubs.get(c.name).es.close();
      }
      return {};
    case 'quit':
      await quit();
      break;
    default:
      throw new Error('unknown command: ' + c.cmd);
  }
  return {};
}

async function quit() {
  for (const rec of nodeSubs.values()) {
    rec.closed = true;
    rec.es.close();
  }
  if (context) {
    try {
      await context.close();
    } catch (e) {
      // going anyway
    }
  }
  out({ ok: true });
  process.exit(0);
}

out({ ready: true });
serve(handle, quit);
