/* ucontext.c - the workloads with glibc's makecontext/swapcontext. Each
 * swapcontext also saves and restores the signal mask with a system call,
 * which is most of its cost. Stacks as for Boost: malloc'd, 128 KiB. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <ucontext.h>

#include "bench.h"

enum { STACK = 128 * 1024 };

static ucontext_t *ring_ctx;    /* [0] is main */
static int ring_size;

static void ring_member(int me)
{
    for (;;)
        swapcontext(&ring_ctx[me], &ring_ctx[(me + 1) % ring_size]);
}

static void make(ucontext_t *c, void *stack, size_t size, void (*fn)(void), int arg)
{
    getcontext(c);
    c->uc_stack.ss_sp = stack;
    c->uc_stack.ss_size = size;
    c->uc_link = NULL;
    makecontext(c, fn, 1, arg);
}

static double rotate_ns(int ring, long n)
{
    ring_size = ring + 1;
    ring_ctx = calloc(ring_size, sizeof *ring_ctx);
    void **stacks = calloc(ring_size, sizeof *stacks);
    for (int i = 1; i < ring_size; i++) {
        stacks[i] = malloc(STACK);
        make(&ring_ctx[i], stacks[i], STACK, (void (*)(void))ring_member, i);
    }
    long rounds = n / ring_size;
    swapcontext(&ring_ctx[0], &ring_ctx[1]);    /* start them all */
    double t0 = now_ns();
    for (long r = 0; r < rounds; r++)
        swapcontext(&ring_ctx[0], &ring_ctx[1]);
    double t = now_ns() - t0;
    for (int i = 1; i < ring_size; i++)
        free(stacks[i]);
    free(stacks);
    free(ring_ctx);
    return t / ((double)rounds * ring_size);
}

/* n round trips: 2n switches, as every backend's switch_ns. */
static double switch_ns(long n)
{
    return rotate_ns(1, 2 * n);
}

static ucontext_t main_ctx, body_ctx;

static void run_once(void)
{
    setcontext(&main_ctx);
}

static double lifecycle(long n, void *shared)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        void *stack = shared ? shared : malloc(STACK);
        make(&body_ctx, stack, STACK, run_once, 0);
        swapcontext(&main_ctx, &body_ctx);
        if (!shared)
            free(stack);
    }
    return (now_ns() - t0) / n;
}

static double lifecycle_ns(long n)
{
    return lifecycle(n, NULL);
}

static double lifecycle_reused_ns(long n)
{
    void *stack = malloc(STACK);
    double t = lifecycle(n, stack);
    free(stack);
    return t;
}

static ucontext_t *held;
static long held_now;

static void suspend(void *arg)
{
    (void)arg;
    swapcontext(&held[held_now], &main_ctx);
}

static void hold(void)
{
    hold_512_bytes(suspend, NULL);
    setcontext(&main_ctx);
}

static struct memory memory(long n, size_t stack_size)
{
    size_t size = stack_size ? stack_size : STACK;
    void **stacks = malloc(n * sizeof *stacks);
    held = malloc(n * sizeof *held);
    long made = 0;
    struct memory_usage before = memory_usage();
    for (; made < n; made++) {
        if ((stacks[made] = malloc(size)) == NULL)
            break;
        make(&held[made], stacks[made], size, hold, 0);
        held_now = made;
        swapcontext(&main_ctx, &held[made]);
    }
    struct memory m = per_coroutine(before, memory_usage(), made);
    for (long i = 0; i < made; i++)
        free(stacks[i]);
    free(stacks);
    free(held);
    return m;
}

const struct backend ucontext = {
    .name = "ucontext",
    .switch_ns = switch_ns,
    .yield_ns = switch_ns,
    .rotate_ns = rotate_ns,
    .lifecycle_ns = lifecycle_ns,
    .lifecycle_reused_ns = lifecycle_reused_ns,
    .memory = memory,
};
