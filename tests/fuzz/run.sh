#!/bin/sh
# run.sh -- builds the libFuzzer harnesses with clang (ASan + UBSan) and runs each for a while.
#
# Usage: tests/fuzz/run.sh [SECONDS_EACH] [BUILD_DIR]   (default 60 s, build-fuzz/)
# Needs clang and libclang-rt-14-dev (deploy/install-deps.sh fuzz). Each harness starts from
# its seed corpus in tests/fuzz/corpus/<name> and keeps what it finds in BUILD_DIR/corpus/;
# a crash leaves its input in BUILD_DIR and fails the run. Prints "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
out=${2:-$top/build-fuzz}
mkdir -p "$out"
# config.h: any configured build directory has one; make a minimal one if none.
inc="$out/include"
mkdir -p "$inc"
[ -f "$inc/config.h" ] || printf '#define PACKAGE_NAME "fcgi-sse"\n#define PACKAGE_VERSION "fuzz"\n#define _GNU_SOURCE 1\n' > "$inc/config.h"

pass=0
fail=0
for name in sse req precheck; do
    bin="$out/fuzz_$name"
    if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            -I"$inc" -I"$top/src" -I"$top/tests" "$top/tests/fuzz/fuzz_$name.c" \
            "$top/src/sse.c" "$top/src/req.c" "$top/src/precheck.c" -o "$bin"; then
        echo "fuzz_$name: does not build"
        fail=$((fail + 1))
        continue
    fi
    mkdir -p "$out/corpus/$name"
    log="$out/fuzz_$name.log"
    if (cd "$out" && "$bin" -max_total_time="$secs" -print_final_stats=1 \
            "$out/corpus/$name" "$top/tests/fuzz/corpus/$name") >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz_$name: ${runs:-?} executions in ${secs} s, no failure"
        pass=$((pass + 1))
    else
        echo "fuzz_$name: FAILED (see $log; the input is in $out)"
        tail -n 30 "$log"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
