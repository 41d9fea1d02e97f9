/* options.h -- command-line options: parsing and validation into a config */
#ifndef FCGI_SSE_SERVER_OPTIONS_H
#define FCGI_SSE_SERVER_OPTIONS_H

#include <stddef.h>

#include "core/text.h"

/* --mercure-cors-origin: origins at most. */
#define OPT_CORS_MAX 16
/* --mercure-protocol: which generations (the bits of mercure/selector.h's
 * enum sel_gen: 1 the current draft, 2 the legacy one). */
#define OPT_MERCURE_CURRENT 1u
#define OPT_MERCURE_LEGACY 2u

/* --run: programs at most; a NAME is text_program_name_ok. */
#define OPT_RUN_MAX 64
#define OPT_RUN_NAME_MAX TEXT_PROGRAM_NAME_MAX

struct opt_config {
    const char *listen;            /* -l ADDR, or NULL: systemd's socket, else fd 0, else CGI */
    unsigned socket_mode;          /* --socket-mode, for unix:/path */
    const char *socket_group;      /* --socket-group: group of the unix socket, or NULL */
    unsigned long interval_ms;     /* -i: time between events */
    unsigned long retry_ms;        /* -r: the retry: sent to clients */
    unsigned long heartbeat_s;     /* -k: comment after this much silence; 0 = off */
    unsigned long max_streams;     /* -m: 0 = derived from open files and memory */
    unsigned long max_memory_mb;   /* --max-memory: streams' memory bound; 0 = derived */
    unsigned long max_backlog;     /* -b: per-stream send buffer before a drop */

    /* channels */
    unsigned long history;         /* --history: messages kept per channel */
    unsigned long history_ttl_s;   /* --history-ttl: none older */
    unsigned long long history_bytes; /* --history-bytes: all channels' history */
    unsigned long max_message;     /* --max-message: a published message at most */
    unsigned long max_channels;    /* --max-channels: channels that may exist at once */
    const char *publish_key_file;  /* --publish-key-file, or NULL */
    int publish_remote_user;       /* --publish-remote-user */
    const char *subscribe_key_file; /* --subscribe-key-file, or NULL */

    /* programs (program.c) and OpenAI-compatible streaming */
    unsigned nrun;                 /* --run NAME=PROGRAM, in the order given */
    struct opt_run {
        char name[OPT_RUN_NAME_MAX + 1];
        const char *path;          /* absolute */
    } runs[OPT_RUN_MAX];
    unsigned long max_body;        /* --max-body: a program's stdin at most (1 MiB) */
    unsigned long max_line;        /* --max-line: an output line at most (64 KiB) */
    unsigned long kill_after_s;    /* --kill-after: SIGTERM..SIGKILL (5) */
    unsigned long run_timeout_s;   /* --run-timeout: a run's total time; 0 = off */
    unsigned long max_runs;        /* --max-runs: 0 = derived from the machine */
    const char *openai;            /* --openai PROGRAM, or NULL */

    /* channels through Redis (redis.c) */
    const char *redis;             /* --redis URL (checked by redisurl_parse), or NULL */
    const char *redis_password_file; /* --redis-password-file, or NULL */

    /* Mercure (mercurehub/) */
    int mercure;                   /* --mercure: serve .../.well-known/mercure */
    unsigned mercure_protocol;     /* --mercure-protocol: OPT_MERCURE_* bits */
    const char *mercure_publisher_key_file;  /* [ALG:]FILE, or NULL */
    const char *mercure_subscriber_key_file; /* [ALG:]FILE, or NULL */
    const char *mercure_issuer;    /* --mercure-issuer, or NULL */
    const char *mercure_audience;  /* --mercure-audience, or NULL */
    int mercure_anonymous;         /* --mercure-anonymous */
    int mercure_subscriptions;     /* --mercure-subscriptions */
    unsigned long mercure_history; /* --mercure-history: updates kept */
    unsigned mercure_ncors;        /* --mercure-cors-origin, in the order given */
    const char *mercure_cors[OPT_CORS_MAX];
};

enum opt_result {
    OPT_RUN = 0,    /* run with the config */
    OPT_EXIT_OK,    /* --help or --version was printed: exit 0 */
    OPT_ERROR       /* err holds the message: exit 2 */
};

/* Fills cfg from argv (defaults first). --help and --version print to
 * stdout. On OPT_ERROR, err (errlen bytes) holds one line naming the
 * option and its valid range. Does not keep argv beyond the strings. */
enum opt_result opt_parse(struct opt_config *cfg, int argc, char **argv,
                          char *err, size_t errlen);

void opt_usage(const char *prog);

#endif
