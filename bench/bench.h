/* bench.h - what each benchmarked implementation provides.
 *
 * Every implementation (ours, Boost.Context, glibc ucontext, a bare register
 * swap) fills in a 'struct backend' with the workloads it can run; a NULL
 * workload is one that makes no sense for it. Timed workloads return the
 * mean nanoseconds of one operation over 'n' operations, setup excluded.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>

struct memory {
    long created;          /* coroutines alive at once (maybe fewer than asked) */
    double rss;            /* bytes of resident memory per coroutine */
    double page_tables;    /* bytes of page tables (VmPTE) per coroutine */
    long mappings;         /* memory mappings added for all of them */
};

struct backend {
    const char *name;
    const char *missing;                        /* why it cannot run, or NULL */
    double (*switch_ns)(long n);                /* n round trips between two contexts */
    double (*yield_ns)(long n);                 /* main <-> one coroutine, via a scheduler */
    double (*rotate_ns)(int ring, long n);      /* through 'ring' coroutines, per switch */
    double (*lifecycle_ns)(long n);             /* create, run to the end, destroy */
    double (*lifecycle_reused_ns)(long n);      /* the same, always on one stack */
    struct memory (*memory)(long n, size_t stack_size);  /* n suspended, 512 B live each */
};

extern const struct backend ours, ucontext, bare, bare_fp;
extern struct backend boost_context;    /* filled in when boost.so loads */

/* Shared by the backends. */
double now_ns(void);
struct memory_usage {
    long rss;              /* bytes */
    long page_tables;      /* bytes */
    long mappings;
};
struct memory_usage memory_usage(void);
struct memory per_coroutine(struct memory_usage before, struct memory_usage after, long n);

/* A function that keeps 512 bytes of its frame live across a call. */
void hold_512_bytes(void (*suspend)(void *), void *arg);

#endif
