#!/bin/bash
# demo.sh -- the demo: builds fcgi-sse, runs it under spawn-fcgi behind lighttpd on
# http://127.0.0.1:8080/ in the foreground. Ctrl-C stops both; nothing is left running.
# Channels: a publish key made for this run only (in the run's private temp directory)
# lets `curl` publish; the command to use, and the page, are printed at start.
# Programs: run/demo runs deploy/lighttpd/demo-run.sh (--run demo=...), which the page's
# program panel shows live.
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
# spawn-fcgi -n: stay in the foreground (the pid is the responder's), socket on fd 0;
# -b 4096: a listen backlog for a reconnect storm (fcgi-sse also raises it itself).
# glibc's per-thread malloc cache off: it pins pages of memory freed when clients
# leave (docs/deploy.md, "Memory").
GLIBC_TUNABLES=glibc.malloc.tcache_count=0 \
    spawn-fcgi -n -b 4096 -s "$sock" -M 0600 -- "$build/fcgi-sse" \
        --publish-key-file "$keyfile" --run demo="$top/deploy/lighttpd/demo-run.sh" "$@" &
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
demo.sh: Ctrl-C stops
EOF
# Whichever ends first ends the demo; the trap stops the other.
wait -n
