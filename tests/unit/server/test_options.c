/* test_options.c -- unit tests of options: defaults, every option's forms and range edges, errors, repeated calls */
/* Limits of the helpers: run() copies each argv (at most 15 words) into a static arena
 * that is never reused (ARENA bytes in all; it aborts when full), so a config's listen
 * pointer stays valid and no call sees another call's words through getopt's internal
 * state; the repeated-call tests build their own argv on purpose. --help and --version
 * run with stdout sent to /dev/null (dup/dup2), so their text is not checked, only their
 * result; the TAP stream is flushed around them. */
#include "config.h"

#include "server/options.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#define MAX_WORDS 16
#define ARENA (256 * 1024)

static char err[256];

/* Copies word into the arena; never reused. */
static char *keep(const char *word)
{
    static char arena[ARENA];
    static size_t used;
    size_t n = strlen(word) + 1;
    char *p;

    if (n > ARENA - used)
        abort();
    p = arena + used;
    memcpy(p, word, n);
    used += n;
    return p;
}

/* Runs opt_parse on "fcgi-sse" followed by the NULL-terminated words. */
static enum opt_result run(struct opt_config *c, const char *const *words)
{
    static char *argv[MAX_WORDS + 1];
    int argc = 0;

    argv[argc++] = keep("fcgi-sse");
    for (; *words; words++) {
        if (argc >= MAX_WORDS)
            abort();
        argv[argc++] = keep(*words);
    }
    argv[argc] = NULL;
    memset(err, 0, sizeof err);
    return opt_parse(c, argc, argv, err, sizeof err);
}

#define RUN(c, ...) run((c), (const char *const[]){ __VA_ARGS__, NULL })
#define RUN0(c) run((c), (const char *const[]){ NULL })

/* OPT_ERROR with a non-empty one-line message containing all of must1..must3 (NULLs skipped). */
static void expect_error(const char *name, enum opt_result r, const char *must1,
                         const char *must2, const char *must3)
{
    ok(r == OPT_ERROR && err[0] && !strchr(err, '\n') && (!must1 || strstr(err, must1)) &&
           (!must2 || strstr(err, must2)) && (!must3 || strstr(err, must3)),
       "%s: OPT_ERROR, one line naming %s%s%s%s%s (got %d: \"%s\")", name, must1 ? must1 : "",
       must2 ? ", " : "", must2 ? must2 : "", must3 ? ", " : "", must3 ? must3 : "", (int)r, err);
}

static int is_default(const struct opt_config *c)
{
    return c->listen == NULL && c->socket_mode == 0660 && c->interval_ms == 1000 &&
           c->retry_ms == 3000 && c->heartbeat_s == 15 && c->max_streams == 0 &&
           c->max_backlog == 65536;
}

/* A numeric option: its names, range and field. */
struct numopt {
    const char *lng, *shrt;
    const char *min, *max;      /* the edges, as text */
    const char *below, *above;  /* just outside; below NULL when min is 0 */
    const char *mid;            /* some valid value */
    unsigned long minv, maxv, midv;
    size_t off;                 /* offsetof the unsigned long field */
};

static unsigned long field(const struct opt_config *c, size_t off)
{
    unsigned long v;

    memcpy(&v, (const char *)c + off, sizeof v);
    return v;
}

static void check_numopt(const struct numopt *o)
{
    static const char *junk[] = { "abc", "-1", "", "+1", " 1", "1 ", "1.5", "0x10", "1e3",
                                  "99999999999999999999999" };
    struct opt_config c;
    char joined[128], attached[128], name[160];
    size_t i;

    snprintf(joined, sizeof joined, "%s=%s", o->lng, o->mid);
    snprintf(attached, sizeof attached, "%s%s", o->shrt, o->mid);

    /* forms */
    ok(RUN(&c, o->lng, o->mid) == OPT_RUN && field(&c, o->off) == o->midv,
       "%s %s: accepted, value %lu", o->lng, o->mid, o->midv);
    ok(RUN(&c, o->shrt, o->mid) == OPT_RUN && field(&c, o->off) == o->midv,
       "%s %s: accepted, value %lu", o->shrt, o->mid, o->midv);
    ok(RUN(&c, joined) == OPT_RUN && field(&c, o->off) == o->midv, "%s: accepted, value %lu",
       joined, o->midv);
    ok(RUN(&c, attached) == OPT_RUN && field(&c, o->off) == o->midv, "%s: accepted, value %lu",
       attached, o->midv);

    /* edges */
    ok(RUN(&c, o->lng, o->min) == OPT_RUN && field(&c, o->off) == o->minv,
       "%s %s (the minimum): accepted", o->lng, o->min);
    ok(RUN(&c, o->lng, o->max) == OPT_RUN && field(&c, o->off) == o->maxv,
       "%s %s (the maximum): accepted", o->lng, o->max);
    if (o->below) {
        snprintf(name, sizeof name, "%s %s (below the minimum)", o->lng, o->below);
        expect_error(name, RUN(&c, o->lng, o->below), o->lng, o->min, o->max);
    }
    snprintf(name, sizeof name, "%s %s (above the maximum)", o->lng, o->above);
    expect_error(name, RUN(&c, o->lng, o->above), o->lng, o->min, o->max);
    snprintf(name, sizeof name, "%s %s (above the maximum, short form)", o->shrt, o->above);
    expect_error(name, RUN(&c, o->shrt, o->above), o->lng, o->min, o->max);

    /* not numbers */
    for (i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        snprintf(name, sizeof name, "%s \"%s\"", o->lng, junk[i]);
        expect_error(name, RUN(&c, o->lng, junk[i]), o->lng, o->min, o->max);
    }
    snprintf(joined, sizeof joined, "%s=", o->lng);
    snprintf(name, sizeof name, "%s (empty value)", joined);
    expect_error(name, RUN(&c, joined), o->lng, o->min, o->max);
}

/* Calls opt_parse with stdout sent to /dev/null; returns the result. */
static enum opt_result parse_quiet(struct opt_config *c, int argc, char **argv)
{
    enum opt_result r;
    int saved, devnull;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    devnull = open("/dev/null", O_WRONLY);
    if (saved < 0 || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0)
        abort();
    memset(err, 0, sizeof err);
    r = opt_parse(c, argc, argv, err, sizeof err);
    fflush(stdout);
    if (dup2(saved, STDOUT_FILENO) < 0)
        abort();
    close(saved);
    close(devnull);
    return r;
}

/* opt_parse of "fcgi-sse word", stdout silenced. */
static enum opt_result run_quiet(struct opt_config *c, const char *word)
{
    char *argv[] = { keep("fcgi-sse"), keep(word), NULL };

    return parse_quiet(c, 2, argv);
}

int main(void)
{
    static const struct numopt nums[] = {
        { "--interval", "-i", "1", "86400000", "0", "86400001", "250", 1, 86400000, 250,
          offsetof(struct opt_config, interval_ms) },
        { "--retry", "-r", "0", "86400000", NULL, "86400001", "5000", 0, 86400000, 5000,
          offsetof(struct opt_config, retry_ms) },
        { "--heartbeat", "-k", "0", "86400", NULL, "86401", "30", 0, 86400, 30,
          offsetof(struct opt_config, heartbeat_s) },
        { "--max-streams", "-m", "1", "1000000", "0", "1000001", "8000", 1, 1000000, 8000,
          offsetof(struct opt_config, max_streams) },
        { "--max-backlog", "-b", "4096", "67108864", "4095", "67108865", "1048576", 4096,
          67108864, 1048576, offsetof(struct opt_config, max_backlog) },
    };
    struct opt_config c;
    enum opt_result r;
    size_t i;

    /* ---- defaults */
    ok(RUN0(&c) == OPT_RUN, "no arguments: OPT_RUN");
    ok(is_default(&c),
       "defaults: listen NULL, socket_mode 0660, interval 1000, retry 3000, heartbeat 15, "
       "max_streams 0, max_backlog 65536");

    /* ---- --listen */
    ok(RUN(&c, "-l", "unix:/tmp/x.sock") == OPT_RUN && c.listen &&
           strcmp(c.listen, "unix:/tmp/x.sock") == 0,
       "-l unix:/tmp/x.sock");
    ok(RUN(&c, "--listen", ":9000") == OPT_RUN && c.listen && strcmp(c.listen, ":9000") == 0,
       "--listen :9000");
    ok(RUN(&c, "--listen=127.0.0.1:9001") == OPT_RUN && c.listen &&
           strcmp(c.listen, "127.0.0.1:9001") == 0,
       "--listen=127.0.0.1:9001");
    ok(RUN(&c, "-l:9002") == OPT_RUN && c.listen && strcmp(c.listen, ":9002") == 0,
       "-l:9002 (attached)");
    expect_error("--listen \"\"", RUN(&c, "--listen", ""), "--listen", NULL, NULL);
    expect_error("--listen= (empty)", RUN(&c, "--listen="), "--listen", NULL, NULL);

    /* ---- --socket-mode (octal) */
    ok(RUN(&c, "--socket-mode", "0600") == OPT_RUN && c.socket_mode == 0600,
       "--socket-mode 0600");
    ok(RUN(&c, "--socket-mode=644") == OPT_RUN && c.socket_mode == 0644, "--socket-mode=644");
    ok(RUN(&c, "--socket-mode", "0") == OPT_RUN && c.socket_mode == 0,
       "--socket-mode 0 (the minimum)");
    ok(RUN(&c, "--socket-mode", "0777") == OPT_RUN && c.socket_mode == 0777,
       "--socket-mode 0777 (the maximum)");
    ok(RUN(&c, "--socket-mode", "777") == OPT_RUN && c.socket_mode == 0777,
       "--socket-mode 777 is octal");
    {
        static const char *bad[] = { "01000", "1000", "0888", "8", "9", "abc", "-1", "",
                                     "+7", " 7", "7 ", "0x1ff", "07a" };
        char name[64];
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            snprintf(name, sizeof name, "--socket-mode \"%s\"", bad[i]);
            expect_error(name, RUN(&c, "--socket-mode", bad[i]), "--socket-mode", "0777",
                         NULL);
        }
    }
    expect_error("--socket-mode= (empty)", RUN(&c, "--socket-mode="), "--socket-mode", "0777",
                 NULL);

    /* ---- numeric options: forms, edges, junk */
    for (i = 0; i < sizeof nums / sizeof nums[0]; i++)
        check_numopt(&nums[i]);

    /* ---- several options at once */
    r = RUN(&c, "-l", "unix:/run/s", "--socket-mode=0600", "-i", "5", "-r0", "--heartbeat",
            "0", "-m", "10", "--max-backlog=8192");
    ok(r == OPT_RUN && c.listen && strcmp(c.listen, "unix:/run/s") == 0 &&
           c.socket_mode == 0600 && c.interval_ms == 5 && c.retry_ms == 0 &&
           c.heartbeat_s == 0 && c.max_streams == 10 && c.max_backlog == 8192,
       "every option at once, mixed forms");
    ok(RUN(&c, "-k0", "-i", "7") == OPT_RUN && c.heartbeat_s == 0 && c.interval_ms == 7 &&
           c.retry_ms == 3000,
       "two options: the others keep their defaults");

    /* ---- errors: unknown, missing value, positional */
    expect_error("unknown long option --bogus", RUN(&c, "--bogus"), "--bogus", NULL, NULL);
    expect_error("unknown long option --bogus=1", RUN(&c, "--bogus=1"), "--bogus", NULL, NULL);
    expect_error("unknown short option -z", RUN(&c, "-z"), "-z", NULL, NULL);
    expect_error("unknown option after a good one", RUN(&c, "-i", "5", "--nope"), "--nope", NULL,
                 NULL);
    expect_error("-i without a value", RUN(&c, "-i"), "-i", NULL, NULL);
    expect_error("--interval without a value", RUN(&c, "--interval"), "--interval", NULL, NULL);
    expect_error("--listen without a value", RUN(&c, "--listen"), "--listen", NULL, NULL);
    expect_error("--socket-mode without a value", RUN(&c, "--socket-mode"), "--socket-mode",
                 NULL, NULL);
    expect_error("stray positional argument", RUN(&c, "stray"), "stray", NULL, NULL);
    expect_error("stray positional argument after options", RUN(&c, "-i", "5", "stray"),
                 "stray", NULL, NULL);
    expect_error("positional argument after --", RUN(&c, "--", "stray"), "stray", NULL, NULL);
    expect_error("stray positional argument before options", RUN(&c, "stray", "-i", "5"),
                 "stray", NULL, NULL);

    /* a small err buffer: truncated, terminated, nothing written past errlen */
    {
        char small[16];
        char *argv[] = { (char *)"fcgi-sse", (char *)"--interval", (char *)"0", NULL };
        memset(small, 'Z', sizeof small);
        r = opt_parse(&c, 3, argv, small, 8);
        ok(r == OPT_ERROR && memchr(small, '\0', 8) && small[8] == 'Z' && small[15] == 'Z',
           "errlen 8: message cut to 8 bytes, NUL-terminated, nothing written past");
    }

    /* ---- repeated calls: opt_parse resets getopt and the config each time */
    ok(RUN(&c, "-i", "300") == OPT_RUN && c.interval_ms == 300 && RUN0(&c) == OPT_RUN &&
           is_default(&c),
       "repeated: a second call starts again from the defaults");
    r = RUN(&c, "--bogus");
    ok(r == OPT_ERROR && RUN(&c, "-i", "5") == OPT_RUN && c.interval_ms == 5,
       "repeated: a good call after an unknown long option");
    r = RUN(&c, "-i");
    ok(r == OPT_ERROR && RUN(&c, "-r", "6") == OPT_RUN && c.retry_ms == 6,
       "repeated: a good call after a missing value");
    r = RUN(&c, "-i", "5", "stray");
    ok(r == OPT_ERROR && RUN(&c, "-m", "3") == OPT_RUN && c.max_streams == 3,
       "repeated: a good call after a stray positional argument");
    r = RUN(&c, "-k0", "-z", "-i", "9");
    ok(r == OPT_ERROR && RUN(&c, "-k", "4") == OPT_RUN && c.heartbeat_s == 4,
       "repeated: a good call after an unknown short option");
    /* An error inside a cluster of short options: getopt stops in the middle of "-zq".
     * The next call, on a new argv, must not resume there (glibc needs optind = 0 for a
     * full reset; optind = 1 keeps its pointer into the old word). The old argv stays
     * alive and unchanged here, so this is well-defined either way. */
    {
        static char w0[] = "fcgi-sse", w1[] = "-zq", v0[] = "fcgi-sse", v1[] = "-i", v2[] = "8";
        char *first[] = { w0, w1, NULL }, *second[] = { v0, v1, v2, NULL };
        r = opt_parse(&c, 2, first, err, sizeof err);
        ok(r == OPT_ERROR && strstr(err, "-z"), "repeated: -zq refused naming -z (\"%s\")", err);
        r = parse_quiet(&c, 3, second);
        ok(r == OPT_RUN && c.interval_ms == 8,
           "repeated: -i 8 after an error inside the cluster -zq gives interval 8 (got result "
           "%d, \"%s\")",
           (int)r, err);
    }
    /* The caller reuses its argv buffer: "-h", then "--retry=9" in the same bytes. */
    {
        static char w0[] = "fcgi-sse", w1[16];
        char *argv[] = { w0, w1, NULL };
        strcpy(w1, "-h");
        r = parse_quiet(&c, 2, argv);
        ok(r == OPT_EXIT_OK, "repeated: -h in a reused argv buffer: OPT_EXIT_OK");
        strcpy(w1, "--retry=9");
        r = parse_quiet(&c, 2, argv);
        ok(r == OPT_RUN && c.retry_ms == 9,
           "repeated: then --retry=9 in the same buffer gives retry 9 (got result %d, \"%s\")",
           (int)r, err);
    }
    {
        int all = 1;
        int k;
        for (k = 0; k < 200; k++) {
            if (k % 2) {
                if (RUN(&c, "-b", "5000", "-x") != OPT_ERROR)
                    all = 0;
            } else if (RUN(&c, "--max-backlog", "4097") != OPT_RUN || c.max_backlog != 4097) {
                all = 0;
            }
        }
        ok(all, "repeated: 200 alternating good and bad calls");
    }

    /* ---- --help and --version, stdout silenced */
    ok(run_quiet(&c, "--help") == OPT_EXIT_OK, "--help: OPT_EXIT_OK");
    ok(run_quiet(&c, "-h") == OPT_EXIT_OK, "-h: OPT_EXIT_OK");
    ok(run_quiet(&c, "--version") == OPT_EXIT_OK, "--version: OPT_EXIT_OK");
    ok(run_quiet(&c, "-V") == OPT_EXIT_OK, "-V: OPT_EXIT_OK");
    ok(RUN(&c, "-i", "11") == OPT_RUN && c.interval_ms == 11, "a good call after --version");


    /* ---- programs */
    ok(RUN0(&c) == OPT_RUN && c.nrun == 0 && !c.openai && c.max_body == 1048576 &&
           c.max_line == 65536 && c.kill_after_s == 5 && c.run_timeout_s == 0 && c.max_runs == 0,
       "programs: defaults (none, 1M body, 64k line, kill after 5 s, no timeout, derived runs)");
    ok(RUN(&c, "--run", "a=/bin/true", "--run", "b.c-d_e=/usr/bin/env") == OPT_RUN &&
           c.nrun == 2 && strcmp(c.runs[0].name, "a") == 0 &&
           strcmp(c.runs[0].path, "/bin/true") == 0 && strcmp(c.runs[1].name, "b.c-d_e") == 0,
       "--run: two programs, in order");
    ok(RUN(&c, "--run", "a=/x=y") == OPT_RUN && strcmp(c.runs[0].path, "/x=y") == 0,
       "--run: the first = splits NAME from PROGRAM");
    {
        static const char *const bad[] = { "a", "=/bin/true", "..=/bin/true", ".=/bin/true",
                                           "a/b=/bin/true", "a b=/bin/true", "a=bin/true",
                                           "a=", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=/x" };
        size_t k;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
            ok(RUN(&c, "--run", bad[k]) == OPT_ERROR && strstr(err, "--run"),
               "--run %s: refused, naming --run", bad[k]);
    }
    ok(RUN(&c, "--run", "a=/x", "--run", "a=/y") == OPT_ERROR && strstr(err, "twice"),
       "--run: a NAME given twice is refused");
    ok(RUN(&c, "--openai", "/usr/bin/model") == OPT_RUN && strcmp(c.openai, "/usr/bin/model") == 0,
       "--openai: an absolute path");
    ok(RUN(&c, "--openai", "model") == OPT_ERROR, "--openai: a relative path is refused");
    ok(RUN(&c, "--max-body", "2M", "--max-line", "256", "--kill-after", "1", "--run-timeout",
           "2m", "--max-runs", "3") == OPT_RUN && c.max_body == 2097152 && c.max_line == 256 &&
           c.kill_after_s == 1 && c.run_timeout_s == 120 && c.max_runs == 3,
       "programs: --max-body 2M --max-line 256 --kill-after 1 --run-timeout 2m --max-runs 3");
    ok(RUN(&c, "--run-timeout", "0") == OPT_RUN && c.run_timeout_s == 0, "--run-timeout 0: off");
    ok(RUN(&c, "--max-body", "65M") == OPT_ERROR && RUN(&c, "--max-line", "255") == OPT_ERROR &&
           RUN(&c, "--kill-after", "0") == OPT_ERROR && RUN(&c, "--max-runs", "0") == OPT_ERROR,
       "programs: out of range values are refused");

    return done_testing();
}
