/* runtime.h - each thread's waiting contexts: the deadline heap, the
 * descriptor table, and ending a wait. The core (coroutine.c) calls here
 * when a waiting coroutine is destroyed or finishes; the waits themselves
 * begin in wait.c.
 */
#ifndef COROUTINE_RUNTIME_H
#define COROUTINE_RUNTIME_H

#include <time.h>

#include "context.h"
#include "coroutine_wait.h"
#include "timer.h"

/* What the thread knows of one descriptor number. Poller events carry the
 * number and 'generation', which co_close() counts up, so an event for a
 * closed descriptor never wakes the waiter of the next one with its
 * number. */
struct fd_slot {
    struct s_ctx *waiter[2];     /* for CO_READABLE, CO_WRITABLE, or NULL */
    bool ready[2];               /* an event came while nobody waited */
    bool registered;             /* added to the poller */
    uint32_t generation;
};

struct runtime {
    int poll_fd;                 /* the kernel poller, or -1 before the first wait */
    unsigned forks;              /* 'fork_count' when the poller was made */
    struct timers timers;        /* by deadline, earliest first (timer.c) */
    struct fd_slot *fds;         /* indexed by descriptor number */
    size_t fds_len;
    size_t fd_waits;             /* of those, waiting on a descriptor */
    struct s_ctx *poller;        /* its coroutine (wait.c), or NULL; in the
                                    rotation while its 'next' is set */
    struct inbox *inbox;         /* work done for it by other threads, or NULL */
    size_t work_waits;           /* contexts waiting for such work */
};

/* How long a thread with nothing else to do watches before it sleeps. */
#define WATCH_NS (20 * 1000)

/* Watch '*count' (written atomically by other threads) for up to 'ns'
 * nanoseconds, spinning: whether it became non-zero. Sleeping in the
 * kernel and being woken costs microseconds on each side, so a thread
 * with nothing else to do watches a while first, as Go's idle threads
 * spin before they park. */
static inline bool watch_count(const size_t *count, int64_t ns)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t until = now.tv_sec * CO_SEC + now.tv_nsec + ns;
    for (int i = 1;; i++) {
        if (__atomic_load_n(count, __ATOMIC_ACQUIRE) > 0)
            return true;
        if (i % 64 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec * CO_SEC + now.tv_nsec >= until)
                return false;
        }
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
}

/* A place in a queue of waiting contexts (a channel's senders, a mutex's
 * waiters), kept on the waiting context's stack; a select has several,
 * one per case, linked through 'sibling'. Ending the wait, for whatever
 * reason, takes every one of them out of its queue. */
struct waiter {
    struct waiter *prev, *next;  /* in the queue */
    struct waitq *queue;         /* NULL once out */
    struct waiter *sibling;      /* the same context's next place */
    struct s_ctx *ctx;
    void *item;                  /* a channel's element: where from, or to */
    int index;                   /* which of the context's places (select's case) */
};

/* Queue 'w' (its ctx the running context) at the end of 'q', and note it
 * among the context's places. */
HIDDEN void waitq_push(struct waitq *q, struct waiter *w);

/* End the wait of the context of 'w', the first in its queue, with
 * 'result'; the wait's 'fired' says which place it was. */
HIDDEN void waitq_wake(struct waiter *w, int result);

HIDDEN extern __thread struct runtime rt;
HIDDEN extern unsigned fork_count;       /* forks this process made (a child's count) */

/* End the wait of 'ctx' with 'result' (0 or an errno): it leaves every
 * table and rejoins the rotation just before the running context. */
HIDDEN void wake(struct s_ctx *ctx, int result);

/* 'ctx' is destroyed while it waits, or while offloaded work is its
 * (woken, not yet run again): it leaves every table, and gives the work up. */
HIDDEN void unwait(struct s_ctx *ctx);

/* 'ctx' finished or is destroyed: whoever waits for it in co_join wakes. */
HIDDEN void wake_joiners(struct s_ctx *ctx);

/* The slot of descriptor 'fd', the table grown as needed; NULL with errno
 * EBADF ('fd' is not open) or ENOMEM. */
HIDDEN struct fd_slot *fd_slot(int fd);

/* The thread exits: the poller and every table go. */
HIDDEN void runtime_thread_exit(void);

#endif
