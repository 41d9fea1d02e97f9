#!/bin/bash
# run.sh -- every test: installs what the tests need, builds, runs `make check`, and ends
# with one line "N passed, N failed, N skipped", after one line per skipped check:
# "skipped: tests/integration/GROUP/test_x: ok 3 - name # SKIP reason" (.ci/run matches its
# allow-list on them).
#
# Environment:
#   SANITIZE=1           build with ASan + UBSan (./configure --enable-sanitizers) in build-asan/
#   CFLAGS               passed to configure (CI adds -Werror)
#   FCGI_SSE_NO_INSTALL=1  skip apt-get (packages already there)
#   FCGI_SSE_TESTS       run only these (make check TESTS=...: tests/unit/core/test_text
#                        tests/integration/stream/test_fcgi.py); docs/testing.md
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${FCGI_SSE_NO_INSTALL:-}" != 1 ]; then
    "$top/deploy/install-deps.sh" build test || exit 1
fi

build="$top/build"
conf=()
if [ "${SANITIZE:-}" = 1 ]; then
    build="$top/build-asan"
    conf+=(--enable-sanitizers)
    # Leaks, overflows and undefined behaviour fail the tests, not just print.
    export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
    export FCGI_SSE_SANITIZED=1   # tests that need valgrind skip it: ASan and valgrind clash
fi

(cd "$top" && autoreconf -fi) >/dev/null 2>&1 || { (cd "$top" && autoreconf -fi); exit 1; }
mkdir -p "$build"
(cd "$build" && "$top/configure" --quiet "${conf[@]}" ${CFLAGS:+CFLAGS="$CFLAGS"}) || exit 1
make -C "$build" -j2 -s || exit 1

# The integration tests check timing: run them one at a time.
stamp="$build/.check-started"
touch "$stamp"
make -C "$build" -s check ${FCGI_SSE_TESTS:+TESTS="$FCGI_SSE_TESTS"}
status=$?

# Automake's summary counts each TAP result; turn it into the one line CI reads.
log="$build/test-suite.log"
count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$log" | head -n1; }
if [ -f "$log" ]; then
    pass=$(count PASS); skip=$(count SKIP); fail=$(count FAIL); err=$(count ERROR); xpass=$(count XPASS)
    [ "$status" -ne 0 ] && [ "$((${fail:-0} + ${err:-0} + ${xpass:-0}))" -eq 0 ] && err=1
    # Each skipped check by name and reason, from the logs of this run only: as automake
    # counts them, a "# SKIP" directive in any case, and a whole file's "1..0 # SKIP".
    find "$build/tests" -name '*.log' -newer "$stamp" -print0 | sort -z |
        xargs -0 -r grep -H -i -E '^(ok [0-9]+ .*# *skip|1\.\.0 *# *skip)' |
        sed -e "s|^$build/||" -e 's|\.log:|: |' -e 's|^|skipped: |'
    echo "${pass:-0} passed, $((${fail:-0} + ${err:-0} + ${xpass:-0})) failed, ${skip:-0} skipped"
else
    echo "0 passed, 1 failed, 0 skipped"
fi
exit $status
