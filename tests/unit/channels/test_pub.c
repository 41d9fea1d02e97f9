/* test_pub.c -- unit tests of pub: who may publish or chat, each refusal in its own words; a
 * message's checks (403, 413, 400) and the answer of a publish, written to a recording sink */
/* The key file is written to a fresh directory under $TMPDIR (or /tmp), removed at the end. */
#include "config.h"

#include "channels/pub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "sink.h"
#include "tap.h"

static char dir[4096];
static char path[4200];

/* Writes s to dir/name with mode, and loads it as the responder loads a key file (strict).
 * Aborts when the file cannot be written (a broken test setup). */
static struct auth_keys *load(const char *name, const char *s, mode_t mode, int *warned,
                              char *err, size_t errlen)
{
    int fd;
    size_t len = strlen(s);

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        abort();
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, s, len) != (ssize_t)len || fchmod(fd, mode) < 0 || close(fd) < 0) {
        perror(path);
        abort();
    }
    return auth_keys_load(path, 1, err, errlen, warned);
}

/* The request's params for pub_may / pub_chat_may: Authorization and REMOTE_USER. */
struct who {
    const char *authorization, *user;
};

static const char *who_param(const char *name, void *ctx)
{
    const struct who *w = ctx;
    return strcmp(name, "HTTP_AUTHORIZATION") == 0 ? w->authorization
           : strcmp(name, "REMOTE_USER") == 0      ? w->user
                                                   : NULL;
}

/* Each refusal of /publish and /chat/completions, in its own words. */
static void test_who_may(void)
{
    char err[256];
    int warned;
    struct auth_keys *k = load("who", "s3cret-key-0123456\n", 0600, &warned, err, sizeof err);
    struct pub_config c;
    struct who key = { "Bearer s3cret-key-0123456", NULL }, wrong = { "Bearer nope", NULL };
    struct who user = { NULL, "alice" }, nobody = { NULL, NULL };
    const char *why;

    if (!ok(k != NULL, "who may: keys load"))
        return;
    memset(&c, 0, sizeof c);
    why = NULL;
    ok(!pub_may(&c, who_param, &key, &why) && why &&
           strcmp(why, "publishing is off: the responder has neither --publish-key-file nor "
                       "--publish-remote-user") == 0,
       "publish, neither option: off (%s)", why ? why : "NULL");
    why = NULL;
    ok(!pub_chat_may(&c, who_param, &key, &why) && why && strncmp(why, "chat is off: ", 13) == 0,
       "chat, neither option: its own reason (%s)", why ? why : "NULL");

    c.keys = k;
    ok(pub_may(&c, who_param, &key, &why) && pub_chat_may(&c, who_param, &key, &why),
       "a key of the file: may publish and chat");
    why = NULL;
    ok(!pub_chat_may(&c, who_param, &wrong, &why) && why &&
           strcmp(why, "chat needs Authorization: Bearer KEY with a key of the responder's "
                       "--publish-key-file") == 0,
       "chat, a wrong key: names chat (%s)", why ? why : "NULL");
    why = NULL;
    ok(!pub_may(&c, who_param, &wrong, &why) && why && strncmp(why, "publishing needs ", 17) == 0,
       "publish, a wrong key: names publishing (%s)", why ? why : "NULL");
    why = NULL;
    ok(!pub_chat_may(&c, who_param, &user, &why) && why,
       "key file only: a REMOTE_USER is not enough to chat");

    c.remote_user = 1;
    ok(pub_chat_may(&c, who_param, &user, &why), "with --publish-remote-user: a user may chat");
    why = NULL;
    ok(!pub_chat_may(&c, who_param, &nobody, &why) && why &&
           strcmp(why, "chat needs Authorization: Bearer KEY or a user the web server "
                       "authenticated") == 0,
       "chat, key file and remote user, neither given: (%s)", why ? why : "NULL");

    c.keys = NULL;
    why = NULL;
    ok(!pub_chat_may(&c, who_param, &key, &why) && why &&
           strcmp(why, "chat needs a user the web server authenticated") == 0,
       "chat, remote user only, a key given: (%s)", why ? why : "NULL");
    why = NULL;
    ok(!pub_may(&c, who_param, &nobody, &why) && why &&
           strcmp(why, "publishing needs a user the web server authenticated") == 0,
       "publish, remote user only, none given: (%s)", why ? why : "NULL");
    auth_keys_free(k);
}

/* The checks of a message, in their order: who, size, text. */
static void test_check(void)
{
    char err[256];
    int warned;
    struct auth_keys *k = load("check", "s3cret-key-0123456\n", 0600, &warned, err, sizeof err);
    struct pub_config c;
    struct who key = { "Bearer s3cret-key-0123456", NULL }, wrong = { "Bearer nope", NULL };

    if (!ok(k != NULL, "check: keys load"))
        return;
    memset(&c, 0, sizeof c);
    c.keys = k;
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &key, "hello", 5, 0, &o) == 1 && s.len == 0,
           "check: a key and UTF-8 text: 1, nothing written");
    }
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &key, NULL, 0, 0, &o) == 1 && s.len == 0,
           "check: an empty message may be published");
    }
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &wrong, "hello", 5, 0, &o) == 0 &&
               strncmp(s.buf, "Status: 403 ", 12) == 0 && sink_body(&s) &&
               strncmp(sink_body(&s), "publishing needs ", 17) == 0,
           "check: a wrong key: 403 with why (%s)", shown(s.buf));
    }
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &wrong, "\xff", 1, 1, &o) == 0 &&
               strncmp(s.buf, "Status: 403 ", 12) == 0,
           "check: who comes first: a wrong key with a message too big and not UTF-8 is 403");
    }
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &key, "\xff", 1, 1, &o) == 0 &&
               strncmp(s.buf, "Status: 413 ", 12) == 0 && strstr(s.buf, "--max-message"),
           "check: too big: 413, naming --max-message, before the text is looked at (%s)",
           shown(s.buf));
    }
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &key, "caf\xc3", 4, 0, &o) == 0 &&
               strncmp(s.buf, "Status: 400 ", 12) == 0 && strstr(s.buf, "UTF-8"),
           "check: a cut UTF-8 character: 400, naming UTF-8 (%s)", shown(s.buf));
    }
    {
        SINK(s, o);
        ok(pub_check(&c, who_param, &key, "a\0b", 3, 0, &o) == 0 &&
               strncmp(s.buf, "Status: 400 ", 12) == 0,
           "check: a NUL in the message: 400");
    }
    {
        SINK(s, o);
        s.fail = 1;
        ok(pub_check(&c, who_param, &wrong, "hello", 5, 0, &o) == -1,
           "check: a refusal that cannot be written: -1");
    }
    auth_keys_free(k);
}

/* The answer of a publish: 200, JSON with the id, the channel and the subscribers. */
static void test_answer(void)
{
    struct msgid id = { 1700000000000ULL, 3 };
    json_t *j;
    char clen[64];
    const char *body;

    {
        SINK(s, o);
        ok(pub_answer(&o, id, "news", 2) == 0 && strncmp(s.buf, "Status: 200 OK\r\n", 16) == 0 &&
               sink_has_header(&s, "Content-Type: application/json") && s.flushed == s.len,
           "answer: 200, application/json, flushed");
        body = sink_body(&s);
        snprintf(clen, sizeof clen, "Content-Length: %zu", body ? strlen(body) : 0);
        ok(body && sink_has_header(&s, clen), "answer: %s", clen);
        j = body ? json_loads(body, 0, NULL) : NULL;
        ok(j && json_object_size(j) == 3 &&
               strcmp(json_string_value(json_object_get(j, "id")), "1700000000000-3") == 0 &&
               strcmp(json_string_value(json_object_get(j, "channel")), "news") == 0 &&
               json_integer_value(json_object_get(j, "subscribers")) == 2,
           "answer: {\"id\":\"1700000000000-3\",\"channel\":\"news\",\"subscribers\":2} (%s)",
           body ? body : "none");
        json_decref(j);
    }
    {
        SINK(s, o);
        s.fail = 1;
        ok(pub_answer(&o, id, "news", 0) == -1, "answer: a peer that left: -1");
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    if (snprintf(dir, sizeof dir, "%s/test_pub.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof dir ||
        !mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    test_who_may();
    test_check();
    test_answer();
    {
        static const char *names[] = { "who", "check" };
        size_t i;

        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path &&
                unlink(path) < 0 && errno != ENOENT)
                diag("cannot remove %s: %s", path, strerror(errno));
        if (rmdir(dir) < 0)
            diag("cannot remove %s: %s", dir, strerror(errno));
    }
    return done_testing();
}
