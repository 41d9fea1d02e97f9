/* fuzz_precheck.c -- libFuzzer harness of precheck: any bytes a peer sends before libfcgi reads.
 * Properties: no crash or out-of-bounds read (ASan); a known verdict for every input, with a
 * reason when BAD; OK is stable: once a prefix is OK (its params ended), every longer input
 * starting with it is OK too, or BAD only for a management record that came after the
 * params (the scan looks on to the end of stdin at what has arrived). */
#include "config.h"

#include "precheck.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    const char *why;
    size_t cut;
    enum pre_result whole = pre_scan(in, n, &why);

    if (whole != PRE_OK && whole != PRE_MORE && whole != PRE_BAD)
        abort();
    if (whole == PRE_BAD && (!why || !*why))
        abort();
    for (cut = 0; cut < n && cut < 64; cut++) {
        const char *why_cut;
        if (pre_scan(in, cut, &why_cut) == PRE_OK && whole != PRE_OK &&
            !(whole == PRE_BAD && strstr(why, "management record")))
            abort();
    }
    return 0;
}
