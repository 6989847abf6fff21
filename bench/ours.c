/* ours.c - the workloads, run with this library. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "coroutine.h"

static sp_ctx ping_ctx, pong_ctx;
static long remaining;

/* Bounces off pong 'remaining' times, then back to main; again if resumed.
 * The loop keeps its count and target in registers, as Boost's does. */
static void ping(void *arg)
{
    (void)arg;
    for (;;) {
        sp_ctx other = pong_ctx;
        for (long i = remaining; i > 0; i--)
            switch_ctx(other);
        switch_ctx(NULL);
    }
}

static void pong(void *arg)
{
    sp_ctx other = ping_ctx;
    (void)arg;
    for (;;)
        switch_ctx(other);
}

static double switch_ns(long n)
{
    ping_ctx = create_ctx(ping, NULL);
    pong_ctx = create_ctx(pong, NULL);
    remaining = 1000;
    switch_ctx(ping_ctx);               /* warm both up */
    remaining = n;
    double t0 = now_ns();
    switch_ctx(ping_ctx);
    double t = now_ns() - t0;
    destroy_ctx(ping_ctx);
    destroy_ctx(pong_ctx);
    return t / (2.0 * n + 2);          /* n round trips, main -> ping -> main */
}

static void yield_forever(void *arg)
{
    (void)arg;
    for (;;)
        yield_ctx();
}

/* Main and 'ring' coroutines yield in turn; n switches in all. */
static double rotate_ns(int ring, long n)
{
    sp_ctx *c = malloc(ring * sizeof *c);
    for (int i = 0; i < ring; i++)
        c[i] = create_ctx(yield_forever, NULL);
    yield_ctx();                        /* each has started */
    long rounds = n / (ring + 1);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        yield_ctx();
    double t = now_ns() - t0;
    for (int i = 0; i < ring; i++)
        destroy_ctx(c[i]);
    free(c);
    return t / (rounds * (ring + 1.0));
}

static double yield_ns(long n)
{
    return rotate_ns(1, n);
}

static void nothing(void *arg)
{
    (void)arg;
}

static double lifecycle_ns(long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        sp_ctx c = create_ctx(nothing, NULL);
        switch_ctx(c);
        destroy_ctx(c);
    }
    return (now_ns() - t0) / n;
}

static void suspend(void *arg)
{
    (void)arg;
    switch_ctx(NULL);                   /* straight back to main */
}

static void hold(void *arg)
{
    (void)arg;
    hold_512_bytes(suspend, NULL);
}

static struct memory memory(long n, size_t stack_size)
{
    sp_ctx *c = malloc(n * sizeof *c);
    long made = 0;
    struct memory_usage before = memory_usage();
    while (made < n) {
        c[made] = stack_size ? create_ctx_sized(hold, NULL, stack_size) : create_ctx(hold, NULL);
        if (c[made] == NULL)
            break;
        switch_ctx(c[made]);            /* it writes its 512 bytes, comes back */
        made++;
    }
    struct memory m = per_coroutine(before, memory_usage(), made);
    for (long i = 0; i < made; i++)
        destroy_ctx(c[i]);
    free(c);
    return m;
}

const struct backend ours = {
    .name = "ours",
    .switch_ns = switch_ns,
    .yield_ns = yield_ns,
    .rotate_ns = rotate_ns,
    .lifecycle_ns = lifecycle_ns,
    .memory = memory,
};
