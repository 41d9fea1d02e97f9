/* app.h -- the responder's objects: made from the options around the listening socket, and freed */
#ifndef FCGI_SSE_SERVER_APP_H
#define FCGI_SSE_SERVER_APP_H

#include <signal.h>
#include <sys/resource.h>

#include "channels/history.h"
#include "channels/pub.h"
#include "http/auth.h"
#include "http/stats.h"
#include "server/dispatch.h"
#include "server/intake.h"
#include "server/options.h"

/* Everything the responder runs: made by the start_* steps, freed by app_free. */
struct app {
    struct opt_config cfg;
    struct stats stats;                  /* outlives everything that counts in it */
    sigset_t waitmask;                   /* the loop's wait mask (the stop signals, SIGCHLD) */
    struct auth_keys *publish_keys, *subscribe_keys;
    int fd;                              /* the listening socket */
    const char *unix_path;               /* its file, removed at exit (--listen unix:) */
    rlim_t nofile, nofile_hard;
    struct loop *loop;
    struct chan_engine *engine;
    struct history memory_history;
    struct history *history;             /* the channels': memory, or Redis's */
    struct pub_backend memory_backend;
    struct ctl_backend memory_ctl;
    struct mercure *mercure;             /* --mercure */
    struct redis *bus;                    /* --redis */
    struct counter *counter;
    struct feed *feed;                   /* .../status?stream=1 */
    struct subs *subs;
    struct expire *expire;
    struct processes *procs;                 /* --run, --openai */
    struct programs *runs;
    struct hub *hub;
    struct dispatch dispatch;
    struct intake_config ic;
    struct intake *intake;
};

/* The key files of --publish-key-file and --subscribe-key-file. 0, or -1 (logged). */
int app_load_keys(const struct opt_config *cfg, struct auth_keys **pub, struct auth_keys **sub);

/* The listening socket: --listen, else systemd's, else fd 0 (spawn-fcgi).
 * 0, or the exit status (logged). */
int app_open_socket(struct app *a);

/* Builds everything around the listening socket. 0, or -1 (logged). */
int app_start(struct app *a);

/* The start-up lines: what runs, with which bounds. */
void app_log_start(const struct app *a);

/* Frees what app_start made, in the reverse order (the hub before what its
 * streams hold); stop: a second signal interrupts the programs' shutdown. */
void app_free(struct app *a, const volatile sig_atomic_t *stop);

#endif
