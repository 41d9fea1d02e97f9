// lines.mjs -- the drivers' line protocol: one JSON command a line on stdin, handled in
// order; one JSON answer a line on stdout ({ok: true, ...} or {ok: false, error}).
import { createInterface } from 'node:readline';

export function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Reads commands until stdin closes, each answered with what handle(command) returns
// (a line that is not JSON, or a handle that throws, answers {ok: false, error});
// then onClose() runs after the last answer.
export function serve(handle, onClose) {
  const rl = createInterface({ input: process.stdin });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    if (!line.trim()) return;
    chain = chain.then(async () => {
      let c;
      try {
        c = JSON.parse(line);
      } catch (e) {
        out({ ok: false, error: 'not JSON: ' + line });
        return;
      }
      try {
        out({ ok: true, ...(await handle(c)) });
      } catch (e) {
        out({ ok: false, error: String(e && e.message || e) });
      }
    });
  });
  rl.on('close', () => { chain.then(onClose); });
}
