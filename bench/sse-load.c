/* sse-load.c -- load client for SSE servers: opens N streams over HTTP/1.1 and measures delivery
 *
 * Limits: IPv4 and HTTP/1.1 only, no TLS, one request per connection; bodies chunked or
 * close-delimited; SSE lines longer than 512 bytes are counted as errors and cut.
 * Single-threaded: one epoll loop; all sockets non-blocking.
 *
 * Output: key=value lines (see report()), so scripts can parse them.
 *
 * Burst measurements: --rate 0 opens every connection at once (one connect() after the
 * other, before any answer is read); each client's time from its connect() to its first
 * event (a dispatched event with data) is recorded (first_event_ms_*). --wait-events
 * starts the measured window only once every stream has its first event (or failed);
 * --per-client FILE writes one line per client (see write_per_client()), so that a
 * driver can merge the clients of several sse-load processes; --start-at T waits for the
 * wall-clock time T (seconds since the epoch, fractional) before the first connect(), so
 * processes started one after the other open their connections together. --sources N
 * (loopback only) binds client k to 127.0.0.(1 + (k + K) % N), K = --source-offset, so
 * connect() does not search a nearly full ephemeral port range (real clients come from
 * many addresses). The measured window starts once every stream is answered, or
 * --answer-wait S (60) after the first connect() at the latest: behind a server that
 * holds the streams past its capacity in its accept queue (Apache), the rest never are.
 *
 * Channel measurements: --expect A-B says the stream carries published messages whose
 * data is "SEQ PUBLISH_US ..." (SEQ a sequence number, PUBLISH_US the publisher's
 * CLOCK_REALTIME in microseconds when it sent it), and that every client must get
 * exactly the messages A..B, in order. Each message's publish-to-delivery latency is
 * recorded (msg_latency_ms_*); per client, messages missing from A..B are "lost",
 * repeated ones "dups" (older than one received and already seen), "reordered" ones (older
 * than one received but new: counted as received), ones outside A..B "extra", events of another
 * type (event: reset, ...) "other". The run ends as soon as every answered client has
 * B (marker "sse-load: complete" on stderr), or at -d after the measure start, or on
 * SIGTERM (the report is still written). complete_all_ms is the time from the first
 * connect() to the last client having B; complete_ms_* per client from its connect().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 512
#define HEAD_MAX 8192

enum conn_state { C_CONNECTING, C_SENDING, C_HEAD, C_BODY, C_DONE };
enum chunk_state { K_SIZE, K_DATA, K_CRLF, K_TRAILER, K_END };

struct conn {
    int fd;
    enum conn_state state;
    long long t_connect;         /* ns */
    size_t sent;
    char *head;                  /* response head, until parsed */
    size_t head_len;
    int chunked;
    enum chunk_state kstate;
    unsigned long long chunk_left;
    int chunk_hex_digits;
    char line[LINE_MAX_LEN];     /* the SSE line being assembled */
    size_t line_len;
    int last_cr;                 /* previous byte was CR (a following LF is part of it) */
    int has_data;                /* the pending event has a data field */
    int has_id;
    unsigned long long pending_id;
    int have_prev;
    unsigned long long prev_id;
    long long prev_event_t;
    int status;                  /* HTTP status of the answer, 0 before (or without) one */
    long long first_event_ns;    /* connect() to first event, 0 before it */
    long long head_ns;           /* connect() to the response head, 0 before it */
    /* --expect */
    int other_type;              /* the pending event has an event: other than message */
    int has_seq;
    long long pending_seq, pending_pub_us;
    long long last_seq;          /* highest seq of A..B received, 0 before one */
    unsigned long got;           /* distinct in-range messages received */
    unsigned char *seen;         /* a bit per message of A..B received */
    long long complete_ns;       /* connect() to message B, 0 before it */
};

struct samples {
    uint32_t *v;
    size_t len, cap;
};

static volatile sig_atomic_t stop;
static const char *host_arg, *path_arg;
static int port_arg;
static char request[4096];
static size_t request_len;
static int no_read, quiet, wait_events;
static unsigned n_sources;       /* --sources: 127.0.0.1 .. 127.0.0.N as source addresses */

static unsigned long n_established, n_refused, n_503, n_failed, n_ended_early;
static unsigned long long n_events, n_events_measured, n_gaps, n_dups, n_line_errors, n_late;
static int first_errno;
static int measuring;           /* inter-arrival samples only after the ramp */
static long long interval_ns = 1000000000LL;
static struct samples interarrival, first_byte, first_event;
static unsigned long n_first_events;
static long long connect_loop_ns;  /* first to last connect() issued */
static long long expect_from, expect_to;  /* --expect A-B; 0-0: off */
static unsigned long long n_msgs, n_msg_dups, n_msg_reordered, n_msg_extra, n_other_events, n_bad_data;
static unsigned long n_complete;
static long long t_start_ns, t_last_complete_ns;
static struct samples msg_latency, complete_t;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "sse-load: %s failed: %s\n", what, strerror(errno));
    exit(1);
}

static void add_sample(struct samples *s, long long ns)
{
    long long us = ns / 1000;
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            die("realloc");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->len++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Milliseconds of the q-quantile (0..1) of sorted samples. */
static double quantile(const struct samples *s, double q)
{
    size_t i;
    if (!s->len)
        return 0;
    i = (size_t)(q * (double)(s->len - 1) + 0.5);
    return s->v[i] / 1000.0;
}

/* An event was dispatched on c at time t. */
static long long realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* A published message (--expect) was dispatched on c at time t. */
static void on_message(struct conn *c, long long t)
{
    long long lat;
    if (c->other_type) {
        n_other_events++;
        return;
    }
    if (!c->has_seq) {
        n_bad_data++;
        return;
    }
    n_msgs++;
    lat = realtime_us() - c->pending_pub_us;
    add_sample(&msg_latency, lat > 0 ? lat * 1000 : 0);
    if (c->pending_seq < expect_from || c->pending_seq > expect_to) {
        n_msg_extra++;
        return;
    }
    {
        /* one bit per message of A..B: a repeat is told from one that comes out of order
         * (messages POSTed by several publishers may reach the server in either order) */
        long long b = c->pending_seq - expect_from;
        if (!c->seen) {
            c->seen = calloc((size_t)(expect_to - expect_from + 8) / 8, 1);
            if (!c->seen)
                die("calloc");
        }
        if (c->seen[b / 8] & (1u << (b % 8))) {
            n_msg_dups++;
            return;
        }
        c->seen[b / 8] |= (unsigned char)(1u << (b % 8));
        c->got++;
        if (c->pending_seq < c->last_seq)
            n_msg_reordered++;
        else
            c->last_seq = c->pending_seq;
    }
    if (c->got == (unsigned long)(expect_to - expect_from + 1) && !c->complete_ns) {
        c->complete_ns = t - c->t_connect > 0 ? t - c->t_connect : 1;
        add_sample(&complete_t, c->complete_ns);
        n_complete++;
        t_last_complete_ns = t;
    }
}

static void on_event(struct conn *c, long long t)
{
    if (expect_to)
        on_message(c, t);
    n_events++;
    if (!c->first_event_ns) {
        c->first_event_ns = t - c->t_connect > 0 ? t - c->t_connect : 1;
        add_sample(&first_event, c->first_event_ns);
        n_first_events++;
    }
    if (measuring)
        n_events_measured++;
    if (c->has_id) {
        if (c->have_prev) {
            if (c->pending_id <= c->prev_id)
                n_dups++;
            else if (c->pending_id != c->prev_id + 1)
                n_gaps++;
        }
        c->prev_id = c->pending_id;
        c->have_prev = 1;
    }
    if (c->prev_event_t && measuring) {
        long long gap = t - c->prev_event_t;
        add_sample(&interarrival, gap);
        if (gap > interval_ns + interval_ns / 10)
            n_late++;
    }
    c->prev_event_t = t;
}

/* One complete SSE line (without its terminator). */
static void on_line(struct conn *c, long long t)
{
    const char *l = c->line;
    size_t n = c->line_len;

    if (n == 0) {
        if (c->has_data)
            on_event(c, t);
        c->has_data = 0;
        c->has_id = 0;
        c->has_seq = 0;
        c->other_type = 0;
        return;
    }
    if (l[0] == ':')
        return;
    if (n >= 5 && memcmp(l, "data:", 5) == 0) {
        if (expect_to && !c->has_data) {
            /* "SEQ PUBLISH_US": the first data line of the event */
            size_t i = 5;
            long long seq = 0, us = 0;
            int ds = 0, du = 0;
            if (i < n && l[i] == ' ')
                i++;
            for (; i < n && l[i] >= '0' && l[i] <= '9'; i++, ds++)
                seq = seq * 10 + (l[i] - '0');
            if (i < n && l[i] == ' ')
                i++;
            for (; i < n && l[i] >= '0' && l[i] <= '9'; i++, du++)
                us = us * 10 + (l[i] - '0');
            c->has_seq = ds > 0 && du > 0;
            c->pending_seq = seq;
            c->pending_pub_us = us;
        }
        c->has_data = 1;
    } else if (n >= 6 && memcmp(l, "event:", 6) == 0) {
        size_t i = 6;
        if (i < n && l[i] == ' ')
            i++;
        c->other_type = !(n - i == 7 && memcmp(l + i, "message", 7) == 0);
    } else if (n >= 3 && memcmp(l, "id:", 3) == 0) {
        size_t i = 3;
        unsigned long long v = 0;
        if (i < n && l[i] == ' ')
            i++;
        for (; i < n && l[i] >= '0' && l[i] <= '9'; i++)
            v = v * 10 + (unsigned)(l[i] - '0');
        c->pending_id = v;
        c->has_id = 1;
    }
}

static void sse_bytes(struct conn *c, const char *p, size_t n, long long t)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\n' && c->last_cr) {
            c->last_cr = 0;
            continue;
        }
        c->last_cr = ch == '\r';
        if (ch == '\n' || ch == '\r') {
            on_line(c, t);
            c->line_len = 0;
        } else if (c->line_len < LINE_MAX_LEN) {
            c->line[c->line_len++] = ch;
        } else {
            n_line_errors++;
        }
    }
}

/* Decodes chunked transfer coding; returns -1 at the end of the body. */
static int body_bytes(struct conn *c, const char *p, size_t n, long long t)
{
    size_t i = 0;

    if (!c->chunked) {
        sse_bytes(c, p, n, t);
        return 0;
    }
    while (i < n) {
        char ch = p[i];
        switch (c->kstate) {
        case K_SIZE:
            if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')) {
                if (c->chunk_hex_digits >= 0) {
                    int d = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
                    c->chunk_left = c->chunk_left * 16 + (unsigned)d;
                    c->chunk_hex_digits++;
                }
            } else if (ch == '\n') {
                c->kstate = c->chunk_left ? K_DATA : K_TRAILER;
                c->chunk_hex_digits = 0;
            } else {
                c->chunk_hex_digits = -1; /* extension or CR: ignore to the LF */
            }
            i++;
            break;
        case K_DATA: {
            size_t take = n - i < c->chunk_left ? n - i : (size_t)c->chunk_left;
            sse_bytes(c, p + i, take, t);
            c->chunk_left -= take;
            i += take;
            if (!c->chunk_left)
                c->kstate = K_CRLF;
            break;
        }
        case K_CRLF:
            if (ch == '\n') {
                c->kstate = K_SIZE;
                c->chunk_left = 0;
                c->chunk_hex_digits = 0;
            }
            i++;
            break;
        case K_TRAILER:
            /* trailer lines until an empty one; simplified: end at the first LF */
            if (ch == '\n')
                c->kstate = K_END;
            i++;
            break;
        case K_END:
            return -1;
        }
    }
    return c->kstate == K_END ? -1 : 0;
}

static void close_conn(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->head);
    c->head = NULL;
    c->state = C_DONE;
    /* c->seen stays: the report counts it (freed with the process) */
}

/* Parses the response head once complete; returns bytes of body after it, or -1. */
static long parse_head(struct conn *c, long long t)
{
    char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
    int status = 0;
    char *te;

    if (!end)
        return c->head_len >= HEAD_MAX ? -2 : -1;
    *end = '\0';
    if (sscanf(c->head, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    c->status = status;
    c->head_ns = t - c->t_connect > 0 ? t - c->t_connect : 1;
    if (status != 200) {
        n_refused++;
        if (status == 503)
            n_503++;
        return -3;
    }
    n_established++;
    add_sample(&first_byte, t - c->t_connect);
    for (te = c->head; *te; te++)
        *te = (char)(*te >= 'A' && *te <= 'Z' ? *te + 32 : *te);
    c->chunked = strstr(c->head, "\ntransfer-encoding: chunked") != NULL;
    return (long)(c->head_len - (size_t)(end + 4 - c->head));
}

static void on_readable(struct conn *c)
{
    char buf[65536];

    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        long long t = now_ns();
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            if (c->state == C_HEAD) {
                n_failed++;
                if (!first_errno)
                    first_errno = errno;
            } else {
                n_ended_early++;
            }
            close_conn(c);
            return;
        }
        if (n == 0) {
            if (c->state == C_HEAD)
                n_failed++;
            else
                n_ended_early++;
            close_conn(c);
            return;
        }
        if (c->state == C_HEAD) {
            size_t take = (size_t)n;
            long rest;
            if (c->head_len + take > HEAD_MAX)
                take = HEAD_MAX - c->head_len;
            memcpy(c->head + c->head_len, buf, take);
            c->head_len += take;
            rest = parse_head(c, t);
            if (rest == -1)
                continue;
            if (rest < 0) {
                if (rest == -2)
                    n_failed++;
                close_conn(c);
                return;
            }
            c->state = C_BODY;
            {
                char *body = c->head + c->head_len - rest;
                if (body_bytes(c, body, (size_t)rest, t) < 0) {
                    n_ended_early++;
                    close_conn(c);
                    return;
                }
            }
            free(c->head);
            c->head = NULL;
            continue;
        }
        if (body_bytes(c, buf, (size_t)n, t) < 0) {
            n_ended_early++;
            close_conn(c);
            return;
        }
    }
}

static int send_request(struct conn *c)
{
    while (c->sent < request_len) {
        ssize_t n = write(c->fd, request + c->sent, request_len - c->sent);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->sent += (size_t)n;
    }
    return 1;
}

static int open_conn(int ep, struct conn *c, const struct sockaddr_in *sa, unsigned long k)
{
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
    int one = 1;

    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        return -1;
    if (n_sources > 1) {
        /* Many clients from one address: connect() searches the ephemeral ports for a
         * free one, slower and slower as they fill (past ~14,000 to one server it
         * dominates). Spread over source addresses, with the port still chosen at
         * connect() (the 4-tuple is unique, so a port is reused across addresses). */
        struct sockaddr_in src = { .sin_family = AF_INET };
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(k % n_sources));
        if (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0 ||
            bind(c->fd, (const struct sockaddr *)&src, sizeof src) < 0)
            return -1;
    }
    c->t_connect = now_ns();
    c->state = C_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS)
        return -1;
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void on_event_fd(int ep, struct conn *c, uint32_t events)
{
    if (c->state == C_CONNECTING || c->state == C_SENDING) {
        int err = 0, r;
        socklen_t len = sizeof err;
        if (events & (EPOLLERR | EPOLLHUP)) {
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            n_failed++;
            if (!first_errno)
                first_errno = err ? err : ECONNREFUSED;
            close_conn(c);
            return;
        }
        c->state = C_SENDING;
        r = send_request(c);
        if (r < 0) {
            n_failed++;
            if (!first_errno)
                first_errno = errno;
            close_conn(c);
            return;
        }
        if (r == 0)
            return;
        c->head = malloc(HEAD_MAX);
        if (!c->head)
            die("malloc");
        c->state = C_HEAD;
        {
            struct epoll_event ev = { .events = no_read ? 0 : EPOLLIN | EPOLLRDHUP, .data.ptr = c };
            if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
                die("epoll_ctl");
        }
        return;
    }
    if (c->state == C_HEAD || c->state == C_BODY)
        on_readable(c);
}

static void usage(void)
{
    fprintf(stderr, "usage: sse-load [-n streams] [-r rate (0: all at once)] [-d seconds] "
                    "[-i interval_ms] [-H 'Name: value'] [-q] [--no-read] [--hold-after S] "
                    "[--wait-events] [--per-client FILE] [--start-at EPOCH_S] "
                    "[--sources N [--source-offset K]] [--expect A-B] [--answer-wait S] "
                    "HOST PORT PATH\n");
}

/* One line per client, in the order of their connect(): "STATUS FIRST_EVENT_US HEAD_US",
 * STATUS the HTTP status (0: no answer: connect or request failed, or closed before a
 * head), FIRST_EVENT_US the time from connect() to the first event, HEAD_US to the
 * complete response head; -1 without one. */
static void write_per_client(const char *path, const struct conn *conns, unsigned long n)
{
    FILE *f = fopen(path, "w");
    unsigned long k;
    if (!f)
        die("fopen --per-client");
    for (k = 0; k < n; k++)
        fprintf(f, "%d %lld %lld\n", conns[k].status,
                conns[k].first_event_ns ? conns[k].first_event_ns / 1000 : -1LL,
                conns[k].head_ns ? conns[k].head_ns / 1000 : -1LL);
    if (fclose(f) != 0)
        die("write --per-client");
}

static double opt_num(const char *name, const char *v, double min, double max)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || d < min || d > max) {
        fprintf(stderr, "sse-load: %s must be a number from %g to %g\n", name, min, max);
        exit(2);
    }
    return d;
}

static const struct conn *conns_g;

static void report(unsigned long requested, double ramp_s, double measure_s)
{
    qsort(interarrival.v, interarrival.len, sizeof *interarrival.v, cmp_u32);
    qsort(first_byte.v, first_byte.len, sizeof *first_byte.v, cmp_u32);
    qsort(first_event.v, first_event.len, sizeof *first_event.v, cmp_u32);
    printf("streams_requested=%lu\n", requested);
    printf("streams_established=%lu\n", n_established);
    printf("streams_refused=%lu\n", n_refused);
    printf("refused_503=%lu\n", n_503);
    printf("streams_failed=%lu\n", n_failed);
    printf("streams_ended_early=%lu\n", n_ended_early);
    printf("events=%llu\n", n_events);
    printf("events_measured=%llu\n", n_events_measured);
    printf("measure_s=%.3f\n", measure_s);
    printf("id_gaps=%llu\n", n_gaps);
    printf("id_duplicates=%llu\n", n_dups);
    printf("first_byte_ms_p50=%.3f\n", quantile(&first_byte, 0.5));
    printf("first_byte_ms_p99=%.3f\n", quantile(&first_byte, 0.99));
    printf("first_byte_ms_max=%.3f\n", quantile(&first_byte, 1.0));
    printf("streams_with_event=%lu\n", n_first_events);
    printf("first_event_ms_p50=%.3f\n", quantile(&first_event, 0.5));
    printf("first_event_ms_p99=%.3f\n", quantile(&first_event, 0.99));
    printf("first_event_ms_max=%.3f\n", quantile(&first_event, 1.0));
    printf("interarrival_ms_p50=%.3f\n", quantile(&interarrival, 0.5));
    printf("interarrival_ms_p99=%.3f\n", quantile(&interarrival, 0.99));
    printf("interarrival_ms_max=%.3f\n", quantile(&interarrival, 1.0));
    printf("interarrival_samples=%zu\n", interarrival.len);
    printf("late=%llu\n", n_late);
    printf("ramp_s=%.3f\n", ramp_s);
    printf("connect_loop_ms=%.3f\n", connect_loop_ns / 1e6);
    if (expect_to) {
        unsigned long long lost = 0, want = (unsigned long long)(expect_to - expect_from + 1);
        unsigned long k, with_all = 0;
        for (k = 0; k < requested; k++)
            if (conns_g[k].status == 200) {
                lost += want - conns_g[k].got;
                with_all += conns_g[k].got == want;
            }
        qsort(msg_latency.v, msg_latency.len, sizeof *msg_latency.v, cmp_u32);
        qsort(complete_t.v, complete_t.len, sizeof *complete_t.v, cmp_u32);
        printf("msgs=%llu\n", n_msgs);
        printf("msgs_expected_per_client=%llu\n", want);
        printf("msgs_lost=%llu\n", lost);
        printf("msgs_dups=%llu\n", n_msg_dups);
        printf("msgs_reordered=%llu\n", n_msg_reordered);
        printf("msgs_extra=%llu\n", n_msg_extra);
        printf("other_events=%llu\n", n_other_events);
        printf("bad_data=%llu\n", n_bad_data);
        printf("clients_with_all=%lu\n", with_all);
        printf("clients_complete=%lu\n", n_complete);
        printf("msg_latency_ms_p50=%.3f\n", quantile(&msg_latency, 0.5));
        printf("msg_latency_ms_p99=%.3f\n", quantile(&msg_latency, 0.99));
        printf("msg_latency_ms_max=%.3f\n", quantile(&msg_latency, 1.0));
        printf("complete_ms_p50=%.3f\n", quantile(&complete_t, 0.5));
        printf("complete_ms_p99=%.3f\n", quantile(&complete_t, 0.99));
        printf("complete_ms_max=%.3f\n", quantile(&complete_t, 1.0));
        printf("complete_all_ms=%.3f\n",
               t_last_complete_ns ? (t_last_complete_ns - t_start_ns) / 1e6 : -1.0);
    }
    if (first_errno)
        fprintf(stderr, "sse-load: first connection error: %s\n", strerror(first_errno));
    if (n_line_errors)
        fprintf(stderr, "sse-load: %llu bytes of over-long lines dropped\n", n_line_errors);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "streams", required_argument, NULL, 'n' }, { "rate", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'd' }, { "interval", required_argument, NULL, 'i' },
        { "header", required_argument, NULL, 'H' }, { "quiet", no_argument, NULL, 'q' },
        { "no-read", no_argument, NULL, 'N' }, { "hold-after", required_argument, NULL, 'A' },
        { "wait-events", no_argument, NULL, 'W' }, { "per-client", required_argument, NULL, 'P' },
        { "start-at", required_argument, NULL, 'S' },
        { "sources", required_argument, NULL, 'O' },
        { "source-offset", required_argument, NULL, 'o' },
        { "expect", required_argument, NULL, 'E' },
        { "answer-wait", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 }
    };
    unsigned long streams = 100, opened = 0, k;
    double rate = 2000, duration = 10, hold_after = 0, start_at = 0, answer_wait = 60;
    unsigned long source_offset = 0;
    const char *per_client = NULL;
    const char *headers[8];
    int nheaders = 0, c, ep, i;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct conn *conns;
    struct rlimit rl;
    struct sigaction sig = { .sa_handler = on_signal };
    long long t0, t_ramp_end = 0, t_end = 0, t_progress, t_next_check = 0;
    struct epoll_event evs[512];

    while ((c = getopt_long(argc, argv, "n:r:d:i:H:q", lo, NULL)) != -1) {
        switch (c) {
        case 'n': streams = (unsigned long)opt_num("--streams", optarg, 1, 1000000); break;
        case 'r': rate = opt_num("--rate", optarg, 0, 1e7); break;
        case 'd': duration = opt_num("--duration", optarg, 0, 1e6); break;
        case 'i': interval_ns = (long long)(opt_num("--interval", optarg, 1, 1e8) * 1e6); break;
        case 'H':
            if (nheaders == 8) {
                fprintf(stderr, "sse-load: --header: at most 8\n");
                return 2;
            }
            headers[nheaders++] = optarg;
            break;
        case 'q': quiet = 1; break;
        case 'N': no_read = 1; break;
        case 'A': hold_after = opt_num("--hold-after", optarg, 0, 1e6); break;
        case 'W': wait_events = 1; break;
        case 'P': per_client = optarg; break;
        case 'S': start_at = opt_num("--start-at", optarg, 0, 1e11); break;
        case 'O': n_sources = (unsigned)opt_num("--sources", optarg, 1, 65536); break;
        case 'w': answer_wait = opt_num("--answer-wait", optarg, 0, 1e6); break;
        case 'o': source_offset = (unsigned long)opt_num("--source-offset", optarg, 0, 1e6); break;
        case 'E':
            if (sscanf(optarg, "%lld-%lld", &expect_from, &expect_to) != 2 || expect_from < 1 ||
                expect_to < expect_from) {
                fprintf(stderr, "sse-load: --expect must be A-B, 1 <= A <= B\n");
                return 2;
            }
            break;
        default: usage(); return 2;
        }
    }
    if (argc - optind != 3) {
        usage();
        return 2;
    }
    host_arg = argv[optind];
    port_arg = (int)opt_num("PORT", argv[optind + 1], 1, 65535);
    path_arg = argv[optind + 2];
    if (inet_pton(AF_INET, host_arg, &sa.sin_addr) != 1) {
        fprintf(stderr, "sse-load: HOST must be an IPv4 address\n");
        return 2;
    }
    sa.sin_port = htons((uint16_t)port_arg);

    c = snprintf(request, sizeof request,
                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
                 "Cache-Control: no-cache\r\n", path_arg, host_arg, port_arg);
    for (i = 0; i < nheaders && c > 0 && (size_t)c < sizeof request; i++)
        c += snprintf(request + c, sizeof request - (size_t)c, "%s\r\n", headers[i]);
    if (c <= 0 || (size_t)c + 3 > sizeof request) {
        fprintf(stderr, "sse-load: request too long\n");
        return 2;
    }
    memcpy(request + c, "\r\n", 3);
    request_len = (size_t)c + 2;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("getrlimit");
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("setrlimit");
    if (streams + 16 > rl.rlim_cur) {
        fprintf(stderr, "sse-load: %lu streams need more than the %lu open files allowed\n",
                streams, (unsigned long)rl.rlim_cur);
        return 2;
    }
    sigemptyset(&sig.sa_mask);
    if (sigaction(SIGINT, &sig, NULL) < 0 || sigaction(SIGTERM, &sig, NULL) < 0)
        die("sigaction");
    signal(SIGPIPE, SIG_IGN);

    conns = calloc(streams, sizeof *conns);
    if (!conns)
        die("calloc");
    conns_g = conns;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");

    if (start_at > 0) {
        struct timespec rt;
        double wait_s;
        clock_gettime(CLOCK_REALTIME, &rt);
        wait_s = start_at - ((double)rt.tv_sec + rt.tv_nsec / 1e9);
        if (wait_s > 0) {
            struct timespec d = { (time_t)wait_s,
                                  (long)((wait_s - (double)(time_t)wait_s) * 1e9) };
            while (nanosleep(&d, &d) < 0 && errno == EINTR && !stop)
                ;
        }
    }
    t0 = now_ns();
    t_start_ns = t0;
    t_progress = t0 + 1000000000LL;
    while (!stop) {
        long long now = now_ns();
        int n = 0, timeout;

        /* open what the ramp allows by now */
        if (opened < streams) {
            unsigned long due = rate <= 0 ? streams
                : (unsigned long)((double)(now - t0) / 1e9 * rate) + 1;
            if (due > streams)
                due = streams;
            for (; opened < due; opened++) {
                if (open_conn(ep, &conns[opened], &sa, opened + source_offset) < 0) {
                    n_failed++;
                    if (!first_errno)
                        first_errno = errno;
                    close_conn(&conns[opened]);
                }
                /* all at once: still read what has arrived every 64 connect()s, so an
                 * early client's answer is timed when it comes, not after the loop */
                if (rate <= 0 && (opened & 63) == 63) {
                    n = epoll_wait(ep, evs, 512, 0);
                    for (i = 0; i < n; i++)
                        on_event_fd(ep, evs[i].data.ptr, evs[i].events);
                }
            }
            if (opened == streams)
                connect_loop_ns = now_ns() - t0;
        }
        if (opened == streams && !t_ramp_end) {
            /* measure once every stream got its answer (or failed) */
            unsigned long pending = 0;
            for (k = 0; k < streams; k++)
                if (conns[k].state == C_CONNECTING || conns[k].state == C_SENDING ||
                    (conns[k].state == C_HEAD && !no_read) ||
                    (wait_events && conns[k].state == C_BODY && !conns[k].first_event_ns))
                    pending++;
            if (!pending || now - t0 > (long long)(answer_wait * 1e9)) {
                t_ramp_end = now;
                t_end = now + (long long)(duration * 1e9);
                measuring = 1;
                /* markers for a driver that samples the server meanwhile */
                fprintf(stderr, "sse-load: measure start\n");
            }
        }
        if (t_end && now >= t_end)
            break;
        if (expect_to && opened == streams && t_ramp_end && now >= t_next_check) {
            /* every answered client has B (and none is still waiting for its head) */
            unsigned long waiting = 0;
            for (k = 0; k < streams && !waiting; k++)
                if (conns[k].state == C_CONNECTING || conns[k].state == C_SENDING ||
                    conns[k].state == C_HEAD ||
                    (conns[k].state == C_BODY && !conns[k].complete_ns))
                    waiting++;
            if (!waiting) {
                fprintf(stderr, "sse-load: complete\n");
                break;
            }
            t_next_check = now + 10000000LL;  /* the scan is O(streams): every 10 ms */
        }
        if (!quiet && now >= t_progress) {
            fprintf(stderr, "sse-load: t=%llds established=%lu refused=%lu failed=%lu events=%llu\n",
                    (now - t0) / 1000000000LL, n_established, n_refused, n_failed, n_events);
            t_progress += 1000000000LL;
        }
        timeout = opened < streams ? 1 : 50;
        n = epoll_wait(ep, evs, 512, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (i = 0; i < n; i++)
            on_event_fd(ep, evs[i].data.ptr, evs[i].events);
    }
    measuring = 0;
    fprintf(stderr, "sse-load: measure end\n");
    report(streams, t_ramp_end ? (t_ramp_end - t0) / 1e9 : 0,
           t_ramp_end ? (now_ns() - t_ramp_end) / 1e9 : 0);
    if (per_client)
        write_per_client(per_client, conns, streams);

    if (hold_after > 0 && !stop) {
        long long until = now_ns() + (long long)(hold_after * 1e9);
        measuring = 0;
        while (!stop && now_ns() < until) {
            int n = epoll_wait(ep, evs, 512, 50);
            for (i = 0; i < n; i++)
                on_event_fd(ep, evs[i].data.ptr, evs[i].events);
        }
    }
    for (k = 0; k < streams; k++)
        close_conn(&conns[k]);
    close(ep);
    free(conns);
    free(interarrival.v);
    free(first_byte.v);
    return 0;
}
