#!/bin/bash
# demo.sh -- the demo: builds fcgi-sse, runs it under spawn-fcgi behind lighttpd on
# http://127.0.0.1:8080/ in the foreground. Ctrl-C stops both; nothing is left running.
# Channels: a publish key made for this run only (in the run's private temp directory)
# lets `curl` publish; the command to use, and the page, are printed at start.
# Programs: run/demo runs deploy/lighttpd/demo-run.sh (--run demo=...), which the page's
# program panel shows live.
# Mercure: the responder is a Mercure hub at /.well-known/mercure (--mercure), anyone may
# subscribe to its public updates (--mercure-anonymous), and publishers and subscribers sign
# their tokens with a secret made for this run only (like the publish key; its file is
# printed: an app's MERCURE_JWT_SECRET); a publisher token made with it (openssl, HS256, the
# claim Symfony's tokens carry) is printed with a curl command. The hub's URL
# (--mercure-audience, the aud of the current draft's tokens) is http://127.0.0.1:PORT/...,
# their issuer (--mercure-issuer) http://127.0.0.1:PORT.
#
# Environment: FCGI_SSE_PORT (default 8080); FCGI_SSE_NO_INSTALL=1 skips apt-get;
# FCGI_SSE_BUILD: a configured build directory to use (default build/ of the tree, configured
# on first use); extra arguments go to fcgi-sse (e.g. --interval 250).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
port=${FCGI_SSE_PORT:-8080}

if [ "${FCGI_SSE_NO_INSTALL:-}" != 1 ]; then
    "$top/deploy/install-deps.sh" build demo
fi

# Build in build/ (out of tree), once; `make` after that only rebuilds changes.
build=${FCGI_SSE_BUILD:-$top/build}
if [ ! -f "$build/Makefile" ]; then
    (cd "$top" && autoreconf -fi)
    mkdir -p "$build"
    (cd "$build" && "$top/configure" --quiet)
fi
make -s -C "$build" -j2 fcgi-sse

# Job control: each child in its own process group, so Ctrl-C reaches only this
# script, which then stops each child once (a second signal would skip the
# responder's graceful shutdown).
set -m
state=$(mktemp -d /tmp/fcgi-sse-demo.XXXXXX)
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock="$state/fcgi-sse.sock"
# The publish key of this run: 32 random bytes as base64url, in a file only we can
# read (mode 0600, in a directory of mode 0700), gone when the demo stops.
key=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
keyfile="$state/publish.key"
(umask 077 && printf '# fcgi-sse demo: publish key of this run\n%s\n' "$key" > "$keyfile")
# Mercure's secret for this run (the file's first line is the key: no comment line), and
# a publisher token signed with it: {"mercure":{"publish":["*"]}}, no exp (a token for
# this run only, whose secret is gone when the demo stops).
mercure_secret=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
mercure_keyfile="$state/mercure.key"
(umask 077 && printf '%s\n' "$mercure_secret" > "$mercure_keyfile")
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt_head=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
jwt_claims=$(printf '{"mercure":{"publish":["*"]}}' | b64url)
jwt_sig=$(printf '%s.%s' "$jwt_head" "$jwt_claims" |
          openssl dgst -sha256 -hmac "$mercure_secret" -binary | b64url)
mercure_token="$jwt_head.$jwt_claims.$jwt_sig"
[ -n "$jwt_sig" ] || { echo "demo.sh: openssl could not sign the Mercure token" >&2; exit 1; }
# spawn-fcgi -n: stay in the foreground (the pid is the responder's), socket on fd 0;
# -b 4096: a listen backlog for a reconnect storm (fcgi-sse also raises it itself).
# glibc's per-thread malloc cache off: it pins pages of memory freed when clients
# leave (docs/deploy.md, "Memory").
GLIBC_TUNABLES=glibc.malloc.tcache_count=0 \
    spawn-fcgi -n -b 4096 -s "$sock" -M 0600 -- "$build/fcgi-sse" \
        --publish-key-file "$keyfile" --run demo="$top/deploy/lighttpd/demo-run.sh" \
        --mercure --mercure-anonymous --mercure-publisher-key-file "$mercure_keyfile" \
        --mercure-subscriber-key-file "$mercure_keyfile" \
        --mercure-audience "http://127.0.0.1:$port/.well-known/mercure" \
        --mercure-issuer "http://127.0.0.1:$port" "$@" &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "demo.sh: fcgi-sse did not start" >&2; exit 1; }

FCGI_SSE_PORT=$port FCGI_SSE_HTML="$top/html" FCGI_SSE_SOCKET="$sock" FCGI_SSE_STATE="$state" \
    lighttpd -D -f "$top/deploy/lighttpd/demo.conf" &
pids+=($!)

cat <<EOF
demo.sh: open http://127.0.0.1:$port/ (stream: http://127.0.0.1:$port/stream)
demo.sh: channels: open http://127.0.0.1:$port/channels.html, then publish to "news":
  curl -H "Authorization: Bearer $key" --data-binary 'hello' 'http://127.0.0.1:$port/publish?channel=news'
demo.sh: or straight to the responder's socket, without the web server:
  printf hello | $build/fcgi-sse publish --socket unix:$sock --key-file $keyfile news
demo.sh: a program as a stream (the page's panel runs it too):
  curl -N http://127.0.0.1:$port/run/demo
demo.sh: Mercure: subscribe to a topic, then publish an update to it (docs/mercure.md):
  curl -N 'http://127.0.0.1:$port/.well-known/mercure?topic=https://example.com/books/1'
  curl -H "Authorization: Bearer $mercure_token" -d topic=https://example.com/books/1 \\
       -d data='{"status": "sold"}' http://127.0.0.1:$port/.well-known/mercure
demo.sh: Mercure's secret, an application's MERCURE_JWT_SECRET, is the line in $mercure_keyfile
demo.sh: the responder's figures, live: http://127.0.0.1:$port/status.html; for Prometheus:
  curl -s http://127.0.0.1:$port/metrics
demo.sh: Ctrl-C stops
EOF
# Whichever ends first ends the demo; the trap stops the other.
wait -n
