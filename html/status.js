/* status.js -- fcgi-sse status page: follows status?stream=1 with EventSource, shows the figures and draws their charts */
(function () {
  'use strict';

  var KEEP = 120;            // points per chart: two minutes at one event a second
  var REOPEN_MS = 3000;      // wait before replacing an EventSource the browser gave up on
  var W = 240;               // the charts' viewBox
  var H = 60;
  var PAD = 2;

  var stateEl = document.getElementById('state');
  var source = null;
  var reopenTimer = null;
  var last = null;           // the previous sample: {t, events, published, dropped}

  // Each chart: its polylines, and the values each one holds.
  function chart(id, topId, n) {
    var svg = document.getElementById(id);
    var lines = svg.getElementsByTagName('polyline');
    var c = { lines: [], top: document.getElementById(topId), svg: svg };
    for (var i = 0; i < n; i++) {
      c.lines.push({ el: lines[i], values: [] });
    }
    return c;
  }

  var charts = {
    streams: chart('chart-streams', 'streams-top', 1),
    events: chart('chart-events', 'events-top', 1),
    channels: chart('chart-channels', 'channels-top', 1),
    publish: chart('chart-publish', 'publish-top', 2)
  };

  function setState(s) {
    stateEl.textContent = s;
    stateEl.setAttribute('data-state', s);
  }

  function show(id, text) {
    document.getElementById(id).textContent = text;
  }

  function num(v) {
    return typeof v === 'number' && isFinite(v) ? v : 0;
  }

  // A rate as people read it: one decimal below 10, whole above.
  function rate(v) {
    return v < 10 ? v.toFixed(1) : String(Math.round(v));
  }

  function duration(s) {
    var d = Math.floor(s / 86400);
    var h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60);
    if (d) { return d + ' d ' + h + ' h'; }
    if (h) { return h + ' h ' + m + ' min'; }
    if (m) { return m + ' min ' + Math.floor(s % 60) + ' s'; }
    return Math.floor(s) + ' s';
  }

  // The top of a chart's scale: 1, 2 or 5 times a power of ten, at least the largest value.
  function scaleTop(max) {
    var p = 1;
    if (max <= 1) { return 1; }
    while (p * 10 < max) { p *= 10; }
    return max <= p * 2 ? p * 2 : max <= p * 5 ? p * 5 : p * 10;
  }

  // Adds the values (one per line) and redraws: the newest point at the right edge.
  function push(c, values) {
    var max = 0;
    var step = W / (KEEP - 1);
    c.lines.forEach(function (l, i) {
      l.values.push(values[i]);
      if (l.values.length > KEEP) { l.values.shift(); }
      l.values.forEach(function (v) { max = Math.max(max, v); });
    });
    var top = scaleTop(max);
    c.lines.forEach(function (l) {
      var n = l.values.length;
      var pts = l.values.map(function (v, i) {
        var x = W - (n - 1 - i) * step;
        var y = H - PAD - v / top * (H - 2 * PAD);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      l.el.setAttribute('points', pts.join(' '));
    });
    c.top.textContent = 'scale ' + top;
  }

  function onStatus(ev) {
    var s;
    try {
      s = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    var now = performance.now();
    var events = num(s.events_sent) + num(s.events_delivered) + num(s.mercure_delivered) +
      num(s.run_events);
    var sample = { t: now, events: events,
      published: num(s.messages_published) + num(s.mercure_published),
      dropped: num(s.streams_dropped_slow) };
    show('streams-open', String(num(s.streams_open)) + ' of ' + num(s.max_streams));
    show('channels', String(num(s.channels)));
    show('published', String(sample.published));
    show('dropped', String(sample.dropped));
    show('refused', String(num(s.streams_refused) + num(s.runs_refused) +
      num(s.channels_refused)));
    show('mercure', String(num(s.mercure_subscribers)));
    show('runs', String(num(s.runs_running)));
    show('streams-total', String(num(s.streams_total)));
    show('uptime', duration(num(s.uptime_s)));
    show('version', String(s.version || '-'));
    push(charts.streams, [num(s.streams_open)]);
    push(charts.channels, [num(s.channels)]);
    if (last && now > last.t) {
      var dt = (now - last.t) / 1000;
      // a counter that went down: a new responder (a restart): no rate from that pair
      var ok = events >= last.events && sample.published >= last.published &&
        sample.dropped >= last.dropped;
      if (ok) {
        var er = (events - last.events) / dt;
        var pr = (sample.published - last.published) / dt;
        var dr = (sample.dropped - last.dropped) / dt;
        show('events-rate', rate(er));
        show('publish-rate', rate(pr));
        push(charts.events, [er]);
        push(charts.publish, [pr, dr]);
      }
    }
    last = sample;
  }

  function open() {
    reopenTimer = null;
    source = new EventSource('status?stream=1');
    source.addEventListener('open', function (ev) {
      if (ev.target === source) { setState('open'); }
    });
    source.addEventListener('status', onStatus);
    source.addEventListener('error', function (ev) {
      if (ev.target !== source) { return; }
      if (source.readyState === EventSource.CLOSED) {
        // refused (403, 503) or gone: the browser gave up; try again later
        setState('closed');
        source.close();
        if (!reopenTimer) { reopenTimer = setTimeout(open, REOPEN_MS); }
      } else {
        setState('reconnecting');
      }
    });
  }

  open();
}());
