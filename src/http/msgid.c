/* msgid.c -- message ids MS-SEQ: Unix time in ms, a sequence within it; strictly increasing (pure) */
#include "config.h"

#include "http/msgid.h"
#include "core/text.h"

#include <string.h>

#define MSGID_PART_MAX 9223372036854775807ULL

int msgid_cmp(struct msgid a, struct msgid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

int msgid_is_zero(struct msgid a)
{
    return a.ms == 0 && a.seq == 0;
}

size_t msgid_format(char *buf, struct msgid id)
{
    size_t n = text_u64(buf, id.ms);
    buf[n++] = '-';
    return n + text_u64(buf + n, id.seq);
}

int msgid_parse(const char *s, struct msgid *out)
{
    const char *dash = strchr(s, '-');
    char ms[24];
    size_t n;
    struct msgid id;

    if (!dash)
        return -1;
    n = (size_t)(dash - s);
    if (n == 0 || n >= sizeof ms)
        return -1;
    memcpy(ms, s, n);
    ms[n] = '\0';
    if (text_parse_uint(ms, 0, MSGID_PART_MAX, &id.ms) < 0 ||
        text_parse_uint(dash + 1, 0, MSGID_PART_MAX, &id.seq) < 0)
        return -1;
    *out = id;
    return 0;
}

struct msgid msgid_next(struct msgid *last, unsigned long long now_ms)
{
    if (now_ms > last->ms) {
        last->ms = now_ms;
        last->seq = 0;
    } else {
        last->seq++;
    }
    return *last;
}
