/* bare.c - a ping-pong with the bare register swap of bench/<target>/bare.s,
 * the floor under any switch. */
#include <stdlib.h>

#include "bench.h"

void bare_swap(void **save, void *load);
void bare_swap_fp(void **save, void *load);
void *bare_make(void *top, void (*fn)(void *), void *arg, int with_fp);

enum { STACK = 64 * 1024 };

static void *main_sp, *other_sp;
static void (*swap)(void **, void *);

static void pong(void *arg)
{
    (void)arg;
    for (;;)
        swap(&other_sp, main_sp);
}

static double ping_pong(long n, int with_fp)
{
    void *stack = malloc(STACK);
    swap = with_fp ? bare_swap_fp : bare_swap;
    other_sp = bare_make((char *)stack + STACK, pong, NULL, with_fp);
    swap(&main_sp, other_sp);                  /* start it */
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        swap(&main_sp, other_sp);
    double t = now_ns() - t0;
    free(stack);
    return t / (2.0 * n);
}

static double switch_ns(long n)
{
    return ping_pong(n, 0);
}

static double switch_fp_ns(long n)
{
    return ping_pong(n, 1);
}

const struct backend bare = {
    .name = "bare swap",
    .switch_ns = switch_ns,
};

const struct backend bare_fp = {
    .name = "bare + FP ctl",
    .switch_ns = switch_fp_ns,
};
