/* account.c - time accounting: how long each context ran, could have run
 * while others did, and waited (on descriptors, or anything), and how
 * often it ran.
 *
 * Off until the first get_ctx_stats() (or COROUTINE_STATS=1), and then a
 * switch pays the arrival hook and one read of the processor's tick
 * counter (platform_ticks: no system call); before, nothing at all. All
 * of it happens at arrivals: who leaves, and whether it leaves to wait,
 * is known then. Ticks become nanoseconds at the asking, by the
 * rate seen between accounting's start and then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "arrival.h"
#include "context.h"

bool account_on;
static uint64_t start_ticks;
static int64_t start_ns;
static __thread struct s_ctx *last;          /* who ran since 'last_tick' */
static __thread uint64_t last_tick;

static int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void begin(struct s_ctx *ctx, uint64_t now)
{
    if (ctx->account.since == 0)
        ctx->account.since = now;
}

/* On every arrival: the time since the last goes to who ran then, which
 * leaves now, waiting or not; the one arriving had waited since it left,
 * if it left to wait. */
static void arrived(void)
{
    uint64_t now = platform_ticks();
    if (last != NULL && last_tick != 0) {
        last->account.running += now - last_tick;
        last->account.left = now;
        last->account.left_waiting = last->wait.waiting;
        last->account.left_io = last->wait.fd >= 0;
    }
    struct ctx_account *a = &ctx_current->account;
    begin(ctx_current, now);
    if (a->left != 0 && a->left_waiting) {
        a->waiting += now - a->left;
        if (a->left_io)
            a->waiting_io += now - a->left;
    }
    a->left = 0;
    a->runs++;
    last = ctx_current;
    last_tick = now;
}

static void turn_on(void)
{
    if (account_on)
        return;
    start_ticks = platform_ticks();
    start_ns = monotonic_ns();
    arrival_set_accountant(arrived);
    __atomic_store_n(&account_on, true, __ATOMIC_RELEASE);
}

void account_from_environment(void)
{
    const char *v = getenv("COROUTINE_STATS");
    if (v != NULL && strcmp(v, "1") == 0)
        turn_on();
}

/* Ticks to nanoseconds, at the rate seen since accounting began (or 1:1
 * until a millisecond has passed to measure it by). */
static int64_t ns_of(uint64_t ticks)
{
    int64_t ns = monotonic_ns() - start_ns;
    uint64_t elapsed = platform_ticks() - start_ticks;
    if (ns < 1000000 || elapsed == 0)
        return (int64_t)ticks;
    return (int64_t)((double)ticks * ((double)ns / (double)elapsed));   /* not long double: on
                                                 aarch64 that is libgcc's, unmarked for BTI */
}

int get_ctx_stats(sp_ctx handle, struct ctx_stats *stats)
{
    if (stats == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct s_ctx *ctx = handle != NULL ? ctx_of(handle, "get_ctx_stats") : &main_ctx;
    *stats = (struct ctx_stats){0};
    if (!account_on || ctx_current == NULL) {
        turn_on();
        return 0;
    }
    account_read(ctx, stats);
    return 0;
}

void account_read(const struct s_ctx *ctx, struct ctx_stats *stats)
{
    uint64_t now = platform_ticks();
    struct ctx_account a = ctx->account;
    if (a.since == 0)
        a.since = now;
    if (ctx == ctx_current && last == ctx && last_tick != 0)
        a.running += now - last_tick;        /* the stretch it is running now */
    if (a.left != 0 && a.left_waiting) {
        a.waiting += now - a.left;
        if (a.left_io)
            a.waiting_io += now - a.left;
    }
    uint64_t life = a.since != 0 && ctx->state == CTX_LIVE ? now - a.since : 0;
    uint64_t busy = a.running + a.waiting;
    stats->running = ns_of(a.running);
    stats->waiting = ns_of(a.waiting);
    stats->waiting_io = ns_of(a.waiting_io);
    stats->runnable = life > busy ? ns_of(life - busy) : 0;
    stats->runs = a.runs;
}
