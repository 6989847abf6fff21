/* wait.h - the waits io.c builds its calls on (see wait.c). */
#ifndef COROUTINE_WAIT_INTERNAL_H
#define COROUTINE_WAIT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* Wait for 'fd' as co_wait_fd does. 'after_eagain': the caller's system
 * call just said EAGAIN, so readiness seen before it is stale. */
HIDDEN int wait_fd(int fd, int what, int64_t deadline, bool after_eagain);

/* Whether the running context may begin a wait that ends by 'deadline'
 * (its timer is set then): 0, or an errno (ECANCELED, ETIMEDOUT, ...). */
HIDDEN int wait_begin(int64_t deadline);

/* Out of the rotation until woken, once the wait is set up (wait_begin,
 * and whatever queue will wake it): how it ended, 0 or an errno. */
HIDDEN int wait_park(void);

/* 0 for 0; else -1 with errno 'err'. */
HIDDEN int wait_fail(int err);

/* Forget 'fd' before it is closed: its waiters wake with EBADF. */
HIDDEN void forget_fd(int fd);

#endif
