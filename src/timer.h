/* timer.h - the deadline heap (timer.c): a 4-ary heap on (deadline,
 * order of arrival), so equal deadlines fire first come, first served.
 * Each thread has one, in wait.c.
 */
#ifndef COROUTINE_TIMER_H
#define COROUTINE_TIMER_H

#include "context.h"
#include "coroutine_wait.h"

/* ---- the clock ---------------------------------------------------------- */

/* Where a virtual clock starts: any fixed time will do, and one second
 * keeps co_now() + a delay clear of 0, which deadlines read as "now". */
#define TIMER_VIRTUAL_START CO_SEC

/* Whether this thread's clock is virtual: it stands still until the
 * poller moves it (timer_pass). */
HIDDEN bool timer_virtual(void);

/* This thread's clock becomes virtual, at TIMER_VIRTUAL_START. */
HIDDEN void timer_go_virtual(void);

/* A virtual clock moves on to 'to' (never back). */
HIDDEN void timer_pass(int64_t to);

/* The system's clock, whatever this thread's is: for spinning and for
 * the time the poller spends in the kernel. */
HIDDEN int64_t timer_real_now(void);

/* ---- the deadline heap --------------------------------------------------- */

/* A heap entry carries its keys, so that ordering the heap reads only the
 * heap's own array, never the contexts' memory. */
struct timer {
    int64_t deadline;
    uint64_t order;              /* among equal deadlines, first come first */
    struct s_ctx *ctx;           /* whose wait.timer is 'order' while it waits */
};

ARRAY_DEFINE(timer_array, struct timer)

struct timers {
    struct timer_array heap;
    size_t stale;                /* entries of waits that ended early */
    uint64_t serial;             /* the last 'order' handed out */
};

/* Add 'ctx' at its wait's deadline: 0, or -1 with errno ENOMEM. */
HIDDEN int timer_add(struct timers *t, struct s_ctx *ctx);

/* The wait of 'ctx' ended before its deadline: its entry goes stale. */
HIDDEN void timer_remove(struct timers *t, struct s_ctx *ctx);

/* The context whose deadline comes first, or NULL; if that deadline is
 * at or before 'now', it is taken out of the heap. */
HIDDEN struct s_ctx *timer_first(struct timers *t, int64_t now, bool *due);

HIDDEN void timer_free(struct timers *t);

#endif
