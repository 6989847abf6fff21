/* stack.h - coroutine stacks: a guard below each, pooled, overflow reported.
 *
 *     base          base + STACK_GUARD                        base + size
 *     | guard       | tripwire | usable, grows down <- | room for the first frame |
 *
 * Every stack has STACK_GUARD bytes below its usable part that fault when
 * touched, so an overflow is reported (by the SIGSEGV handler, on a
 * per-thread alternate signal stack) before it reaches anything else.
 *
 * Where the kernel has guard regions (Linux 6.13, MADV_GUARD_INSTALL), many
 * stacks share one mapping (a chunk) and each still has a real guard: a
 * million stacks cost a few hundred mappings. Elsewhere, a guard is a
 * PROT_NONE mapping of its own, and Linux allows 65,530 mappings by
 * default; past a budget the guard is only an untouched gap, the stack
 * comes from a chunk, and its overflow is found at its next switch instead:
 * its stack pointer is below the bottom, or something wrote the tripwire,
 * the lowest bytes of the usable part, which stay zero otherwise.
 *
 * Sizes are rounded up to a size class (a page count with at most three
 * significant bits), so a program using many sizes uses few classes. Freed
 * stacks wait in a per-thread pool, newest reused first. As many keep
 * their memory (warm) as would take the thread back to the most stacks it
 * had in use at once in the last one to two seconds, and at least 16; the
 * others give their memory back (cold) and keep only their address range
 * and guard. So a burst that comes again finds its stacks warm, and
 * memory a program stopped needing goes back within about two seconds:
 * as stacks are taken and given, or when the thread goes idle.
 */
#ifndef COROUTINE_STACK_H
#define COROUTINE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define STACK_GUARD (64 * 1024)      /* bytes below every usable part */
#define STACK_TOP_ROOM 4096          /* above it: the first frame, its offset */
#define STACK_TRIPWIRE 16            /* bytes at the bottom that stay zero */

struct stack {
    char *base;     /* lowest address: the guard or gap; NULL when none */
    size_t size;    /* the whole slot, guard included */
    bool guarded;   /* the guard faults when touched */
    unsigned sclass;  /* its size class in the thread's pool */
};

/* The page size, asked of the system once, at the first thread's init. */
HIDDEN extern size_t stack_page;

/* Take a stack with at least 'usable' bytes below STACK_TOP_ROOM: from the
 * pool, or new. 0, or -1 with errno = ENOMEM. */
HIDDEN int stack_alloc(struct stack *s, size_t usable);

/* Give it back to the pool and leave 's' empty (nothing to do if empty). */
HIDDEN void stack_free(struct stack *s);

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

/* The thread is about to sleep: what the pool has not needed lately goes
 * back. How long it may sleep before the pool wants another look, in
 * nanoseconds, or -1 for as long as it likes. */
HIDDEN int64_t stack_idle(void);

/* Make stacks ready for this thread: the page size, whether the kernel
 * has guard regions and the guard budget, found once per process. 0. */
HIDDEN int stack_thread_init(void);

/* Unmap the thread's pool and chunks; called as the thread exits, once
 * the core has freed every stack of the thread. */
HIDDEN void stack_thread_exit(void);

#endif
