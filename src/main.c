/* main.c -- fcgi-sse: wires options, signals, the socket, the accept threads and the hub */
#include "config.h"

#include "acc.h"
#include "cgi.h"
#include "hub.h"
#include "log.h"
#include "lsn.h"
#include "monotime.h"
#include "opt.h"
#include "peer.h"
#include "stats.h"

#include <errno.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Threads that accept and parse requests; streams do not hold them. */
#define ACC_THREADS 4
/* Descriptors kept for the listening socket, accept threads, epoll, logs. */
#define FD_RESERVE 64
/* Graceful shutdown must finish within this, however many streams. */
#define SHUTDOWN_MS 1500

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
 * blocked; the hub (and CGI mode) waits with *waitmask, which unblocks
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

int main(int argc, char **argv)
{
    struct opt_config cfg;
    struct stats stats;
    struct acc_config ac;
    struct hub *hub;
    struct acc *acc;
    sigset_t waitmask;
    struct sigaction ign;
    char err[256], where[128];
    const char *unix_path = NULL;
    rlim_t nofile, nofile_hard;
    int fd, rc, status = 0;

    /* Run as CGI, a query like "?-i+1" arrives as arguments: not options. */
    argc -= cgi_query_args(argc, argv);
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
    /* One malloc arena: the accept threads allocate little, and memory freed
     * by the hub then returns to the kernel (a per-thread arena kept ~110 KB
     * each after every stream was gone). */
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
    } else if (FCGX_IsCGI()) {
        return cgi_serve(&cfg, &stop_requested, &waitmask);
    } else {
        fd = 0;
        if (lsn_adopt(fd, err, sizeof err) < 0) {
            log_error("%s", err);
            return 1;
        }
    }
    if (geteuid() == 0)
        log_warn("running as root: a responder needs no privileges; run it as its own "
                 "user (spawn-fcgi -u/-g, systemd DynamicUser=)");

    nofile = raise_nofile(&nofile_hard);
    memset(&stats, 0, sizeof stats);
    stats.started_ms = monotime_ms();
    stats.max_streams = cfg.max_streams ? cfg.max_streams
                        : (nofile > FD_RESERVE * 2 ? (unsigned long)(nofile - FD_RESERVE)
                                                   : (unsigned long)(nofile / 2));
    if (cfg.max_streams && cfg.max_streams > nofile - FD_RESERVE)
        log_warn("--max-streams %lu is above what %lu open files allow: expect 503s earlier",
                 cfg.max_streams, (unsigned long)nofile);

    memset(&ac, 0, sizeof ac);
    if (peer_acl_parse(&ac.acl, getenv("FCGI_WEB_SERVER_ADDRS"), err, sizeof err) < 0) {
        log_error("%s", err);
        status = 1;
        goto out;
    }
    ac.listen_fd = fd;
    ac.threads = ACC_THREADS;
    ac.sched.interval_ns = (long long)cfg.interval_ms * 1000000LL;
    ac.sched.heartbeat_ns = (long long)cfg.heartbeat_s * 1000000000LL;
    ac.sched.grid_ns = sched_grid(ac.sched.interval_ns);
    ac.sndbuf = (int)cfg.max_backlog;
    ac.retry_ms = cfg.retry_ms;
    ac.max_streams = stats.max_streams;
    ac.stats = &stats;

    hub = hub_create(&ac.sched, &stats);
    if (!hub) {
        log_errno("creating the event loop", errno);
        status = 1;
        goto out;
    }
    ac.hub = hub;
    acc = acc_start(&ac);
    if (!acc) {
        log_errno("starting the accept threads", errno);
        hub_destroy(hub);
        status = 1;
        goto out;
    }

    lsn_describe(fd, where, sizeof where);
    log_info("%s %s on %s: interval %lu ms, retry %lu ms, heartbeat %lu s; "
             "max streams %lu, open files %lu (hard %lu), backlog %lu bytes, %d accept threads",
             PACKAGE_NAME, PACKAGE_VERSION, where, cfg.interval_ms, cfg.retry_ms,
             cfg.heartbeat_s, stats.max_streams, (unsigned long)nofile,
             (unsigned long)nofile_hard, cfg.max_backlog, ACC_THREADS);

    if (hub_run(hub, &stop_requested, &waitmask) < 0)
        status = 1;
    {
        long long deadline = monotime_ms() + SHUTDOWN_MS;
        unsigned long open = atomic_load(&stats.streams_open);

        /* From here a second signal must interrupt the shutdown. */
        int err_mask = pthread_sigmask(SIG_SETMASK, &waitmask, NULL);
        if (err_mask)
            log_errno("pthread_sigmask: a second signal will wait", err_mask);
        log_info("stopping: ending %lu open streams", open);
        acc_stop(acc);
        hub_close(hub, &stop_requested);
        if (acc_join(acc, deadline, &stop_requested) == 0)
            hub_destroy(hub);
        /* else threads may still be inside libfcgi: leave it to exit */
    }
    if (stop_requested > 1) {
        log_warn("second signal: exiting at once");
        status = 1;
    } else {
        log_info("stopped: %lu streams served, %lu events sent",
                 atomic_load(&stats.streams_total), atomic_load(&stats.events_sent));
    }
out:
    if (unix_path && unlink(unix_path) < 0)
        log_errno("removing the socket", errno);
    if (fd > 0)
        close(fd);
    return status;
}
