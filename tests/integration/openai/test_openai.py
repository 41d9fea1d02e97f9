"""test_openai.py -- POST .../chat/completions through lighttpd with the official `openai`
npm client (tests/browser/openai_client.mjs): streamed token by token, whole with
"stream": false, a failing model program raising in the client; and the refusals
(400 with an OpenAI error body, 403 without a key, 413 over --max-body).

The model program is a test generator that writes words 200 ms apart and logs when it
wrote each; every chunk must reach the client before the generator writes the next one (a
chunk held back comes with or after the next). Needs node and npm
(tests/browser/package-lock.json: openai); skipped, never passed, without.
"""

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
from harness import (BUILDDIR, FCGI_STDOUT, HttpStream, Tap, Workdir,  # noqa: E402
                     fcgi_read_records, fcgi_request_bytes, start_lighttpd,
                     start_spawned_responder, wait_for)
from nodedeps import node_dir  # noqa: E402
from programs import children, script  # noqa: E402

PACE = 0.2               # the generator's words are written this far apart
KEY = "k" * 40


from harness import cleanup_on_signals  # noqa: E402
cleanup_on_signals()
t = Tap()
ndir, why = node_dir(BUILDDIR)
if ndir is None:
    t.skip("the openai client against /chat/completions",
           "%s (tests/browser needs node, npm and `npm ci`)" % why)
    t.done()

wd = Workdir("openai")
WORDS = ["Hello", " w\u00f6rld", " \u2713", " from", " a", " generator", "."]
GEN = r'''#!/usr/bin/python3
# the model program of test_openai.py: behaves as the request's model says
import json, os, sys, time
req = json.load(sys.stdin)
model = req.get("model", "")
log = open(%(log)r, "a")
def write(b):
    log.write(json.dumps({"t": time.time(), "b": b.decode("utf-8", "replace")}) + "\n"); log.flush()
    os.write(1, b)
if model == "words":
    for w in %(words)r:
        write(w.encode())
        time.sleep(%(pace)r)
elif model == "split":
    s = "\u00e9\u2713\U0001F600".encode()
    for i in range(len(s)):
        write(s[i:i + 1])
        time.sleep(0.05)
elif model == "fail":
    write(b"partial")
    sys.stderr.write("the model broke\n")
    sys.exit(3)
elif model == "echo":
    write(json.dumps(req["messages"]).encode())
''' % {"log": wd.file("gen.jsonl"), "words": WORDS, "pace": PACE}


def client(port, model, stream, key=KEY, timeout=30):
    opt = {"baseURL": "http://127.0.0.1:%d/api/v1" % port, "apiKey": key, "model": model,
           "stream": stream}
    p = subprocess.run(["node", os.path.join(ndir, "openai_client.mjs"), json.dumps(opt)],
                       cwd=ndir, capture_output=True, text=True, timeout=timeout)
    out = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    if not out:
        t.diag("client stderr: " + p.stderr[-800:])
    return out


def gen_log():
    """What the generator logged since the last call (the file is emptied, not removed: a
    generator run as nobody could not make it again in the workdir)."""
    try:
        with open(wd.file("gen.jsonl"), "r+") as f:
            lines = [json.loads(x) for x in f]
            f.truncate(0)
    except OSError:
        return []
    return lines


def before_next(pieces, written):
    """(True when chunk k of the client's pieces arrived before the generator wrote chunk
    k+1 (the last one: before its pause after it ended), and each chunk's delay from its
    write to the client). The client's times are ms of the wall clock, the generator's s."""
    if len(pieces) != len(WORDS) or len(written) < len(WORDS):
        return False, []
    at = [c["t"] / 1000 for c in pieces]
    wt = [w["t"] for w in written[:len(WORDS)]]
    nxt = wt[1:] + [wt[-1] + PACE]
    return all(a < n for a, n in zip(at, nxt)), [a - w for a, w in zip(at, wt)]


def fcgi_post(sock, body, extra=None):
    """POST .../chat/completions straight over FastCGI; returns the response's bytes."""
    import socket
    p = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/v1/chat/completions", "QUERY_STRING": "",
         "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))}
    p.update(extra or {})
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    c.sendall(fcgi_request_bytes(p, stdin=body))
    recs, _ = fcgi_read_records(c, 10)
    c.close()
    return b"".join(content for rtype, content, _ in recs if rtype == FCGI_STDOUT)


def post(port, body, headers=None):
    h = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    h.update(headers or {})
    s = HttpStream(port, "/api/v1/chat/completions", h, method="POST")
    s.sock.sendall(body)
    s.read_to_end(10)
    s.close()
    return s.status, s.body()


try:
    gen = script(wd, "gen.py", GEN)
    keys = wd.file("keys")
    with open(keys, "w") as f:
        f.write(KEY + "\n")
    os.chmod(keys, 0o600)
    resp, sock = start_spawned_responder(wd, ["--openai", gen, "--publish-key-file", keys,
                                              "--max-body", "64k", "-k", "1"])
    httpd, port = start_lighttpd(wd, sock)   # the shipped demo.conf

    # --- streamed: each chunk as written
    out = client(port, "words", True)
    chunks = [o for o in out if "chunk" in o]
    done = [o for o in out if o.get("done")]
    written = gen_log()
    text = "".join(WORDS)
    t.ok(done and done[0]["text"] == text, "stream: the client gets the whole text", out[-1:])
    pieces = [c for c in chunks if c["chunk"]]
    t.eq([c["chunk"] for c in pieces], WORDS, "stream: one chunk per write, as written")
    ok, lat = before_next(pieces, written)
    t.ok(ok, "stream: every chunk reaches the client before the generator writes the next "
         "(chunks come one by one, as written)", ["%.1f ms" % (x * 1000) for x in lat])
    if done:
        first, last = done[0]["first"], done[0]["last"]
        t.ok(first["object"] == "chat.completion.chunk" and first["model"] == "words" and
             first["id"].startswith("chatcmpl-") and
             first["choices"][0]["delta"].get("role") == "assistant",
             "stream: the first chunk: chat.completion.chunk, chatcmpl- id, the model, "
             "role assistant", first)
        t.ok(last["choices"][0]["finish_reason"] == "stop", "stream: the last chunk: "
             "finish_reason stop", last)
        t.ok(len({c["id"] for c in chunks}) == 1, "stream: one id for every chunk")
    else:
        t.ok(False, "stream: chunks' fields", out)

    # --- a UTF-8 character written one byte at a time is never split
    out = client(port, "split", True)
    done = [o for o in out if o.get("done")]
    t.ok(done and done[0]["text"] == "\u00e9\u2713\U0001F600" and
         all("\ufffd" not in o.get("chunk", "") for o in out),
         "stream: a character written byte by byte arrives whole", out)
    gen_log()

    # --- stream: false
    out = client(port, "words", False)
    t.ok(out and out[-1].get("done") and out[-1]["text"] == text and
         out[-1]["object"] == "chat.completion" and out[-1]["finish"] == "stop" and
         out[-1]["role"] == "assistant" and out[-1]["model"] == "words",
         "whole: one chat.completion with the whole text", out)
    gen_log()

    # --- a failing model program: the client throws
    out = client(port, "fail", True)
    t.ok(out and "error" in out[-1] and "failed" in out[-1]["error"],
         "stream: a program that exits non-zero makes the client throw", out)
    out = client(port, "fail", False)
    t.ok(out and "error" in out[-1] and out[-1]["status"] == 500,
         "whole: a program that exits non-zero makes the client throw (500)", out)
    t.ok(wait_for(lambda: "program openai[" in resp.log() and "the model broke" in resp.log(), 3),
         "its stderr is in the log with its name and pid")
    gen_log()

    # --- the request reaches the program as sent (body on stdin)
    out = client(port, "echo", True)
    t.ok(out and out[-1].get("done") and
         json.loads(out[-1]["text"]) == [{"role": "user", "content": "say something"}],
         "the request's JSON body is the program's stdin", out[-1:])
    gen_log()

    # --- refusals
    out = client(port, "words", True, key="wrong")
    t.ok(out and out[-1].get("status") == 403, "a wrong key: 403, the client throws", out)
    t.ok(out and "chat needs Authorization: Bearer KEY" in out[-1].get("error", "") and
         "publish" not in out[-1]["error"].replace("--publish-key-file", ""),
         "a wrong key: the client's error names chat, not publishing", out[-1:])
    code, body = post(port, b'{"model":"x","messages":[{"role":"user","content":"x"}]}')
    err = json.loads(body or b"{}").get("error", {})
    t.ok(code == 403 and err.get("type") == "invalid_request_error" and
         err.get("message", "").startswith("chat needs Authorization: Bearer KEY"),
         "no key: 403 with an OpenAI error body of its own reason", (code, body))
    code, body = post(port, b"{not json", {"Authorization": "Bearer " + KEY})
    err = json.loads(body or b"{}").get("error", {})
    t.ok(code == 400 and err.get("type") == "invalid_request_error" and err.get("message"),
         "invalid JSON: 400 with an OpenAI error body", (code, body))
    code, body = post(port, b'{"model":"x"}', {"Authorization": "Bearer " + KEY})
    t.ok(code == 400 and b"messages" in body, "no messages: 400 naming messages", (code, body))
    big = json.dumps({"model": "x", "messages": [{"role": "user", "content": "x" * 70000}]})
    code, body = post(port, big.encode(), {"Authorization": "Bearer " + KEY})
    t.ok(code == 413, "a body over --max-body: 413", (code, body[:200]))
    code, body = post(port, b'{"model":"x","messages":[]}', {"Authorization": "Bearer " + KEY})
    t.ok(code == 400, "empty messages: 400", (code, body))
    s = HttpStream(port, "/api/v1/chat/completions")
    s.read_to_end(5)
    t.ok(s.status == 405, "GET: 405", s.status)

    t.ok(wait_for(lambda: not children(resp.pid), 5),
         "no program left running or unreaped", children(resp.pid))

    # --- a model program that cannot be started (gone at request time), and chat
    #     authorised by the web server's user (--publish-remote-user)
    missing = wd.file("missing-model")
    r2, sock2 = start_spawned_responder(wd, ["--openai", missing, "--publish-remote-user"],
                                        name="r2")
    req = b'{"model":"m","messages":[{"role":"user","content":"x"}],"stream":%s}'
    out = fcgi_post(sock2, req % b"true")
    t.ok(out.startswith(b"Status: 403") and b"chat needs a user the web server authenticated"
         in out, "--publish-remote-user, no REMOTE_USER: 403 naming chat", out[:300])
    out = fcgi_post(sock2, req % b"true", {"REMOTE_USER": "alice"})
    frames = [x[6:] for x in out.split(b"\n") if x.startswith(b"data: ")]
    last = json.loads(frames[-1]) if frames else {}
    t.ok(b"text/event-stream" in out and len(frames) == 1 and
         last.get("error", {}).get("message") == "the model program could not be started" and
         last["error"].get("type") == "server_error",
         "stream: a model program that cannot be started: one error chunk (the client throws)",
         out[-300:])
    out = fcgi_post(sock2, req % b"false", {"REMOTE_USER": "alice"})
    body = out.split(b"\r\n\r\n", 1)[-1]
    t.ok(out.startswith(b"Status: 500") and json.loads(body or b"{}").get("error", {}).get(
         "message") == "the model program could not be started",
         "whole: a model program that cannot be started: 500 with an OpenAI error body",
         out[:300])
    t.ok(wait_for(lambda: "program openai (%s) could not be started" % missing in r2.log(), 3),
         "the failed start is logged")

    # --- through nginx and Apache (mod_proxy_fcgi), each with its shipped config as
    #     shipped: .../chat/completions routed, unbuffered, the Bearer key passed on
    def through(front, port):
        gen_log()
        out = client(port, "words", True)
        pieces = [o for o in out if o.get("chunk")]
        ok, lat = before_next(pieces, gen_log())
        t.ok(out and out[-1].get("done") and out[-1]["text"] == text and
             [p["chunk"] for p in pieces] == WORDS and ok,
             "%s: the client gets the reply chunk by chunk as written (each before the next is "
             "written)" % front, (out[-1:], ["%.1f ms" % (x * 1000) for x in lat]))
        out = client(port, "words", True, key="wrong")
        t.ok(out and out[-1].get("status") == 403 and "chat needs" in out[-1].get("error", ""),
             "%s: a wrong key: the responder's 403 reaches the client" % front, out[-1:])
        gen_log()

    import nginx as ngx
    if not ngx.nginx_binary():
        t.skip("nginx: chat/completions through the shipped config", "nginx not installed")
    else:
        ngx.open_for_workers(wd.path)
        r3, sock3 = ngx.start_responder_for_nginx(wd, ["--openai", gen, "--publish-key-file",
                                                       keys], name="r3")
        nx = ngx.Nginx(wd, sock3, ngx.copy_page(wd))
        through("nginx", nx.port)

    import apache as apa
    if not os.access(apa.APACHE2, os.X_OK) or apa.missing_modules(
            apa.BASE_MODULES + apa.MODES["proxy_fcgi"][1]):
        t.skip("apache: chat/completions through the shipped snippet", "apache2 not installed")
    else:
        # the responder runs as nobody, as the snippet documents: its key file is its own
        apa.open_workdir(wd)
        os.chmod(gen, 0o755)
        with open(wd.file("gen.jsonl"), "w"):
            pass
        os.chmod(wd.file("gen.jsonl"), 0o666)
        keys4 = wd.file("keys4")
        with open(keys4, "w") as f:
            f.write(KEY + "\n")
        os.chmod(keys4, 0o600)
        if os.geteuid() == 0:
            import pwd
            nobody = pwd.getpwnam("nobody")
            os.chown(keys4, nobody.pw_uid, nobody.pw_gid)
        r4, sock4 = apa.start_socket_responder(wd, ["--openai", gen, "--publish-key-file",
                                                    keys4], "r4", "FCGI_SSE_TEST_TAG=openai")
        ap = apa.Apache(wd, "apache", "proxy_fcgi",
                        {"FCGI_SSE_HTML": apa.page(wd), "FCGI_SSE_SOCKET": sock4})
        try:
            through("apache", ap.port)
        finally:
            apa.stop_all([ap])
except Exception as e:  # noqa: BLE001 -- reported in one line, the traceback as diagnostics
    t.exception(e)
finally:
    wd.cleanup()
t.done()
