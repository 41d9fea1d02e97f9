/* cli_int.h -- what the commands share: their arguments, limits, FastCGI client and answers (cli*.c only) */
#ifndef FCGI_SSE_CLI_CLI_INT_H
#define FCGI_SSE_CLI_CLI_INT_H

#include <stddef.h>

#include "http/auth.h"
#include "cli/cli.h"

/* Limits of the names and of what publish reads and accepts. */
#define CLI_NAMES_MAX 16
#define CLI_NAME_MAX 128
#define CLI_TYPE_MAX 64
#define CLI_MESSAGE_MAX (1024 * 1024)
#define CLI_ANSWER_MAX (1024 * 1024)
#define CLI_TIMEOUT_MS 10000
/* The FastCGI record types and values this client uses (FastCGI 1.0 spec). */
#define CLI_FCGI_VERSION 1
#define CLI_FCGI_BEGIN_REQUEST 1
#define CLI_FCGI_END_REQUEST 3
#define CLI_FCGI_PARAMS 4
#define CLI_FCGI_STDIN 5
#define CLI_FCGI_STDOUT 6
#define CLI_FCGI_STDERR 7
#define CLI_FCGI_RESPONDER 1
#define CLI_FCGI_REQUEST_COMPLETE 0
#define CLI_REQUEST_ID 1
#define CLI_WRITE_BUF 8192

/* Parsed command line of one subcommand. */
struct cli_args {
    const char *key_file;
    const char *expires;
    const char *socket;
    const char *event;
    const char *action;           /* channel: "delete" (--delete), "purge" (--purge) or NULL */
    const char *names[CLI_NAMES_MAX + 1];
    size_t n;                     /* names given (up to CLI_NAMES_MAX + 1 are kept) */
    int help;
};

/* "fcgi-sse CMD: WHAT (see fcgi-sse CMD --help)" on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *what);

/* Parses argv[2..] of subcommand cmd: the options in `allowed` (a list of
 * names without the dashes) as --name VALUE or --name=VALUE, anywhere
 * (--delete and --purge take no value: one of them, into a->action);
 * "--" ends the options; the rest are names. 0, or the exit status 2
 * after a one-line message. */
int cli_parse(int argc, char **argv, const char *cmd, const char *const *allowed,
              struct cli_args *a);

/* Loads a key file for cmd (the permission checks only warn: a command
 * presents a key, it does not accept one). NULL after a one-line message. */
struct auth_keys *cli_load_keys(const char *cmd, const char *path);

/* "Bearer KEY" with the first key of the key file path, for cmd: a fresh
 * string of *len bytes with its NUL (OPENSSL_cleanse it, then free it), or
 * NULL after a one-line message. */
char *cli_bearer(const char *cmd, const char *path, size_t *len);

/* Checks that min..max names were given, each a valid name. 0, or 2
 * after a one-line message. */
int cli_check_names(const char *cmd, const struct cli_args *a, size_t min, size_t max);

/* The answer of the responder: its STDOUT and STDERR streams. */
struct cli_answer {
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
};

/* cli_fcgi.c: the FastCGI client */
struct addr;
/* Connects to ad (name: --socket as given, for messages of cmd) before
 * deadline (CLOCK_MONOTONIC ms). The socket, or -1 after a one-line message. */
int cli_connect(const char *cmd, const struct addr *ad, const char *name, long long deadline);
/* Sends one request: BEGIN_REQUEST, the params (NULL-terminated name,
 * value pairs), STDIN with body[0, len). 0, or -1 with errno. */
int cli_send(int fd, const char *const *params, const char *body, size_t len,
             long long deadline);
/* Reads the answer's records until END_REQUEST (at most CLI_ANSWER_MAX
 * bytes of STDOUT and of STDERR). 0, or -1 with why. */
int cli_receive(int fd, struct cli_answer *ans, long long deadline, char *why, size_t wlen);

/* One request of cmd to the responder at ad (name: --socket as given): the
 * params (NULL-terminated name, value pairs) and body[0, len), its answer
 * read within CLI_TIMEOUT_MS and reported (cli_report). Ignores SIGPIPE
 * from then on. The exit status. */
int cli_request(const char *cmd, const struct addr *ad, const char *name,
                const char *const *params, const char *body, size_t len);

/* cli_answer.c: the answer of the responder, for cmd: its body on stdout
 * for a 200 (0; a newline added when it has none), else the status and
 * the body on stderr (1), control characters shown as '?'. */
int cli_report(const char *cmd, const struct cli_answer *ans);

/* cli_sign.c: fcgi-sse sign. */
int cli_sign(int argc, char **argv);

/* cli_publish.c: fcgi-sse publish. */
int cli_publish(int argc, char **argv);

/* cli_channel.c: fcgi-sse channel. */
int cli_channel(int argc, char **argv);

#endif
