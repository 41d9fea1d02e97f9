/* process.h -- child programs: each in a session of its own, watched by pidfd in the loop, always reaped, with what they leave behind */
#ifndef FCGI_SSE_SOURCES_PROCESS_H
#define FCGI_SSE_SOURCES_PROCESS_H

#include <signal.h>
#include <sys/types.h>

#include "core/loop.h"

struct process;
struct processes;

/* Called once, when the program (the group's leader) has exited and was
 * reaped: status is its exit code, or 128 + the signal that ended it.
 * Whatever else was left in its process group was killed first, and so
 * was what it left outside (see process_setup). */
typedef void (*process_exit_fn)(void *arg, int status);

/* The programs of the process (one such table a process: SIGCHLD and the
 * subreaper are the process's). Children run in loop l; SIGKILL follows SIGTERM after kill_after_ns;
 * at most max at once. With max > 0 the process becomes a child subreaper
 * (PR_SET_CHILD_SUBREAPER): whatever a program leaves behind re-parents
 * to us when its parent exits, instead of to init. Such an adopted
 * process is reaped when it exits, and SIGKILLed as soon as it is seen
 * outside the session of a program that runs: one that left with setsid,
 * or one whose program ended (one that left its group but not its session,
 * setpgid or `set -m`, lives while its program runs). It is seen at every
 * SIGCHLD (taken from a signalfd: SIGCHLD is blocked, and added to
 * *waitmask, the loop's wait mask) and when a program is reaped. The table, or
 * NULL with errno (no memory, no signalfd, or the loop refused it). */
struct processes *process_create(struct loop *l, long long kill_after_ns, unsigned long max,
                          sigset_t *waitmask);
/* Frees t (after process_shutdown: no program is left). */
void process_destroy(struct processes *t);

/* The default of --max-runs: 64 a CPU, bounded by what the open files
 * (nofile, 6 a run: the stream, three pipes, the pidfd and spare) and the
 * process limit (half of RLIMIT_NPROC) allow; at least 1. */
unsigned long process_default_max(unsigned long long nofile);

/* 1 when max programs are running (or being killed). */
int process_full(const struct processes *t);
unsigned long process_running(const struct processes *t);

/* Programs this table ended since it was made: *terminated, those sent
 * SIGTERM (their client left, --run-timeout, shutdown); *killed, those
 * SIGKILLed because they were still there kill_after later. */
void process_counts(const struct processes *t, unsigned long *terminated, unsigned long *killed);

/* Starts path (argv: just path) with envp, in a new session (and so a
 * process group of its own, whose id is its pid), with
 * every signal at its default and none blocked, fds 0, 1, 2 pipes and no
 * other descriptor. fds[0] is set to our end of its stdin (write),
 * fds[1] of its stdout, fds[2] of its stderr: non-blocking, close-on-exec,
 * the caller's to close. on_exit(arg, status) is called from the loop.
 * NULL with errno (the program could not be started: ENOENT, EACCES...). */
struct process *process_start(struct processes *t, const char *path, char *const envp[], int fds[3],
                        process_exit_fn on_exit, void *arg);

pid_t process_pid(const struct process *p);

/* Ends the run: SIGTERM to the group now, SIGKILL after kill_after;
 * on_exit is still called. Repeating it is a no-op. */
void process_terminate(struct process *p);

/* The owner leaves (its client left): as process_terminate, and on_exit is
 * never called; p is reaped and freed by this module. */
void process_detach(struct process *p);

/* At shutdown: terminates every program, runs the loop until all are
 * reaped or kill_after and 500 ms have passed (or *stop exceeds 1), then
 * SIGKILLs and reaps (waitpid) whatever is left, adopted processes too,
 * generation by generation. Never leaves a child. */
void process_shutdown(struct processes *t, const volatile sig_atomic_t *stop, const sigset_t *waitmask);

#endif
