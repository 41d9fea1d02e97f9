/* ctl.c -- the request controller: from a parsed request to an answer, a publish or an admitted stream */
#include "config.h"

#include "ctl.h"
#include "admit.h"
#include "monotime.h"
#include "pub.h"
#include "route.h"

#include <string.h>

static enum ctl_result answered(int rc)
{
    return rc < 0 ? CTL_GONE : CTL_ANSWERED;
}

/* A private: channel needs a signed URL (EventSource can send neither a
 * header nor a body). 1 when r may subscribe, else 0 with *why. */
static int may_subscribe(const struct ctl *c, const struct req *r, const char **why)
{
    const char *names[CHAN_SUB_MAX];
    unsigned i, private = 0;

    for (i = 0; i < r->nchan; i++) {
        names[i] = r->chans[i];
        private |= strncmp(r->chans[i], "private:", 8) == 0;
    }
    if (!private)
        return 1;
    if (!c->subscribe_keys) {
        *why = "private channels need the responder's --subscribe-key-file";
        return 0;
    }
    if (!r->expires[0] || !r->sig[0]) {
        *why = "a private channel needs a signed URL: expires= and sig=";
        return 0;
    }
    return auth_sig_ok(c->subscribe_keys, r->expires, r->sig, names, r->nchan,
                       wallclock_ms() / 1000, why);
}

enum ctl_result ctl_serve(const struct ctl *c, req_param_fn get, void *ctx, const char *body,
                          size_t body_len, int body_too_big, const struct resp_sink *o,
                          struct req *r)
{
    const char *why = NULL;
    int rc;

    req_parse(r, get, ctx);
    if ((r->route == REQ_EVENTS || r->route == REQ_PUBLISH) && !c->engine && r->status == 200)
        return answered(resp_error(o, 404, "channels need fcgi-sse as a FastCGI responder: "
                                           "one process holds them", 0, r->head));
    if (r->route == REQ_PUBLISH && r->status == 200)
        return answered(pub_serve(c, r, get, ctx, body, body_len, body_too_big, o));
    if (r->route == REQ_EVENTS && r->status == 200 && !may_subscribe(c, r, &why))
        return answered(resp_error(o, 403, why, 0, r->head));
    rc = route_answer(r, o, c->stats, c->retry_ms);
    if (rc != 1)
        return answered(rc);
    if (body_too_big)
        return answered(resp_error(o, 413, "a stream request carries no body", 0, 0));
    if (!admit_take(c->stats))
        return answered(route_refuse(o, c->retry_ms, 0));
    if (resp_stream_head(o, c->retry_ms, 0) < 0) {
        admit_give(c->stats);
        return CTL_GONE;
    }
    return r->route == REQ_EVENTS ? CTL_SUBSCRIBE : CTL_STREAM;
}
