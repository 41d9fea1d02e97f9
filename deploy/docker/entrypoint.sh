#!/bin/sh
# entrypoint.sh -- the responder container's entrypoint (Dockerfile, target responder):
# makes the publish key on first start, turns the Mercure hub on when its key is in the
# environment, then runs the command (CMD: fcgi-sse with --publish-key-file
# /var/lib/fcgi-sse/publish.key).
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
#
# Mercure (docs/mercure.md): set MERCURE_JWT_SECRET to the secret your application signs
# its tokens with (Symfony's MERCURE_JWT_SECRET, 32 bytes or more for HS256), and the hub
# is on at .../.well-known/mercure: the command gets --mercure and the secret as both
# --mercure-publisher-key-file and --mercure-subscriber-key-file. The reference hub's
# names work too, for separate keys: MERCURE_PUBLISHER_JWT_KEY and
# MERCURE_SUBSCRIBER_JWT_KEY (a secret, or a PEM public key), with MERCURE_PUBLISHER_JWT_ALG
# and MERCURE_SUBSCRIBER_JWT_ALG (HS256 when unset for a secret; RS256, ES256 or EdDSA
# follow from a PEM key). FCGI_SSE_MERCURE_OPTIONS adds options, split on spaces, e.g.
# "--mercure-anonymous --mercure-audience https://example.com/.well-known/mercure".
# Each key is written at every start to /var/lib/fcgi-sse/mercure-publisher.key and
# mercure-subscriber.key (mode 0600), and removed when its variable is gone; the
# variables themselves are unset before the command runs, so programs the responder runs
# (--run) never see them. FCGI_SSE_KEY_DIR moves /var/lib/fcgi-sse (for a test outside a
# container).
set -eu

DIR=${FCGI_SSE_KEY_DIR:-/var/lib/fcgi-sse}
KEY=$DIR/publish.key                 # CMD's --publish-key-file

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

# mercure_key NAME VALUE: writes VALUE (a secret's line, or a PEM block) to $DIR/NAME, mode
# 0600, replacing what was there; an empty VALUE removes the file.
mercure_key() {
    f=$DIR/$1
    if [ -z "$2" ]; then
        rm -f "$f"
        return 0
    fi
    tmp=$(mktemp "$DIR/.$1.XXXXXX") || {
        echo "fcgi-sse entrypoint: cannot write the Mercure key in $DIR" >&2
        exit 1
    }
    if ! printf '%s\n' "$2" > "$tmp" || ! chmod 0600 "$tmp" || ! mv -f "$tmp" "$f"; then
        rm -f "$tmp"
        echo "fcgi-sse entrypoint: cannot write $f" >&2
        exit 1
    fi
}

pub=${MERCURE_PUBLISHER_JWT_KEY:-${MERCURE_JWT_SECRET:-}}
sub=${MERCURE_SUBSCRIBER_JWT_KEY:-${MERCURE_JWT_SECRET:-}}
mercure_key mercure-publisher.key "$pub"
mercure_key mercure-subscriber.key "$sub"
if [ -n "$pub$sub" ] && [ "${1:-}" = fcgi-sse ]; then
    set -- "$@" --mercure
    if [ -n "$pub" ]; then
        set -- "$@" --mercure-publisher-key-file \
            "${MERCURE_PUBLISHER_JWT_ALG:+$MERCURE_PUBLISHER_JWT_ALG:}$DIR/mercure-publisher.key"
    fi
    if [ -n "$sub" ]; then
        set -- "$@" --mercure-subscriber-key-file \
            "${MERCURE_SUBSCRIBER_JWT_ALG:+$MERCURE_SUBSCRIBER_JWT_ALG:}$DIR/mercure-subscriber.key"
    fi
fi
if [ -n "${FCGI_SSE_MERCURE_OPTIONS:-}" ] && [ "${1:-}" = fcgi-sse ]; then
    set -f          # split on spaces, no file name expansion
    # shellcheck disable=SC2086
    set -- "$@" $FCGI_SSE_MERCURE_OPTIONS
    set +f
fi
pub=
sub=
unset MERCURE_JWT_SECRET MERCURE_PUBLISHER_JWT_KEY MERCURE_SUBSCRIBER_JWT_KEY

exec "$@"
