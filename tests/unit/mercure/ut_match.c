/* ut_match.c -- a line filter for uritemplate_diff.py: "TEMPLATE<TAB>STRING" in, one answer a line out */
/* Answers: 1 (matches), 0 (does not), L (a PCRE2 limit stopped it), I (not a template),
 * T (too big or complex), E (another error). A line "TEMPLATE" alone prints the regular
 * expression it compiles to (or I/T/E). Lines are at most 64 KiB. */
#include "config.h"

#include "mercure/uritemplate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static char line[65536];

    while (fgets(line, sizeof line, stdin)) {
        size_t len = strlen(line);
        char *tab, why[160];
        struct uritemplate *t = NULL;
        int r;

        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        tab = strchr(line, '\t');
        r = uritemplate_compile(line, tab ? (size_t)(tab - line) : len, &t, why, sizeof why);
        if (r != UT_OK)
            puts(r == UT_EINVALID ? "I" : r == UT_ETOOBIG ? "T" : "E");
        else if (!tab)
            puts(uritemplate_regex(t));
        else {
            r = uritemplate_match(t, tab + 1, len - (size_t)(tab + 1 - line));
            puts(r == 1 ? "1" : r == 0 ? "0" : r == UT_LIMIT ? "L" : "E");
        }
        uritemplate_free(t);
        if (fflush(stdout) != 0)
            return 1;
    }
    return 0;
}
