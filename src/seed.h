/* seed.h - seeded schedules (seed.c): one generator per thread for every
 * choice the library makes that a correct program must not depend on
 * (coroutine_wait.h, SEEDS). Off unless COROUTINE_SEED or co_seed() says
 * otherwise; then each choice point asks seed_below().
 */
#ifndef COROUTINE_SEED_H
#define COROUTINE_SEED_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* Whether a wake must take the long way (wait_wake), in one byte that
 * the common wake reads once: SEED_LONG_TRACE while tracing (trace.c),
 * SEED_LONG_SEEDS once any thread is seeded. */
enum { SEED_LONG_TRACE = 1, SEED_LONG_SEEDS = 2 };
HIDDEN extern unsigned char seed_long_wakes;

static inline bool seed_long_wake(void)
{
    return __atomic_load_n(&seed_long_wakes, __ATOMIC_RELAXED) != 0;
}

/* The thread's generator; 0 while its schedule is not seeded. */
HIDDEN extern __thread uint64_t seed_state CORE_TLS;

static inline bool seeded(void)
{
    return seed_state != 0;
}

/* A number below 'n' (n > 0), drawn from the thread's generator. */
HIDDEN uint32_t seed_below(uint32_t n);

/* Seed this thread's generator: each thread its own stream, from the
 * seed and the thread's serial number. */
HIDDEN void seed_start(uint64_t seed, uint64_t thread);

/* The thread starts: seeded if COROUTINE_SEED says so (read once). */
HIDDEN void seed_thread_init(uint64_t thread);

#endif
