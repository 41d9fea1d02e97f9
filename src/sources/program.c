/* program.c -- the program source: a child program's stdout as events (lines, or OpenAI chunks), its body on stdin */
#include "config.h"

#include "sources/program_int.h"
#include "stream/hub.h"
#include "core/list.h"
#include "core/log.h"
#include "core/clock.h"
#include "sources/openai.h"
#include "sources/process.h"
#include "http/sse.h"
#include "core/text.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

/* ------------------------------------------------------------ environment */

char **program_env(req_param_fn get, void *ctx, const char *name, size_t body_len)
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

static struct program *program_of(struct stream *s)
{
    return s->src_state;
}

static void close_io(struct program *u, struct loop_io *io, int watched)
{
    if (io->fd < 0)
        return;
    if (watched)
        loop_io_del(u->rs->params.loop, io);
    close(io->fd);
    io->fd = -1;
}

/* Watches stdout only while an event can be made of what is read:
 * otherwise the pipe fills and the program blocks (back-pressure). */
static void watch_out(struct program *u)
{
    int want = u->out.fd >= 0 && !u->dead && u->pend_off == u->pend_len && u->len < u->cap &&
               !u->s->want_out;

    if (want == u->out_watched)
        return;
    if (want) {
        if (loop_io_add(u->rs->params.loop, &u->out, EPOLLIN) < 0) {
            log_errno("watching a program's stdout", errno);
            return;
        }
    } else {
        loop_io_del(u->rs->params.loop, &u->out);
    }
    u->out_watched = want;
}

/* Makes all the progress that can be made now: writes what is pending
 * in pieces while the connection has room, makes the next event from
 * stdout, ends the response once the program is reaped and its output
 * written. Never blocks; pauses stdout when the client is behind. */
static enum stream_status pump(struct stream *s, struct program *u, long long now)
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
        made = program_next_event(u);
        if (made < 0)
            return STREAM_GONE;
        if (made)
            continue;
        if (u->out.fd >= 0 || !u->exited || u->len)
            return STREAM_OPEN;
        if (program_end_event(u) < 0)
            return STREAM_GONE;
    }
}

/* The stream's timer: --run-timeout, heartbeats, a stalled reader. */
static void set_timer(struct stream *s, struct program *u)
{
    long long due = 0;

    if (u->deadline && !u->timed_out)
        due = u->deadline;
    if (s->want_out) {
        long long d = s->last_output + PROGRAM_STALL_NS;
        due = !due || d < due ? d : due;
    } else if (u->rs->params.heartbeat_ns && u->mode != PROGRAM_CHAT_WHOLE) {
        long long d = s->last_output + u->rs->params.heartbeat_ns;
        due = !due || d < due ? d : due;
    }
    s->timer.node.due = due;
}

/* After pump: the watched fds and the timer follow the state. */
static enum stream_status settle(struct stream *s, struct program *u, enum stream_status st)
{
    if (st == STREAM_OPEN) {
        watch_out(u);
        set_timer(s, u);
    }
    return st;
}

static enum stream_status due(struct stream *s, long long now)
{
    struct program *u = program_of(s);
    enum stream_status st;

    if (u->deadline && !u->timed_out && now >= u->deadline) {
        u->timed_out = 1;
        if (u->proc) {
            if (log_allow(&u->rs->warn_limit))
                log_warn("program %s[%ld]: --run-timeout: ending it", u->name, u->pid);
            process_terminate(u->proc);
        }
    }
    if (s->want_out && now - s->last_output >= PROGRAM_STALL_NS)
        return STREAM_SLOW;
    st = pump(s, u, now);
    if (st == STREAM_OPEN && !s->want_out && u->pend_off == u->pend_len &&
        u->rs->params.heartbeat_ns && u->mode != PROGRAM_CHAT_WHOLE &&
        now - s->last_output >= u->rs->params.heartbeat_ns) {
        char buf[32];
        ssize_t n = sse_comment(buf, sizeof buf, "heartbeat", 9);
        if (n > 0)
            st = stream_send(s, buf, (size_t)n, now);
    }
    return settle(s, u, st);
}

static enum stream_status writable(struct stream *s, long long now)
{
    struct program *u = program_of(s);
    return settle(s, u, pump(s, u, now));
}

/* ------------------------------------------------------------ the pipes */

static void update(struct program *u)
{
    if (!u->dead)
        hub_update(u->s, settle(u->s, u, pump(u->s, u, clock_now_ns())));
}

static void on_out(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct program *u = container_of(io, struct program, out);
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
        close_io(u, &u->out, u->out_watched);
        u->out_watched = 0;
    } else {
        u->len += (size_t)n;
    }
    update(u);
}

static void on_in(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct program *u = container_of(io, struct program, in);
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
    close_io(u, &u->in, 1);
    free(u->body);
    u->body = NULL;
}

/* Logs one stderr line, rate-limited, with the program's name and pid. */
static void log_err_line(struct program *u, const char *line, size_t n)
{
    if (log_allow(&u->rs->err_limit))
        log_warn("program %s[%ld]: %.*s", u->name, u->pid, (int)n, line);
}

static void on_err(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct program *u = container_of(io, struct program, err);
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
            close_io(u, &u->err, 1);
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
    struct program *u = arg;

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
    struct programs *rs = arg;
    (void)l;

    while (rs->dead) {
        struct program *u = rs->dead;
        rs->dead = u->next_dead;
        free(u);
    }
}

static void release(struct stream *s)
{
    struct program *u = program_of(s);

    if (!u)
        return;
    u->dead = 1;
    close_io(u, &u->in, 1);
    close_io(u, &u->out, u->out_watched);
    close_io(u, &u->err, 1);
    if (u->proc)
        process_detach(u->proc); /* SIGTERM, SIGKILL later, reaped by process.c */
    u->proc = NULL;
    free(u->body);
    free(u->buf);
    free(u->pend);
    free(u->whole);
    u->body = u->buf = u->pend = u->whole = NULL;
    s->src_state = NULL;
    u->next_dead = u->rs->dead;
    u->rs->dead = u;
}

static const struct source program_source = { "program", due, writable, release };

struct programs *program_create(const struct program_params *p)
{
    struct programs *rs = calloc(1, sizeof *rs);

    if (!rs)
        return NULL;
    rs->params = *p;
    if (loop_after(p->loop, reap_runs, rs) < 0) {
        free(rs);
        return NULL;
    }
    return rs;
}

void program_destroy(struct programs *rs)
{
    if (!rs)
        return;
    loop_after_remove(rs->params.loop, reap_runs, rs);
    reap_runs(rs->params.loop, rs);
    free(rs);
}

int program_start(struct programs *rs, struct stream *s, enum program_mode mode, const char *path,
              const char *name, const char *model, char **env, char **body, size_t body_len,
              long long now)
{
    struct program *u = calloc(1, sizeof *u);
    unsigned char rnd[12];
    int fds[3], err;
    size_t i;

    if (!u)
        goto nomem;
    u->rs = rs;
    u->s = s;
    u->mode = mode;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->in.fd = u->out.fd = u->err.fd = -1;
    u->cap = mode == PROGRAM_LINES ? u->rs->params.max_line : PROGRAM_CHAT_READ;
    u->buf = malloc(u->cap);
    if (!u->buf || (mode == PROGRAM_CHAT_WHOLE && !(u->whole = malloc(PROGRAM_WHOLE_MAX))))
        goto nomem;
    if (mode != PROGRAM_LINES) {
        if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
            for (i = 0; i < sizeof rnd; i++)
                rnd[i] = (unsigned char)(clock_now_ns() >> (i % 8 * 8));
        memcpy(u->reply.id, "chatcmpl-", 9);
        for (i = 0; i < sizeof rnd; i++)
            snprintf(u->reply.id + 9 + 2 * i, 3, "%02x", rnd[i]);
        u->reply.created = clock_wall_ms() / 1000;
        snprintf(u->reply.model, sizeof u->reply.model, "%s", model ? model : "");
    }
    u->proc = process_start(rs->params.procs, path, env, fds, on_exit_cb, u);
    free(env);
    if (!u->proc) {
        /* Not an empty response: the run ends at once as a shell's command
         * that cannot be run does, with status 127 (and, for chat, an error). */
        err = errno;
        if (log_allow(&u->rs->warn_limit))
            log_warn("program %s (%s) could not be started: %s: status %d", name, path,
                     strerror(err), PROGRAM_NOT_STARTED);
        free(*body);
        *body = NULL;
        u->not_started = u->exited = 1;
        u->status = PROGRAM_NOT_STARTED;
        if (u->rs->params.failed)
            (*u->rs->params.failed)++;
        s->src = &program_source;
        s->src_state = u;
        set_timer(s, u);
        s->timer.node.due = now; /* the hub's timer makes the end (due) */
        return 0;
    }
    if (u->rs->params.started)
        (*u->rs->params.started)++;
    u->pid = (long)process_pid(u->proc);
    u->body = *body;
    u->body_len = body_len;
    *body = NULL;
    u->in.fd = fds[0];
    u->in.fn = on_in;
    u->out.fd = fds[1];
    u->out.fn = on_out;
    u->err.fd = fds[2];
    u->err.fn = on_err;
    s->src = &program_source;
    s->src_state = u;
    if (loop_io_add(rs->params.loop, &u->in, EPOLLOUT) < 0 ||
        loop_io_add(rs->params.loop, &u->err, EPOLLIN) < 0) {
        err = errno;
        release(s); /* closes what is open, detaches the program */
        s->src = NULL;
        errno = err;
        return -1;
    }
    if (u->rs->params.timeout_ns)
        u->deadline = now + u->rs->params.timeout_ns;
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
