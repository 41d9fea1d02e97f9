/* listen.h -- the listening socket: opened from --listen ADDR, passed by systemd, or fd 0 */
#ifndef FCGI_SSE_SERVER_LISTEN_H
#define FCGI_SSE_SERVER_LISTEN_H

#include <stddef.h>

/* Opens a listening socket for addr (addr_parse): "unix:/path" (created
 * with `mode`, a stale socket file replaced, a live one refused),
 * "HOST:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1: only the web server on
 * this host should connect).
 * A group (name or number; NULL: ours) is given to the unix socket file,
 * which is created owner-only and then opened to `mode`, never following
 * a symbolic link. The backlog is listen_backlog().
 * The socket is close-on-exec and non-blocking. Returns the fd, or -1
 * with a message in err. *unix_path is set to the path to unlink at exit
 * (points into addr), or NULL. */
int listen_open(const char *addr, unsigned mode, const char *group, char *err, size_t errlen,
             const char **unix_path);

/* The socket passed by systemd socket activation (LISTEN_PID/LISTEN_FDS,
 * sd_listen_fds(3)): returns its fd (3), -1 when none was passed, or -2
 * with a message in err when it is not exactly one listening stream
 * socket. The LISTEN_* variables are removed from the environment. */
int listen_systemd(char *err, size_t errlen);

/* 1 when fd is a socket of any kind. */
int listen_is_socket(int fd);

/* Checks that fd is a listening stream socket, makes it non-blocking and
 * raises its listen backlog to listen_backlog(). Returns 0, or -1 with a
 * message in err. */
int listen_adopt(int fd, char *err, size_t errlen);

/* The largest listen backlog the system allows (net.core.somaxconn, else
 * SOMAXCONN): every socket we listen on gets it, so that a reconnect
 * storm waits in the kernel instead of being dropped. */
int listen_backlog(void);

/* Describes a listening fd for the start-up log line ("unix:/p", "127.0.0.1:9000"). */
void listen_describe(int fd, char *buf, size_t len);

#endif
