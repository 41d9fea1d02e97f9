/* expire.h -- channel history past --history-ttl dropped on a timer, without waiting for the next publish or subscribe */
#ifndef FCGI_SSE_CHANNELS_EXPIRE_H
#define FCGI_SSE_CHANNELS_EXPIRE_H

struct loop;
struct chan_engine;
struct expire;

/* Starts dropping e's messages once older than ttl_ms (e's --history-ttl,
 * at least 1 s): a timer at the oldest message's expiry (with no message,
 * one TTL ahead: no message stored meanwhile can expire before it). Their
 * memory goes back, and /status's history_bytes and channels say so, even
 * on a channel nobody publishes to any more. NULL on ENOMEM. */
struct expire *expire_create(struct loop *l, struct chan_engine *e, unsigned long long ttl_ms);

/* Takes the timer out of the loop and frees x. */
void expire_destroy(struct expire *x);

#endif
