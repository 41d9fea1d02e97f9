/* fuzz_precheck.c -- libFuzzer harness of precheck: any bytes a peer sends before libfcgi reads.
 * Properties: no crash or out-of-bounds read (ASan); a known verdict for every input, with a
 * reason when BAD; OK is stable: once a prefix is OK, every longer input starting with it is
 * OK too (the scan stops at the params' end; libfcgi reads what follows). */
#include "config.h"

#include "precheck.h"

#include <stdint.h>
#include <stdlib.h>

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
    for (cut = 0; cut < n && cut < 64; cut++)
        if (pre_scan(in, cut, &why) == PRE_OK && whole != PRE_OK)
            abort();
    return 0;
}
