// run_es.mjs -- one EventSource in headless Chromium (playwright-core) on a .../run/NAME stream,
// for tests/integration/programs/test_run.py
// Usage: node run_es.mjs USER_DATA_DIR PAGE_URL STREAM_PATH [CHROMIUM]
// Opens PAGE_URL (same origin as the stream), then in the page an EventSource on
// STREAM_PATH that records each message (data, lastEventId, Date.now()) until
// `event: exit`, and closes it there (else it would reconnect and run the program
// again). Prints one JSON line {"ok":true,"messages":[...],"exit":DATA} or {"ok":false,"error":...}.
import { chromium } from 'playwright-core';

const [userDataDir, pageUrl, streamPath, exe] = process.argv.slice(2);
let ctx;
try {
  ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: exe || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = ctx.pages()[0] || await ctx.newPage();
  await page.goto(pageUrl);
  const result = await page.evaluate((path) => new Promise((resolve) => {
    const messages = [];
    const es = new EventSource(path);
    es.onmessage = (e) => messages.push({ data: e.data, id: e.lastEventId, t: Date.now() });
    es.addEventListener('exit', (e) => { es.close(); resolve({ messages, exit: e.data }); });
    setTimeout(() => { es.close(); resolve({ messages, exit: null, timeout: true }); }, 15000);
  }), streamPath);
  process.stdout.write(JSON.stringify({ ok: true, ...result }) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.message) }) + '\n');
} finally {
  if (ctx) await ctx.close();
}
