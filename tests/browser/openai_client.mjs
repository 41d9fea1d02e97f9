// openai_client.mjs -- the official `openai` npm client against fcgi-sse's /chat/completions: one JSON line per chunk, with its arrival time
// Usage: node openai_client.mjs '{"baseURL":"http://127.0.0.1:PORT/ai","apiKey":"K","model":"m","stream":true}'
// Prints {"chunk":TEXT,"t":MS} per chunk (MS: wall-clock milliseconds), then
// {"done":true,"text":WHOLE,"first":FIRST_CHUNK,"last":LAST_CHUNK} or {"error":MESSAGE,"status":N}.
import OpenAI from 'openai';

const opt = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const client = new OpenAI({ baseURL: opt.baseURL, apiKey: opt.apiKey, maxRetries: 0, timeout: 30000 });
const messages = [{ role: 'user', content: 'say something' }];

try {
  if (opt.stream) {
    const stream = await client.chat.completions.create({ model: opt.model, messages, stream: true });
    let text = '', first = null, last = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!first) first = chunk;
      last = chunk;
      const piece = (c.delta && c.delta.content) || '';
      text += piece;
      out({ chunk: piece, t: now(), object: chunk.object, id: chunk.id, model: chunk.model,
            finish: c.finish_reason });
    }
    out({ done: true, text, first, last });
  } else {
    const r = await client.chat.completions.create({ model: opt.model, messages, stream: false });
    out({ done: true, text: r.choices[0].message.content, object: r.object, model: r.model,
          finish: r.choices[0].finish_reason, role: r.choices[0].message.role });
  }
} catch (e) {
  out({ error: String(e && e.message), status: e && e.status, name: e && e.constructor && e.constructor.name });
}
