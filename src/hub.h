/* hub.h -- the event loop: every open stream, its deadlines and its connection, in one thread */
#ifndef FCGI_SSE_HUB_H
#define FCGI_SSE_HUB_H

#include <signal.h>

#include "stats.h"
#include "stream.h"

struct hub;

/* Creates the loop (epoll + a deadline heap). NULL with errno on failure. */
struct hub *hub_create(const struct sched_params *p, struct stats *st);

/* Hands a begun stream to the loop. Thread-safe. 0: the hub owns s from
 * now on; -1: the hub is closing and the caller still owns s. */
int hub_adopt(struct hub *h, struct stream *s);

/* Runs the loop in the calling thread until *stop is nonzero. Writes each
 * stream's due events, ends streams that reach their limit, frees a
 * stream as soon as its connection hangs up, drops streams whose backlog
 * is full. Signals in `waitmask`'s complement wake it (epoll_pwait), so
 * the caller blocks them elsewhere. Returns 0, or -1 on a fatal error. */
int hub_run(struct hub *h, const volatile sig_atomic_t *stop, const sigset_t *waitmask);

/* Ends every stream cleanly and refuses further hub_adopt calls.
 * Returns early (leaving the rest to process exit) if *stop exceeds 1. */
void hub_close(struct hub *h, const volatile sig_atomic_t *stop);

/* Frees the loop; streams left are destroyed. */
void hub_destroy(struct hub *h);

#endif
