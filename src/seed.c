/* seed.c - seeded schedules: the generator behind every choice the library
 * makes that a correct program must not depend on (where a woken context
 * rejoins the rotation, whether a new or woken one runs first, which ready
 * case a select takes, and extra yields at calls that may wait). With the
 * same seed and a virtual clock, a run is the same run again, event for
 * event, so a failure found under one seed can be replayed.
 *
 * The generator is splitmix64 (Steele, Lea and Flood, 2014): a counter
 * through a good mixer, so any seed, even 0 or 1, gives a fresh stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

__thread uint64_t seed_state CORE_TLS;
unsigned char seed_long_wakes;

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static bool env_seeded;
static uint64_t env_seed;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t seed_below(uint32_t n)
{
    seed_state += 0x9e3779b97f4a7c15ULL;
    if (seed_state == 0)                 /* 0 means off: step over it */
        seed_state += 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(((mix(seed_state) >> 32) * n) >> 32);
}

/* COROUTINE_SEED: a number, or "random" for one picked now and said once
 * on stderr, so that a failing run can be replayed. */
static void read_environment(void)
{
    const char *text = getenv("COROUTINE_SEED");
    char *end;
    if (text == NULL || *text == '\0')
        return;
    if (strcmp(text, "random") == 0) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        env_seed = mix((uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 20) ^ (uint64_t)getpid()) % 1000000000;
        fprintf(stderr, "coroutine: COROUTINE_SEED=%llu\n", (unsigned long long)env_seed);
    } else {
        errno = 0;
        env_seed = strtoull(text, &end, 10);
        if (*text < '0' || *text > '9' || *end != '\0' || errno != 0) {
            fprintf(stderr, "coroutine: COROUTINE_SEED=%s is not a number or \"random\"; not seeded\n",
                    text);
            return;
        }
    }
    env_seeded = true;
}

void seed_start(uint64_t seed, uint64_t thread)
{
    __atomic_or_fetch(&seed_long_wakes, SEED_LONG_SEEDS, __ATOMIC_RELAXED);
    seed_state = mix(seed ^ mix(thread)) | 1;
}

void seed_thread_init(uint64_t thread)
{
    pthread_once(&env_once, read_environment);
    if (env_seeded && !seeded())         /* a call to co_seed() came first: it wins */
        seed_start(env_seed, thread);
}
