/* wait.h - the waits io.c builds its calls on (see wait.c). */
#ifndef COROUTINE_WAIT_INTERNAL_H
#define COROUTINE_WAIT_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "runtime.h"

/* Wait for 'fd' as co_wait_fd does. 'after_eagain': the caller's system
 * call just said EAGAIN, so readiness seen before it is stale. */
HIDDEN int wait_fd(int fd, int what, int64_t deadline, bool after_eagain);

/* wait_begin, all of it: the runtime started, the deadline's timer set. */
HIDDEN int wait_begin_slow(int64_t deadline);

/* Whether the running context may begin a wait that ends by 'deadline'
 * (its timer is set then): 0, or an errno (ECANCELED, ETIMEDOUT, ...).
 * Inline for the common case of every channel message and lock: no
 * deadline, the runtime running, no cancel. */
static inline int wait_begin(int64_t deadline)
{
    struct s_ctx *self = current;
    if (deadline != CO_FOREVER || self == NULL || self->wait.cancelled || rt.poller == NULL ||
        rt.forks != fork_count)
        return wait_begin_slow(deadline);
    self->wait.deadline = CO_FOREVER;
    self->wait.fired = -1;
    return 0;
}

/* Out of the rotation until woken, once the wait is set up (wait_begin,
 * and whatever queue will wake it): how it ended, 0 or an errno. */
HIDDEN int wait_park(void);

/* Wait at the end of queue 'q' until woken from it, or the deadline or a
 * cancel ends the wait: 0, or an errno. 'item' is the channel element
 * the waker copies from or to (runtime.h, struct waiter). Inline: the
 * place in the queue lives in the caller's frame while it waits. */
static inline int wait_in(struct waitq *q, void *item, int64_t deadline)
{
    int err = wait_begin(deadline);
    if (err != 0)
        return err;
    struct waiter w = {.ctx = current, .item = item};
    waitq_push(q, &w);
    return wait_park();
}

/* 0 for 0; else -1 with errno 'err'. */
static inline int wait_fail(int err)
{
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

/* Forget 'fd' before it is closed: its waiters wake with EBADF. */
HIDDEN void forget_fd(int fd);

#endif
