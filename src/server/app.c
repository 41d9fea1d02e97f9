/* app.c -- the responder's objects: made from the options around the listening socket, and freed */
#include "config.h"

#include "server/app.h"
#include "channels/chan.h"
#include "channels/expire.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "mercurehub/mercure.h"
#include "redis/redis.h"
#include "redis/redisurl.h"
#include "server/listen.h"
#include "server/peer.h"
#include "sources/counter.h"
#include "sources/feed.h"
#include "sources/process.h"
#include "sources/program.h"
#include "sources/subscription.h"
#include "stream/admit.h"
#include "stream/hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Descriptors kept for the listening socket, epoll, the memfd, logs. */
#define FD_RESERVE 64
/* A whole request must arrive within this. */
#define INTAKE_TIMEOUT_NS (5 * 1000000000LL)
/* Requests being read hold at most this much memory in all. */
#define INTAKE_MEM_MAX (64 * 1024 * 1024)
/* The status feed writes the figures this often. */
#define FEED_INTERVAL_NS 1000000000LL

/* Every stream is one descriptor: take all the process may have. */
static rlim_t raise_nofile(rlim_t *hard)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_errno("getrlimit(RLIMIT_NOFILE)", errno);
        *hard = 1024;
        return 1024;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            log_errno("setrlimit(RLIMIT_NOFILE)", errno);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    *hard = rl.rlim_max;
    return rl.rlim_cur;
}

/* Streams the process can hold: the lower of what open files and memory
 * allow; --max-streams replaces that, except that an explicit --max-memory
 * still caps it (both options are bounds). Logs how the figure was reached. */
static unsigned long stream_limit(const struct opt_config *cfg, rlim_t nofile)
{
    unsigned long long cost = admit_stream_cost(cfg->max_backlog);
    unsigned long long budget = cfg->max_memory_mb
                                    ? (unsigned long long)cfg->max_memory_mb << 20
                                    : admit_memory_budget();
    unsigned long by_fd = admit_default_max(nofile, FD_RESERVE, ~0ULL, 1);
    unsigned long by_mem = budget ? admit_default_max(~0ULL, 0, budget, cost) : by_fd;
    unsigned long n = by_fd < by_mem ? by_fd : by_mem;
    const char *why = "";

    if (cfg->max_streams) {
        n = cfg->max_streams;
        why = " (--max-streams)";
        if (cfg->max_memory_mb && by_mem < n) {
            n = by_mem;
            why = " (--max-memory, below --max-streams)";
        }
    }
    log_info("max streams %lu%s: open files allow %lu, %llu MB of memory%s allow %lu "
             "at %llu KB a stream at most", n, why,
             by_fd, budget >> 20, cfg->max_memory_mb ? " (--max-memory)" : "", by_mem,
             cost / 1024);
    if (cfg->max_streams && n > by_fd)
        log_warn("--max-streams %lu is above what %lu open files allow: expect 503s earlier",
                 cfg->max_streams, (unsigned long)nofile);
    return n;
}

/* The --redis address, with the password of --redis-password-file (its
 * first line) when given. 0, or -1 (logged). */
static int redis_options(const struct opt_config *cfg, struct redis_config *rc)
{
    char err[256], line[sizeof rc->url.password + 2];
    FILE *f;
    size_t n;

    if (redisurl_parse(cfg->redis, &rc->url, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    rc->history = cfg->history;
    rc->internal_history = cfg->mercure_history;
    rc->max_message = cfg->max_message;
    rc->ttl_ms = (unsigned long long)cfg->history_ttl_s * 1000ULL;
    rc->bytes_max = (unsigned long long)cfg->history_bytes;
    if (!cfg->redis_password_file)
        return 0;
    f = fopen(cfg->redis_password_file, "re");
    if (!f) {
        log_errno(cfg->redis_password_file, errno);
        return -1;
    }
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n == 0 || n >= sizeof rc->url.password) {
        log_error("--redis-password-file %s: the first line must hold the password (1 to %zu "
                  "bytes)", cfg->redis_password_file, sizeof rc->url.password - 1);
        return -1;
    }
    memcpy(rc->url.password, line, n + 1);
    explicit_bzero(line, sizeof line);
    return 0;
}

/* Loads --publish-key-file and --subscribe-key-file. 0, or -1 (logged). */
int app_load_keys(const struct opt_config *cfg, struct auth_keys **pub, struct auth_keys **sub)
{
    const char *paths[2] = { cfg->publish_key_file, cfg->subscribe_key_file };
    const char *opts[2] = { "--publish-key-file", "--subscribe-key-file" };
    struct auth_keys **out[2] = { pub, sub };
    int i;

    for (i = 0; i < 2; i++) {
        char err[256];
        int warned = 0;
        *out[i] = NULL;
        if (!paths[i])
            continue;
        *out[i] = auth_keys_load(paths[i], 1, err, sizeof err, &warned);
        if (!*out[i]) {
            log_error("%s %s: %s", opts[i], paths[i], err);
            return -1;
        }
        if (warned)
            log_warn("%s %s: %s", opts[i], paths[i], err);
    }
    return 0;
}

/* The listening socket: --listen, else systemd's, else fd 0 (spawn-fcgi).
 * 0, or the exit status (logged). */
int app_open_socket(struct app *a)
{
    char err[256];

    a->fd = -1;
    if (a->cfg.listen) {
        a->fd = listen_open(a->cfg.listen, a->cfg.socket_mode, a->cfg.socket_group, err,
                         sizeof err, &a->unix_path);
        if (a->fd < 0) {
            log_error("--listen %s: %s", a->cfg.listen, err);
            return 1;
        }
        return 0;
    }
    if ((a->fd = listen_systemd(err, sizeof err)) != -1) {
        if (a->fd < 0 || listen_adopt(a->fd, err, sizeof err) < 0) {
            log_error("socket activation: %s", err);
            return 1;
        }
        return 0;
    }
    a->fd = 0;
    if (!getenv("GATEWAY_INTERFACE") && !listen_is_socket(a->fd)) {
        log_error("fd 0 is not a listening socket and this is no CGI request "
                  "(GATEWAY_INTERFACE is unset): start me under spawn-fcgi or a web "
                  "server, or give --listen ADDR (see --help)");
        return 2;
    }
    if (listen_adopt(a->fd, err, sizeof err) < 0) {
        log_error("%s", err);
        return 1;
    }
    return 0;
}

/* The channels: the engine, where messages get their ids and what the
 * engine does not hold comes from (memory, or Redis), the subscription
 * source, the expiry timer. 0, or -1 (logged). */
static int start_channels(struct app *a, long long heartbeat_ns)
{
    const struct opt_config *cfg = &a->cfg;
    struct chan_limits lim = { cfg->history, (unsigned long long)cfg->history_ttl_s * 1000ULL,
                               (size_t)cfg->history_bytes, cfg->max_channels,
                               cfg->mercure_history };
    struct sub_params sp = { NULL, heartbeat_ns, &a->stats.events_delivered, NULL,
                             cfg->retry_ms };
    static struct redis_config redis_cfg;

    a->engine = chan_engine_create(&lim, clock_wall_ms(), sub_deliver, NULL);
    if (!a->engine) {
        log_errno("creating the channels", errno);
        return -1;
    }
    sp.engine = a->engine;
    history_memory(&a->memory_history, a->engine);
    pub_memory(&a->memory_backend, a->engine);
    ctl_memory(&a->memory_ctl, a->engine);
    a->dispatch.ctl = &a->memory_ctl;
    sp.history = &a->memory_history;
    a->dispatch.pub.backend = &a->memory_backend;
    if (cfg->redis) {
        if (redis_options(cfg, &redis_cfg) < 0)
            return -1;
        a->bus = redis_create(a->loop, &redis_cfg, a->engine, &a->stats);
        explicit_bzero(redis_cfg.url.password, sizeof redis_cfg.url.password);
        if (!a->bus) {
            log_errno("setting up Redis", errno);
            return -1;
        }
        sp.history = redis_history(a->bus);
        a->dispatch.pub.backend = redis_backend(a->bus);
        a->dispatch.ctl = redis_ctl_backend(a->bus);
        log_info("channels through Redis at %s: ids, history and resume from its streams",
                 a->stats.redis.where);
    }
    a->history = sp.history;
    a->subs = sub_create(&sp);
    a->expire = expire_create(a->loop, a->engine,
                              (unsigned long long)cfg->history_ttl_s * 1000ULL);
    if (!a->subs || !a->expire) {
        log_errno("setting up the channels", ENOMEM);
        return -1;
    }
    return 0;
}

/* The programs of --run and --openai. 0, or -1 (logged). */
static int start_programs(struct app *a, long long heartbeat_ns)
{
    const struct opt_config *cfg = &a->cfg;
    /* without programs, no run is ever admitted (and no CPU count is read) */
    unsigned long max_runs = !cfg->nrun && !cfg->openai ? 0
                             : cfg->max_runs ? cfg->max_runs : process_default_max(a->nofile);
    struct program_params rp = { a->loop, NULL, heartbeat_ns,
                             (long long)cfg->run_timeout_s * 1000000000LL, cfg->max_line,
                             &a->stats.run_events, &a->stats.runs_started,
                             &a->stats.runs_failed };

    a->procs = process_create(a->loop, (long long)cfg->kill_after_s * 1000000000LL, max_runs,
                           &a->waitmask);
    rp.procs = a->procs;
    a->runs = a->procs ? program_create(&rp) : NULL;
    if (!a->runs) {
        log_errno("setting up programs", errno);
        return -1;
    }
    if (cfg->nrun || cfg->openai)
        log_info("programs: %u configured%s; max runs %lu%s, bodies up to %lu bytes, lines "
                 "up to %lu bytes, SIGKILL %lu s after SIGTERM, run timeout %lu s",
                 cfg->nrun, cfg->openai ? " and --openai" : "", max_runs,
                 cfg->max_runs ? " (--max-runs)" : " (64 a CPU, within open files and "
                                                   "processes)",
                 cfg->max_body, cfg->max_line, cfg->kill_after_s, cfg->run_timeout_s);
    return 0;
}

/* The Mercure hub (--mercure), on the channels' engine. 0, or -1 (logged). */
static int start_mercure(struct app *a, long long heartbeat_ns)
{
    const struct opt_config *cfg = &a->cfg;
    struct mercure_config mc = { 0 };
    struct mercure_deps md = { a->loop, a->engine, a->dispatch.pub.backend, a->history,
                               a->bus != NULL, a->hub, &a->stats.mercure_delivered };
    char err[512];
    unsigned i;

    if (!cfg->mercure)
        return 0;
    mc.gens = cfg->mercure_protocol;
    mc.publisher_key_file = cfg->mercure_publisher_key_file;
    mc.subscriber_key_file = cfg->mercure_subscriber_key_file;
    mc.issuer = cfg->mercure_issuer;
    mc.audience = cfg->mercure_audience;
    mc.anonymous = cfg->mercure_anonymous;
    mc.subscriptions = cfg->mercure_subscriptions;
    mc.ncors = cfg->mercure_ncors;
    for (i = 0; i < cfg->mercure_ncors && i < MERCURE_CORS_MAX; i++)
        mc.cors[i] = cfg->mercure_cors[i];
    mc.max_message = cfg->max_message;
    mc.retry_ms = cfg->retry_ms;
    mc.heartbeat_ns = heartbeat_ns;
    a->mercure = mercure_create(&mc, &md, err, sizeof err);
    if (!a->mercure) {
        log_error("%s", err);
        return -1;
    }
    a->dispatch.mercure = a->mercure;
    log_info("mercure: a hub on .../.well-known/mercure (%s%s), %s, %s%s", 
             cfg->mercure_protocol == 3 ? "both drafts" : cfg->mercure_protocol == 1
                                                              ? "the current draft"
                                                              : "the legacy draft",
             cfg->mercure_audience ? ", audience set" : "",
             cfg->mercure_publisher_key_file ? "publishers with a token"
                                             : "no publisher (no key)",
             cfg->mercure_anonymous ? "anonymous subscribers" : "subscribers with a token",
             cfg->mercure_subscriptions ? ", active subscriptions" : "");
    return 0;
}

/* The controller and what it hands streams to, then the intake. 0, or -1 (logged). */
static int start_serving(struct app *a)
{
    const struct opt_config *cfg = &a->cfg;
    struct hub_hooks hooks = { admit_ended, &a->stats, &a->stats.streams_dropped_slow };
    struct dispatch *c = &a->dispatch;

    a->hub = hub_create(a->loop, &hooks);
    a->feed = feed_create(dispatch_status_json, c, FEED_INTERVAL_NS, &a->stats.status_events);
    if (!a->hub || !a->feed) {
        log_errno("creating the event loop", errno);
        return -1;
    }
    if (start_mercure(a, (long long)cfg->heartbeat_s * 1000000000LL) < 0)
        return -1;
    c->retry_ms = cfg->retry_ms;
    c->stats = &a->stats;
    c->engine = a->engine;
    c->pub.keys = a->publish_keys;
    c->pub.remote_user = cfg->publish_remote_user;
    c->pub.engine = a->engine;
    c->subscribe_keys = a->subscribe_keys;
    c->max_message = cfg->max_message;
    c->max_body = cfg->max_body;
    c->runs = cfg->runs;
    c->nrun = cfg->nrun;
    c->openai = cfg->openai;
    c->hub = a->hub;
    c->counter = a->counter;
    c->subs = a->subs;
    c->programs = a->runs;
    c->procs = a->procs;
    c->feed = a->feed;
    c->sndbuf = (int)cfg->max_backlog;
    a->ic.listen_fd = a->fd;
    a->ic.serve = dispatch_request;
    a->ic.serve_arg = c;
    /* the intake takes the larger (--max-body only when there are programs);
     * each route checks its own (dispatch.c) */
    a->ic.body_max = cfg->max_message;
    if ((cfg->nrun || cfg->openai) && cfg->max_body > a->ic.body_max)
        a->ic.body_max = cfg->max_body;
    a->ic.timeout_ns = INTAKE_TIMEOUT_NS;
    a->ic.mem_max = INTAKE_MEM_MAX;
    a->ic.stats = &a->stats;
    a->intake = a->hub ? intake_start(a->loop, &a->ic) : NULL;
    if (!a->intake) {
        log_errno("creating the event loop", errno);
        return -1;
    }
    return 0;
}

/* Builds everything around the listening socket. 0, or -1 (logged). */
int app_start(struct app *a)
{
    const struct opt_config *cfg = &a->cfg;
    struct sched_params sched;
    char err[256];

    if (peer_acl_parse(&a->ic.acl, getenv("FCGI_WEB_SERVER_ADDRS"), err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    a->nofile = raise_nofile(&a->nofile_hard);
    a->stats.started_ms = clock_now_ms();
    a->stats.max_streams = stream_limit(cfg, a->nofile);
    sched.interval_ns = (long long)cfg->interval_ms * 1000000LL;
    sched.heartbeat_ns = (long long)cfg->heartbeat_s * 1000000000LL;
    sched.grid_ns = sched_grid(sched.interval_ns);
    a->loop = loop_create();
    a->counter = counter_create(&sched, &a->stats.events_sent);
    if (!a->loop || !a->counter) {
        log_errno("creating the event loop", errno);
        return -1;
    }
    if (start_channels(a, sched.heartbeat_ns) < 0 || start_programs(a, sched.heartbeat_ns) < 0)
        return -1;
    return start_serving(a);
}

/* The start-up lines: what runs, with which bounds. */
void app_log_start(const struct app *a)
{
    const struct opt_config *cfg = &a->cfg;
    char where[128];

    listen_describe(a->fd, where, sizeof where);
    log_info("%s %s on %s: interval %lu ms, retry %lu ms, heartbeat %lu s; "
             "max streams %lu, open files %lu (hard %lu), backlog %lu bytes, listen backlog %d",
             PACKAGE_NAME, PACKAGE_VERSION, where, cfg->interval_ms, cfg->retry_ms,
             cfg->heartbeat_s, a->stats.max_streams, (unsigned long)a->nofile,
             (unsigned long)a->nofile_hard, cfg->max_backlog, listen_backlog());
    log_info("channels: at most %lu; history %lu messages, %lu s, %llu bytes in all; messages "
             "up to %lu bytes; publishing %s; private channels %s", cfg->max_channels,
             cfg->history, cfg->history_ttl_s, cfg->history_bytes, cfg->max_message,
             a->publish_keys ? (cfg->publish_remote_user ? "by key or REMOTE_USER" : "by key")
                             : (cfg->publish_remote_user ? "by REMOTE_USER" : "off"),
             a->subscribe_keys ? "by signed URL" : "off");
}

/* Frees what start made, in the reverse order (the hub before what its
 * streams hold: subscriptions let go of the bus, runs of their programs). */
void app_free(struct app *a, const volatile sig_atomic_t *stop)
{
    intake_destroy(a->intake);
    hub_destroy(a->hub);
    mercure_destroy(a->mercure);
    expire_destroy(a->expire);
    if (a->procs)
        process_shutdown(a->procs, stop, &a->waitmask);
    program_destroy(a->runs);
    process_destroy(a->procs);
    sub_destroy(a->subs);
    redis_destroy(a->bus);
    counter_destroy(a->counter);
    feed_destroy(a->feed);
    loop_destroy(a->loop);
    chan_engine_destroy(a->engine);
    auth_keys_free(a->publish_keys);
    auth_keys_free(a->subscribe_keys);
}
