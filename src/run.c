/* run.c -- the program source: a child program's stdout as events (lines, or OpenAI chunks), its body on stdin */
#include "config.h"

#include "run.h"
#include "hub.h"
#include "log.h"
#include "clock.h"
#include "oai.h"
#include "proc.h"
#include "sse.h"
#include "text.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

/* A reader that takes nothing for this long is dropped (as a subscriber). */
#define RUN_STALL_NS (30 * 1000000000LL)
/* Bytes of stdout read at once in chat mode: one chunk at most. */
#define RUN_CHAT_READ 4096
/* The whole reply of a "stream": false request at most. */
#define RUN_WHOLE_MAX (8u << 20)
/* A stderr line logged at most (longer ones are cut). */
#define RUN_ERR_LINE 512

struct run {
    struct stream *s;
    enum run_mode mode;
    char name[65];                /* for the log */
    struct proc *proc;            /* NULL once reaped */
    long pid;
    struct loop_io in, out, err;  /* fd -1 once closed */
    int out_watched;
    char *body;                   /* stdin still to write */
    size_t body_len, body_off;
    char *buf;                    /* stdout read, not yet an event */
    size_t len, cap;
    int cutting;                  /* discarding the rest of a cut line */
    char *pend;                   /* the event being written */
    size_t pend_len, pend_off;
    unsigned long long next_id;
    int exited, status, timed_out, ended, first_sent, too_long;
    int not_started;              /* the program could not be started (status RUN_NOT_STARTED) */
    long long deadline;           /* --run-timeout, 0 = none */
    char *whole;                  /* RUN_CHAT_WHOLE: the reply so far */
    size_t whole_len;
    struct oai_reply reply;
    char errline[RUN_ERR_LINE];
    size_t errlen;
    int dead;
    struct run *next_dead;
};

static struct run_params params;
static struct loop *loop;
static struct run *dead_runs;
static struct log_limit err_limit, warn_limit;
static int hooked;

/* ------------------------------------------------------------ environment */

char **run_env(req_param_fn get, void *ctx, const char *name, size_t body_len)
{
    static const char *const from_req[] = {
        "REQUEST_METHOD", "QUERY_STRING", "CONTENT_TYPE", "REMOTE_USER", "REMOTE_ADDR",
        "REMOTE_PORT", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REQUEST_URI",
        "SCRIPT_NAME", "PATH_INFO", "HTTP_ACCEPT", "HTTP_ACCEPT_LANGUAGE", "HTTP_USER_AGENT",
        "HTTP_REFERER"
    };
    static const char *const from_own[] = { "PATH", "LANG", "TZ" };
    enum { NREQ = sizeof from_req / sizeof from_req[0], NOWN = sizeof from_own / sizeof from_own[0] };
    const char *names[NREQ + NOWN + 3], *values[NREQ + NOWN + 3];
    char clen[24];
    size_t i, n = 0, bytes = 0;
    char **env, *p;

    for (i = 0; i < NREQ; i++) {
        names[n] = from_req[i];
        values[n] = get(from_req[i], ctx);
        /* An empty REMOTE_USER is no user (nginx's configs pass "" where
         * nothing was authenticated): not passed, as CGI leaves it unset. */
        if (values[n] && !*values[n] && strcmp(names[n], "REMOTE_USER") == 0)
            values[n] = NULL;
        n += values[n] != NULL;
    }
    names[n] = "LAST_EVENT_ID";
    values[n] = get("HTTP_LAST_EVENT_ID", ctx);
    n += values[n] != NULL;
    snprintf(clen, sizeof clen, "%zu", body_len);
    names[n] = "CONTENT_LENGTH";
    values[n++] = clen;
    names[n] = "RUN_NAME";
    values[n++] = name;
    for (i = 0; i < NOWN; i++) {
        names[n] = from_own[i];
        values[n] = getenv(from_own[i]);
        n += values[n] != NULL;
    }
    for (i = 0; i < n; i++)
        bytes += strlen(names[i]) + strlen(values[i]) + 2;
    env = malloc((n + 1) * sizeof *env + bytes);
    if (!env)
        return NULL;
    p = (char *)(env + n + 1);
    for (i = 0; i < n; i++) {
        size_t a = strlen(names[i]), b = strlen(values[i]);
        env[i] = p;
        memcpy(p, names[i], a);
        p[a] = '=';
        memcpy(p + a + 1, values[i], b + 1);
        p += a + b + 2;
    }
    env[n] = NULL;
    return env;
}

/* ------------------------------------------------------------ helpers */

static struct run *run_of(struct stream *s)
{
    return s->src_state;
}

static void close_io(struct loop_io *io, int watched)
{
    if (io->fd < 0)
        return;
    if (watched)
        loop_io_del(loop, io);
    close(io->fd);
    io->fd = -1;
}

/* Watches stdout only while an event can be made of what is read:
 * otherwise the pipe fills and the program blocks (back-pressure). */
static void watch_out(struct run *u)
{
    int want = u->out.fd >= 0 && !u->dead && u->pend_off == u->pend_len && u->len < u->cap &&
               !u->s->want_out;

    if (want == u->out_watched)
        return;
    if (want) {
        if (loop_io_add(loop, &u->out, EPOLLIN) < 0) {
            log_errno("watching a program's stdout", errno);
            return;
        }
    } else {
        loop_io_del(loop, &u->out);
    }
    u->out_watched = want;
}

/* Sets pend to a malloc'd event (taken). */
static void set_pend(struct run *u, char *ev, size_t len)
{
    free(u->pend);
    u->pend = ev;
    u->pend_len = len;
    u->pend_off = 0;
}

/* An event `id: N` + `data: LINE` (or `event: exit`) into pend. -1 on ENOMEM. */
static int make_event(struct run *u, const char *event, const char *data, size_t n)
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
    (*params.events)++;
    return 0;
}

/* A chat chunk of the text buf[0, n) (or the last) into pend. */
static int make_chunk(struct run *u, const char *text, size_t n, const char *finish)
{
    size_t len;
    char *c = oai_chunk(&u->reply, text, n, !u->first_sent, finish, &len);

    if (!c)
        return -1;
    u->first_sent = 1;
    set_pend(u, c, len);
    (*params.events)++;
    return 0;
}

/* Appends a literal into pend (the [DONE] line, the error chunk...). */
static int make_raw(struct run *u, const char *prefix, const char *text, size_t n,
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
static int next_from_output(struct run *u)
{
    char *nl;
    size_t n;

    if (!u->len)
        return 0;
    if (u->mode != RUN_LINES) {
        n = u->out.fd >= 0 ? text_utf8_whole(u->buf, u->len) : u->len;
        if (!n)
            return 0;
        text_utf8_clean(u->buf, n);
        if (u->mode == RUN_CHAT_WHOLE) {
            if (u->whole_len + n > RUN_WHOLE_MAX) {
                if (!u->too_long && u->proc)
                    proc_terminate(u->proc);
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
        return u->mode == RUN_CHAT;
    }
    nl = memchr(u->buf, '\n', u->len);
    if (u->cutting) {
        n = nl ? (size_t)(nl - u->buf) + 1 : u->len;
        memmove(u->buf, u->buf + n, u->len - n);
        u->len -= n;
        u->cutting = !nl;
        return next_from_output(u);
    }
    if (!nl && u->len < u->cap && u->out.fd >= 0)
        return 0; /* the line is still arriving */
    n = nl ? (size_t)(nl - u->buf) : u->len;
    if (!nl && u->len == u->cap && u->out.fd >= 0) {
        u->cutting = 1;
        if (log_allow(&warn_limit))
            log_warn("program %s[%ld]: a line over --max-line %zu bytes was cut", u->name, u->pid,
                     params.max_line);
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
static int make_end(struct run *u)
{
    char st[24];
    size_t len;
    char *j;

    u->ended = 1;
    snprintf(st, sizeof st, "%d", u->status);
    if (u->mode == RUN_LINES)
        return make_event(u, "exit", st, strlen(st)) < 0 ? -1 : 1;
    if (u->status != 0 || u->too_long) {
        char msg[160];

        if (u->too_long)
            snprintf(msg, sizeof msg, "the reply is over %u bytes", RUN_WHOLE_MAX);
        else if (u->not_started)
            snprintf(msg, sizeof msg, "the model program could not be started");
        else
            snprintf(msg, sizeof msg, "%s (status %d)",
                     u->timed_out ? "the model program ran out of time"
                                  : "the model program failed", u->status);
        j = oai_error(msg, "server_error", &len);
        if (!j)
            return -1;
        if (u->mode == RUN_CHAT) {
            int rc = make_raw(u, "data: ", j, len, "\n\n");
            free(j);
            return rc < 0 ? -1 : 1;
        } else {
            char head[160];
            int rc;

            snprintf(head, sizeof head, "Status: 500 Internal Server Error\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n\r\n", len);
            rc = make_raw(u, head, j, len, "");
            free(j);
            return rc < 0 ? -1 : 1;
        }
    }
    if (u->mode == RUN_CHAT) {
        size_t a, b;
        char *last = oai_chunk(&u->reply, "", 0, !u->first_sent, "stop", &a);
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
    j = oai_completion(&u->reply, u->whole, u->whole_len, &len);
    if (!j)
        return -1;
    {
        char head[160];
        int rc;

        snprintf(head, sizeof head, "Status: 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n", len);
        rc = make_raw(u, head, j, len, "");
        free(j);
        return rc < 0 ? -1 : 1;
    }
}

/* Makes all the progress that can be made now: writes what is pending
 * in pieces while the connection has room, makes the next event from
 * stdout, ends the response once the program is reaped and its output
 * written. Never blocks; pauses stdout when the client is behind. */
static enum stream_status pump(struct stream *s, struct run *u, long long now)
{
    for (;;) {
        int made;

        while (u->pend_off < u->pend_len) {
            size_t take = u->pend_len - u->pend_off;
            enum stream_status st;

            if (take > STREAM_PIECE)
                take = STREAM_PIECE;
            if (stream_room(s) < (long)take) {
                s->want_out = 1;
                return STREAM_OPEN;
            }
            st = stream_send(s, u->pend + u->pend_off, take, now);
            if (st != STREAM_OPEN)
                return st;
            u->pend_off += take;
        }
        s->want_out = 0;
        if (u->ended)
            return STREAM_DONE;
        made = next_from_output(u);
        if (made < 0)
            return STREAM_GONE;
        if (made)
            continue;
        if (u->out.fd >= 0 || !u->exited || u->len)
            return STREAM_OPEN;
        if (make_end(u) < 0)
            return STREAM_GONE;
    }
}

/* The stream's timer: --run-timeout, heartbeats, a stalled reader. */
static void set_timer(struct stream *s, struct run *u)
{
    long long due = 0;

    if (u->deadline && !u->timed_out)
        due = u->deadline;
    if (s->want_out) {
        long long d = s->last_output + RUN_STALL_NS;
        due = !due || d < due ? d : due;
    } else if (params.heartbeat_ns && u->mode != RUN_CHAT_WHOLE) {
        long long d = s->last_output + params.heartbeat_ns;
        due = !due || d < due ? d : due;
    }
    s->timer.node.due = due;
}

/* After pump: the watched fds and the timer follow the state. */
static enum stream_status settle(struct stream *s, struct run *u, enum stream_status st)
{
    if (st == STREAM_OPEN) {
        watch_out(u);
        set_timer(s, u);
    }
    return st;
}

static enum stream_status due(struct stream *s, long long now)
{
    struct run *u = run_of(s);
    enum stream_status st;

    if (u->deadline && !u->timed_out && now >= u->deadline) {
        u->timed_out = 1;
        if (u->proc) {
            if (log_allow(&warn_limit))
                log_warn("program %s[%ld]: --run-timeout: ending it", u->name, u->pid);
            proc_terminate(u->proc);
        }
    }
    if (s->want_out && now - s->last_output >= RUN_STALL_NS)
        return STREAM_SLOW;
    st = pump(s, u, now);
    if (st == STREAM_OPEN && !s->want_out && u->pend_off == u->pend_len &&
        params.heartbeat_ns && u->mode != RUN_CHAT_WHOLE &&
        now - s->last_output >= params.heartbeat_ns) {
        char buf[32];
        ssize_t n = sse_comment(buf, sizeof buf, "heartbeat", 9);
        if (n > 0)
            st = stream_send(s, buf, (size_t)n, now);
    }
    return settle(s, u, st);
}

static enum stream_status writable(struct stream *s, long long now)
{
    struct run *u = run_of(s);
    return settle(s, u, pump(s, u, now));
}

/* ------------------------------------------------------------ the pipes */

static void update(struct run *u)
{
    if (!u->dead)
        hub_update(u->s, settle(u->s, u, pump(u->s, u, clock_now_ns())));
}

static void on_out(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct run *u = (struct run *)((char *)io - offsetof(struct run, out));
    ssize_t n;
    (void)l;
    (void)events;

    if (u->dead || u->out.fd < 0 || !u->out_watched || u->len == u->cap)
        return; /* (a read of 0 bytes would look like the end) */
    do
        n = read(u->out.fd, u->buf + u->len, u->cap - u->len);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        close_io(&u->out, u->out_watched);
        u->out_watched = 0;
    } else {
        u->len += (size_t)n;
    }
    update(u);
}

static void on_in(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct run *u = (struct run *)((char *)io - offsetof(struct run, in));
    (void)l;
    (void)events;

    if (u->dead || u->in.fd < 0)
        return;
    while (u->body_off < u->body_len) {
        ssize_t n = write(u->in.fd, u->body + u->body_off, u->body_len - u->body_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0)
            break; /* EPIPE: it does not read its stdin */
        u->body_off += (size_t)n;
    }
    close_io(&u->in, 1);
    free(u->body);
    u->body = NULL;
}

/* Logs one stderr line, rate-limited, with the program's name and pid. */
static void log_err_line(struct run *u, const char *line, size_t n)
{
    if (log_allow(&err_limit))
        log_warn("program %s[%ld]: %.*s", u->name, u->pid, (int)n, line);
}

static void on_err(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct run *u = (struct run *)((char *)io - offsetof(struct run, err));
    (void)l;
    (void)events;

    if (u->dead || u->err.fd < 0)
        return;
    for (;;) {
        char *nl;
        ssize_t n = read(u->err.fd, u->errline + u->errlen, sizeof u->errline - u->errlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            if (u->errlen)
                log_err_line(u, u->errline, u->errlen);
            u->errlen = 0;
            close_io(&u->err, 1);
            return;
        }
        u->errlen += (size_t)n;
        while ((nl = memchr(u->errline, '\n', u->errlen))) {
            size_t k = (size_t)(nl - u->errline);
            log_err_line(u, u->errline, k);
            memmove(u->errline, nl + 1, u->errlen - k - 1);
            u->errlen -= k + 1;
        }
        if (u->errlen == sizeof u->errline) {
            log_err_line(u, u->errline, u->errlen); /* cut */
            u->errlen = 0;
        }
    }
}

static void on_exit_cb(void *arg, int status)
{
    struct run *u = arg;

    u->proc = NULL;
    u->exited = 1;
    u->status = status;
    update(u);
}

/* ------------------------------------------------------------ life */

/* After each turn of the loop: frees the runs that ended in it (an event
 * of that turn may still have named one of their pipes). */
static void reap_runs(struct loop *l, void *arg)
{
    (void)l;
    (void)arg;
    while (dead_runs) {
        struct run *u = dead_runs;
        dead_runs = u->next_dead;
        free(u);
    }
}

static void release(struct stream *s)
{
    struct run *u = run_of(s);

    if (!u)
        return;
    u->dead = 1;
    close_io(&u->in, 1);
    close_io(&u->out, u->out_watched);
    close_io(&u->err, 1);
    if (u->proc)
        proc_detach(u->proc); /* SIGTERM, SIGKILL later, reaped by proc.c */
    u->proc = NULL;
    free(u->body);
    free(u->buf);
    free(u->pend);
    free(u->whole);
    u->body = u->buf = u->pend = u->whole = NULL;
    s->src_state = NULL;
    u->next_dead = dead_runs;
    dead_runs = u;
}

static const struct source run_source = { "program", due, writable, release };

int run_setup(const struct run_params *p)
{
    params = *p;
    loop = p->loop;
    if (hooked)
        return 0;
    if (loop_after(loop, reap_runs, NULL) < 0)
        return -1;
    hooked = 1;
    return 0;
}

void run_teardown(void)
{
    if (hooked)
        loop_after_remove(loop, reap_runs, NULL);
    hooked = 0;
    reap_runs(loop, NULL);
}

int run_start(struct stream *s, enum run_mode mode, const char *path, const char *name,
              const char *model, char **env, char **body, size_t body_len, long long now)
{
    struct run *u = calloc(1, sizeof *u);
    unsigned char rnd[12];
    int fds[3], err;
    size_t i;

    if (!u)
        goto nomem;
    u->s = s;
    u->mode = mode;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->in.fd = u->out.fd = u->err.fd = -1;
    u->cap = mode == RUN_LINES ? params.max_line : RUN_CHAT_READ;
    u->buf = malloc(u->cap);
    if (!u->buf || (mode == RUN_CHAT_WHOLE && !(u->whole = malloc(RUN_WHOLE_MAX))))
        goto nomem;
    if (mode != RUN_LINES) {
        if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
            for (i = 0; i < sizeof rnd; i++)
                rnd[i] = (unsigned char)(clock_now_ns() >> (i % 8 * 8));
        memcpy(u->reply.id, "chatcmpl-", 9);
        for (i = 0; i < sizeof rnd; i++)
            snprintf(u->reply.id + 9 + 2 * i, 3, "%02x", rnd[i]);
        u->reply.created = clock_wall_ms() / 1000;
        snprintf(u->reply.model, sizeof u->reply.model, "%s", model ? model : "");
    }
    u->proc = proc_start(path, env, fds, on_exit_cb, u);
    free(env);
    if (!u->proc) {
        /* Not an empty response: the run ends at once as a shell's command
         * that cannot be run does, with status 127 (and, for chat, an error). */
        err = errno;
        if (log_allow(&warn_limit))
            log_warn("program %s (%s) could not be started: %s: status %d", name, path,
                     strerror(err), RUN_NOT_STARTED);
        free(*body);
        *body = NULL;
        u->not_started = u->exited = 1;
        u->status = RUN_NOT_STARTED;
        if (params.failed)
            (*params.failed)++;
        s->src = &run_source;
        s->src_state = u;
        set_timer(s, u);
        s->timer.node.due = now; /* the hub's timer makes the end (due) */
        return 0;
    }
    if (params.started)
        (*params.started)++;
    u->pid = (long)proc_pid(u->proc);
    u->body = *body;
    u->body_len = body_len;
    *body = NULL;
    u->in.fd = fds[0];
    u->in.fn = on_in;
    u->out.fd = fds[1];
    u->out.fn = on_out;
    u->err.fd = fds[2];
    u->err.fn = on_err;
    s->src = &run_source;
    s->src_state = u;
    if (loop_io_add(loop, &u->in, EPOLLOUT) < 0 || loop_io_add(loop, &u->err, EPOLLIN) < 0) {
        err = errno;
        release(s); /* closes what is open, detaches the program */
        s->src = NULL;
        errno = err;
        return -1;
    }
    if (params.timeout_ns)
        u->deadline = now + params.timeout_ns;
    watch_out(u);
    set_timer(s, u);
    return 0;

nomem:
    if (u) {
        free(u->buf);
        free(u->whole);
        free(u);
    }
    free(env);
    free(*body);
    *body = NULL;
    errno = ENOMEM;
    return -1;
}
