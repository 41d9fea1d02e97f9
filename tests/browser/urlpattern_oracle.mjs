// urlpattern_oracle.mjs -- evaluates URL Pattern and URL cases in headless Chromium (playwright-core)
// for tests/unit/mercure/urlpattern_diff.py: the browser's own URLPattern and URL are the oracle.
//
// Usage: node urlpattern_oracle.mjs [CHROMIUM] < cases.json > results.json
// Input: a JSON array; each case is one of
//   {"k": "p", "p": PATTERN, "b": BASE|null, "i": [[INPUT, INPUTBASE|null], ...]}
//      PATTERN a string (constructor string) or an object (URLPatternInit); BASE the
//      constructor's baseURL argument (string patterns only)
//   {"k": "u", "u": INPUT, "b": BASE|null}
// Output: a JSON array, one result per case, in order:
//   pattern: {"ok": true, "m": [true|false|"throw", ...], "u": [URL, ...]} or
//            {"ok": false, "e": MESSAGE}; "u" holds new URL(INPUT, INPUTBASE) of each input
//   url:     {"ok": true, "c": URL} or {"ok": false}
// where URL is [protocol, username, password, hostname, port, pathname, search, hash] (the
// URL getters, protocol without its ':', search and hash without '?' and '#') or null.
// The page is about:blank; nothing is fetched. Exits 0 once the results are written.

import { chromium } from 'playwright-core';

const executablePath = process.argv[2] || '/usr/bin/chromium';

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

// Runs in the page: evaluates a batch of cases.
function evalBatch(cases) {
  const parts = (input, base) => {
    try {
      const u = base === null ? new URL(input) : new URL(input, base);
      return [u.protocol.slice(0, -1), u.username, u.password, u.hostname, u.port, u.pathname,
        u.search.replace(/^\?/, ''), u.hash.replace(/^#/, '')];
    } catch (e) {
      return null;
    }
  };
  const out = [];
  for (const c of cases) {
    if (c.k === 'u') {
      const u = parts(c.u, c.b);
      out.push(u ? { ok: true, c: u } : { ok: false });
      continue;
    }
    let p;
    try {
      p = c.b === null ? new URLPattern(c.p) : new URLPattern(c.p, c.b);
    } catch (e) {
      out.push({ ok: false, e: String(e && e.message || e) });
      continue;
    }
    const m = [];
    const us = [];
    for (const [input, base] of c.i) {
      try {
        m.push(base === null ? p.test(input) : p.test(input, base));
      } catch (e) {
        m.push('throw');
      }
      us.push(parts(input, base));
    }
    out.push({ ok: true, m, u: us });
  }
  return out;
}

const BATCH = 500;

async function main() {
  const cases = JSON.parse(await readStdin());
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic'],
    timeout: 20000,
  });
  try {
    const page = await browser.newPage();
    await page.goto('about:blank');
    const results = [];
    for (let i = 0; i < cases.length; i += BATCH) {
      results.push(...await page.evaluate(evalBatch, cases.slice(i, i + BATCH)));
    }
    process.stdout.write(JSON.stringify(results) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stderr.write('urlpattern_oracle: ' + (e && e.stack || e) + '\n');
  process.exit(1);
});
