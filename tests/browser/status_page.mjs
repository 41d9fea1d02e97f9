// status_page.mjs -- drives the status page (html/status.html) in headless Chromium (playwright-core) for tests/integration/ops/test_status_page.py
//
// Usage: node status_page.mjs USER_DATA_DIR [CHROMIUM]   (CHROMIUM defaults to /usr/bin/chromium)
//
// Protocol: one JSON command per line on stdin, one JSON reply per line on stdout, in order;
// every reply has "ok" (and "error" when false). The first line printed is {"ready": true}
// once the browser runs. Commands:
//   {"cmd": "open", "url": U, "width": W, "height": H}  viewport, then load the page
//   {"cmd": "snap"}        what the page shows now: the figures, each chart's polylines
//   {"cmd": "log"}         console messages, page errors, CSP violations, requests, responses
//   {"cmd": "screenshot", "path": P}              a PNG of the viewport
//   {"cmd": "quit"}        closes the browser and exits 0
// The process exits when stdin closes, so a test that dies takes the browser with it.

import { out, serve } from './lines.mjs';
import { chromium } from 'playwright-core';

const userDataDir = process.argv[2];
const executablePath = process.argv[3] || '/usr/bin/chromium';
if (!userDataDir) {
  process.stderr.write('usage: node status_page.mjs USER_DATA_DIR [CHROMIUM]\n');
  process.exit(2);
}

// Runs in the page before its scripts (not subject to its CSP): records CSP violations and
// every change of the figures, so no value shown between two snaps is missed.
function pageProbe() {
  const rec = { csp: [], figures: [] };
  window.__probe = rec;
  document.addEventListener('securitypolicyviolation', (e) => {
    rec.csp.push({ t: Date.now(), directive: e.violatedDirective, blocked: e.blockedURI });
  });
  new MutationObserver(() => {
    const el = document.getElementById('streams-open');
    const pub = document.getElementById('published');
    if (!el || !pub) return;
    const v = el.textContent + ' | ' + pub.textContent;
    const l = rec.figures[rec.figures.length - 1];
    if (!l || l[1] !== v) rec.figures.push([Date.now(), v]);
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

// What the page shows now (evaluated in the page).
function pageSnap() {
  const text = (id) => {
    const el = document.getElementById(id);
    return el ? el.textContent : null;
  };
  const ids = ['state', 'streams-open', 'events-rate', 'channels', 'publish-rate', 'published',
    'dropped', 'refused', 'mercure', 'runs', 'streams-total', 'uptime', 'version'];
  const figures = {};
  for (const id of ids) figures[id] = text(id);
  const charts = {};
  for (const svg of document.querySelectorAll('svg[id^="chart-"]')) {
    const box = svg.getBoundingClientRect();
    charts[svg.id] = {
      width: Math.round(box.width),
      height: Math.round(box.height),
      lines: Array.from(svg.querySelectorAll('polyline'), (p) => {
        const pts = (p.getAttribute('points') || '').trim();
        const len = typeof p.getTotalLength === 'function' ? p.getTotalLength() : 0;
        return { points: pts ? pts.split(/\s+/).map((xy) => xy.split(',').map(Number)) : [],
          length: len, stroke: getComputedStyle(p).stroke };
      }),
    };
  }
  const p = window.__probe || { csp: [], figures: [] };
  return { t: Date.now(), figures, charts, csp: p.csp, history: p.figures,
    dataState: document.getElementById('state')?.getAttribute('data-state') ?? null,
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
}

const log = { console: [], pageErrors: [], requests: [], responses: [] };

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
  page.on('request', (r) => log.requests.push({ t: Date.now(), url: r.url(), method: r.method() }));
  page.on('response', (r) => log.responses.push({ t: Date.now(), url: r.url(), status: r.status(),
    type: r.headers()['content-type'] || '' }));
}

async function handle(c) {
  switch (c.cmd) {
    case 'open': {
      await page.setViewportSize({ width: c.width || 900, height: c.height || 700 });
      const resp = await page.goto(c.url, { waitUntil: 'load', timeout: 10000 });
      return { status: resp ? resp.status() : null, headers: resp ? await resp.allHeaders() : null };
    }
    case 'snap':
      return { snap: await page.evaluate(pageSnap) };
    case 'log':
      return { log };
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
  serve(handle, () => Promise.resolve(context ? context.close() : null).catch(() => {})
    .finally(() => process.exit(0)));
}

main();
