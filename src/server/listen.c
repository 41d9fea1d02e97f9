/* listen.c -- the listening socket: opened from --listen ADDR, passed by systemd, or fd 0 */
#include "config.h"

#include "server/listen.h"
#include "core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

int listen_backlog(void)
{
    int n = 0;
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");

    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n > 0 ? n : SOMAXCONN;
}

static int fail(char *err, size_t errlen, const char *what, int errnum, int fd)
{
    snprintf(err, errlen, "%s: %s", what, strerror(errnum));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Removes a socket file no process listens on any more (left by a crash). */
static int clear_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
    struct stat st;
    int fd, rc, e;

    if (lstat(sun->sun_path, &st) < 0)
        return errno == ENOENT ? 0 : fail(err, errlen, "stat socket path", errno, -1);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", sun->sun_path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(err, errlen, "socket", errno, -1);
    rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
    e = errno;
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "%s is in use by a running process", sun->sun_path);
        return -1;
    }
    if (e != ECONNREFUSED)
        return fail(err, errlen, "probing the existing socket", e, -1);
    if (unlink(sun->sun_path) < 0)
        return fail(err, errlen, "removing the stale socket", errno, -1);
    return 0;
}

/* Resolves a group name or number. Returns 0, or -1 with a message. */
static int group_id(const char *group, gid_t *gid, char *err, size_t errlen)
{
    struct group gr, *res = NULL;
    char buf[4096], *end;
    unsigned long n;
    int rc;

    n = strtoul(group, &end, 10);
    if (*group >= '0' && *group <= '9' && *end == '\0') {
        *gid = (gid_t)n;
        return 0;
    }
    rc = getgrnam_r(group, &gr, buf, sizeof buf, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "--socket-group: no group '%s'%s%s", group,
                 rc ? ": " : "", rc ? strerror(rc) : "");
        return -1;
    }
    *gid = gr.gr_gid;
    return 0;
}

/* Gives the socket file just bound its group and mode without following
 * a symbolic link: someone who can write to the directory could swap the
 * path for a link to another file between bind and here. An O_PATH
 * descriptor pins the inode found without following links; the group is
 * set through it, the mode through its /proc/self/fd entry (chmod of a
 * socket descriptor itself would change the socket, not the file). */
static int set_owner_mode(const char *path, gid_t gid, mode_t mode, char *err, size_t errlen)
{
    struct stat st;
    char proc[64];
    int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

    if (pfd < 0)
        return fail(err, errlen, "opening the socket file", errno, -1);
    if (fstat(pfd, &st) < 0)
        return fail(err, errlen, "stat socket file", errno, pfd);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s was replaced by something else than our socket", path);
        close(pfd);
        return -1;
    }
    if (gid != (gid_t)-1 && fchownat(pfd, "", (uid_t)-1, gid, AT_EMPTY_PATH) < 0)
        return fail(err, errlen, "chown socket to --socket-group", errno, pfd);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    if (chmod(proc, mode) < 0)
        return fail(err, errlen, "chmod socket", errno, pfd);
    close(pfd);
    return 0;
}

static int open_unix(const char *path, unsigned mode, const char *group, char *err,
                     size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    mode_t old;
    gid_t gid = (gid_t)-1;
    int fd, rc;

    if (path[0] != '/' || strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "unix socket path must be absolute and under %zu bytes",
                 sizeof sun.sun_path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    if (group && group_id(group, &gid, err, errlen) < 0)
        return -1;
    if (clear_stale(&sun, err, errlen) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(err, errlen, "socket", errno, -1);
    /* Created owner-only, then opened to `mode`: never wider in between. */
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (rc < 0)
        return fail(err, errlen, "bind", errno, fd);
    if (set_owner_mode(path, group ? gid : (gid_t)-1, (mode_t)mode, err, errlen) < 0) {
        unlink(path);
        close(fd);
        return -1;
    }
    if (listen(fd, listen_backlog()) < 0) {
        int e = errno;
        unlink(path);
        return fail(err, errlen, "listen", e, fd);
    }
    return fd;
}

static int open_tcp(const struct addr *a, const char *addr, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res, *ai;
    int fd = -1, rc, one = 1, e = 0;

    rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, listen_backlog()) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return fail(err, errlen, addr, e, -1);
    return fd;
}

int listen_open(const char *addr, unsigned mode, const char *group, char *err, size_t errlen,
             const char **unix_path)
{
    struct addr a;
    int fd;

    *unix_path = NULL;
    if (addr_parse(addr, &a, err, errlen) < 0)
        return -1;
    if (!a.is_unix)
        return open_tcp(&a, addr, err, errlen);
    fd = open_unix(addr + 5, mode, group, err, errlen);
    if (fd >= 0)
        *unix_path = addr + 5;
    return fd;
}

int listen_systemd(char *err, size_t errlen)
{
#ifdef HAVE_SYSTEMD
    int n = sd_listen_fds(1);

    if (n == 0)
        return -1;
    if (n < 0) {
        snprintf(err, errlen, "sd_listen_fds: %s", strerror(-n));
        return -2;
    }
    if (n > 1) {
        snprintf(err, errlen, "systemd passed %d sockets; give the .socket unit one", n);
        return -2;
    }
    if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
        snprintf(err, errlen, "the socket systemd passed is not a listening stream socket");
        return -2;
    }
    return SD_LISTEN_FDS_START;
#else
    if (getenv("LISTEN_FDS")) {
        snprintf(err, errlen, "LISTEN_FDS is set but this build has no systemd support "
                              "(configure found no libsystemd)");
        return -2;
    }
    return -1;
#endif
}

int listen_is_socket(int fd)
{
    int type;
    socklen_t len = sizeof type;

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

int listen_adopt(int fd, char *err, size_t errlen)
{
    int type = 0, listening = 0, flags;
    socklen_t len = sizeof type;

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        return fail(err, errlen, "the inherited descriptor is not a socket", errno, -1);
    len = sizeof listening;
    if (type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
        snprintf(err, errlen, "fd %d is not a listening stream socket", fd);
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return fail(err, errlen, "fcntl(O_NONBLOCK)", errno, -1);
    /* listen() again sets the backlog of a listening socket: spawn-fcgi's
     * default of 1024 would drop connections of a reconnect storm. */
    if (listen(fd, listen_backlog()) < 0)
        return fail(err, errlen, "listen (raising the backlog)", errno, -1);
    return 0;
}

void listen_describe(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(buf, len, "fd %d", fd);
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(buf, len, "unix:%s", ((struct sockaddr_un *)&ss)->sun_path);
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        char a[INET_ADDRSTRLEN];
        if (!inet_ntop(AF_INET, &in->sin_addr, a, sizeof a))
            snprintf(a, sizeof a, "?");
        snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
    } else {
        snprintf(buf, len, "fd %d", fd);
    }
}
