/* test_pub.c -- unit tests of pub: who may publish or chat, each refusal in its own words */
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

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    if (snprintf(dir, sizeof dir, "%s/test_pub.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof dir ||
        !mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    test_who_may();
    if (unlink(path) < 0 || rmdir(dir) < 0)
        diag("cannot remove %s: %s", dir, strerror(errno));
    return done_testing();
}
