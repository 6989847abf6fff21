/* wait.h - how a context waits (wait.c): the one protocol that every
 * call that can wait is built on.
 *
 *     err = wait_begin(deadline);      may it wait? its deadline set
 *     waitq_push(&queue, &place);      where a waker will find it
 *     err = wait_park();               out of the rotation until woken
 *
 * and on the other side, waitq_wake(place, result) or wait_wake(ctx,
 * result). A wait ends once, for whichever comes first (a waker, the
 * deadline, a cancel, a destroy), and ending it takes the context out of
 * every queue and table it was in.
 */
#ifndef COROUTINE_WAIT_INTERNAL_H
#define COROUTINE_WAIT_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "context.h"
#include "coroutine_wait.h"
#include "internal.h"
#include "poller.h"
#include "trace.h"

/* A place in a queue of waiting contexts (a channel's senders, a mutex's
 * waiters), kept on the waiting context's stack; a select has several,
 * one per case, linked through 'sibling'. */
struct waiter {
    struct waiter *prev, *next;  /* in the queue */
    struct waitq *queue;         /* NULL once out */
    struct waiter *sibling;      /* the same context's next place */
    struct s_ctx *ctx;
    void *item;                  /* a channel's element: where from, or to */
    int index;                   /* which of the context's places (select's case) */
};

/* The running context, main included once the thread is set up. */
static inline struct s_ctx *wait_self(void)
{
    return ctx_current != NULL ? ctx_current : &main_ctx;
}

/* wait_begin, all of it: the thread set up, a cancel, a deadline. */
HIDDEN int wait_begin_slow(int64_t deadline);

/* Whether the running context may begin a wait that ends by 'deadline'
 * (its timer is set then): 0, or ECANCELED or ETIMEDOUT (a deadline
 * already past). Inline for the common case of every channel message and
 * lock: no deadline, the thread set up, no cancel. */
static inline int wait_begin(int64_t deadline)
{
    struct s_ctx *self = ctx_current;
    if (deadline != CO_FOREVER || self == NULL || self->wait.cancelled || !poller_ready())
        return wait_begin_slow(deadline);
    self->wait.deadline = CO_FOREVER;
    self->wait.fired = -1;
    return 0;
}

/* Out of the rotation until woken, once the wait is set up (wait_begin,
 * and whatever will wake it): how it ended, 0 or an errno. */
HIDDEN int wait_park(void);

/* As wait_park, for a wait that another thread ends (a mailbox, work
 * offloaded): the poller watches the inbox meanwhile. */
HIDDEN int wait_park_outside(void);

/* What to do when a context whose wait.work is set finishes or is
 * destroyed: offload.c sets it at its first use. */
HIDDEN extern void (*wait_work_gone)(struct s_ctx *ctx);

/* Queue 'w' (its ctx the running context) at the end of 'q', and note it
 * among the context's places. */
static inline void waitq_push(struct waitq *q, struct waiter *w)
{
    w->queue = q;
    w->next = NULL;
    w->prev = q->last;
    *(q->last ? &q->last->next : &q->first) = w;
    q->last = w;
    w->sibling = w->ctx->wait.nodes;
    w->ctx->wait.nodes = w;
}

/* End the wait of 'ctx' with 'result' (0 or an errno): it leaves every
 * queue and table and rejoins the rotation just before the running
 * context. */
HIDDEN void wait_wake(struct s_ctx *ctx, int result);

/* Take 'w' out of its queue, if it is still in one. */
static inline void waitq_remove(struct waiter *w)
{
    struct waitq *q = w->queue;
    if (q == NULL)
        return;
    *(w->prev ? &w->prev->next : &q->first) = w->next;
    *(w->next ? &w->next->prev : &q->last) = w->prev;
    w->queue = NULL;
}

/* End the wait of the context of 'w', the first in its queue, with
 * 'result'; the wait's 'fired' says which place it was. Inline for what
 * every channel message and lock hand-off does: a wait in one queue and
 * nothing else ends by leaving the head of that queue and rejoining the
 * rotation, a dozen instructions ('w' dies with the wait: it is left as
 * it is). */
static inline void waitq_wake(struct waiter *w, int result)
{
    struct s_ctx *ctx = w->ctx;
    ctx->wait.fired = w->index;
    if (ctx->wait.nodes != w || w->sibling != NULL || ctx->wait.extra || seed_long_wake()) {
        wait_wake(ctx, result);
        return;
    }
    struct waitq *q = w->queue;
    if ((q->first = w->next) != NULL)
        w->next->prev = NULL;
    else
        q->last = NULL;
    ctx->wait.nodes = NULL;
    ctx->wait.waiting = false;
    ctx->wait.result = result;
    ctx_rejoin_rotation(ctx, false);
}

/* As waitq_wake(w, 0), handing the woken context something (a permit, a
 * mutex) that undo(arg) gives back should it be destroyed before it runs
 * again, so that nothing handed over is lost with it. */
static inline void waitq_hand(struct waiter *w, void (*undo)(void *), void *arg)
{
    struct s_ctx *ctx = w->ctx;
    waitq_wake(w, 0);
    ctx->wait.undo = undo;
    ctx->wait.undo_arg = arg;
}

/* 'arg' is freed: nothing handed over may be given back to it. */
HIDDEN void wait_forget_hand(const void *arg);

/* Wait at the end of queue 'q' until woken from it, or the deadline or a
 * cancel ends the wait: 0, or an errno. 'item' is the channel element
 * the waker copies from or to; 'why' and 'on' say for the dump what it
 * waits for ("receiving on channel") and on which object. Inline: the place in the queue lives in
 * the caller's frame while it waits. */
static inline int wait_in(struct waitq *q, void *item, int64_t deadline, const char *why,
                          const void *on)
{
    int err = wait_begin(deadline);
    if (err != 0)
        return err;
    ctx_current->wait.why = why;
    ctx_current->wait.on = on;
    struct waiter w = {.ctx = ctx_current, .item = item};
    waitq_push(q, &w);
    return wait_park();
}

/* Where a call that may wait begins: under a seed (seed.h), the caller
 * is sometimes made to yield first, though it could go on, so that what
 * a correct program must not depend on (that nothing runs between two
 * calls which need not wait) does get tested. */
static inline void wait_point(void)
{
    if (seeded() && seed_below(4) == 0)
        yield_ctx();
}

/* Say for the dump what the running context is about to wait for: each
 * wait says it, so none shows an earlier one's. */
static inline void wait_why(const char *why, const void *on)
{
    ctx_current->wait.why = why;
    ctx_current->wait.on = on;
}

/* 0 for 0; else -1 with errno 'err'. */
static inline int wait_fail(int err)
{
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

/* Wait for 'fd' as co_wait_fd does. 'after_eagain': the caller's system
 * call just said EAGAIN, so readiness seen before it is stale. */
HIDDEN int wait_fd(int fd, int what, int64_t deadline, bool after_eagain);

#endif
