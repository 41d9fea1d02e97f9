/* app.js -- fcgi-sse demo page: shows the counter stream and the connection state */
(function () {
  'use strict';

  var KEEP = 200;            // lines kept on screen: an open tab must not grow forever
  var REOPEN_MS = 3000;      // wait before replacing an EventSource the browser gave up on

  var stateEl = document.getElementById('state');
  var lastIdEl = document.getElementById('last-id');
  var reconnectsEl = document.getElementById('reconnects');
  var lastTimeEl = document.getElementById('last-time');
  var list = document.getElementById('events');

  var source = null;
  var interrupted = false;   // been open or seen an error: the next open is a reconnect
  var lastId = '';
  var reconnects = 0;
  var reopenTimer = null;

  function setState(s) {
    stateEl.textContent = s;
    stateEl.setAttribute('data-state', s);
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  function clock(d) {
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 8;
  }

  function append(text) {
    var stick = atBottom();
    var li = document.createElement('li');
    li.textContent = text;
    list.appendChild(li);
    while (list.children.length > KEEP) {
      list.removeChild(list.firstElementChild);
    }
    if (stick) {
      list.scrollTop = list.scrollHeight;
    }
  }

  function onOpen(ev) {
    if (ev.target !== source) { return; }
    if (interrupted) {
      reconnects += 1;
      reconnectsEl.textContent = String(reconnects);
    }
    interrupted = true;
    setState('open');
  }

  function onMessage(ev) {
    if (ev.target !== source) { return; }
    append(ev.data);
    if (ev.lastEventId) {
      lastId = ev.lastEventId;
      lastIdEl.textContent = lastId;
    }
    lastTimeEl.textContent = clock(new Date());
  }

  function onError(ev) {
    if (ev.target !== source) { return; }
    interrupted = true;
    setState('reconnecting');
    // While CONNECTING the browser retries by itself and sends Last-Event-ID.
    // Once CLOSED (e.g. an error status) it never will: open a new one, carrying
    // the last id in the URL since a new EventSource sends no Last-Event-ID.
    if (source.readyState === EventSource.CLOSED && reopenTimer === null) {
      reopenTimer = setTimeout(function () {
        reopenTimer = null;
        connect();
      }, REOPEN_MS);
    }
  }

  function connect() {
    var url = 'stream';
    if (lastId !== '') {
      url += '?lastEventId=' + encodeURIComponent(lastId);
    }
    if (source) {
      source.close();
    }
    source = new EventSource(url);
    source.addEventListener('open', onOpen);
    source.addEventListener('message', onMessage);
    source.addEventListener('error', onError);
  }

  connect();
}());
