/* wait.h - the waits io.c builds its calls on (see wait.c). */
#ifndef COROUTINE_WAIT_INTERNAL_H
#define COROUTINE_WAIT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* Wait for 'fd' as co_wait_fd does. 'after_eagain': the caller's system
 * call just said EAGAIN, so readiness seen before it is stale. */
HIDDEN int wait_fd(int fd, int what, int64_t deadline, bool after_eagain);

/* Forget 'fd' before it is closed: its waiters wake with EBADF. */
HIDDEN void forget_fd(int fd);

#endif
