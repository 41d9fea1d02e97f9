/* admit.c -- stream slots: who may open a stream, and how many the process can hold */
#include "config.h"

#include "stream/admit.h"

#include <stdio.h>
#include <unistd.h>

int admit_take(struct stats *st, enum stats_kind k)
{
    if (st->streams_open >= st->max_streams) {
        st->streams_refused++;
        return 0;
    }
    st->streams_open++;
    st->streams_total++;
    st->open_kind[k]++;
    st->total_kind[k]++;
    return 1;
}

void admit_give(struct stats *st, enum stats_kind k)
{
    if (st->streams_open > 0)
        st->streams_open--;
    if (st->open_kind[k] > 0)
        st->open_kind[k]--;
}

void admit_ended(void *arg, struct stream *s)
{
    admit_give(arg, s->kind);
}

/* libfcgi's writer: FCGX_Stream, its data and an 8 KB buffer. */
#define ADMIT_WRITER_COST (8192 + 512)

unsigned long long admit_stream_cost(unsigned long sndbuf)
{
    return sizeof(struct stream) + ADMIT_WRITER_COST + 2ULL * sndbuf;
}

unsigned long admit_default_max(unsigned long long nofile, unsigned long fd_reserve,
                                unsigned long long mem_budget, unsigned long long cost)
{
    unsigned long long by_fd = nofile > 2ULL * fd_reserve ? nofile - fd_reserve : nofile / 2;
    unsigned long long by_mem = cost ? mem_budget / cost : by_fd;
    unsigned long long n = by_fd < by_mem ? by_fd : by_mem;

    if (n < 1)
        n = 1;
    return n > 1000000ULL ? 1000000UL : (unsigned long)n;
}

/* memory.max of our cgroup (v2); 0 when unset ("max") or unreadable. */
static unsigned long long cgroup_limit(void)
{
    char path[512], line[512];
    unsigned long long v = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");

    if (!f)
        return 0;
    /* cgroup v2: one line "0::/path" */
    path[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '0' && line[1] == ':' && line[2] == ':') {
            size_t n = 0;
            while (line[3 + n] && line[3 + n] != '\n')
                n++;
            line[3 + n] = '\0';
            if (snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3) >=
                (int)sizeof path)
                path[0] = '\0';
        }
    }
    fclose(f);
    if (!path[0] || !(f = fopen(path, "r")))
        return 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

unsigned long long admit_memory_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    unsigned long long phys = pages > 0 && psize > 0 ? (unsigned long long)pages * (unsigned long long)psize : 0;
    unsigned long long cg = cgroup_limit();
    unsigned long long have = cg && (cg < phys || !phys) ? cg : phys;

    return have / 4;
}
