/* options.c -- command-line options: one table of rows drives parsing, validation and --help */
#include "config.h"

#include "server/options.h"
#include "redis/redisurl.h"
#include "core/text.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind {
    K_FLAG,        /* no value: the int field becomes 1 */
    K_TEXT,        /* a value that is not empty */
    K_ABSPATH,     /* an absolute path */
    K_NUMBER,      /* decimal digits in [min, max] */
    K_SIZE,        /* bytes: digits, or with k, M or G, in [min, max] */
    K_SECONDS,     /* seconds: digits, or with s, m, h or d, in [min, max]; 0 too when min is 0 */
    K_OCTAL,       /* a file mode, octal, in [min, max] */
    K_CUSTOM       /* parsed by the row's own function */
};

/* One option: its names, what it takes, where it goes, and its help. */
struct opt_row {
    const char *name;              /* --name */
    int letter;                    /* -x, or 0 */
    enum opt_kind kind;
    size_t offset, size;           /* its field in struct opt_config */
    unsigned long long min, max;   /* numbers: the range */
    unsigned long long dflt;       /* numbers: the default */
    const char *arg;               /* the value's name in --help (NULL for a flag) */
    const char *unit;              /* numbers: what they count, in a refusal ("milliseconds") */
    const char *group;             /* a heading of --help that this row opens, or NULL */
    const char *help;              /* what it does */
    const char *dflt_text;         /* the default in --help when it is not the number */
    int (*custom)(struct opt_config *cfg, const char *arg, char *err, size_t errlen);
};

#define FIELD(f) offsetof(struct opt_config, f), sizeof(((struct opt_config *)0)->f)
#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)
#define DAYS (86400ULL)

static int run_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen);
static int redis_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen);
static int protocol_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen);
static int cors_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen);

static const struct opt_row rows[] = {
    { "listen", 'l', K_TEXT, FIELD(listen), 0, 0, 0, "ADDR", NULL,
      "Socket: --listen, else a systemd socket unit (LISTEN_FDS), else fd 0 as a listening "
      "socket (spawn-fcgi, mod_fcgid). As CGI (GATEWAY_INTERFACE set, fd 0 no listening "
      "socket) one request is served and options are read from FCGI_SSE_OPTIONS, never from "
      "the arguments.",
      "open our own socket: unix:/path, HOST:PORT, [V6]:PORT or :PORT (:PORT binds 127.0.0.1)",
      NULL, NULL },
    { "socket-mode", 0, K_OCTAL, FIELD(socket_mode), 0, 0777, 0660, "MODE", "an octal mode",
      NULL, "octal mode of a unix socket", "0660", NULL },
    { "socket-group", 0, K_TEXT, FIELD(socket_group), 0, 0, 0, "GROUP", NULL, NULL,
      "group of a unix socket (name or number), so that the web server's group can connect "
      "and no one else", NULL, NULL },
    { "interval", 'i', K_NUMBER, FIELD(interval_ms), 1, 86400000, 1000, "MS", "milliseconds",
      "Stream:", "time between events", NULL, NULL },
    { "retry", 'r', K_NUMBER, FIELD(retry_ms), 0, 86400000, 3000, "MS", "milliseconds", NULL,
      "retry: sent to clients", NULL, NULL },
    { "heartbeat", 'k', K_NUMBER, FIELD(heartbeat_s), 0, 86400, 15, "S", "seconds", NULL,
      "a comment after S seconds without output, 0 = off", NULL, NULL },
    { "max-streams", 'm', K_NUMBER, FIELD(max_streams), 1, 1000000, 0, "N", "a number", NULL,
      "open streams at most; more get 503",
      "what the open-files limit and --max-memory allow", NULL },
    { "max-memory", 0, K_NUMBER, FIELD(max_memory_mb), 1, 1048576, 0, "MB", "megabytes", NULL,
      "memory open streams may take in all, counting each at its most (libfcgi's writer and "
      "a full send buffer)", "a quarter of the memory this process may have", NULL },
    { "max-backlog", 'b', K_NUMBER, FIELD(max_backlog), 4096, 67108864, 65536, "BYTES", "bytes",
      NULL, "unsent bytes a stream may queue before it is dropped as too slow", NULL, NULL },
    { "history", 0, K_NUMBER, FIELD(history), 1, 1000000, 1000, "N", "a number of messages",
      "Channels (.../events?channel=NAME, POST .../publish?channel=NAME):",
      "messages kept per channel", NULL, NULL },
    { "history-ttl", 0, K_SECONDS, FIELD(history_ttl_s), 1, 365 * DAYS, 3600, "T", NULL, NULL,
      "none older than T", NULL, NULL },
    { "history-bytes", 0, K_SIZE, FIELD(history_bytes), 64 * KIB, 1024 * GIB, 64 * MIB, "B",
      NULL, NULL, "all channels' history at most (and what slow subscribers still write of "
      "it), oldest dropped first", NULL, NULL },
    { "max-message", 0, K_SIZE, FIELD(max_message), 1, 16 * MIB, 64 * KIB, "B", NULL, NULL,
      "a published message at most; more gets 413", NULL, NULL },
    { "max-channels", 0, K_NUMBER, FIELD(max_channels), 1, 10000000, 100000, "N",
      "a number of channels", NULL,
      "channels at most; a subscribe or publish that would make one more gets 503", NULL,
      NULL },
    { "publish-key-file", 0, K_TEXT, FIELD(publish_key_file), 0, 0, 0, "FILE", NULL, NULL,
      "may publish: Authorization: Bearer KEY with KEY a line of FILE", NULL, NULL },
    { "publish-remote-user", 0, K_FLAG, FIELD(publish_remote_user), 0, 0, 0, NULL, NULL, NULL,
      "may publish: a user the web server authenticated (REMOTE_USER); without these two, "
      "no one may", NULL, NULL },
    { "subscribe-key-file", 0, K_TEXT, FIELD(subscribe_key_file), 0, 0, 0, "FILE", NULL, NULL,
      "keys that sign private: subscriptions", NULL, NULL },
    { "redis", 0, K_CUSTOM, FIELD(redis), 0, 0, 0, "URL", NULL, NULL,
      "channels in Redis, shared by every responder using it: "
      "redis://[user:password@]host[:port][/db] or unix:/path (ids, history and resume "
      "from Redis)", NULL, redis_arg },
    { "redis-password-file", 0, K_TEXT, FIELD(redis_password_file), 0, 0, 0, "FILE", NULL,
      NULL, "Redis's password: the first line of FILE (with --redis)", NULL, NULL },
    { "run", 0, K_CUSTOM, FIELD(runs), 0, 0, 0, "NAME=PROGRAM", NULL,
      "Programs (GET or POST .../run/NAME; POST .../chat/completions):",
      "PROGRAM (an absolute path) runs for .../run/NAME; each line of its stdout is an event "
      "(repeatable)", NULL, run_arg },
    { "openai", 0, K_ABSPATH, FIELD(openai), 0, 0, 0, "PROGRAM", NULL, NULL,
      "PROGRAM answers POST .../chat/completions: its stdout becomes OpenAI "
      "chat.completion.chunk events; who may: as publishing (key file, REMOTE_USER)", NULL,
      NULL },
    { "max-body", 0, K_SIZE, FIELD(max_body), 1, 64 * MIB, MIB, "B", NULL, NULL,
      "a program's request body at most; more gets 413", NULL, NULL },
    { "max-line", 0, K_SIZE, FIELD(max_line), 256, 16 * MIB, 64 * KIB, "B", NULL, NULL,
      "an output line at most; longer ones are cut", NULL, NULL },
    { "kill-after", 0, K_NUMBER, FIELD(kill_after_s), 1, 3600, 5, "S", "seconds", NULL,
      "SIGKILL this long after SIGTERM", NULL, NULL },
    { "run-timeout", 0, K_SECONDS, FIELD(run_timeout_s), 0, 365 * DAYS, 0, "T", NULL, NULL,
      "a run's total time, 0 = off", "off", NULL },
    { "max-runs", 0, K_NUMBER, FIELD(max_runs), 1, 100000, 0, "N", "a number", NULL,
      "programs running at once", "from the CPUs, open files and processes allowed", NULL },
    { "mercure", 0, K_FLAG, FIELD(mercure), 0, 0, 0, NULL, NULL,
      "Mercure (GET and POST .../.well-known/mercure, docs/mercure.md):",
      "be a Mercure hub: subscribe, publish (with a publisher key), resume", NULL, NULL },
    { "mercure-protocol", 0, K_CUSTOM, FIELD(mercure_protocol), 0, 0, 0, "GEN", NULL, NULL,
      "current (match=, RFC 9068 tokens), legacy (topic=, the mercure claim: what Symfony "
      "speaks) or both, told apart by each request", "both", protocol_arg },
    { "mercure-publisher-key-file", 0, K_TEXT, FIELD(mercure_publisher_key_file), 0, 0, 0,
      "[ALG:]FILE", NULL, NULL,
      "the key publishers' tokens are signed with: a secret (the file's first line) or a PEM "
      "public key, bound to ALG (HS256, HS384, HS512, RS256, ES256, EdDSA; default from the "
      "key); without it no one may publish", NULL, NULL },
    { "mercure-subscriber-key-file", 0, K_TEXT, FIELD(mercure_subscriber_key_file), 0, 0, 0,
      "[ALG:]FILE", NULL, NULL, "the key subscribers' tokens are signed with, as above",
      NULL, NULL },
    { "mercure-issuer", 0, K_TEXT, FIELD(mercure_issuer), 0, 0, 0, "ISS", NULL, NULL,
      "the issuer (iss) tokens must carry (the current draft requires one)", NULL, NULL },
    { "mercure-audience", 0, K_TEXT, FIELD(mercure_audience), 0, 0, 0, "URL", NULL, NULL,
      "the hub's resource identifier (aud), its public URL: relative topics and patterns "
      "resolve against it", "https://mercure.invalid/.well-known/mercure, no aud accepted",
      NULL },
    { "mercure-anonymous", 0, K_FLAG, FIELD(mercure_anonymous), 0, 0, 0, NULL, NULL, NULL,
      "subscribers without a token get the public updates (else 401)", NULL, NULL },
    { "mercure-subscriptions", 0, K_FLAG, FIELD(mercure_subscriptions), 0, 0, 0, NULL, NULL,
      NULL, "active subscriptions: an update on each subscription's start and end, and "
      ".../.well-known/mercure/subscriptions", NULL, NULL },
    { "mercure-history", 0, K_NUMBER, FIELD(mercure_history), 1, 1000000, 10000, "N",
      "a number of updates", NULL,
      "updates kept for resuming (within --history-bytes)", NULL, NULL },
    { "mercure-cors-origin", 0, K_CUSTOM, FIELD(mercure_cors), 0, 0, 0, "ORIGIN", NULL, NULL,
      "a web origin (scheme://host[:port]) whose pages may subscribe with credentials and "
      "publish (repeatable)", "none", cors_arg },
};

#define NROWS (sizeof rows / sizeof rows[0])

/* ---------------------------------------------------------------- values */

static void set_number(struct opt_config *cfg, const struct opt_row *o, unsigned long long v)
{
    char *p = (char *)cfg + o->offset;

    if (o->size == sizeof(unsigned long long)) {
        memcpy(p, &v, sizeof v);
    } else {
        unsigned u = (unsigned)v;
        memcpy(p, &u, sizeof u);
    }
}

/* Digits, then optionally one of `units` (each its multiplier in mult),
 * in [min, max]. */
static int scaled_arg(const char *arg, unsigned long long min, unsigned long long max,
                      const char *units, const unsigned long long *mult,
                      unsigned long long *out)
{
    char num[24];
    size_t n = strlen(arg);
    unsigned long long v, mul = 1;
    const char *u = n ? strchr(units, arg[n - 1]) : NULL;

    if (u && *u) {
        mul = mult[u - units];
        n--;
    }
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, arg, n);
    num[n] = '\0';
    if (text_parse_uint(num, 0, max / mul, &v) < 0 || v * mul < min)
        return -1;
    *out = v * mul;
    return 0;
}

static const unsigned long long size_mult[] = { KIB, KIB, MIB, MIB, GIB, GIB };
static const unsigned long long secs_mult[] = { 1, 60, 3600, DAYS };

/* A number as --help and a refusal write it: a size with the largest of
 * k, M, G that divides it, seconds with the largest of s, m, h, d. */
static void fmt_value(const struct opt_row *o, unsigned long long v, char *buf, size_t len)
{
    static const char size_units[] = "GMk", secs_units[] = "dhm";
    static const unsigned long long sizes[] = { GIB, MIB, KIB }, secs[] = { DAYS, 3600, 60 };
    size_t i;

    for (i = 0; i < 3 && v; i++) {
        if (o->kind == K_SIZE && v % sizes[i] == 0) {
            snprintf(buf, len, "%llu%c", v / sizes[i], size_units[i]);
            return;
        }
        if (o->kind == K_SECONDS && v % secs[i] == 0) {
            snprintf(buf, len, "%llu%c", v / secs[i], secs_units[i]);
            return;
        }
    }
    if (o->kind == K_OCTAL)
        snprintf(buf, len, v ? "0%llo" : "0", v);
    else
        snprintf(buf, len, o->kind == K_SECONDS ? "%llus" : "%llu", v);
}

/* The refusal of a bad value for row o, in one line. */
static void refuse(const struct opt_row *o, char *err, size_t errlen)
{
    char lo[32], hi[32];

    fmt_value(o, o->min, lo, sizeof lo);
    fmt_value(o, o->max, hi, sizeof hi);
    switch (o->kind) {
    case K_SIZE:
        snprintf(err, errlen, "--%s: must be bytes (or with k, M, G) from %s to %s", o->name,
                 lo, hi);
        break;
    case K_SECONDS:
        snprintf(err, errlen, "--%s: must be seconds (or with s, m, h, d) from %s to %s%s",
                 o->name, o->min ? lo : "1s", hi, o->min ? "" : ", or 0 (off)");
        break;
    case K_NUMBER:
    case K_OCTAL:
        snprintf(err, errlen, "--%s: must be %s from %s%s to %s", o->name, o->unit, lo,
                 o->min == 0 && o->kind == K_NUMBER && strstr(o->help, "0 = off") ? " (off)" : "",
                 hi);
        break;
    case K_ABSPATH:
        snprintf(err, errlen, "--%s: %s must be an absolute path", o->name, o->arg);
        break;
    default:
        snprintf(err, errlen, "--%s: empty value", o->name);
        break;
    }
}

/* Takes arg as the value of row o. 0, or -1 with err. */
static int take(struct opt_config *cfg, const struct opt_row *o, const char *arg, char *err,
                size_t errlen)
{
    unsigned long long v = 0;
    char *end;
    int rc = 0;

    switch (o->kind) {
    case K_FLAG:
        set_number(cfg, o, 1);
        return 0;
    case K_TEXT:
    case K_ABSPATH:
        if (!arg[0] || (o->kind == K_ABSPATH && arg[0] != '/'))
            rc = -1;
        else
            memcpy((char *)cfg + o->offset, &arg, sizeof arg);
        break;
    case K_NUMBER:
        rc = text_parse_uint(arg, o->min, o->max, &v);
        break;
    case K_SIZE:
        rc = scaled_arg(arg, o->min, o->max, "kKmMgG", size_mult, &v);
        break;
    case K_SECONDS:
        rc = o->min == 0 && strcmp(arg, "0") == 0
                 ? 0
                 : scaled_arg(arg, o->min ? o->min : 1, o->max, "smhd", secs_mult, &v);
        break;
    case K_OCTAL:
        if (arg[0] < '0' || arg[0] > '7' || (v = strtoull(arg, &end, 8), *end) || v > o->max)
            rc = -1;
        break;
    case K_CUSTOM:
        return o->custom(cfg, arg, err, errlen);
    }
    if (rc < 0) {
        refuse(o, err, errlen);
        return -1;
    }
    if (o->kind != K_TEXT && o->kind != K_ABSPATH)
        set_number(cfg, o, v);
    return 0;
}

/* --run NAME=PROGRAM into cfg. 0, or -1 with err. */
static int run_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : 0;
    unsigned i;

    if (!eq || !text_program_name_ok(arg, n)) {
        snprintf(err, errlen, "--run: must be NAME=PROGRAM, NAME 1 to 64 of A-Z a-z 0-9 _ . - "
                              "(not only dots)");
        return -1;
    }
    if (eq[1] != '/') {
        snprintf(err, errlen, "--run %.*s: PROGRAM must be an absolute path", (int)n, arg);
        return -1;
    }
    for (i = 0; i < cfg->nrun; i++) {
        if (strlen(cfg->runs[i].name) == n && memcmp(cfg->runs[i].name, arg, n) == 0) {
            snprintf(err, errlen, "--run %.*s: NAME given twice", (int)n, arg);
            return -1;
        }
    }
    if (cfg->nrun == OPT_RUN_MAX) {
        snprintf(err, errlen, "--run: at most %d programs", OPT_RUN_MAX);
        return -1;
    }
    memcpy(cfg->runs[cfg->nrun].name, arg, n);
    cfg->runs[cfg->nrun].name[n] = '\0';
    cfg->runs[cfg->nrun].path = eq + 1;
    cfg->nrun++;
    return 0;
}

/* --redis URL, checked by redisurl_parse. */
static int redis_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen)
{
    struct redisurl u;

    if (redisurl_parse(arg, &u, err, errlen) < 0)
        return -1;
    cfg->redis = arg;
    return 0;
}

/* --mercure-protocol current|legacy|both. */
static int protocol_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen)
{
    if (strcmp(arg, "current") == 0)
        cfg->mercure_protocol = OPT_MERCURE_CURRENT;
    else if (strcmp(arg, "legacy") == 0)
        cfg->mercure_protocol = OPT_MERCURE_LEGACY;
    else if (strcmp(arg, "both") == 0)
        cfg->mercure_protocol = OPT_MERCURE_CURRENT | OPT_MERCURE_LEGACY;
    else {
        snprintf(err, errlen, "--mercure-protocol: must be current, legacy or both");
        return -1;
    }
    return 0;
}

/* --mercure-cors-origin ORIGIN: a serialized origin, as a browser sends it
 * in Origin: http or https, a host, an optional port, nothing after. */
static int cors_arg(struct opt_config *cfg, const char *arg, char *err, size_t errlen)
{
    const char *host = strncmp(arg, "https://", 8) == 0 ? arg + 8
                       : strncmp(arg, "http://", 7) == 0 ? arg + 7 : NULL;
    size_t n = host ? strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-[]:") : 0;

    if (!host || n == 0 || host[n] != '\0' || strcmp(arg, "*") == 0) {
        snprintf(err, errlen, "--mercure-cors-origin: must be an origin, http[s]://host[:port] "
                              "in lower case, without a path (never *)");
        return -1;
    }
    if (cfg->mercure_ncors == OPT_CORS_MAX) {
        snprintf(err, errlen, "--mercure-cors-origin: at most %d origins", OPT_CORS_MAX);
        return -1;
    }
    cfg->mercure_cors[cfg->mercure_ncors++] = arg;
    return 0;
}

/* ---------------------------------------------------------------- help */

/* Writes text's words from column `col` on, wrapped before column 80, each
 * new line starting at column `indent`. */
static void wrap_words(const char *text, size_t col, size_t indent)
{
    const size_t width = 79;

    while (*text) {
        size_t w = strcspn(text, " ");
        if (col > indent && col + 1 + w > width) {
            printf("\n%*s", (int)indent, "");
            col = indent;
        } else if (col > indent) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)w, text);
        col += w;
        text += w;
        while (*text == ' ')
            text++;
    }
    putchar('\n');
}

/* An option's help: from column 26, wrapped before column 80; the first
 * line goes on at `col` (where the option's names ended). */
static void wrap(const char *text, size_t col)
{
    const size_t indent = 26;

    if (col >= indent)
        printf("\n%*s", (int)indent, "");
    else
        printf("%*s", (int)(indent - col), "");
    wrap_words(text, indent, indent);
}

/* A heading's text, wrapped at column 80 from column 0. */
static void heading(const char *text)
{
    putchar('\n');
    wrap_words(text, 0, 0);
}

void opt_usage(const char *prog)
{
    size_t i;

    printf("Usage: %s [OPTION]...\n"
           "Serve Server-Sent Events over FastCGI (libfcgi): a counter stream, channels that\n"
           "applications publish to and browsers subscribe to, and programs as streams.\n",
           prog);
    for (i = 0; i < NROWS; i++) {
        const struct opt_row *o = &rows[i];
        char names[64], text[512], lo[32], hi[32], dflt[32];
        int n;

        if (o->group)
            heading(o->group);
        n = snprintf(names, sizeof names, "  %c%c%s--%s%s%s", o->letter ? '-' : ' ',
                     o->letter ? o->letter : ' ', o->letter ? ", " : "  ", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        fmt_value(o, o->min, lo, sizeof lo);
        fmt_value(o, o->max, hi, sizeof hi);
        fmt_value(o, o->dflt, dflt, sizeof dflt);
        if (o->kind == K_NUMBER || o->kind == K_SIZE || o->kind == K_SECONDS)
            snprintf(text, sizeof text, "%s%s, %s..%s (default %s)", o->help,
                     o->kind == K_SIZE ? ", bytes (or with k, M, G)"
                     : o->kind == K_SECONDS ? ", seconds (or with s, m, h, d)" : "",
                     o->kind == K_SECONDS && !o->min ? "1s" : lo, hi,
                     o->dflt_text ? o->dflt_text : dflt);
        else if (o->dflt_text)
            snprintf(text, sizeof text, "%s (default %s)", o->help, o->dflt_text);
        else
            snprintf(text, sizeof text, "%s", o->help);
        fputs(names, stdout);
        wrap(text, n > 0 ? (size_t)n : 0);
    }
    printf("\nCommands: %s sign --key-file F --expires SECONDS CHANNEL...\n"
           "          %s publish --socket ADDR [--key-file F] CHANNEL [--event T] < MESSAGE\n"
           "\n"
           "  -h, --help              this help\n"
           "  -V, --version           version\n"
           "\n"
           "Routes (last path segment, any prefix): .../stream, .../events, .../publish,\n"
           ".../status, .../run/NAME, .../chat/completions\n",
           prog, prog);
}

/* ---------------------------------------------------------------- parsing */

/* The defaults of every row. */
static void defaults(struct opt_config *cfg)
{
    size_t i;

    memset(cfg, 0, sizeof *cfg);
    for (i = 0; i < NROWS; i++)
        if (rows[i].kind == K_NUMBER || rows[i].kind == K_SIZE || rows[i].kind == K_SECONDS ||
            rows[i].kind == K_OCTAL)
            set_number(cfg, &rows[i], rows[i].dflt);
    cfg->mercure_protocol = OPT_MERCURE_CURRENT | OPT_MERCURE_LEGACY;
}

enum opt_result opt_parse(struct opt_config *cfg, int argc, char **argv,
                          char *err, size_t errlen)
{
    struct option longs[NROWS + 3];
    char shorts[2 * NROWS + 8] = ":hV";
    size_t i, ns = 3;
    int c;

    defaults(cfg);
    for (i = 0; i < NROWS; i++) {
        longs[i].name = rows[i].name;
        longs[i].has_arg = rows[i].kind == K_FLAG ? no_argument : required_argument;
        longs[i].flag = NULL;
        longs[i].val = rows[i].letter ? rows[i].letter : 256 + (int)i;
        if (rows[i].letter) {
            shorts[ns++] = (char)rows[i].letter;
            if (rows[i].kind != K_FLAG)
                shorts[ns++] = ':';
        }
    }
    shorts[ns] = '\0';
    longs[NROWS] = (struct option){ "help", no_argument, NULL, 'h' };
    longs[NROWS + 1] = (struct option){ "version", no_argument, NULL, 'V' };
    longs[NROWS + 2] = (struct option){ NULL, 0, NULL, 0 };

    /* 0, not 1: glibc then also forgets its position inside a word of a
     * previous argv (e.g. after "-zq"), so parsing can be repeated. */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const struct opt_row *o = NULL;

        if (c >= 256 && c < 256 + (int)NROWS)
            o = &rows[c - 256];
        for (i = 0; !o && c < 256 && i < NROWS; i++)
            if (rows[i].letter == c)
                o = &rows[i];
        if (o) {
            if (take(cfg, o, optarg ? optarg : "", err, errlen) < 0)
                return OPT_ERROR;
            continue;
        }
        switch (c) {
        case 'h':
            opt_usage(argv[0]);
            return OPT_EXIT_OK;
        case 'V':
            printf("%s %s (libfcgi)\n", PACKAGE_NAME, PACKAGE_VERSION);
            return OPT_EXIT_OK;
        case ':':
            snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
            return OPT_ERROR;
        default:
            if (optopt)
                snprintf(err, errlen, "unknown option -%c (see --help)", optopt);
            else
                snprintf(err, errlen, "unknown option %s (see --help)", argv[optind - 1]);
            return OPT_ERROR;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%.64s' (see --help)", argv[optind]);
        return OPT_ERROR;
    }
    if (cfg->redis_password_file && !cfg->redis) {
        snprintf(err, errlen, "--redis-password-file: only with --redis");
        return OPT_ERROR;
    }
    if (!cfg->mercure && (cfg->mercure_publisher_key_file || cfg->mercure_subscriber_key_file ||
                          cfg->mercure_issuer || cfg->mercure_audience ||
                          cfg->mercure_anonymous || cfg->mercure_subscriptions ||
                          cfg->mercure_ncors)) {
        snprintf(err, errlen, "--mercure-*: only with --mercure");
        return OPT_ERROR;
    }
    return OPT_RUN;
}
