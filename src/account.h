/* account.h - time accounting (account.c): where each context's time
 * goes, counted only once someone asked (get_ctx_stats). */
#ifndef COROUTINE_ACCOUNT_H
#define COROUTINE_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* True once accounting is on, for the rest of the process. */
HIDDEN extern bool account_on;

struct s_ctx;

struct ctx_stats;

/* What get_ctx_stats() says of 'ctx', while accounting is on. */
HIDDEN void account_read(const struct s_ctx *ctx, struct ctx_stats *stats);

/* Once per process: on from the start if COROUTINE_STATS=1. */
HIDDEN void account_from_environment(void);

#endif
