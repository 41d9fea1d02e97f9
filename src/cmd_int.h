/* cmd_int.h -- what the commands share: their arguments and limits (cmd*.c only) */
#ifndef FCGI_SSE_CMD_INT_H
#define FCGI_SSE_CMD_INT_H

#include <stddef.h>

#include "auth.h"
#include "cmd.h"

/* Limits of the names and of what publish reads and accepts. */
#define CMD_NAMES_MAX 16
#define CMD_NAME_MAX 128
#define CMD_TYPE_MAX 64
#define CMD_MESSAGE_MAX (1024 * 1024)
#define CMD_ANSWER_MAX (1024 * 1024)
#define CMD_TIMEOUT_MS 10000
/* The FastCGI record types and values this client uses (FastCGI 1.0 spec). */
#define CMD_FCGI_VERSION 1
#define CMD_FCGI_BEGIN_REQUEST 1
#define CMD_FCGI_END_REQUEST 3
#define CMD_FCGI_PARAMS 4
#define CMD_FCGI_STDIN 5
#define CMD_FCGI_STDOUT 6
#define CMD_FCGI_STDERR 7
#define CMD_FCGI_RESPONDER 1
#define CMD_FCGI_REQUEST_COMPLETE 0
#define CMD_REQUEST_ID 1
#define CMD_WRITE_BUF 8192

/* Parsed command line of one subcommand. */
struct cmd_args {
    const char *key_file;
    const char *expires;
    const char *socket;
    const char *event;
    const char *names[CMD_NAMES_MAX + 1];
    size_t n;                     /* names given (up to CMD_NAMES_MAX + 1 are kept) */
    int help;
};

/* "fcgi-sse CMD: WHAT (see fcgi-sse CMD --help)" on stderr; returns 2. */
int cmd_usage_error(const char *cmd, const char *what);

/* Parses argv[2..] of subcommand cmd: the options in `allowed` (a list of
 * names without the dashes) as --name VALUE or --name=VALUE, anywhere;
 * "--" ends the options; the rest are names. 0, or the exit status 2
 * after a one-line message. */
int cmd_parse(int argc, char **argv, const char *cmd, const char *const *allowed,
              struct cmd_args *a);

/* Loads a key file for cmd (the permission checks only warn: a command
 * presents a key, it does not accept one). NULL after a one-line message. */
struct auth_keys *cmd_load_keys(const char *cmd, const char *path);

/* Checks that min..max names were given, each a valid name. 0, or 2
 * after a one-line message. */
int cmd_check_names(const char *cmd, const struct cmd_args *a, size_t min, size_t max);

/* The answer of the responder: its STDOUT and STDERR streams. */
struct cmd_answer {
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
};

/* cmd_fcgi.c: the FastCGI client */
struct addr;
/* Connects to ad (name: --socket as given, for messages) before deadline
 * (CLOCK_MONOTONIC ms). The socket, or -1 after a one-line message. */
int cmd_connect(const struct addr *ad, const char *name, long long deadline);
/* Sends one request: BEGIN_REQUEST, the params (NULL-terminated name,
 * value pairs), STDIN with body[0, len). 0, or -1 with errno. */
int cmd_send(int fd, const char *const *params, const char *body, size_t len,
             long long deadline);
/* Reads the answer's records until END_REQUEST (at most CMD_ANSWER_MAX
 * bytes of STDOUT and of STDERR). 0, or -1 with why. */
int cmd_receive(int fd, struct cmd_answer *ans, long long deadline, char *why, size_t wlen);

/* cmd_sign.c: fcgi-sse sign. */
int cmd_sign(int argc, char **argv);

/* cmd_publish.c: fcgi-sse publish. */
int cmd_publish(int argc, char **argv);

#endif
