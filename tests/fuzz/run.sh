#!/bin/sh
# run.sh -- builds the libFuzzer harnesses with clang (ASan + UBSan) and runs each for a while.
#
# Usage: tests/fuzz/run.sh [SECONDS_EACH] [BUILD_DIR] [NAME...]   (default 60 s, build-fuzz/,
# every harness: sse req frame intake)
# Needs clang and libclang-rt-14-dev (deploy/install-deps.sh fuzz), and libfcgi-dev for
# fuzz_intake. Each harness starts from its seed corpus in tests/fuzz/corpus/<name> and keeps
# what it finds in BUILD_DIR/corpus/; a crash leaves its input in BUILD_DIR and fails the run.
# Prints each harness's executions and "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
out=${2:-$top/build-fuzz}
if [ $# -gt 2 ]; then
    shift 2
else
    set -- sse req frame intake
fi
mkdir -p "$out"
# config.h: the one of a configured build in build/ when there is one, else a minimal one
# (what the sources below need of it: the package's name and version, and GNU extensions for
# accept4, memfd_create and epoll_pwait).
inc="$out/include"
mkdir -p "$inc"
if [ -f "$top/build/config.h" ]; then
    cp "$top/build/config.h" "$inc/config.h"
else
    printf '#define PACKAGE_NAME "fcgi-sse"\n#define PACKAGE_VERSION "fuzz"\n#ifndef _GNU_SOURCE\n#define _GNU_SOURCE 1\n#endif\n' > "$inc/config.h"
fi
fcgi_flags=$(pkg-config --cflags --libs fcgi 2>/dev/null) || fcgi_flags=-lfcgi
[ -n "$fcgi_flags" ] || fcgi_flags=-lfcgi
hiredis_flags=$(pkg-config --cflags --libs hiredis 2>/dev/null) || hiredis_flags=-lhiredis
[ -n "$hiredis_flags" ] || hiredis_flags=-lhiredis
# The Redis functions as a C string, as Makefile.am makes src/redis/fcgi-sse-lua.h (redis_link.c
# has it).
mkdir -p "$inc/redis"
sed -e 's/^/"/' -e 's/$/\\n"/' "$top/src/redis/fcgi-sse.lua" > "$inc/redis/fcgi-sse-lua.h"
# Every module but main.c: what libcore.a holds (Makefile.am).
modules=$(find "$top/src" -mindepth 2 -name '*.c' | sort | tr '\n' ' ')

pass=0
fail=0
for name in "$@"; do
    bin="$out/fuzz_$name"
    extra=""
    case $name in
    sse | req | frame | intake)
        srcs=$modules
        libs="$fcgi_flags $hiredis_flags -ljansson -lcrypto"
        # fuzz_intake writes each input into a socket buffer: keep inputs well within one
        [ "$name" = intake ] && extra="-max_len=16384"
        ;;
    *)
        echo "fuzz_$name: no such harness"
        fail=$((fail + 1))
        continue
        ;;
    esac
    # shellcheck disable=SC2086 # word splitting of the source and library lists is intended
    if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            -I"$inc" -I"$top/src" -iquote "$top/tests/unit" "$top/tests/fuzz/fuzz_$name.c" \
            $srcs $libs -o "$bin"; then
        echo "fuzz_$name: does not build"
        fail=$((fail + 1))
        continue
    fi
    mkdir -p "$out/corpus/$name"
    log="$out/fuzz_$name.log"
    # shellcheck disable=SC2086
    if (cd "$out" && "$bin" -max_total_time="$secs" -print_final_stats=1 $extra \
            "$out/corpus/$name" "$top/tests/fuzz/corpus/$name") >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        echo "fuzz_$name: ${runs:-?} executions in ${secs} s (${rate:-?}/s), no failure"
        pass=$((pass + 1))
    else
        echo "fuzz_$name: FAILED (see $log; the input is in $out)"
        tail -n 30 "$log"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
