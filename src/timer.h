/* timer.h - the deadline heap (timer.c): a 4-ary heap on (deadline,
 * order of arrival), so equal deadlines fire first come, first served.
 * Each thread's runtime (runtime.h) has one.
 */
#ifndef COROUTINE_TIMER_H
#define COROUTINE_TIMER_H

#include "context.h"

/* A heap entry carries its keys, so that ordering the heap reads only the
 * heap's own array, not each context's memory. */
struct timer {
    int64_t deadline;
    uint64_t order;              /* among equal deadlines, first come first */
    struct s_ctx *ctx;
};

ARRAY_DEFINE(timer_heap, struct timer)

/* Add 'ctx' at its wait's deadline: 0, or -1 with errno ENOMEM. */
HIDDEN int timer_add(struct timer_heap *h, struct s_ctx *ctx, uint64_t order);

/* Take 'ctx' out, wherever it is (its wait.timer says where). */
HIDDEN void timer_remove(struct timer_heap *h, struct s_ctx *ctx);

/* The context whose deadline comes first, or NULL. */
HIDDEN struct s_ctx *timer_first(const struct timer_heap *h);

#endif
