/* procstat.h -- what the kernel says of this process: CPU time, memory, descriptors, start time */
#ifndef FCGI_SSE_CORE_PROCSTAT_H
#define FCGI_SSE_CORE_PROCSTAT_H

/* The figures Prometheus names process_*; each is valid only when its
 * have_ flag is set (a /proc that cannot be read leaves it out). */
struct procstat {
    int have_cpu, have_mem, have_fds, have_max_fds, have_start;
    double cpu_seconds;                 /* user + system time (/proc/self/stat) */
    unsigned long long resident_bytes;  /* resident set (rss pages x page size) */
    unsigned long long virtual_bytes;   /* address space (vsize) */
    unsigned long open_fds;             /* entries of /proc/self/fd */
    unsigned long long max_fds;         /* RLIMIT_NOFILE's soft limit */
    double start_time_seconds;          /* since the epoch: boot time + start ticks */
};

/* Reads the figures of the calling process from /proc/self/stat,
 * /proc/stat (btime), /proc/self/fd and getrlimit. What cannot be read
 * keeps its have_ flag 0; never fails. */
void procstat_read(struct procstat *p);

/* Parses the text of a /proc/PID/stat into p's CPU and memory figures,
 * with clock ticks of hz, pages of page_size and the boot time btime (s
 * since the epoch; 0: unknown, no start time). 0, or -1 when the text is
 * not such a line. Pure: for the tests. */
int procstat_parse(struct procstat *p, const char *stat, long hz, long page_size,
                   unsigned long long btime);

#endif
