/* channels.js -- fcgi-sse channels page: subscribes with EventSource, shows messages, resets and reconnects */
(function () {
  'use strict';

  var KEEP = 200;            // rows kept on screen: an open tab must not grow forever
  var REOPEN_MS = 3000;      // wait before replacing an EventSource the browser gave up on
  var MAX_CHANNELS = 16;
  var NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
  var TYPE = /^[A-Za-z0-9_.:-]{1,64}$/;
  // Types EventSource itself uses: a listener for them would mix messages with
  // connection events, so the page never listens for them as message types.
  var RESERVED = { message: 1, reset: 1, open: 1, error: 1 };

  var form = document.getElementById('pick');
  var channelsIn = document.getElementById('channels');
  var typesIn = document.getElementById('types');
  var stopBtn = document.getElementById('stop');
  var problemEl = document.getElementById('problem');
  var stateEl = document.getElementById('state');
  var lastIdEl = document.getElementById('last-id');
  var reconnectsEl = document.getElementById('reconnects');
  var resetsEl = document.getElementById('resets');
  var countEl = document.getElementById('count');
  var urlEl = document.getElementById('url');
  var list = document.getElementById('events');

  var source = null;
  var base = '';             // events?channel=...: the subscription, without a resume id
  var interrupted = false;   // been open or seen an error: the next open is a reconnect
  var lastId = '';
  var reconnects = 0;
  var resets = 0;
  var count = 0;
  var reopenTimer = null;
  var signed = null;         // expires and sig of a signed page URL: {names, expires, sig}

  function setState(s) {
    stateEl.textContent = s;
    stateEl.setAttribute('data-state', s);
  }

  function setProblem(text) {
    problemEl.textContent = text;
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  function clock(d) {
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // Words of an input: split on blanks and commas, without repeats.
  function words(text) {
    var out = [];
    text.split(/[\s,]+/).forEach(function (w) {
      if (w !== '' && out.indexOf(w) < 0) { out.push(w); }
    });
    return out;
  }

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 8;
  }

  function span(cls, text) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  // One row: time, id, event type, data (textContent only: data is never markup).
  function append(kind, id, type, data) {
    var stick = atBottom();
    var li = document.createElement('li');
    li.className = kind;
    li.appendChild(span('ev-time', clock(new Date())));
    li.appendChild(span('ev-id', id || '-'));
    li.appendChild(span('ev-type', type));
    li.appendChild(span('ev-data', data));
    list.appendChild(li);
    while (list.children.length > KEEP) {
      list.removeChild(list.firstElementChild);
    }
    if (stick) {
      list.scrollTop = list.scrollHeight;
    }
  }

  function note(text) {
    append('info', '', 'page', text);
  }

  function onOpen(ev) {
    if (ev.target !== source) { return; }
    if (interrupted) {
      reconnects += 1;
      reconnectsEl.textContent = String(reconnects);
      note('reconnected' + (lastId ? ', resuming after ' + lastId : ''));
    }
    interrupted = true;
    setProblem('');
    setState('open');
  }

  function onMessage(ev) {
    if (ev.target !== source) { return; }
    append('msg', ev.lastEventId, ev.type, ev.data);
    count += 1;
    countEl.textContent = String(count);
    if (ev.lastEventId) {
      lastId = ev.lastEventId;
      lastIdEl.textContent = lastId;
    }
  }

  // event: reset: messages after our last id were dropped (or the responder
  // restarted); its data is the oldest id still retained, and the replay of
  // what is retained follows.
  function onReset(ev) {
    if (ev.target !== source) { return; }
    resets += 1;
    resetsEl.textContent = String(resets);
    append('reset', '', 'reset', 'missed messages are no longer retained; ' +
           'history starts at ' + ev.data);
  }

  // The browser gave up (an error status, or the wrong content type): ask
  // once more with fetch to show why, then stop for a refusal or try again.
  function diagnose(url) {
    var ctl = typeof AbortController === 'function' ? new AbortController() : null;
    if (typeof fetch !== 'function') {
      reopenLater();
      return;
    }
    fetch(url, { cache: 'no-store', signal: ctl ? ctl.signal : undefined })
      .then(function (res) {
        if (res.ok) {
          if (ctl) { ctl.abort(); }
          reopenLater();
          return null;
        }
        return res.text().then(function (body) {
          // the responder's errors are one line of text/plain; a server's
          // own error page is not worth showing
          var plain = /^text\/plain/.test(res.headers.get('Content-Type') || '');
          var why = res.status + ' ' + (plain ? body.trim().split('\n')[0].slice(0, 200)
                                              : res.statusText);
          if (res.status >= 400 && res.status < 500) {
            setProblem('Refused: ' + why);
            setState('refused');
            note('refused: ' + why);
          } else {
            setProblem('Unavailable: ' + why + '; retrying');
            reopenLater();
          }
        });
      })
      .catch(function () {
        reopenLater();
      });
  }

  function reopenLater() {
    if (reopenTimer === null && base !== '') {
      reopenTimer = setTimeout(function () {
        reopenTimer = null;
        open();
      }, REOPEN_MS);
    }
  }

  function onError(ev) {
    if (ev.target !== source) { return; }
    interrupted = true;
    setState('reconnecting');
    // While CONNECTING the browser retries by itself and sends Last-Event-ID.
    // Once CLOSED it never will: a new EventSource sends no Last-Event-ID, so
    // the last id goes in the URL (lastEventId=).
    if (source.readyState === EventSource.CLOSED) {
      diagnose(url());
    }
  }

  function url() {
    return base + (lastId !== '' ? '&lastEventId=' + encodeURIComponent(lastId) : '');
  }

  function close() {
    if (reopenTimer !== null) {
      clearTimeout(reopenTimer);
      reopenTimer = null;
    }
    if (source) {
      source.close();
      source = null;
    }
  }

  function open() {
    var types = words(typesIn.value).filter(function (t) { return TYPE.test(t) && !RESERVED[t]; });
    close();
    source = new EventSource(url());
    source.addEventListener('open', onOpen);
    source.addEventListener('message', onMessage);
    source.addEventListener('reset', onReset);
    types.forEach(function (t) { source.addEventListener(t, onMessage); });
    source.addEventListener('error', onError);
  }

  function sameSet(a, b) {
    return a.length === b.length && a.every(function (x) { return b.indexOf(x) >= 0; });
  }

  // Checks the form; returns the query of the subscription, or null after
  // saying what is wrong.
  function query(names, types) {
    var q;
    var bad = names.filter(function (n) { return !NAME.test(n); });
    var badTypes = types.filter(function (t) { return !TYPE.test(t) || RESERVED[t]; });
    if (names.length === 0) {
      setProblem('Give at least one channel name.');
      return null;
    }
    if (names.length > MAX_CHANNELS) {
      setProblem('At most ' + MAX_CHANNELS + ' channels.');
      return null;
    }
    if (bad.length) {
      setProblem('Not a channel name (1 to 128 of A-Z a-z 0-9 _ . : -): ' + bad[0]);
      return null;
    }
    if (badTypes.length) {
      setProblem('Not an event type (1 to 64 of A-Z a-z 0-9 _ . : -, not ' +
                 Object.keys(RESERVED).join(', ') + '): ' + badTypes[0]);
      return null;
    }
    q = names.map(function (n) { return 'channel=' + encodeURIComponent(n); }).join('&');
    // A signed page URL (private: channels) keeps its signature while it
    // covers exactly these channels.
    if (signed && sameSet(signed.names, names)) {
      q += '&expires=' + encodeURIComponent(signed.expires) +
           '&sig=' + encodeURIComponent(signed.sig);
    }
    return q;
  }

  function subscribe() {
    var names = words(channelsIn.value);
    var types = words(typesIn.value);
    var q = query(names, types);
    if (q === null) { return; }
    setProblem('');
    close();
    base = 'events?' + q;
    lastId = '';
    interrupted = false;
    lastIdEl.textContent = '-';
    urlEl.textContent = base;
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, '', '?' + q +
        (types.length ? '&types=' + encodeURIComponent(types.join(' ')) : ''));
    }
    note('subscribing to ' + names.join(', '));
    setState('connecting');
    open();
  }

  function stop() {
    close();
    base = '';
    setState('stopped');
    note('stopped');
  }

  // The page's own query (channel=, types=, and expires= and sig= of a
  // signed subscription) fills the form, so a link opens a subscription.
  function fromLocation() {
    var names = [];
    var expires = '';
    var sig = '';
    location.search.replace(/^\?/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      var k, v;
      if (i < 0) { return; }
      k = kv.slice(0, i);
      try {
        v = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
      } catch (e) {
        return;
      }
      if (k === 'channel') { names.push(v); }
      if (k === 'types') { typesIn.value = v; }
      if (k === 'expires') { expires = v; }
      if (k === 'sig') { sig = v; }
    });
    if (names.length) {
      channelsIn.value = names.join(' ');
    }
    if (names.length && expires && sig) {
      signed = { names: words(names.join(' ')), expires: expires, sig: sig };
    }
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    subscribe();
  });
  stopBtn.addEventListener('click', stop);

  fromLocation();
  subscribe();
}());
