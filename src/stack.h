/* stack.h - coroutine stacks: a guard below each, pooled, overflow reported.
 *
 *     base               base + STACK_GUARD                  base + size
 *     | guard or gap     | tripwire | usable, grows down from the top <- |
 *
 * Every stack has 64 KiB below its usable part that nothing may touch.
 * While the process can afford the mappings, that region is a real guard
 * (PROT_NONE): an overflow faults at once, and the SIGSEGV handler, running
 * on a per-thread alternate signal stack, reports it. Each guard costs two
 * mappings and Linux allows 65,530 by default, so past a budget the region
 * is only an untouched gap, and the stack comes from a chunk that holds many
 * in one mapping. Such an overflow is found at the coroutine's next switch
 * instead: its stack pointer is below the bottom, or something wrote the
 * tripwire, the lowest bytes of the usable part, which stay zero otherwise.
 *
 * Finished stacks go to a per-thread pool, one per size, and are reused
 * hottest first; past a few, the pool gives their memory back (madvise)
 * but keeps them mapped, guards included, for the next ones.
 */
#ifndef COROUTINE_STACK_H
#define COROUTINE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define STACK_GUARD (64 * 1024)      /* bytes below every usable part */
#define STACK_TRIPWIRE 16            /* bytes at the bottom that stay zero */

struct stack {
    char *base;     /* lowest address: the guard or gap; NULL when none */
    size_t size;    /* the whole slot, guard included */
    bool guarded;   /* the guard is PROT_NONE */
};

/* The page size, asked of the system once, at the first thread's init. */
PLATFORM_HIDDEN extern size_t stack_page;

/* Take a stack with at least 'usable' bytes: from the pool, or new.
 * 0, or -1 with errno = ENOMEM. */
PLATFORM_HIDDEN int stack_alloc(struct stack *s, size_t usable);

/* Give it back to the pool and leave 's' empty (nothing to do if empty). */
PLATFORM_HIDDEN void stack_free(struct stack *s);

static inline void *stack_top(const struct stack *s)
{
    return s->base + s->size;
}

/* The lowest usable address: the stack pointer must stay above it. */
static inline char *stack_bottom(const struct stack *s)
{
    return s->base + STACK_GUARD;
}

/* True while the tripwire at 'w' (the bottom of an unguarded stack) is
 * untouched. */
static inline bool tripwire_intact(const char *w)
{
    const uint64_t *word = (const uint64_t *)w;
    return (word[0] | word[1]) == 0;
}

/* Bytes of 's' used at the deepest so far, from its top. */
PLATFORM_HIDDEN size_t stack_used(const struct stack *s);

/* Report an overflow of the stack of coroutine 'id', seen at 'where', and
 * abort. Async-signal-safe. */
PLATFORM_HIDDEN PLATFORM_NORETURN void stack_overflow(size_t id, const void *where,
                                                      const struct stack *s);

/* Make this thread ready to report overflows: install the process-wide
 * handler once, and give the thread an alternate signal stack if it has
 * none. 0, or -1 with errno = ENOMEM. */
PLATFORM_HIDDEN int stack_thread_init(void);

/* Unmap the thread's pool, chunks and alternate signal stack; called as the
 * thread exits. Stacks of coroutines still alive then are lost with it. */
PLATFORM_HIDDEN void stack_thread_exit(void);

/* Provided by the core, for the handler: the running coroutine's stack and
 * id, or false in main. Must be safe to call from a signal handler. */
PLATFORM_HIDDEN bool stack_of_running_ctx(const struct stack **s, size_t *id);

#endif
