/* main.c -- fcgi-sse: the options, the signals, then the responder's objects (server/app.c) until a stop signal */
#include "config.h"

#include "cli/cli.h"
#include "core/log.h"
#include "core/loop.h"
#include "server/app.h"
#include "server/cgi.h"
#include "server/options.h"
#include "sources/process.h"
#include "stream/hub.h"

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

/* Runs the loop until a stop signal, then ends every stream and program.
 * The exit status: 0, or 1 (a fatal error, or a second signal). */
static int serve(struct app *a)
{
    int status = 0, err;

    if (loop_run(a->loop, &stop_requested, &a->waitmask) < 0)
        status = 1;
    /* From here a second signal must interrupt the shutdown. */
    err = pthread_sigmask(SIG_SETMASK, &a->waitmask, NULL);
    if (err)
        log_errno("pthread_sigmask: a second signal will wait", err);
    log_info("stopping: ending %lu open streams", a->stats.streams_open);
    intake_stop(a->intake);
    hub_close(a->hub, &stop_requested);
    process_shutdown(a->procs, &stop_requested, &a->waitmask); /* never leaves a child */
    if (stop_requested > 1) {
        log_warn("second signal: exiting at once");
        return 1;
    }
    log_info("stopped: %lu streams served, %lu events sent", a->stats.streams_total,
             a->stats.events_sent);
    return status;
}

/* The arguments: from argv, or as CGI from FCGI_SSE_OPTIONS (a server may
 * turn the client's query into argv: Apache even decodes and escapes it).
 * -1 to run, else the exit status. */
static int parse_options(struct app *a, int argc, char **argv, int cgi)
{
    static char *cgi_argv[CGI_ARGV_MAX], cgi_words[1024];
    char err[256];

    if (cgi) {
        argc = cgi_options(argv[0], getenv("FCGI_SSE_OPTIONS"), cgi_argv, CGI_ARGV_MAX,
                           cgi_words, sizeof cgi_words);
        if (argc < 0) {
            fprintf(stderr, "%s: FCGI_SSE_OPTIONS: more than %d words or %zu bytes\n",
                    argv[0], CGI_ARGV_MAX - 2, sizeof cgi_words - 1);
            return 2;
        }
        argv = cgi_argv;
    }
    switch (opt_parse(&a->cfg, argc, argv, err, sizeof err)) {
    case OPT_EXIT_OK:
        return 0;
    case OPT_ERROR:
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    case OPT_RUN:
        break;
    }
    return -1;
}

/* What every mode needs first: the log, one malloc arena, the signals,
 * libfcgi, SIGPIPE ignored. 0, or -1 (logged). */
static int setup_process(struct app *a, const char *prog)
{
    struct sigaction ign;
    int rc;

    log_init(prog);
    /* One malloc arena: memory freed when clients leave returns to the kernel. */
    if (mallopt(M_ARENA_MAX, 1) != 1)
        log_warn("mallopt(M_ARENA_MAX) failed: memory may stay high after clients leave");
    if (setup_signals(&a->waitmask) < 0) {
        log_errno("installing signal handlers", errno);
        return -1;
    }
    rc = FCGX_Init();
    if (rc != 0) {
        log_error("FCGX_Init failed (%d)", rc);
        return -1;
    }
    /* A client that leaves must end its stream, not the process. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &ign, NULL) < 0) {
        log_errno("ignoring SIGPIPE", errno);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct app app; /* static: reachable at an early exit */
    int cgi, rc, status;

    /* libcrypto is used for digests, HMAC and the channels' SipHash: nothing an
     * openssl.cnf should change, and the service's sandbox need not read one */
    if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
        fprintf(stderr, "%s: OPENSSL_init_crypto failed\n", argv[0]);
        return 1;
    }
    rc = cli_main(argc, argv);
    if (rc >= 0)
        return rc; /* a command: sign, publish */
    cgi = cgi_detect();
    rc = parse_options(&app, argc, argv, cgi);
    if (rc >= 0)
        return rc;
    if (setup_process(&app, argv[0]) < 0)
        return 1;
    if (cgi)
        return cgi_serve(&app.cfg, &stop_requested, &app.waitmask);
    if (app_load_keys(&app.cfg, &app.publish_keys, &app.subscribe_keys) < 0)
        return 1;
    rc = app_open_socket(&app);
    if (rc)
        return rc;
    if (geteuid() == 0)
        log_warn("running as root: a responder needs no privileges; run it as its own "
                 "user (spawn-fcgi -u/-g, systemd DynamicUser=)");
    if (app_start(&app) == 0) {
        app_log_start(&app);
        status = serve(&app);
        if (status && stop_requested > 1)
            goto out_now;
    } else {
        status = 1;
    }
    app_free(&app, &stop_requested);
out_now:
    if (app.unix_path && unlink(app.unix_path) < 0)
        log_errno("removing the socket", errno);
    if (app.fd > 0)
        close(app.fd);
    return status;
}
