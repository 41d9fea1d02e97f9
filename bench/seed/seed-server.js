// seed-server.js -- the baseline: the seed article's Node/Express SSE server, unchanged but
// for the port (PORT, default 8080). From "How ChatGPT Uses Server-Sent Events to Stream
// Real-Time Conversation" (Rohit Dhas, DEV Community). Its counter is shared by all
// connections and its setInterval is never cleared, as in the article: the benchmark
// measures exactly what the article ships.
const express = require('express');
const app = express();
app.get('/', (req, res) => {
  res.send(`<!DOCTYPE html><html><body><h1>SSE Example:</h1><div id="result"></div><script>
var source = new EventSource("/stream");
source.onmessage = function(event) { document.getElementById("result").innerHTML += event.data + "<br>"; };
</script></body></html>`)
})
app.get('/stream', (req, res) => {
  res.setHeader('Content-Type', 'text/event-stream');
  sendCount(res);
});
let counter = 0;
function sendCount(res) {
  setInterval(() => { res.write(`data: Count: [${counter++}]\n\n`); }, 1000);
}
const server = app.listen(process.env.PORT || 8080, () => { console.log('listening'); });
