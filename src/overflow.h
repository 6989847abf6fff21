/* overflow.h - naming a stack overflow; see overflow.c. */
#ifndef COROUTINE_OVERFLOW_H
#define COROUTINE_OVERFLOW_H

#include <stddef.h>

#include "context.h"
#include "stack.h"

/* Make this thread ready to report overflows: install the process-wide
 * SIGSEGV handler once, and give the thread an alternate signal stack if
 * it has none. 0, or -1 with errno = ENOMEM. */
HIDDEN int overflow_thread_init(void);

/* Give back the thread's alternate signal stack, if it is ours. */
HIDDEN void overflow_thread_exit(void);

/* Report an overflow of the stack of 'ctx' (its id and name), seen at
 * 'where', and abort. Async-signal-safe. */
HIDDEN __attribute__((noreturn)) void overflow_report(const struct s_ctx *ctx, const void *where);

#endif
