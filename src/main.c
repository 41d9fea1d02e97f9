/* main.c -- fcgi-sse: wires options, signals, the socket, the event loop, the intake and the hub */
#include "config.h"

#include "admit.h"
#include "auth.h"
#include "cgi.h"
#include "chan.h"
#include "cmd.h"
#include "counter.h"
#include "ctl.h"
#include "expire.h"
#include "history.h"
#include "hub.h"
#include "intake.h"
#include "log.h"
#include "loop.h"
#include "lsn.h"
#include "clock.h"
#include "opt.h"
#include "peer.h"
#include "proc.h"
#include "pub.h"
#include "rbus.h"
#include "redisurl.h"
#include "run.h"
#include "stats.h"
#include "sub.h"

#include <errno.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Descriptors kept for the listening socket, epoll, the memfd, logs. */
#define FD_RESERVE 64
/* A whole request must arrive within this. */
#define INTAKE_TIMEOUT_NS (5 * 1000000000LL)
/* Requests being read hold at most this much memory in all. */
#define INTAKE_MEM_MAX (64 * 1024 * 1024)

/* 0: run; 1: first SIGTERM/SIGINT/SIGUSR1, stop gracefully; 2: now. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_requested < 2)
        stop_requested++;
}

/* Installs our handlers before FCGX_Init: libfcgi replaces SIGTERM and
 * SIGUSR1 only while they are at their default, with a handler that just
 * marks a shutdown and lets the process run on. The stop signals are then
 * blocked; the loop (and CGI mode) waits with *waitmask, which unblocks
 * them, so they are taken only there and nothing else sees EINTR. */
static int setup_signals(sigset_t *waitmask)
{
    static const int stops[] = { SIGTERM, SIGINT, SIGUSR1 };
    struct sigaction sa;
    sigset_t block;
    size_t i;
    int err;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: waits return EINTR */
    sigemptyset(&block);
    for (i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        if (sigaction(stops[i], &sa, NULL) < 0)
            return -1;
        sigaddset(&block, stops[i]);
    }
    err = pthread_sigmask(SIG_BLOCK, &block, waitmask);
    if (err) {
        errno = err;
        return -1;
    }
    for (i = 0; i < sizeof stops / sizeof stops[0]; i++)
        sigdelset(waitmask, stops[i]);
    return 0;
}

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
static int redis_config(const struct opt_config *cfg, struct rbus_config *rc)
{
    char err[256], line[sizeof rc->url.password + 2];
    FILE *f;
    size_t n;

    if (redisurl_parse(cfg->redis, &rc->url, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    rc->history = cfg->history;
    rc->max_message = cfg->max_message;
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
static int load_keys(const struct opt_config *cfg, struct auth_keys **pub, struct auth_keys **sub)
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

int main(int argc, char **argv)
{
    static struct stats stats; /* outlives everything that counts in it */
    struct opt_config cfg;
    struct intake_config ic;
    char *cgi_argv[CGI_ARGV_MAX], cgi_words[1024];
    static struct chan_engine *engine;
    static struct auth_keys *publish_keys, *subscribe_keys;
    struct sched_params sched;
    static struct loop *loop; /* static: reachable at an early exit */
    static struct hub *hub;
    static struct intake *intake;
    static struct ctl ctl;
    static struct pub_backend memory_backend;
    static struct history memory_history;
    static struct counter *counter;
    static struct rbus *bus;
    static struct rbus_config redis_cfg;
    struct sub_params sp;
    sigset_t waitmask;
    struct sigaction ign;
    char err[256], where[128];
    const char *unix_path = NULL;
    rlim_t nofile, nofile_hard;
    int cgi, fd = -1, rc, status = 0;

    /* libcrypto is used for digests, HMAC and the channels' SipHash: nothing an
     * openssl.cnf should change, and the service's sandbox need not read one */
    if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
        fprintf(stderr, "%s: OPENSSL_init_crypto failed\n", argv[0]);
        return 1;
    }
    rc = cmd_main(argc, argv);
    if (rc >= 0)
        return rc; /* a command: sign, publish */

    /* A CGI server may turn the client's query into argv (Apache even
     * decodes and escapes it): as CGI, no option is ever taken from argv,
     * only from FCGI_SSE_OPTIONS, which the server's configuration sets. */
    cgi = cgi_detect();
    if (cgi) {
        argc = cgi_options(argv[0], getenv("FCGI_SSE_OPTIONS"), cgi_argv, CGI_ARGV_MAX, cgi_words,
                           sizeof cgi_words);
        if (argc < 0) {
            fprintf(stderr, "%s: FCGI_SSE_OPTIONS: more than %d words or %zu bytes\n", argv[0],
                    CGI_ARGV_MAX - 2, sizeof cgi_words - 1);
            return 2;
        }
        argv = cgi_argv;
    }
    switch (opt_parse(&cfg, argc, argv, err, sizeof err)) {
    case OPT_EXIT_OK:
        return 0;
    case OPT_ERROR:
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    case OPT_RUN:
        break;
    }
    log_init(argv[0]);
    /* One malloc arena: memory freed when clients leave returns to the kernel. */
    if (mallopt(M_ARENA_MAX, 1) != 1)
        log_warn("mallopt(M_ARENA_MAX) failed: memory may stay high after clients leave");

    if (setup_signals(&waitmask) < 0) {
        log_errno("installing signal handlers", errno);
        return 1;
    }
    rc = FCGX_Init();
    if (rc != 0) {
        log_error("FCGX_Init failed (%d)", rc);
        return 1;
    }
    /* A client that leaves must end its stream, not the process. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &ign, NULL) < 0) {
        log_errno("ignoring SIGPIPE", errno);
        return 1;
    }
    if (cgi)
        return cgi_serve(&cfg, &stop_requested, &waitmask);
    if (load_keys(&cfg, &publish_keys, &subscribe_keys) < 0)
        return 1;

    if (cfg.listen) {
        fd = lsn_open(cfg.listen, cfg.socket_mode, cfg.socket_group, err, sizeof err, &unix_path);
        if (fd < 0) {
            log_error("--listen %s: %s", cfg.listen, err);
            return 1;
        }
    } else if ((fd = lsn_systemd(err, sizeof err)) != -1) {
        if (fd < 0 || lsn_adopt(fd, err, sizeof err) < 0) {
            log_error("socket activation: %s", err);
            return 1;
        }
    } else {
        fd = 0;
        if (!getenv("GATEWAY_INTERFACE") && !lsn_is_socket(fd)) {
            log_error("fd 0 is not a listening socket and this is no CGI request "
                      "(GATEWAY_INTERFACE is unset): start me under spawn-fcgi or a web "
                      "server, or give --listen ADDR (see --help)");
            return 2;
        }
        if (lsn_adopt(fd, err, sizeof err) < 0) {
            log_error("%s", err);
            return 1;
        }
    }
    if (geteuid() == 0)
        log_warn("running as root: a responder needs no privileges; run it as its own "
                 "user (spawn-fcgi -u/-g, systemd DynamicUser=)");

    memset(&ic, 0, sizeof ic);
    if (peer_acl_parse(&ic.acl, getenv("FCGI_WEB_SERVER_ADDRS"), err, sizeof err) < 0) {
        log_error("%s", err);
        status = 1;
        goto out;
    }
    nofile = raise_nofile(&nofile_hard);
    stats.started_ms = clock_now_ms();
    stats.max_streams = stream_limit(&cfg, nofile);

    sched.interval_ns = (long long)cfg.interval_ms * 1000000LL;
    sched.heartbeat_ns = (long long)cfg.heartbeat_s * 1000000000LL;
    sched.grid_ns = sched_grid(sched.interval_ns);
    counter = counter_create(&sched, &stats.events_sent);
    {
        struct chan_limits lim = { cfg.history, (unsigned long long)cfg.history_ttl_s * 1000ULL,
                                   (size_t)cfg.history_bytes, cfg.max_channels };
        memset(&sp, 0, sizeof sp);
        sp.heartbeat_ns = sched.heartbeat_ns;
        sp.delivered = &stats.events_delivered;
        sp.retry_ms = cfg.retry_ms;
        engine = chan_engine_create(&lim, clock_wall_ms(), sub_deliver, NULL);
        sp.engine = engine;
    }

    ic.listen_fd = fd;
    ic.serve = ctl_dispatch;
    ic.serve_arg = &ctl;
    ctl.retry_ms = cfg.retry_ms;
    ctl.stats = &stats;
    ctl.engine = engine;
    ctl.pub.keys = publish_keys;
    ctl.pub.remote_user = cfg.publish_remote_user;
    ctl.pub.engine = engine;
    ctl.pub.backend = &memory_backend;
    if (engine)
        pub_memory(&memory_backend, engine);
    ctl.subscribe_keys = subscribe_keys;
    ctl.max_message = cfg.max_message;
    ctl.max_body = cfg.max_body;
    ctl.runs = cfg.runs;
    ctl.nrun = cfg.nrun;
    ctl.openai = cfg.openai;
    ctl.sndbuf = (int)cfg.max_backlog;
    ctl.counter = counter;
    /* the intake takes the larger (--max-body only when there are programs);
     * each route checks its own (ctl.c) */
    ic.body_max = cfg.max_message;
    if ((cfg.nrun || cfg.openai) && cfg.max_body > ic.body_max)
        ic.body_max = cfg.max_body;
    ic.timeout_ns = INTAKE_TIMEOUT_NS;
    ic.mem_max = INTAKE_MEM_MAX;

    if (cfg.redis && redis_config(&cfg, &redis_cfg) < 0) {
        status = 1;
        goto out;
    }
    loop = engine ? loop_create() : NULL;
    if (loop && cfg.redis) {
        bus = rbus_create(loop, &redis_cfg, engine, &stats);
        explicit_bzero(redis_cfg.url.password, sizeof redis_cfg.url.password);
        if (!bus) {
            log_errno("setting up Redis", errno);
            status = 1;
            goto out;
        }
        sp.history = rbus_history(bus);
        ctl.pub.backend = rbus_backend(bus);
        log_info("channels through Redis at %s: ids, history and resume from its streams",
                 stats.redis.where);
    }
    if (engine && !sp.history) {
        history_memory(&memory_history, engine);
        sp.history = &memory_history;
    }
    if (engine)
        sub_setup(&sp);
    if (loop) {
        struct hub_hooks hooks = { admit_ended, &stats, &stats.streams_dropped_slow };
        hub = hub_create(loop, &hooks);
    }
    ctl.hub = hub;
    if (hub) {
        /* without programs, no run is ever admitted (and no CPU count is read) */
        unsigned long max_runs = !cfg.nrun && !cfg.openai ? 0
                                 : cfg.max_runs ? cfg.max_runs : proc_default_max(nofile);
        struct run_params rp = { loop, sched.heartbeat_ns,
                                 (long long)cfg.run_timeout_s * 1000000000LL, cfg.max_line,
                                 &stats.run_events, &stats.runs_started, &stats.runs_failed };
        stats.runs_running = proc_running;
        if (proc_setup(loop, (long long)cfg.kill_after_s * 1000000000LL, max_runs, &waitmask) == 0 &&
            run_setup(&rp) == 0 && expire_start(loop, engine, (unsigned long long)cfg.history_ttl_s * 1000ULL) == 0)
            intake = intake_start(loop, &ic);
        if (cfg.nrun || cfg.openai)
            log_info("programs: %u configured%s; max runs %lu%s, bodies up to %lu bytes, lines "
                     "up to %lu bytes, SIGKILL %lu s after SIGTERM, run timeout %lu s",
                     cfg.nrun, cfg.openai ? " and --openai" : "", max_runs,
                     cfg.max_runs ? " (--max-runs)" : " (64 a CPU, within open files and "
                                                      "processes)",
                     cfg.max_body, cfg.max_line, cfg.kill_after_s, cfg.run_timeout_s);
    }
    if (!intake) {
        log_errno("creating the event loop", errno);
        status = 1;
        goto out;
    }

    lsn_describe(fd, where, sizeof where);
    log_info("%s %s on %s: interval %lu ms, retry %lu ms, heartbeat %lu s; "
             "max streams %lu, open files %lu (hard %lu), backlog %lu bytes, listen backlog %d",
             PACKAGE_NAME, PACKAGE_VERSION, where, cfg.interval_ms, cfg.retry_ms,
             cfg.heartbeat_s, stats.max_streams, (unsigned long)nofile,
             (unsigned long)nofile_hard, cfg.max_backlog, lsn_backlog());
    log_info("channels: at most %lu; history %lu messages, %lu s, %llu bytes in all; messages "
             "up to %lu bytes; publishing %s; private channels %s", cfg.max_channels, cfg.history,
             cfg.history_ttl_s, cfg.history_bytes, cfg.max_message,
             publish_keys ? (cfg.publish_remote_user ? "by key or REMOTE_USER" : "by key")
                          : (cfg.publish_remote_user ? "by REMOTE_USER" : "off"),
             subscribe_keys ? "by signed URL" : "off");

    if (loop_run(loop, &stop_requested, &waitmask) < 0)
        status = 1;
    {
        /* From here a second signal must interrupt the shutdown. */
        int err_mask = pthread_sigmask(SIG_SETMASK, &waitmask, NULL);
        if (err_mask)
            log_errno("pthread_sigmask: a second signal will wait", err_mask);
    }
    log_info("stopping: ending %lu open streams", stats.streams_open);
    intake_stop(intake);
    hub_close(hub, &stop_requested);
    proc_shutdown(&stop_requested, &waitmask); /* never leaves a child, even now */
    if (stop_requested > 1) {
        log_warn("second signal: exiting at once");
        status = 1;
        goto out_now;
    }
    log_info("stopped: %lu streams served, %lu events sent", stats.streams_total,
             stats.events_sent);
out:
    intake_destroy(intake);
    hub_destroy(hub);
    if (loop)
        expire_stop(loop);
    proc_shutdown(&stop_requested, &waitmask);
    run_teardown();
    rbus_destroy(bus); /* after the hub: subscriptions let go of it first */
    counter_destroy(counter);
    loop_destroy(loop);
    chan_engine_destroy(engine);
    auth_keys_free(publish_keys);
    auth_keys_free(subscribe_keys);
out_now:
    if (unix_path && unlink(unix_path) < 0)
        log_errno("removing the socket", errno);
    if (fd > 0)
        close(fd);
    return status;
}
