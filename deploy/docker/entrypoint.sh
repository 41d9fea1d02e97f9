#!/bin/sh
# entrypoint.sh -- the responder container's entrypoint (Dockerfile, target responder):
# makes the publish key on first start, then runs the command (CMD: fcgi-sse with
# --publish-key-file /var/lib/fcgi-sse/publish.key).
#
# The key file lives in the volume at /var/lib/fcgi-sse (fcgi-sse-keys in compose.yaml),
# so it survives rebuilds and restarts; the container itself stays read-only. When the
# file is missing, 32 random bytes from /dev/urandom are written to it as 64 hex digits,
# one line, mode 0600, owned by the user the container runs as (fcgi-sse, uid 10001).
# A file that exists is never touched: to use your own key(s), write the file (one key a
# line) and restart the container; fcgi-sse reads it at start.
#
# Read the key:  docker-compose exec responder cat /var/lib/fcgi-sse/publish.key
# Publish:       docker-compose exec -T responder fcgi-sse publish \
#                  --socket unix:/run/fcgi-sse/fcgi-sse.sock \
#                  --key-file /var/lib/fcgi-sse/publish.key CHANNEL < message
set -eu

KEY=/var/lib/fcgi-sse/publish.key     # CMD's --publish-key-file

if [ ! -e "$KEY" ]; then
    dir=$(dirname "$KEY")
    umask 077
    tmp=$(mktemp "$dir/.publish.key.XXXXXX") || {
        echo "fcgi-sse entrypoint: cannot create the publish key in $dir (is the volume" \
             "mounted there and writable by uid $(id -u)?)" >&2
        exit 1
    }
    # od: coreutils, in every Debian image. 256 bits, hex: a key that fits a header as is.
    if ! key=$(od -An -vtx1 -N32 /dev/urandom | tr -d ' \n') || [ ${#key} -ne 64 ] ||
       ! printf '%s\n' "$key" > "$tmp"; then
        rm -f "$tmp"
        echo "fcgi-sse entrypoint: cannot make a key from /dev/urandom" >&2
        exit 1
    fi
    key=
    chmod 0600 "$tmp"
    # A hard link never replaces a file: a key another container wrote meanwhile is kept.
    if ln "$tmp" "$KEY" 2>/dev/null; then
        echo "fcgi-sse entrypoint: made a new publish key in $KEY (read it with" \
             "\`docker-compose exec responder cat $KEY\`)" >&2
    fi
    rm -f "$tmp"
    [ -e "$KEY" ] || { echo "fcgi-sse entrypoint: cannot create $KEY" >&2; exit 1; }
fi

exec "$@"
