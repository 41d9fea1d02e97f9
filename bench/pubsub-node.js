// pubsub-node.js -- the comparison for fcgi-sse's channels: a Node/Express pub/sub server
// written the way the seed article's server (bench/seed/seed-server.js) is: Express, one
// process, each subscriber's response held open and written to.
//   GET  /events?channel=NAME   text/event-stream; every message published to NAME after
//                               the subscription (no history, no Last-Event-ID)
//   POST /publish?channel=NAME  the body is the message; sent to every subscriber as
//                               `id: N` + one `data:` line per line; answers
//                               {"id":N,"channel":NAME,"subscribers":K}
// Used by bench/bench.py --channels; express comes from NODE_PATH (npm, express@4).
const express = require('express');
const app = express();
const channels = new Map();     // name -> Set of responses
let lastId = 0;

app.get('/events', (req, res) => {
  const name = String(req.query.channel || '');
  if (!name) return res.status(400).send('channel= is needed\n');
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.flushHeaders();
  let subs = channels.get(name);
  if (!subs) channels.set(name, subs = new Set());
  subs.add(res);
  req.on('close', () => {
    subs.delete(res);
    if (!subs.size && channels.get(name) === subs) channels.delete(name);
  });
});

app.post('/publish', express.text({ type: '*/*', limit: '64kb' }), (req, res) => {
  const name = String(req.query.channel || '');
  if (!name) return res.status(400).send('channel= is needed\n');
  const id = ++lastId;
  const body = typeof req.body === 'string' ? req.body : '';
  const event = `id: ${id}\n` + body.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join('') + '\n';
  const subs = channels.get(name) || new Set();
  for (const s of subs) s.write(event);
  res.json({ id: String(id), channel: name, subscribers: subs.size });
});

app.listen(process.env.PORT || 8080, () => { console.log('listening'); });
