// h2.mjs -- the demo page in headless Chromium over TLS + HTTP/2, for tests/integration/tls/test_tls.py
//
// Usage: node h2.mjs USER_DATA_DIR CHROMIUM URL EXTRA SECONDS
// Loads URL (https, self-signed certificate: --ignore-certificate-errors), opens EXTRA more
// EventSources on the page's stream URL (more than HTTP/1.1's 6 connections per host), lets
// them run SECONDS, and prints one JSON line: the protocol and connection id of every
// response (from the DevTools protocol's Network.responseReceived), the ids each extra
// EventSource received, the page's own list, and any page error.

import { chromium } from 'playwright-core';

const [userDataDir, executablePath, url, extraArg, secondsArg] = process.argv.slice(2);
const extra = Number(extraArg || 8);
const seconds = Number(secondsArg || 2);

async function main() {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    ignoreHTTPSErrors: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--ignore-certificate-errors'],
    timeout: 20000,
  });
  const out = { responses: [], extra: [], items: [], pageErrors: [] };
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => out.pageErrors.push(String(e && e.message || e)));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.responseReceived', (e) => {
      out.responses.push({ url: e.response.url, type: e.type, status: e.response.status,
        protocol: e.response.protocol, connectionId: e.response.connectionId });
    });
    const resp = await page.goto(url, { waitUntil: 'load', timeout: 10000 });
    out.status = resp ? resp.status() : null;
    out.extra = await page.evaluate(async ([n, ms]) => {
      const ids = [];
      const sources = [];
      for (let i = 0; i < n; i++) {
        ids.push([]);
        const es = new EventSource('stream');
        es.onmessage = (e) => ids[i].push(Number(e.lastEventId));
        sources.push(es);
      }
      await new Promise((r) => setTimeout(r, ms));
      for (const es of sources) es.close();
      return ids;
    }, [extra, seconds * 1000]);
    out.items = await page.evaluate(() =>
      Array.from(document.querySelectorAll('#events li'), (li) => li.textContent));
  } catch (e) {
    out.error = String(e && e.message || e);
  }
  await context.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
