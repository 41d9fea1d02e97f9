/* ctl.c -- the request controller: from a parsed request to an answer or an admitted stream */
#include "config.h"

#include "ctl.h"
#include "admit.h"
#include "route.h"

enum ctl_result ctl_serve(const struct ctl *c, req_param_fn get, void *ctx, int body_too_big,
                          const struct resp_sink *o, struct req *r)
{
    int rc;

    req_parse(r, get, ctx);
    rc = route_answer(r, o, c->stats, c->retry_ms);
    if (rc != 1)
        return rc < 0 ? CTL_GONE : CTL_ANSWERED;
    if (body_too_big)
        return resp_error(o, 413, "a stream request carries no body", 0, 0) < 0 ? CTL_GONE
                                                                                 : CTL_ANSWERED;
    if (!admit_take(c->stats))
        return route_refuse(o, c->retry_ms, 0) < 0 ? CTL_GONE : CTL_ANSWERED;
    if (resp_stream_head(o, c->retry_ms, 0) < 0) {
        admit_give(c->stats);
        return CTL_GONE;
    }
    return CTL_STREAM;
}
