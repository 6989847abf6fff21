/* timers.c - what waiting costs: CPU while 10,000 coroutines sleep 100 ms
 * at a time, and how late 100,000 sleepers with random deadlines wake.
 *
 *     timers [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "coroutine_wait.h"

static int64_t until;
static int64_t *lateness;

static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void sleep_in_a_loop(void *unused)
{
    (void)unused;
    while (co_now() < until)
        co_sleep(co_now() + 100 * CO_MSEC);
}

static int64_t base;

/* Its stack is touched once before the clock starts: a page fault is not
 * a timer's lateness. */
static void sleep_once(void *arg)
{
    int64_t *slot = arg;
    yield_ctx();
    int64_t deadline = base + *slot;
    co_sleep(deadline);
    *slot = co_now() - deadline;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void run_all(int n, coroutine fn, int64_t *args)
{
    sp_ctx *c = malloc((size_t)n * sizeof *c);
    for (int i = 0; i < n; i++)
        c[i] = create_ctx_sized(fn, args ? &args[i] : NULL, 16384);
    yield_ctx();                       /* each runs to its first wait or yield */
    base = co_now() + 200 * CO_MSEC;
    for (int i = 0; i < n; i++) {
        join_ctx(c[i], CO_FOREVER);
        destroy_ctx(c[i]);
    }
    free(c);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int64_t seconds = quick ? 1 : 2;
    /* idle: the creation and first run are outside the measurement */
    double before = cpu_seconds();
    until = co_now() + seconds * CO_SEC;
    run_all(10000, sleep_in_a_loop, NULL);
    double cpu = cpu_seconds() - before;
    printf("idle: 10000 coroutines sleeping 100 ms in a loop for %lld s: %.3f CPU s, %.1f%% of a core\n",
           (long long)seconds, cpu, 100 * cpu / (double)seconds);

    int n = quick ? 10000 : 100000;
    lateness = malloc((size_t)n * sizeof *lateness);
    srand(1);
    for (int i = 0; i < n; i++)
        lateness[i] = (int64_t)(rand() % 1000000) * CO_USEC;
    run_all(n, sleep_once, lateness);
    qsort(lateness, (size_t)n, sizeof *lateness, by_value);
    printf("timers: %d coroutines sleeping random times up to 1 s: late by median %.1f us, "
           "p99 %.1f us, none early: %s\n",
           n, (double)lateness[n / 2] / 1e3, (double)lateness[n * 99 / 100] / 1e3,
           lateness[0] >= 0 ? "yes" : "NO");
    bool early = lateness[0] < 0;
    free(lateness);
    return early;
}
