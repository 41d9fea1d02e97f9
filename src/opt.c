/* opt.c -- command-line options: parsing and validation into a config */
#include "config.h"

#include "opt.h"
#include "redisurl.h"
#include "text.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_SOCKET_MODE = 256, OPT_SOCKET_GROUP, OPT_MAX_MEMORY, OPT_HISTORY, OPT_HISTORY_TTL,
    OPT_HISTORY_BYTES, OPT_MAX_MESSAGE, OPT_PUBLISH_KEY_FILE, OPT_PUBLISH_REMOTE_USER,
    OPT_SUBSCRIBE_KEY_FILE, OPT_RUN_PROGRAM, OPT_MAX_BODY, OPT_MAX_LINE, OPT_KILL_AFTER,
    OPT_RUN_TIMEOUT, OPT_MAX_RUNS, OPT_OPENAI, OPT_REDIS, OPT_REDIS_PASSWORD_FILE, OPT_MAX_CHANNELS
};

static const struct option long_options[] = {
    { "listen", required_argument, NULL, 'l' },
    { "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
    { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
    { "interval", required_argument, NULL, 'i' },
    { "retry", required_argument, NULL, 'r' },
    { "heartbeat", required_argument, NULL, 'k' },
    { "max-streams", required_argument, NULL, 'm' },
    { "max-backlog", required_argument, NULL, 'b' },
    { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
    { "history", required_argument, NULL, OPT_HISTORY },
    { "history-ttl", required_argument, NULL, OPT_HISTORY_TTL },
    { "history-bytes", required_argument, NULL, OPT_HISTORY_BYTES },
    { "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
    { "max-channels", required_argument, NULL, OPT_MAX_CHANNELS },
    { "publish-key-file", required_argument, NULL, OPT_PUBLISH_KEY_FILE },
    { "publish-remote-user", no_argument, NULL, OPT_PUBLISH_REMOTE_USER },
    { "subscribe-key-file", required_argument, NULL, OPT_SUBSCRIBE_KEY_FILE },
    { "run", required_argument, NULL, OPT_RUN_PROGRAM },
    { "max-body", required_argument, NULL, OPT_MAX_BODY },
    { "max-line", required_argument, NULL, OPT_MAX_LINE },
    { "kill-after", required_argument, NULL, OPT_KILL_AFTER },
    { "run-timeout", required_argument, NULL, OPT_RUN_TIMEOUT },
    { "max-runs", required_argument, NULL, OPT_MAX_RUNS },
    { "openai", required_argument, NULL, OPT_OPENAI },
    { "redis", required_argument, NULL, OPT_REDIS },
    { "redis-password-file", required_argument, NULL, OPT_REDIS_PASSWORD_FILE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
};

void opt_usage(const char *prog)
{
    printf("Usage: %s [OPTION]...\n"
           "Serve Server-Sent Events over FastCGI (libfcgi): a counter stream, and channels\n"
           "that applications publish to and browsers subscribe to.\n"
           "\n"
           "Socket: --listen, else a systemd socket unit (LISTEN_FDS), else fd 0 as a\n"
           "listening socket (spawn-fcgi, mod_fcgid). As CGI (GATEWAY_INTERFACE set, fd 0\n"
           "no listening socket) one request is served and options are read from\n"
           "FCGI_SSE_OPTIONS, never from the arguments.\n"
           "  -l, --listen ADDR       open our own socket: unix:/path, HOST:PORT or :PORT\n"
           "                          (:PORT binds 127.0.0.1)\n"
           "      --socket-mode MODE  octal mode of a unix socket (default 0660)\n"
           "      --socket-group GROUP  group of a unix socket (name or number), so the\n"
           "                          web server's group can connect and no one else\n"
           "\n"
           "Stream:\n"
           "  -i, --interval MS       time between events, 1..86400000 (default 1000)\n"
           "  -r, --retry MS          retry: sent to clients, 0..86400000 (default 3000)\n"
           "  -k, --heartbeat S       comment after S seconds without output,\n"
           "                          0..86400, 0 = off (default 15)\n"
           "  -m, --max-streams N     open streams at most, 1..1000000 (default: what\n"
           "                          the open-files limit and --max-memory allow);\n"
           "                          more get 503\n"
           "      --max-memory MB     memory open streams may take in all, counting\n"
           "                          each at its most (libfcgi's writer and a full\n"
           "                          send buffer), 1..1048576 (default: a quarter of\n"
           "                          the memory this process may have)\n"
           "  -b, --max-backlog BYTES unsent bytes a stream may queue before it is\n"
           "                          dropped as too slow, 4096..67108864 (default 65536)\n"
           "\n"
           "Channels (.../events?channel=NAME, POST .../publish?channel=NAME):\n"
           "      --history N         messages kept per channel, 1..1000000 (default 1000)\n"
           "      --history-ttl T     none older than T seconds (or T with s, m, h, d),\n"
           "                          1 s..365 d (default 1h)\n"
           "      --history-bytes B   all channels' history at most, bytes (or with k, M,\n"
           "                          G), 64k..1T (default 64M); oldest dropped first\n"
           "      --max-message B     a published message at most, bytes (or with k, M),\n"
           "                          1..16M (default 64k); more gets 413\n"
           "      --max-channels N    channels at most, 1..10000000 (default 100000); a\n"
           "                          subscribe or publish that would make one more\n"
           "                          gets 503\n"
           "      --publish-key-file FILE  may publish: Authorization: Bearer KEY with\n"
           "                          KEY a line of FILE\n"
           "      --publish-remote-user  may publish: a user the web server authenticated\n"
           "                          (REMOTE_USER); without these two, no one may\n"
           "      --subscribe-key-file FILE  keys that sign private: subscriptions\n"
           "      --redis URL         channels in Redis, shared by every responder using it:\n"
           "                          redis://[user:password@]host[:port][/db] or\n"
           "                          unix:/path (ids, history and resume from Redis)\n"
           "      --redis-password-file FILE  Redis's password: the first line of FILE\n"
           "\n"
           "Programs (GET or POST .../run/NAME; POST .../chat/completions):\n"
           "      --run NAME=PROGRAM  PROGRAM (an absolute path) runs for .../run/NAME;\n"
           "                          each line of its stdout is an event (repeatable)\n"
           "      --openai PROGRAM    PROGRAM answers POST .../chat/completions: its\n"
           "                          stdout becomes OpenAI chat.completion.chunk events;\n"
           "                          who may: as publishing (key file, REMOTE_USER)\n"
           "      --max-body B        a program's request body at most (or with k, M),\n"
           "                          1..64M (default 1M); more gets 413\n"
           "      --max-line B        an output line at most, longer ones are cut,\n"
           "                          256..16M (default 64k)\n"
           "      --kill-after S      SIGKILL this long after SIGTERM, 1..3600 (default 5)\n"
           "      --run-timeout S     a run's total time (or with s, m, h, d), 0 = off\n"
           "                          (default off)\n"
           "      --max-runs N        programs running at once, 1..100000 (default: from\n"
           "                          the CPUs, open files and processes allowed)\n"
           "\n"
           "Commands: %s sign --key-file F --expires SECONDS CHANNEL...\n"
           "          %s publish --socket ADDR [--key-file F] CHANNEL [--event T] < MESSAGE\n"
           "\n"
           "  -h, --help              this help\n"
           "  -V, --version           version\n"
           "\n"
           "Routes (last path segment, any prefix): .../stream, .../events, .../publish,\n"
           ".../status, .../run/NAME, .../chat/completions\n",
           prog, prog, prog);
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

/* A size: digits, then optionally k, M or G (KiB, MiB, GiB). */
static int size_arg(const char *arg, unsigned long long min, unsigned long long max,
                    unsigned long long *out)
{
    static const unsigned long long mult[] = { 1ULL << 10, 1ULL << 10, 1ULL << 20,
                                               1ULL << 20, 1ULL << 30, 1ULL << 30 };
    return scaled_arg(arg, min, max, "kKmMgG", mult, out);
}

/* A duration in seconds: digits, then optionally s, m, h or d. */
static int seconds_arg(const char *arg, unsigned long long min, unsigned long long max,
                       unsigned long *out)
{
    static const unsigned long long mult[] = { 1, 60, 3600, 86400 };
    unsigned long long v;

    if (scaled_arg(arg, min, max, "smhd", mult, &v) < 0)
        return -1;
    *out = (unsigned long)v;
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

/* Parses arg as an unsigned decimal in [min, max] into *out. */
static int number(const char *arg, unsigned long min, unsigned long max,
                  unsigned long *out)
{
    unsigned long long v;

    if (text_parse_uint(arg, min, max, &v) < 0)
        return -1;
    *out = (unsigned long)v;
    return 0;
}

enum opt_result opt_parse(struct opt_config *cfg, int argc, char **argv,
                          char *err, size_t errlen)
{
    int c;

    memset(cfg, 0, sizeof *cfg);
    cfg->socket_mode = 0660;
    cfg->interval_ms = 1000;
    cfg->retry_ms = 3000;
    cfg->heartbeat_s = 15;
    cfg->max_backlog = 65536;
    cfg->history = 1000;
    cfg->history_ttl_s = 3600;
    cfg->history_bytes = 64ULL << 20;
    cfg->max_message = 64 * 1024;
    cfg->max_channels = 100000;
    cfg->max_body = 1024 * 1024;
    cfg->max_line = 64 * 1024;
    cfg->kill_after_s = 5;

    /* 0, not 1: glibc then also forgets its position inside a word of a
     * previous argv (e.g. after "-zq"), so parsing can be repeated. */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:i:r:k:m:b:hV", long_options, NULL)) != -1) {
        unsigned long mode;
        switch (c) {
        case 'l':
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--listen: empty address (use unix:/path, HOST:PORT or :PORT)");
                return OPT_ERROR;
            }
            cfg->listen = optarg;
            break;
        case OPT_SOCKET_MODE: {
            char *end;
            if (optarg[0] < '0' || optarg[0] > '7')
                goto bad_mode;
            mode = strtoul(optarg, &end, 8);
            if (*end != '\0' || mode > 0777)
                goto bad_mode;
            cfg->socket_mode = (unsigned)mode;
            break;
        bad_mode:
            snprintf(err, errlen, "--socket-mode: must be an octal mode from 0 to 0777");
            return OPT_ERROR;
        }
        case OPT_SOCKET_GROUP:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--socket-group: empty group name");
                return OPT_ERROR;
            }
            cfg->socket_group = optarg;
            break;
        case 'i':
            if (number(optarg, 1, 86400000, &cfg->interval_ms) < 0) {
                snprintf(err, errlen, "--interval: must be milliseconds from 1 to 86400000");
                return OPT_ERROR;
            }
            break;
        case 'r':
            if (number(optarg, 0, 86400000, &cfg->retry_ms) < 0) {
                snprintf(err, errlen, "--retry: must be milliseconds from 0 to 86400000");
                return OPT_ERROR;
            }
            break;
        case 'k':
            if (number(optarg, 0, 86400, &cfg->heartbeat_s) < 0) {
                snprintf(err, errlen, "--heartbeat: must be seconds from 0 (off) to 86400");
                return OPT_ERROR;
            }
            break;
        case 'm':
            if (number(optarg, 1, 1000000, &cfg->max_streams) < 0) {
                snprintf(err, errlen, "--max-streams: must be a number from 1 to 1000000");
                return OPT_ERROR;
            }
            break;
        case 'b':
            if (number(optarg, 4096, 67108864, &cfg->max_backlog) < 0) {
                snprintf(err, errlen, "--max-backlog: must be bytes from 4096 to 67108864");
                return OPT_ERROR;
            }
            break;
        case OPT_MAX_MEMORY:
            if (number(optarg, 1, 1048576, &cfg->max_memory_mb) < 0) {
                snprintf(err, errlen, "--max-memory: must be megabytes from 1 to 1048576");
                return OPT_ERROR;
            }
            break;
        case OPT_HISTORY:
            if (number(optarg, 1, 1000000, &cfg->history) < 0) {
                snprintf(err, errlen, "--history: must be a number of messages from 1 to 1000000");
                return OPT_ERROR;
            }
            break;
        case OPT_HISTORY_TTL:
            if (seconds_arg(optarg, 1, 365ULL * 86400, &cfg->history_ttl_s) < 0) {
                snprintf(err, errlen, "--history-ttl: must be seconds (or with s, m, h, d) "
                                      "from 1 s to 365 d");
                return OPT_ERROR;
            }
            break;
        case OPT_HISTORY_BYTES:
            if (size_arg(optarg, 64ULL << 10, 1ULL << 40, &cfg->history_bytes) < 0) {
                snprintf(err, errlen, "--history-bytes: must be bytes (or with k, M, G) "
                                      "from 64k to 1024G");
                return OPT_ERROR;
            }
            break;
        case OPT_MAX_CHANNELS:
            if (number(optarg, 1, 10000000, &cfg->max_channels) < 0) {
                snprintf(err, errlen, "--max-channels: must be a number of channels from 1 to "
                                      "10000000");
                return OPT_ERROR;
            }
            break;
        case OPT_MAX_MESSAGE: {
            unsigned long long v;
            if (size_arg(optarg, 1, 16ULL << 20, &v) < 0) {
                snprintf(err, errlen, "--max-message: must be bytes (or with k, M) from 1 to 16M");
                return OPT_ERROR;
            }
            cfg->max_message = (unsigned long)v;
            break;
        }
        case OPT_PUBLISH_KEY_FILE:
        case OPT_SUBSCRIBE_KEY_FILE:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--%s-key-file: empty path",
                         c == OPT_PUBLISH_KEY_FILE ? "publish" : "subscribe");
                return OPT_ERROR;
            }
            if (c == OPT_PUBLISH_KEY_FILE)
                cfg->publish_key_file = optarg;
            else
                cfg->subscribe_key_file = optarg;
            break;
        case OPT_PUBLISH_REMOTE_USER:
            cfg->publish_remote_user = 1;
            break;
        case OPT_RUN_PROGRAM:
            if (run_arg(cfg, optarg, err, errlen) < 0)
                return OPT_ERROR;
            break;
        case OPT_OPENAI:
            if (optarg[0] != '/') {
                snprintf(err, errlen, "--openai: PROGRAM must be an absolute path");
                return OPT_ERROR;
            }
            cfg->openai = optarg;
            break;
        case OPT_MAX_BODY:
        case OPT_MAX_LINE: {
            unsigned long long v;
            int body = c == OPT_MAX_BODY;
            if (size_arg(optarg, body ? 1 : 256, body ? 64ULL << 20 : 16ULL << 20, &v) < 0) {
                snprintf(err, errlen, body ? "--max-body: must be bytes (or with k, M) from 1 "
                                             "to 64M"
                                           : "--max-line: must be bytes (or with k, M) from "
                                             "256 to 16M");
                return OPT_ERROR;
            }
            if (body)
                cfg->max_body = (unsigned long)v;
            else
                cfg->max_line = (unsigned long)v;
            break;
        }
        case OPT_KILL_AFTER:
            if (number(optarg, 1, 3600, &cfg->kill_after_s) < 0) {
                snprintf(err, errlen, "--kill-after: must be seconds from 1 to 3600");
                return OPT_ERROR;
            }
            break;
        case OPT_RUN_TIMEOUT:
            if (strcmp(optarg, "0") == 0) {
                cfg->run_timeout_s = 0;
            } else if (seconds_arg(optarg, 1, 365ULL * 86400, &cfg->run_timeout_s) < 0) {
                snprintf(err, errlen, "--run-timeout: must be seconds (or with s, m, h, d) "
                                      "from 1 s to 365 d, or 0 (off)");
                return OPT_ERROR;
            }
            break;
        case OPT_REDIS: {
            struct redisurl u;
            if (redisurl_parse(optarg, &u, err, errlen) < 0)
                return OPT_ERROR;
            cfg->redis = optarg;
            break;
        }
        case OPT_REDIS_PASSWORD_FILE:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--redis-password-file: empty path");
                return OPT_ERROR;
            }
            cfg->redis_password_file = optarg;
            break;
        case OPT_MAX_RUNS:
            if (number(optarg, 1, 100000, &cfg->max_runs) < 0) {
                snprintf(err, errlen, "--max-runs: must be a number from 1 to 100000");
                return OPT_ERROR;
            }
            break;
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
    return OPT_RUN;
}
