/* admit.h -- stream slots: who may open a stream, and how many the process can hold */
#ifndef FCGI_SSE_STREAM_ADMIT_H
#define FCGI_SSE_STREAM_ADMIT_H

#include "http/stats.h"
#include "stream/stream.h"

/* Takes a stream slot for a stream of kind k. Returns 1, counting the
 * stream in streams_open and streams_total and in those of its kind; or
 * 0 at max_streams, counting it in streams_refused (the caller answers
 * 503). */
int admit_take(struct stats *st, enum stats_kind k);

/* Gives back a slot taken by admit_take(st, k), once its stream is freed. */
void admit_give(struct stats *st, enum stats_kind k);

/* admit_give(arg, s->kind) for a hub's hooks (hub.h): arg is the struct stats. */
void admit_ended(void *arg, struct stream *s);

/* What one stream may cost at most, in bytes: our part of it (the
 * stream, libfcgi's 8 KB output writer) and the kernel's send buffer,
 * which SO_SNDBUF = sndbuf lets grow to twice that. */
unsigned long long admit_stream_cost(unsigned long sndbuf);

/* The default --max-streams: what `nofile` open files allow (fd_reserve
 * kept for everything else) and what `mem_budget` bytes allow at
 * `cost` bytes a stream, whichever is lower; at least 1. Pure. */
unsigned long admit_default_max(unsigned long long nofile, unsigned long fd_reserve,
                                unsigned long long mem_budget, unsigned long long cost);

/* The memory streams may use when no --max-memory is given: a quarter
 * of what this process may have (the cgroup's memory.max when one is
 * set, else physical memory). 0 when neither can be read. */
unsigned long long admit_memory_budget(void);

#endif
