/* acc.h -- the accept side: threads that take requests with libfcgi and answer or hand them to the hub */
#ifndef FCGI_SSE_ACC_H
#define FCGI_SSE_ACC_H

#include <signal.h>

#include "hub.h"
#include "peer.h"
#include "sched.h"
#include "stats.h"

struct acc_config {
    int listen_fd;              /* non-blocking listening socket */
    unsigned threads;           /* accept threads */
    struct sched_params sched;
    int sndbuf;                 /* backlog cap of each stream */
    unsigned long retry_ms;
    unsigned long max_streams;
    struct peer_acl acl;        /* FCGI_WEB_SERVER_ADDRS */
    struct hub *hub;
    struct stats *stats;
};

struct acc;

/* Starts the accept threads. They inherit the caller's signal mask: block
 * the signals the hub waits for first. NULL with errno on failure. */
struct acc *acc_start(const struct acc_config *cfg);

/* Tells every thread to stop accepting; each finishes the request in hand
 * (a stream it was starting is ended cleanly, the hub being closed). */
void acc_stop(struct acc *a);

/* Waits for the threads until deadline_ms (CLOCK_MONOTONIC) or *stop > 1.
 * Returns 0 when all ended (and frees a), -1 otherwise (a stays allocated
 * for the rest of the process: its threads may still run). */
int acc_join(struct acc *a, long long deadline_ms, const volatile sig_atomic_t *stop);

#endif
