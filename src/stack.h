/* stack.h - coroutine stacks: mapped with a guard below, overflow reported.
 *
 *     base                base + guard                         base + size
 *     | guard (PROT_NONE) | usable, grows down from the top <- |
 *
 * Stacks grow down on every supported target, so a guard region below the
 * usable part catches an overflow: the fault lands in our SIGSEGV handler,
 * which runs on a per-thread alternate signal stack because the faulting
 * stack has no room left. The guard is 64 KiB (stack.c says why).
 */
#ifndef COROUTINE_STACK_H
#define COROUTINE_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "platform.h"

struct stack {
    char *base;     /* lowest address: the guard; NULL when none */
    size_t size;    /* the whole mapping, guard included */
};

/* Map a stack with at least 'usable' bytes above its guard.
 * 0, or -1 with errno = ENOMEM. */
PLATFORM_HIDDEN int stack_alloc(struct stack *s, size_t usable);

/* Unmap it (nothing to do for an empty one) and leave it empty. */
PLATFORM_HIDDEN void stack_free(struct stack *s);

static inline void *stack_top(const struct stack *s)
{
    return s->base + s->size;
}

/* Make this thread ready to report overflows: install the process-wide
 * handler once, and give the thread an alternate signal stack if it has
 * none. 0, or -1 with errno = ENOMEM. */
PLATFORM_HIDDEN int stack_thread_init(void);

/* Undo stack_thread_init's per-thread part; called as the thread exits. */
PLATFORM_HIDDEN void stack_thread_exit(void);

/* Provided by the core, for the handler: the running coroutine's stack and
 * id, or false in main. Must be safe to call from a signal handler. */
PLATFORM_HIDDEN bool stack_of_running_ctx(const struct stack **s, size_t *id);

#endif
