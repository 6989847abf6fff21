/* account.h - time accounting (account.c): where each context's time
 * goes, counted only once someone asked (get_ctx_stats). */
#ifndef COROUTINE_ACCOUNT_H
#define COROUTINE_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* A context's counts, in ticks of platform_ticks(). */
struct ctx_account {
    uint64_t running, waiting, waiting_io;
    uint64_t runs;                   /* arrivals */
    uint64_t since;                  /* its first count, or 0 */
    uint64_t parked;                 /* when its wait began */
    bool parked_io;
};

/* True once accounting is on, for the rest of the process. */
HIDDEN extern bool account_on;

struct s_ctx;

/* The running context begins a wait, or runs again after one. */
HIDDEN void account_park(struct s_ctx *self);
HIDDEN void account_resume(struct s_ctx *self);

struct ctx_stats;

/* What get_ctx_stats() says of 'ctx', while accounting is on. */
HIDDEN void account_read(const struct s_ctx *ctx, struct ctx_stats *stats);

/* Once per process: on from the start if COROUTINE_STATS=1. */
HIDDEN void account_from_environment(void);

#endif
