/* proc.c -- child programs: each in a session of its own, watched by pidfd in the loop, always reaped, with what they leave behind */
#include "config.h"

#include "proc.h"
#include "log.h"
#include "clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct proc {
    pid_t pid;
    struct loop_io io;            /* the pidfd: readable once the leader exited */
    struct loop_timer kill;       /* SIGKILL after SIGTERM */
    proc_exit_fn on_exit;         /* NULL once detached */
    void *arg;
    int terminating;
    struct proc *prev, *next;
};

static struct loop *loop;
static long long kill_after;
static unsigned long max_running, running;
static struct proc *all;
/* SIGCHLD, read from a signalfd: a child exited, ours or adopted. */
static struct loop_io sigchld = { NULL, -1 };
static int subreaper;               /* PR_SET_CHILD_SUBREAPER is set */
static struct log_limit adopt_limit;

static void on_sigchld(struct loop *l, struct loop_io *io, uint32_t events);

int proc_setup(struct loop *l, long long kill_after_ns, unsigned long max, sigset_t *waitmask)
{
    sigset_t chld;
    int err;

    loop = l;
    kill_after = kill_after_ns;
    max_running = max;
    if (!max || sigchld.fd >= 0)
        return 0;
    /* Orphans of a program (a daemon it started, a job it put in a session
     * or group of its own) re-parent to us instead of init: see adopt_scan. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
        subreaper = 1;
    else
        log_warn("cannot become a subreaper (prctl: %s): what a program leaves outside its "
                 "session when it exits will outlive it", strerror(errno));
    /* SIGCHLD is taken only from the signalfd: blocked, in the loop's wait too. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    err = pthread_sigmask(SIG_BLOCK, &chld, NULL);
    if (err) {
        errno = err;
        return -1;
    }
    sigaddset(waitmask, SIGCHLD);
    sigchld.fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigchld.fd < 0)
        return -1;
    sigchld.fn = on_sigchld;
    if (loop_io_add(loop, &sigchld, EPOLLIN) < 0) {
        err = errno;
        close(sigchld.fd);
        sigchld.fd = -1;
        errno = err;
        return -1;
    }
    return 0;
}

unsigned long proc_default_max(unsigned long long nofile)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long n = 64ULL * (unsigned long long)(cpus > 0 ? cpus : 1);
    struct rlimit rl;

    if (nofile / 6 < n)
        n = nofile / 6;
    if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < n)
        n = rl.rlim_cur / 2;
    return n ? (unsigned long)n : 1;
}

int proc_full(void)
{
    return running >= max_running;
}

unsigned long proc_running(void)
{
    return running;
}

pid_t proc_pid(const struct proc *p)
{
    return p->pid;
}

/* Signals p's process group (its leader is not reaped yet, so the group
 * id is still ours to use). */
static void signal_group(struct proc *p, int sig)
{
    if (kill(-p->pid, sig) < 0 && errno != ESRCH)
        log_errno("kill(program group)", errno);
}

static void unlink_proc(struct proc *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        all = p->next;
    if (p->next)
        p->next->prev = p->prev;
    running--;
}

/* 1 when pid is the leader of a program we run (reaped by its pidfd). */
static int is_program(pid_t pid)
{
    struct proc *p;

    for (p = all; p; p = p->next)
        if (p->pid == pid)
            return 1;
    return 0;
}

/* Calls fn(pid, final) for each child of ours: from
 * /proc/self/task/TID/children (each thread's list), or, where the kernel
 * has no such file, from every /proc/PID/stat whose parent is us. Returns
 * how many it found. */
static size_t each_child(void (*fn)(pid_t pid, int final), int final)
{
    static int no_children_file;
    char path[64];
    DIR *d;
    struct dirent *e;
    size_t count = 0;

    if (!no_children_file && (d = opendir("/proc/self/task"))) {
        int found = 0;

        while ((e = readdir(d))) {
            FILE *f;
            long pid;

            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/self/task/%.20s/children", e->d_name);
            if (!(f = fopen(path, "re")))
                continue;
            found = 1;
            while (fscanf(f, "%ld", &pid) == 1) {
                fn((pid_t)pid, final);
                count++;
            }
            fclose(f);
        }
        closedir(d);
        if (found)
            return count;
        no_children_file = 1;
    }
    if (!(d = opendir("/proc")))
        return count;
    while ((e = readdir(d))) {
        char buf[512], *rp;
        FILE *f;
        long ppid;
        size_t n;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
        if (!(f = fopen(path, "re")))
            continue;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* "PID (COMM) STATE PPID ...": COMM may hold anything, even ") " */
        if ((rp = strrchr(buf, ')')) && sscanf(rp + 1, " %*c %ld", &ppid) == 1 &&
            ppid == (long)getpid()) {
            fn((pid_t)atol(e->d_name), final);
            count++;
        }
    }
    closedir(d);
    return count;
}

/* One child of ours that is not a program we started: a process a program
 * left behind, adopted when its parent exited (we are a subreaper). Reaps
 * it when it has exited. Alive, it is SIGKILLed unless it is still in the
 * session of a program that runs: it left (setsid), or its program ended.
 * final (at shutdown): SIGKILLed whatever its session, and waited for. */
static void adopt_one(pid_t pid, int final)
{
    int st;
    pid_t r, sid;

    if (pid <= 0 || is_program(pid))
        return;
    do
        r = waitpid(pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r != 0)
        return; /* reaped now, or not ours (ECHILD) */
    sid = getsid(pid);
    if (!final && sid > 0 && is_program(sid))
        return; /* ends with its program's group, or when orphaned after it */
    if (kill(pid, SIGKILL) < 0) {
        if (errno != ESRCH && log_allow(&adopt_limit))
            log_warn("cannot kill process %ld that a program left behind: %s", (long)pid,
                     strerror(errno));
        if (errno != ESRCH)
            return;
    } else if (log_allow(&adopt_limit)) {
        log_warn("process %ld, left behind by a program (session %ld), killed", (long)pid,
                 (long)sid);
    }
    if (final)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
}

/* Reaps adopted children that exited and kills those that escaped a
 * program's session or outlived it (adopt_one). Their death re-parents
 * their own children to us and wakes on_sigchld: each generation follows. */
static void adopt_scan(void)
{
    if (subreaper)
        (void)each_child(adopt_one, 0);
}

static void on_sigchld(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct signalfd_siginfo si;
    (void)l;
    (void)events;

    while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    adopt_scan();
}

/* Reaps p (it has exited: its pidfd is readable, or SIGKILL was sent and
 * we wait): kills what is left of its group, tells the owner, frees p.
 * Then what p left outside its group, adopted, is killed (adopt_scan). */
static void reap(struct proc *p, int block)
{
    int st = 0, code;
    pid_t r;

    signal_group(p, SIGKILL); /* the leader is gone: nothing of its group stays */
    do
        r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return; /* not yet: the pidfd says again */
    if (r < 0)
        log_errno("waitpid", errno); /* ECHILD: cannot happen, nobody else waits */
    code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
    loop_io_del(loop, &p->io);
    close(p->io.fd);
    loop_timer_cancel(loop, &p->kill);
    unlink_proc(p);
    adopt_scan(); /* p's session is no program's now */
    if (p->on_exit)
        p->on_exit(p->arg, code);
    free(p);
}

static void on_pidfd(struct loop *l, struct loop_io *io, uint32_t events)
{
    (void)l;
    (void)events;
    reap((struct proc *)((char *)io - offsetof(struct proc, io)), 0);
}

static void on_kill(struct loop *l, struct loop_timer *t)
{
    struct proc *p = (struct proc *)((char *)t - offsetof(struct proc, kill));
    (void)l;
    signal_group(p, SIGKILL);
}

/* Our end of a pipe: non-blocking. */
static int nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct proc *proc_start(const char *path, char *const envp[], int fds[3], proc_exit_fn on_exit,
                        void *arg)
{
    static const int dflt[] = { SIGPIPE, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT,
                                SIGCHLD, SIGALRM };
    int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, def;
    char *argv[2];
    struct proc *p = calloc(1, sizeof *p);
    int err = 0, fa_ok = 0, at_ok = 0;
    size_t i;
    pid_t pid = -1;

    if (!p)
        return NULL;
    p->io.fd = -1;
    if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
        nonblock(pin[1]) < 0 || nonblock(pout[0]) < 0 || nonblock(perr[0]) < 0) {
        err = errno;
        goto fail;
    }
    sigemptyset(&none);
    sigemptyset(&def);
    for (i = 0; i < sizeof dflt / sizeof dflt[0]; i++)
        sigaddset(&def, dflt[i]);
    if ((err = posix_spawn_file_actions_init(&fa)) != 0)
        goto fail;
    fa_ok = 1;
    if ((err = posix_spawnattr_init(&at)) != 0)
        goto fail;
    at_ok = 1;
    if ((err = posix_spawn_file_actions_adddup2(&fa, pin[0], 0)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(&fa, pout[1], 1)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(&fa, perr[1], 2)) != 0 ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
        (err = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
#endif
        /* a session of its own (and so a group): setpgid cannot take its
         * processes into another program's group */
        (err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (err = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
        (err = posix_spawnattr_setsigdefault(&at, &def)) != 0)
        goto fail;
    argv[0] = (char *)path;
    argv[1] = NULL;
    if ((err = posix_spawn(&pid, path, &fa, &at, argv, envp)) != 0) {
        pid = -1;
        goto fail;
    }
    p->pid = pid;
    p->io.fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (p->io.fd < 0) {
        err = errno;
        goto fail;
    }
    if (fcntl(p->io.fd, F_SETFD, FD_CLOEXEC) < 0) {
        err = errno;
        goto fail;
    }
    p->io.fn = on_pidfd;
    if (loop_io_add(loop, &p->io, EPOLLIN) < 0) {
        err = errno;
        goto fail;
    }
    loop_timer_init(&p->kill, on_kill);
    p->on_exit = on_exit;
    p->arg = arg;
    p->next = all;
    if (all)
        all->prev = p;
    all = p;
    running++;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    fds[0] = pin[1];
    fds[1] = pout[0];
    fds[2] = perr[0];
    return p;

fail:
    if (pid > 0) {
        int st;
        (void)kill(-pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (p->io.fd >= 0)
        close(p->io.fd);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (at_ok)
        posix_spawnattr_destroy(&at);
    for (i = 0; i < 2; i++) {
        if (pin[i] >= 0)
            close(pin[i]);
        if (pout[i] >= 0)
            close(pout[i]);
        if (perr[i] >= 0)
            close(perr[i]);
    }
    free(p);
    errno = err ? err : EIO;
    return NULL;
}

void proc_terminate(struct proc *p)
{
    if (p->terminating)
        return;
    p->terminating = 1;
    signal_group(p, SIGTERM);
    signal_group(p, SIGCONT); /* a stopped program must see it */
    if (loop_timer_set(loop, &p->kill, clock_now_ns() + kill_after) < 0) {
        log_errno("queueing a SIGKILL", errno);
        signal_group(p, SIGKILL);
    }
}

void proc_detach(struct proc *p)
{
    p->on_exit = NULL;
    p->arg = NULL;
    proc_terminate(p);
}

void proc_shutdown(const volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
    long long end = clock_now_ns() + kill_after + 500000000LL;
    struct proc *p;

    if (!loop)
        return;
    if (running)
        log_info("stopping: ending %lu programs", running);
    for (p = all; p; p = p->next)
        proc_terminate(p);
    while (all && *stop < 2) {
        long long left = end - clock_now_ns();
        if (left <= 0)
            break;
        if (loop_once(loop, (int)(left / 1000000) + 1, waitmask) < 0)
            break;
    }
    while (all) {
        log_warn("program %ld did not end: killing it", (long)all->pid);
        all->on_exit = NULL;
        reap(all, 1);
    }
    /* What programs left behind, adopted: killed and waited for, each
     * generation (a death re-parents its children to us) until none is left. */
    if (subreaper) {
        int rounds = 0;

        while (rounds++ < 1000 && each_child(adopt_one, 1) > 0)
            ;
    }
}
