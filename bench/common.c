/* common.c - measuring helpers shared by the backends. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* VmRSS and VmPTE from /proc/self/status, mappings from /proc/self/maps. */
struct memory_usage memory_usage(void)
{
    struct memory_usage u = {0};
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            u.rss = kb * 1024;
        if (sscanf(line, "VmPTE: %ld kB", &kb) == 1)
            u.page_tables = kb * 1024;
    }
    if (f)
        fclose(f);
    f = fopen("/proc/self/maps", "r");
    int c;
    while (f && (c = fgetc(f)) != EOF)
        u.mappings += c == '\n';
    if (f)
        fclose(f);
    return u;
}

struct memory per_coroutine(struct memory_usage before, struct memory_usage after, long n)
{
    struct memory m = {.created = n};
    if (n > 0) {
        m.rss = (double)(after.rss - before.rss) / n;
        m.page_tables = (double)(after.page_tables - before.page_tables) / n;
    }
    m.mappings = after.mappings - before.mappings;
    return m;
}

/* The 512 bytes are written before suspending and read after, so they
 * must really be on the stack while the coroutine is suspended. */
__attribute__((noinline)) void hold_512_bytes(void (*suspend)(void *), void *arg)
{
    volatile char live[512];
    memset((char *)live, 1, sizeof live);
    suspend(arg);
    if (live[0] + live[511] != 2)
        fprintf(stderr, "hold_512_bytes: the stack changed under us\n");
}
