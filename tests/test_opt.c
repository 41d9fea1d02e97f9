/* test_opt.c -- unit tests of opt: defaults, every option's forms and range edges, errors.
 * Limits of the helpers: argv is built from string literals (at most 8 words); --help and
 * --version are not run here (they print to stdout, which is the TAP stream). */
#include "config.h"

#include "opt.h"

#include <string.h>

#include "tap.h"

static char err[256];

static enum opt_result run(struct opt_config *c, const char *a1, const char *a2, const char *a3)
{
    char *argv[8] = { (char *)"fcgi-sse", (char *)a1, (char *)a2, (char *)a3, NULL };
    int argc = 1;

    while (argc < 4 && argv[argc])
        argc++;
    err[0] = '\0';
    return opt_parse(c, argc, argv, err, sizeof err);
}

/* value must be accepted by name (and read back by get), or refused naming `name`. */
static void edge(const char *opt, const char *value, int accept, const char *name)
{
    struct opt_config c;
    enum opt_result r = run(&c, opt, value, NULL);

    if (accept)
        ok(r == OPT_RUN, "%s %s accepted", opt, value);
    else
        ok(r == OPT_ERROR && strstr(err, name) && strstr(err, " to ") && !strchr(err, '\n'),
           "%s '%s' refused, naming %s and its range", opt, value, name);
}

int main(void)
{
    struct opt_config c;

    ok(run(&c, NULL, NULL, NULL) == OPT_RUN, "no options");
    ok(c.listen == NULL && c.socket_mode == 0660 && c.interval_ms == 1000 && c.retry_ms == 3000 &&
           c.heartbeat_s == 15 && c.max_streams == 0 && c.max_backlog == 65536,
       "defaults");

    ok(run(&c, "-l", "unix:/tmp/x", NULL) == OPT_RUN && strcmp(c.listen, "unix:/tmp/x") == 0, "-l");
    ok(run(&c, "--listen", ":9000", NULL) == OPT_RUN && strcmp(c.listen, ":9000") == 0, "--listen");
    ok(run(&c, "--listen=127.0.0.1:9", NULL, NULL) == OPT_RUN &&
           strcmp(c.listen, "127.0.0.1:9") == 0, "--listen=ADDR");
    ok(run(&c, "-l", "", NULL) == OPT_ERROR && strstr(err, "--listen"), "empty --listen refused");
    ok(run(&c, "--socket-mode", "0600", NULL) == OPT_RUN && c.socket_mode == 0600, "--socket-mode");
    ok(run(&c, "-i", "200", NULL) == OPT_RUN && c.interval_ms == 200, "-i");
    ok(run(&c, "--interval=250", NULL, NULL) == OPT_RUN && c.interval_ms == 250, "--interval=");
    ok(run(&c, "-r", "0", NULL) == OPT_RUN && c.retry_ms == 0, "-r");
    ok(run(&c, "--retry", "5000", NULL) == OPT_RUN && c.retry_ms == 5000, "--retry");
    ok(run(&c, "-k", "0", NULL) == OPT_RUN && c.heartbeat_s == 0, "-k 0 turns heartbeats off");
    ok(run(&c, "--heartbeat", "30", NULL) == OPT_RUN && c.heartbeat_s == 30, "--heartbeat");
    ok(run(&c, "-m", "8000", NULL) == OPT_RUN && c.max_streams == 8000, "-m");
    ok(run(&c, "--max-streams", "1", NULL) == OPT_RUN && c.max_streams == 1, "--max-streams");
    ok(run(&c, "-b", "4096", NULL) == OPT_RUN && c.max_backlog == 4096, "-b");
    ok(run(&c, "--max-backlog", "1048576", NULL) == OPT_RUN && c.max_backlog == 1048576,
       "--max-backlog");
    ok(run(&c, "-i", "5", "-k0") == OPT_RUN && c.interval_ms == 5 && c.heartbeat_s == 0,
       "several options, joined short form");

    edge("--interval", "1", 1, "--interval");
    edge("--interval", "86400000", 1, "--interval");
    edge("--interval", "0", 0, "--interval");
    edge("--interval", "86400001", 0, "--interval");
    edge("-i", "-1", 0, "--interval");
    edge("-i", "1.5", 0, "--interval");
    edge("-i", "", 0, "--interval");
    edge("--retry", "0", 1, "--retry");
    edge("--retry", "86400000", 1, "--retry");
    edge("--retry", "86400001", 0, "--retry");
    edge("-r", "abc", 0, "--retry");
    edge("--heartbeat", "86400", 1, "--heartbeat");
    edge("--heartbeat", "86401", 0, "--heartbeat");
    edge("-k", "-5", 0, "--heartbeat");
    edge("--max-streams", "1000000", 1, "--max-streams");
    edge("--max-streams", "0", 0, "--max-streams");
    edge("--max-streams", "1000001", 0, "--max-streams");
    edge("--max-backlog", "4095", 0, "--max-backlog");
    edge("--max-backlog", "67108864", 1, "--max-backlog");
    edge("--max-backlog", "67108865", 0, "--max-backlog");
    edge("--socket-mode", "0", 1, "--socket-mode");
    edge("--socket-mode", "777", 1, "--socket-mode");
    edge("--socket-mode", "1000", 0, "--socket-mode");
    edge("--socket-mode", "0888", 0, "--socket-mode");
    edge("--socket-mode", "abc", 0, "--socket-mode");
    edge("--socket-mode", "-1", 0, "--socket-mode");
    edge("--socket-mode", "", 0, "--socket-mode");

    ok(run(&c, "--bogus", NULL, NULL) == OPT_ERROR && strstr(err, "--bogus"),
       "unknown long option named: %s", err);
    ok(run(&c, "-x", NULL, NULL) == OPT_ERROR && strstr(err, "-x"), "unknown short option named");
    ok(run(&c, "-i", NULL, NULL) == OPT_ERROR && strstr(err, "-i") && strstr(err, "value"),
       "missing value: %s", err);
    ok(run(&c, "--interval", NULL, NULL) == OPT_ERROR && strstr(err, "--interval"),
       "missing value of a long option");
    ok(run(&c, "stray", NULL, NULL) == OPT_ERROR && strstr(err, "stray"), "positional refused");
    ok(run(&c, "-i", "300", NULL) == OPT_RUN && c.interval_ms == 300 &&
           run(&c, NULL, NULL, NULL) == OPT_RUN && c.interval_ms == 1000,
       "parsing again starts from the defaults");
    return done_testing();
}
