/* run.js -- fcgi-sse demo page: the program panel, run/demo's output shown line by line as it is printed */
(function () {
  'use strict';

  var KEEP = 500;            // lines kept on screen
  var button = document.getElementById('run-start');
  var stateEl = document.getElementById('run-state');
  var list = document.getElementById('run-lines');
  var source = null;         // the EventSource of the run in progress, or null

  function setState(state, text) {
    stateEl.textContent = text;
    stateEl.setAttribute('data-state', state);
  }

  function append(text) {
    var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
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

  function finish() {
    if (source) {
      source.close();
      source = null;
    }
    button.disabled = false;
  }

  // One run: each message is a line of the program's output; `event: exit` carries its
  // status and ends the run. Never reconnect: a new request would run the program again.
  function start() {
    var es;
    var lines = 0;

    finish();
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    button.disabled = true;
    setState('running', 'running');
    es = new EventSource('run/demo');
    source = es;
    es.addEventListener('message', function (ev) {
      if (es !== source) { return; }
      lines += 1;
      append(ev.data);
    });
    es.addEventListener('exit', function (ev) {
      if (es !== source) { return; }
      finish();
      setState(ev.data === '0' ? 'exited' : 'failed', 'exited with status ' + ev.data);
    });
    es.addEventListener('error', function () {
      if (es !== source) { return; }
      finish();
      if (lines) {
        setState('failed', 'interrupted after ' + lines + ' lines');
      } else {
        setState('unavailable', 'not available: the responder has no --run demo');
      }
    });
  }

  button.addEventListener('click', start);
}());
