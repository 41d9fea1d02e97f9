/* program_output.c -- the program source: what a run writes, events made from its output, and its end */
#include "config.h"

#include "sources/program_int.h"
#include "sources/process.h"
#include "http/resp.h"
#include "http/sse.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets pend to a malloc'd event (taken). */
static void set_pend(struct program *u, char *ev, size_t len)
{
    free(u->pend);
    u->pend = ev;
    u->pend_len = len;
    u->pend_off = 0;
}

/* An event `id: N` + `data: LINE` (or `event: exit`) into pend. -1 on ENOMEM. */
static int make_event(struct program *u, const char *event, const char *data, size_t n)
{
    char id[24];
    struct sse_event ev = { id, event, data, n };
    size_t cap = n + 96;
    char *buf = malloc(cap);
    ssize_t len;

    if (!buf)
        return -1;
    snprintf(id, sizeof id, "%llu", u->next_id++);
    len = sse_encode(buf, cap, &ev);
    if (len < 0) {
        free(buf);
        return -1;
    }
    set_pend(u, buf, (size_t)len);
    (*u->rs->params.events)++;
    return 0;
}

/* A chat chunk of the text buf[0, n) (or the last) into pend. */
static int make_chunk(struct program *u, const char *text, size_t n, const char *finish)
{
    size_t len;
    char *c = openai_chunk(&u->reply, text, n, !u->first_sent, finish, &len);

    if (!c)
        return -1;
    u->first_sent = 1;
    set_pend(u, c, len);
    (*u->rs->params.events)++;
    return 0;
}

/* Appends a literal into pend (the [DONE] line, the error chunk...). */
static int make_raw(struct program *u, const char *prefix, const char *text, size_t n,
                    const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *buf = malloc(a + n + b);

    if (!buf)
        return -1;
    memcpy(buf, prefix, a);
    memcpy(buf + a, text, n);
    memcpy(buf + a + n, suffix, b);
    set_pend(u, buf, a + n + b);
    return 0;
}

/* The next event from what stdout gave: 1 when one was made, 0 when
 * there is none yet, -1 on ENOMEM. */
int program_next_event(struct program *u)
{
    char *nl;
    size_t n;

    if (!u->len)
        return 0;
    if (u->mode != PROGRAM_LINES) {
        n = u->out.fd >= 0 ? text_utf8_whole(u->buf, u->len) : u->len;
        if (!n)
            return 0;
        text_utf8_clean(u->buf, n);
        if (u->mode == PROGRAM_CHAT_WHOLE) {
            if (u->whole_len + n > PROGRAM_WHOLE_MAX) {
                if (!u->too_long && u->proc)
                    process_terminate(u->proc);
                u->too_long = 1;
            } else {
                memcpy(u->whole + u->whole_len, u->buf, n);
                u->whole_len += n;
            }
        } else if (make_chunk(u, u->buf, n, NULL) < 0) {
            return -1;
        }
        memmove(u->buf, u->buf + n, u->len - n);
        u->len -= n;
        return u->mode == PROGRAM_CHAT;
    }
    nl = memchr(u->buf, '\n', u->len);
    if (u->cutting) {
        n = nl ? (size_t)(nl - u->buf) + 1 : u->len;
        memmove(u->buf, u->buf + n, u->len - n);
        u->len -= n;
        u->cutting = !nl;
        return program_next_event(u);
    }
    if (!nl && u->len < u->cap && u->out.fd >= 0)
        return 0; /* the line is still arriving */
    n = nl ? (size_t)(nl - u->buf) : u->len;
    if (!nl && u->len == u->cap && u->out.fd >= 0) {
        u->cutting = 1;
        if (log_allow(&u->rs->warn_limit))
            log_warn("program %s[%ld]: a line over --max-line %zu bytes was cut", u->name, u->pid,
                     u->rs->params.max_line);
    }
    if (make_event(u, NULL, u->buf, n && u->buf[n - 1] == '\r' ? n - 1 : n) < 0)
        return -1;
    n += nl != NULL;
    memmove(u->buf, u->buf + n, u->len - n);
    u->len -= n;
    return 1;
}

/* The end of the response, once stdout is closed, the program reaped and
 * everything written: 1 when made, -1 on ENOMEM. */
int program_end_event(struct program *u)
{
    char st[24];
    size_t len;
    char *j;

    u->ended = 1;
    snprintf(st, sizeof st, "%d", u->status);
    if (u->mode == PROGRAM_LINES)
        return make_event(u, "exit", st, strlen(st)) < 0 ? -1 : 1;
    if (u->status != 0 || u->too_long) {
        char msg[160];

        if (u->too_long)
            snprintf(msg, sizeof msg, "the reply is over %u bytes", PROGRAM_WHOLE_MAX);
        else if (u->not_started)
            snprintf(msg, sizeof msg, "the model program could not be started");
        else
            snprintf(msg, sizeof msg, "%s (status %d)",
                     u->timed_out ? "the model program ran out of time"
                                  : "the model program failed", u->status);
        j = openai_error(msg, "server_error", &len);
        if (!j)
            return -1;
        if (u->mode == PROGRAM_CHAT) {
            int rc = make_raw(u, "data: ", j, len, "\n\n");
            free(j);
            return rc < 0 ? -1 : 1;
        } else {
            char head[160];
            int rc = resp_head(head, sizeof head, 500, "application/json", len, "") < 0
                         ? -1 : make_raw(u, head, j, len, "");

            free(j);
            return rc < 0 ? -1 : 1;
        }
    }
    if (u->mode == PROGRAM_CHAT) {
        size_t a, b;
        char *last = openai_chunk(&u->reply, "", 0, !u->first_sent, "stop", &a);
        static const char done[] = "data: [DONE]\n\n";
        char *both;
        if (!last)
            return -1;
        b = sizeof done - 1;
        both = realloc(last, a + b);
        if (!both) {
            free(last);
            return -1;
        }
        memcpy(both + a, done, b);
        set_pend(u, both, a + b);
        return 1;
    }
    j = openai_completion(&u->reply, u->whole, u->whole_len, &len);
    if (!j)
        return -1;
    {
        char head[160];
        int rc = resp_head(head, sizeof head, 200, "application/json", len, "") < 0
                     ? -1 : make_raw(u, head, j, len, "");

        free(j);
        return rc < 0 ? -1 : 1;
    }
}
