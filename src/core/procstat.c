/* procstat.c -- what the kernel says of this process: CPU time, memory, descriptors, start time */
#include "config.h"

#include "core/procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The fields of /proc/PID/stat after the command's closing parenthesis,
 * counted from 1 as proc(5) counts them from the state (field 3). */
#define F_UTIME 14
#define F_STIME 15
#define F_START 22
#define F_VSIZE 23
#define F_RSS 24

int procstat_parse(struct procstat *p, const char *stat, long hz, long page_size,
                   unsigned long long btime)
{
    const char *s = strrchr(stat, ')');
    unsigned long long f[F_RSS + 1] = { 0 };
    int i;

    if (!s || hz <= 0 || page_size <= 0)
        return -1;
    s++;
    /* the state is one letter; every field after it is a number */
    while (*s == ' ')
        s++;
    if (!*s || s[1] != ' ')
        return -1;
    s += 2;
    for (i = 4; i <= F_RSS; i++) {
        char *end;
        long long v;
        while (*s == ' ')
            s++;
        v = strtoll(s, &end, 10);
        if (end == s)
            return -1;
        f[i] = v < 0 ? 0 : (unsigned long long)v; /* rss may read -1 in odd states */
        s = end;
    }
    p->cpu_seconds = (double)(f[F_UTIME] + f[F_STIME]) / (double)hz;
    p->have_cpu = 1;
    p->virtual_bytes = f[F_VSIZE];
    p->resident_bytes = f[F_RSS] * (unsigned long long)page_size;
    p->have_mem = 1;
    if (btime) {
        p->start_time_seconds = (double)btime + (double)f[F_START] / (double)hz;
        p->have_start = 1;
    }
    return 0;
}

/* The boot time (btime of /proc/stat), or 0. */
static unsigned long long boot_time(void)
{
    char line[256];
    unsigned long long bt = 0;
    FILE *f = fopen("/proc/stat", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtoull(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return bt;
}

/* Entries of /proc/self/fd (its own descriptor counted, as other clients
 * of this format count it); -1 when it cannot be read. */
static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

void procstat_read(struct procstat *p)
{
    char buf[1024];
    struct rlimit rl;
    FILE *f;
    size_t n = 0;
    long fds;

    memset(p, 0, sizeof *p);
    f = fopen("/proc/self/stat", "re");
    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    if (n)
        (void)procstat_parse(p, buf, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time());
    fds = count_fds();
    if (fds >= 0) {
        p->open_fds = (unsigned long)fds;
        p->have_fds = 1;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        p->max_fds = rl.rlim_cur == RLIM_INFINITY ? ~0ULL : (unsigned long long)rl.rlim_cur;
        p->have_max_fds = 1;
    }
}
