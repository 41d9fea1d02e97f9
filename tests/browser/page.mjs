// page.mjs -- drives the demo page in headless Chromium (playwright-core) for
// tests/integration/clients/test_browser.py
//
// Usage: node page.mjs USER_DATA_DIR [CHROMIUM]   (CHROMIUM defaults to /usr/bin/chromium)
//
// Protocol: one JSON command per line on stdin, one JSON reply per line on stdout, in order;
// every reply has "ok" (and "error" when false). The first line printed is {"ready": true}
// once the browser runs. Commands:
//   {"cmd": "open", "url": U, "width": W, "height": H}  viewport, then load the page
//   {"cmd": "snap"}        what the page shows now, and its history since it loaded
//   {"cmd": "log"}         console messages, page errors, CSP violations, /stream requests
//   {"cmd": "viewport", "width": W, "height": H}  resize; replies with the page's widths
//   {"cmd": "screenshot", "path": P}              a PNG of the viewport
//   {"cmd": "click", "selector": S}               clicks the element (the program panel's button)
//   {"cmd": "quit"}        closes the browser and exits 0
// The process exits when stdin closes, so a test that dies takes the browser with it.
// Times are Date.now() (ms since the epoch), in the page and here alike.

import { chromium } from 'playwright-core';
import { out, serve } from './lines.mjs';

const userDataDir = process.argv[2];
const executablePath = process.argv[3] || '/usr/bin/chromium';
if (!userDataDir) {
  process.stderr.write('usage: node page.mjs USER_DATA_DIR [CHROMIUM]\n');
  process.exit(2);
}

// Runs in the page before any of its scripts (injected by the browser, not subject to
// the page's CSP): records what the page shows as it changes, so that no short-lived
// state is missed between two polls, and every CSP violation.
function pageProbe() {
  const rec = { history: [], appended: [], reconnects: [], csp: [], runAppended: [], runHistory: [] };
  window.__probe = rec;
  document.addEventListener('securitypolicyviolation', (e) => {
    rec.csp.push({ t: Date.now(), directive: e.violatedDirective, blocked: e.blockedURI,
      source: e.sourceFile, line: e.lineNumber });
  });
  let lastState = null;
  let lastReconnects = null;
  let lastRun = null;
  const look = (muts) => {
    const now = Date.now();
    for (const m of muts || []) {
      if (m.target && m.target.id === 'events') {
        for (const n of m.addedNodes) {
          if (n.nodeName === 'LI') rec.appended.push([now, n.textContent]);
        }
      }
      if (m.target && m.target.id === 'run-lines') {
        for (const n of m.addedNodes) {
          if (n.nodeName === 'LI') rec.runAppended.push([now, n.textContent]);
        }
      }
    }
    const rs = document.getElementById('run-state');
    if (rs && rs.getAttribute('data-state') + ' ' + rs.textContent !== lastRun) {
      lastRun = rs.getAttribute('data-state') + ' ' + rs.textContent;
      rec.runHistory.push([now, rs.getAttribute('data-state'), rs.textContent]);
    }
    const st = document.getElementById('state');
    if (st && st.textContent !== lastState) {
      lastState = st.textContent;
      rec.history.push([now, lastState]);
    }
    const rc = document.getElementById('reconnects');
    if (rc && rc.textContent !== lastReconnects) {
      lastReconnects = rc.textContent;
      rec.reconnects.push([now, lastReconnects]);
    }
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true,
    characterData: true, attributes: true });
}

// What the page shows now (evaluated in the page).
function pageSnap() {
  const text = (id) => {
    const el = document.getElementById(id);
    return el ? el.textContent : null;
  };
  const p = window.__probe || { history: [], appended: [], reconnects: [], csp: [],
    runAppended: [], runHistory: [] };
  return {
    t: Date.now(),
    state: text('state'),
    dataState: document.getElementById('state')?.getAttribute('data-state') ?? null,
    lastId: text('last-id'),
    reconnects: text('reconnects'),
    lastTime: text('last-time'),
    items: Array.from(document.querySelectorAll('#events li'), (li) => li.textContent),
    history: p.history,
    appended: p.appended,
    reconnectsHistory: p.reconnects,
    csp: p.csp,
    // the program panel: its state, its lines, and when each appeared
    runState: document.getElementById('run-state')?.getAttribute('data-state') ?? null,
    runText: text('run-state'),
    runLines: Array.from(document.querySelectorAll('#run-lines li'), (li) => li.textContent),
    runAppended: p.runAppended,
    runHistory: p.runHistory,
    runButtonDisabled: document.getElementById('run-start')?.disabled ?? null,
    // navigation start and DOMContentLoaded (the deferred app.js has just run and
    // created its EventSource), as Date.now() times
    navStart: Math.round(performance.timeOrigin),
    domReady: (() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return nav && nav.domContentLoadedEventStart > 0
        ? Math.round(performance.timeOrigin + nav.domContentLoadedEventStart) : null;
    })(),
    // the event list scrolls inside its box: does it overflow, is the newest line in view
    listOverflows: (() => {
      const l = document.getElementById('events');
      return l ? l.scrollHeight > l.clientHeight : null;
    })(),
    newestInView: (() => {
      const l = document.getElementById('events');
      const li = l && l.lastElementChild;
      if (!li) return null;
      const a = l.getBoundingClientRect();
      const b = li.getBoundingClientRect();
      return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
    })(),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  };
}

const log = { console: [], pageErrors: [], requests: [], responses: [], failed: [], docHeaders: null };

let context = null;
let page = null;

async function start() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic'],
    viewport: { width: 900, height: 700 },
    colorScheme: 'light',
    timeout: 20000,
  });
  page = context.pages()[0] || await context.newPage();
  await page.addInitScript(pageProbe);
  page.on('console', (m) => {
    const loc = m.location() || {};
    log.console.push({ t: Date.now(), type: m.type(), text: m.text(), url: loc.url || '' });
  });
  page.on('pageerror', (e) => log.pageErrors.push({ t: Date.now(), text: String(e && e.stack || e) }));
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/stream')) {
      // allHeaders(): the headers as sent, Last-Event-ID included (headers() lacks it)
      const entry = { t: Date.now(), url: r.url(), lastEventId: null };
      log.requests.push(entry);
      r.allHeaders().then((h) => { entry.lastEventId = h['last-event-id'] ?? null; }, () => {});
    }
  });
  page.on('response', (r) => {
    log.responses.push({ t: Date.now(), url: r.url(), status: r.status() });
  });
  page.on('requestfailed', (r) => {
    log.failed.push({ t: Date.now(), url: r.url(), failure: r.failure()?.errorText ?? '' });
  });
}

async function handle(c) {
  switch (c.cmd) {
    case 'open': {
      await page.setViewportSize({ width: c.width || 900, height: c.height || 700 });
      const t0 = Date.now();
      const resp = await page.goto(c.url, { waitUntil: 'load', timeout: 10000 });
      log.docHeaders = resp ? await resp.allHeaders() : null;
      return { status: resp ? resp.status() : null, headers: log.docHeaders, t0, tLoaded: Date.now() };
    }
    case 'snap':
      return { snap: await page.evaluate(pageSnap) };
    case 'log':
      return { log };
    case 'viewport': {
      await page.setViewportSize({ width: c.width, height: c.height });
      // two animation frames: the new layout is done
      const dims = await page.evaluate(() => new Promise((res) => requestAnimationFrame(() =>
        requestAnimationFrame(() => res({ scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth, bodyScrollWidth: document.body.scrollWidth })))));
      return { dims };
    }
    case 'click': {
      const t = Date.now();
      await page.click(c.selector, { timeout: 5000 });
      return { t };
    }
    case 'screenshot':
      await page.screenshot({ path: c.path, fullPage: false });
      return { path: c.path };
    case 'quit':
      await context.close();
      out({ ok: true });
      process.exit(0);
      break;
    default:
      throw new Error('unknown command: ' + c.cmd);
  }
  return {};
}

async function main() {
  try {
    await start();
  } catch (e) {
    out({ ready: false, error: String(e && e.message || e) });
    process.exit(1);
  }
  out({ ready: true });
  // one command at a time, in order
  serve(handle, () => Promise.resolve(context ? context.close() : null).catch(() => {})
    .finally(() => process.exit(0)));
}

main();
