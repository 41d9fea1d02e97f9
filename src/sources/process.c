/* process.c -- child programs: each in a session of its own, watched by pidfd in the loop, always reaped, with what they leave behind */
#include "config.h"

#include "sources/process.h"
#include "core/list.h"
#include "core/log.h"
#include "core/clock.h"

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

struct process {
    struct processes *t;
    pid_t pid;
    struct loop_io io;            /* the pidfd: readable once the leader exited */
    struct loop_timer kill;       /* SIGKILL after SIGTERM */
    process_exit_fn on_exit;         /* NULL once detached */
    void *arg;
    int terminating;
    struct list node;             /* in t->all */
};

struct processes {
    struct loop *loop;
    long long kill_after;
    unsigned long max_running, running;
    unsigned long terminated;     /* SIGTERMed by us (process_terminate) */
    unsigned long killed;         /* SIGKILLed: still there kill_after later */
    struct list all;              /* the programs running, or being killed */
    struct loop_io sigchld;       /* SIGCHLD, from a signalfd: a child exited, ours or adopted */
    int subreaper;                /* PR_SET_CHILD_SUBREAPER is set */
    struct log_limit adopt_limit;
};

static void on_sigchld(struct loop *l, struct loop_io *io, uint32_t events);

struct processes *process_create(struct loop *l, long long kill_after_ns, unsigned long max,
                          sigset_t *waitmask)
{
    struct processes *t = calloc(1, sizeof *t);
    sigset_t chld;
    int err;

    if (!t)
        return NULL;
    t->loop = l;
    t->kill_after = kill_after_ns;
    t->max_running = max;
    t->sigchld.fd = -1;
    list_init(&t->all);
    if (!max)
        return t;
    /* Orphans of a program (a daemon it started, a job it put in a session
     * or group of its own) re-parent to us instead of init: see adopt_scan. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
        t->subreaper = 1;
    else
        log_warn("cannot become a subreaper (prctl: %s): what a program leaves outside its "
                 "session when it exits will outlive it", strerror(errno));
    /* SIGCHLD is taken only from the signalfd: blocked, in the loop's wait too. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    err = pthread_sigmask(SIG_BLOCK, &chld, NULL);
    if (err)
        goto fail;
    sigaddset(waitmask, SIGCHLD);
    t->sigchld.fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    t->sigchld.fn = on_sigchld;
    if (t->sigchld.fd < 0 || loop_io_add(l, &t->sigchld, EPOLLIN) < 0) {
        err = errno;
        goto fail;
    }
    return t;

fail:
    if (t->sigchld.fd >= 0)
        close(t->sigchld.fd);
    free(t);
    errno = err;
    return NULL;
}

void process_destroy(struct processes *t)
{
    if (!t)
        return;
    if (t->sigchld.fd >= 0) {
        loop_io_del(t->loop, &t->sigchld);
        close(t->sigchld.fd);
    }
    free(t);
}

unsigned long process_default_max(unsigned long long nofile)
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

int process_full(const struct processes *t)
{
    return t->running >= t->max_running;
}

unsigned long process_running(const struct processes *t)
{
    return t->running;
}

void process_counts(const struct processes *t, unsigned long *terminated, unsigned long *killed)
{
    *terminated = t->terminated;
    *killed = t->killed;
}

pid_t process_pid(const struct process *p)
{
    return p->pid;
}

/* Signals p's process group (its leader is not reaped yet, so the group
 * id is still ours to use). */
static void signal_group(struct process *p, int sig)
{
    if (kill(-p->pid, sig) < 0 && errno != ESRCH)
        log_errno("kill(program group)", errno);
}

static void unlink_proc(struct process *p)
{
    list_remove(&p->node);
    p->t->running--;
}

/* 1 when pid is the leader of a program we run (reaped by its pidfd). */
static int is_program(const struct processes *t, pid_t pid)
{
    const struct list *n;

    for (n = t->all.next; n != &t->all; n = n->next)
        if (container_of(n, struct process, node)->pid == pid)
            return 1;
    return 0;
}

/* Calls fn(pid, final) for each child of ours: from
 * /proc/self/task/TID/children (each thread's list), or, where the kernel
 * has no such file, from every /proc/PID/stat whose parent is us. Returns
 * how many it found. */
static size_t each_child(struct processes *t, void (*fn)(struct processes *t, pid_t pid, int final),
                         int final)
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
                fn(t, (pid_t)pid, final);
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
            fn(t, (pid_t)atol(e->d_name), final);
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
static void adopt_one(struct processes *t, pid_t pid, int final)
{
    int st;
    pid_t r, sid;

    if (pid <= 0 || is_program(t, pid))
        return;
    do
        r = waitpid(pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r != 0)
        return; /* reaped now, or not ours (ECHILD) */
    sid = getsid(pid);
    if (!final && sid > 0 && is_program(t, sid))
        return; /* ends with its program's group, or when orphaned after it */
    if (kill(pid, SIGKILL) < 0) {
        if (errno != ESRCH && log_allow(&t->adopt_limit))
            log_warn("cannot kill process %ld that a program left behind: %s", (long)pid,
                     strerror(errno));
        if (errno != ESRCH)
            return;
    } else if (log_allow(&t->adopt_limit)) {
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
static void adopt_scan(struct processes *t)
{
    if (t->subreaper)
        (void)each_child(t, adopt_one, 0);
}

static void on_sigchld(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct signalfd_siginfo si;
    (void)l;
    (void)events;

    while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    adopt_scan(container_of(io, struct processes, sigchld));
}

/* Reaps p (it has exited: its pidfd is readable, or SIGKILL was sent and
 * we wait): kills what is left of its group, tells the owner, frees p.
 * Then what p left outside its group, adopted, is killed (adopt_scan). */
static void reap(struct process *p, int block)
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
    loop_io_del(p->t->loop, &p->io);
    close(p->io.fd);
    loop_timer_cancel(p->t->loop, &p->kill);
    unlink_proc(p);
    adopt_scan(p->t); /* p's session is no program's now */
    if (p->on_exit)
        p->on_exit(p->arg, code);
    free(p);
}

static void on_pidfd(struct loop *l, struct loop_io *io, uint32_t events)
{
    (void)l;
    (void)events;
    reap(container_of(io, struct process, io), 0);
}

static void on_kill(struct loop *l, struct loop_timer *t)
{
    struct process *p = container_of(t, struct process, kill);
    (void)l;
    p->t->killed++;
    signal_group(p, SIGKILL);
}

/* Our end of a pipe: non-blocking. */
static int nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* What posix_spawn does in the child: fds 0, 1, 2 the pipes' ends and
 * nothing else open, a session of its own (and so a group: setpgid cannot
 * take its processes into another program's group), every signal at its
 * default and none blocked. 0, or an error number. */
static int spawn_attrs(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, int in, int out,
                       int err_fd)
{
    static const int dflt[] = { SIGPIPE, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT,
                                SIGCHLD, SIGALRM };
    sigset_t none, def;
    size_t i;
    int err;

    sigemptyset(&none);
    sigemptyset(&def);
    for (i = 0; i < sizeof dflt / sizeof dflt[0]; i++)
        sigaddset(&def, dflt[i]);
    if ((err = posix_spawn_file_actions_adddup2(fa, in, 0)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(fa, out, 1)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(fa, err_fd, 2)) != 0 ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
        (err = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0 ||
#endif
        (err = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (err = posix_spawnattr_setsigmask(at, &none)) != 0 ||
        (err = posix_spawnattr_setsigdefault(at, &def)) != 0)
        return err;
    return 0;
}

/* Watches the program p (started as pid) by its pidfd. 0, or an error number. */
static int watch(struct processes *t, struct process *p, pid_t pid)
{
    p->pid = pid;
    p->io.fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (p->io.fd < 0 || fcntl(p->io.fd, F_SETFD, FD_CLOEXEC) < 0)
        return errno;
    p->io.fn = on_pidfd;
    if (loop_io_add(t->loop, &p->io, EPOLLIN) < 0)
        return errno;
    return 0;
}

struct process *process_start(struct processes *t, const char *path, char *const envp[], int fds[3],
                        process_exit_fn on_exit, void *arg)
{
    int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    char *argv[2];
    struct process *p = calloc(1, sizeof *p);
    int err = 0, fa_ok = 0, at_ok = 0;
    size_t i;
    pid_t pid = -1;

    if (!p)
        return NULL;
    p->t = t;
    p->io.fd = -1;
    if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
        nonblock(pin[1]) < 0 || nonblock(pout[0]) < 0 || nonblock(perr[0]) < 0) {
        err = errno;
        goto fail;
    }
    if ((err = posix_spawn_file_actions_init(&fa)) != 0)
        goto fail;
    fa_ok = 1;
    if ((err = posix_spawnattr_init(&at)) != 0)
        goto fail;
    at_ok = 1;
    if ((err = spawn_attrs(&fa, &at, pin[0], pout[1], perr[1])) != 0)
        goto fail;
    argv[0] = (char *)path;
    argv[1] = NULL;
    if ((err = posix_spawn(&pid, path, &fa, &at, argv, envp)) != 0) {
        pid = -1;
        goto fail;
    }
    if ((err = watch(t, p, pid)) != 0)
        goto fail;
    loop_timer_init(&p->kill, on_kill);
    p->on_exit = on_exit;
    p->arg = arg;
    list_push(&t->all, &p->node);
    t->running++;
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

void process_terminate(struct process *p)
{
    if (p->terminating)
        return;
    p->terminating = 1;
    p->t->terminated++;
    signal_group(p, SIGTERM);
    signal_group(p, SIGCONT); /* a stopped program must see it */
    if (loop_timer_set(p->t->loop, &p->kill, clock_now_ns() + p->t->kill_after) < 0) {
        log_errno("queueing a SIGKILL", errno);
        p->t->killed++;
        signal_group(p, SIGKILL);
    }
}

void process_detach(struct process *p)
{
    p->on_exit = NULL;
    p->arg = NULL;
    process_terminate(p);
}

void process_shutdown(struct processes *t, const volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
    long long end = clock_now_ns() + t->kill_after + 500000000LL;
    struct list *n, *tmp;

    if (t->running)
        log_info("stopping: ending %lu programs", t->running);
    list_for_each(n, tmp, &t->all)
        process_terminate(container_of(n, struct process, node));
    while (!list_empty(&t->all) && *stop < 2) {
        long long left = end - clock_now_ns();
        if (left <= 0)
            break;
        if (loop_once(t->loop, (int)(left / 1000000) + 1, waitmask) < 0)
            break;
    }
    while ((n = list_first(&t->all))) {
        struct process *p = container_of(n, struct process, node);
        log_warn("program %ld did not end: killing it", (long)p->pid);
        t->killed++;
        p->on_exit = NULL;
        reap(p, 1);
    }
    /* What programs left behind, adopted: killed and waited for, each
     * generation (a death re-parents its children to us) until none is left. */
    if (t->subreaper) {
        int rounds = 0;

        while (rounds++ < 1000 && each_child(t, adopt_one, 1) > 0)
            ;
    }
}
