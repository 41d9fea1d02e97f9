// mercure.mjs -- Mercure subscribers for tests/integration/mercure/test_mercure_fronts.py: Chromium's own EventSource
// in a page served by the front server (with the cookies a site sets), and the `eventsource` npm
// client with an Authorization: Bearer header
//
// Usage: node mercure.mjs [CHROMIUM]   (CHROMIUM defaults to /usr/bin/chromium; the browser
//        starts only at the first "browser" command, never downloaded)
//
// Protocol: one JSON command per line on stdin, one JSON reply per line on stdout, in order;
// every reply has "ok" (and "error" when false). The first line printed is {"ready": true}.
//   {"cmd": "browser", "dir": D}   start Chromium (profile in D); every request it makes to a
//        URL with /.well-known/mercure is logged (see "requests")
//   {"cmd": "goto", "url": U}   load page U: {"status", "headers"} of its answer
//   {"cmd": "addCookies", "cookies": [...]}   playwright's context.addCookies (the browser's
//        own cookie store, as if a site had set them)
//   {"cmd": "cookies", "url": U}   the names of the cookies the browser would send to U
//   {"cmd": "open", "name": N, "kind": "browser"|"node", "url": U, "types": [T...],
//    "headers": {...}, "withCredentials": B}   a new EventSource on U (relative to the page for
//        "browser"), listening for "message" and each type T; headers (node only): sent with
//        every request, e.g. Authorization; withCredentials (browser only): CORS credentials
//   {"cmd": "get", "name": N}   {"events": [{"type", "id", "data", "t"}], "opens": [t...],
//        "errors": [t...], "state"} of subscriber N, across its reconnects
//   {"cmd": "requests"}   [{"url", "t", "lastEventId", "cookies": [names], "status"}] of the
//        browser's requests to the hub, in order (status once answered, null before)
//   {"cmd": "evaluate", "expr": E}   the value of expression E in the page (a string of code)
//   {"cmd": "close", "name": N}  closes it
//   {"cmd": "quit"}              closes everything, exits 0
// The process exits when stdin closes, so a test that dies takes the browser with it.
// Times are Date.now() (ms since the epoch), in the page and here alike.

import { out, serve } from './lines.mjs';
import { EventSource } from 'eventsource';

const executablePath = process.argv[2] || '/usr/bin/chromium';

const nodeSubs = new Map();
const requests = [];
let context = null;
let page = null;

function openNode(c) {
  const rec = { events: [], opens: [], errors: [], es: null };
  const headers = c.headers || {};
  const es = new EventSource(c.url, {
    fetch: (u, init) => fetch(u, { ...init, headers: { ...(init && init.headers), ...headers } }),
  });
  rec.es = es;
  es.addEventListener('open', () => { rec.opens.push(Date.now()); });
  es.addEventListener('error', () => { rec.errors.push(Date.now()); });
  for (const type of ['message', ...(c.types || [])]) {
    es.addEventListener(type, (ev) => {
      rec.events.push({ type, id: ev.lastEventId, data: ev.data, t: Date.now() });
    });
  }
  nodeSubs.set(c.name, rec);
  return {};
}

// Runs in the page.
function pageOpen([name, url, types, withCredentials]) {
  window.__subs = window.__subs || {};
  const rec = { events: [], opens: [], errors: [], es: null };
  const es = new EventSource(url, { withCredentials: !!withCredentials });
  rec.es = es;
  es.addEventListener('open', () => { rec.opens.push(Date.now()); });
  es.addEventListener('error', () => { rec.errors.push(Date.now()); });
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

function cookieNames(header) {
  return (header || '').split(';').map((x) => x.trim().split('=')[0]).filter((x) => x);
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
      context.on('request', async (req) => {
        if (!req.url().includes('/.well-known/mercure')) return;
        const rec = { url: req.url(), t: Date.now(), lastEventId: null, cookies: [],
          status: null };
        requests.push(rec);
        try {
          const h = await req.allHeaders();
          rec.lastEventId = h['last-event-id'] ?? null;
          rec.cookies = cookieNames(h.cookie);
        } catch (e) {
          // the request went away first
        }
      });
      context.on('response', (resp) => {
        const rec = [...requests].reverse().find((r) => r.url === resp.url() && r.status === null);
        if (rec) rec.status = resp.status();
      });
      return {};
    }
    case 'goto': {
      const resp = await page.goto(c.url, { waitUntil: 'load', timeout: 10000 });
      return { status: resp ? resp.status() : null, headers: resp ? await resp.allHeaders() : {} };
    }
    case 'addCookies':
      await context.addCookies(c.cookies);
      return {};
    case 'cookies':
      return { names: (await context.cookies(c.url)).map((x) => x.name) };
    case 'open':
      if (c.kind === 'browser') {
        await page.evaluate(pageOpen, [c.name, c.url, c.types || [], c.withCredentials]);
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
      return { events: rec.events, opens: rec.opens, errors: rec.errors, state: rec.es.readyState };
    }
    case 'requests':
      return { requests };
    case 'evaluate':
      return { value: await page.evaluate(c.expr) };
    case 'close':
      if (c.kind === 'browser') {
        await page.evaluate(pageClose, c.name);
      } else if (nodeSubs.has(c.name)) {
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
  for (const rec of nodeSubs.values()) rec.es.close();
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
