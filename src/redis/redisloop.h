/* redisloop.h -- hiredis's async API driven by the responder's epoll loop (its adapter hooks) */
#ifndef FCGI_SSE_REDIS_REDISLOOP_H
#define FCGI_SSE_REDIS_REDISLOOP_H

#include <hiredis/async.h>

#include "core/loop.h"

/* Hooks ac (fresh from redisAsyncConnect*, nothing sent yet) into loop l:
 * hiredis's addRead/delRead/addWrite/delWrite add and remove EPOLLIN and
 * EPOLLOUT for ac's fd, whose events call redisAsyncHandleRead/Write;
 * cleanup (when hiredis frees ac) takes the fd out of the loop. hiredis
 * 0.14 has no timer hook: connect and command timeouts are the caller's,
 * with loop timers. The adapter's state is freed with ac, never while its
 * own handler runs. 0, or -1 (ENOMEM, or ac already has an adapter). */
int redisloop_attach(redisAsyncContext *ac, struct loop *l);

#endif
