/* inbox.h - offloaded work, as the thread that waits for it and the
 * workers that run it share it (offload.c queues and runs it, inbox.c
 * brings it back), and each thread's inbox of work done for it. */
#ifndef COROUTINE_INBOX_H
#define COROUTINE_INBOX_H

#include <stdlib.h>

#include "runtime.h"

/* A blocking call run on a worker thread for a context of this one
 * (offload.c). Its waiter sits in 'waiters' and leaves it when its wait
 * ends for any reason; done, the work is posted to its thread's inbox,
 * which wakes the waiter if there still is one. The waiter frees the
 * work (work_release) unless it gave up before the work came back: then
 * the inbox gives 'arg' to 'drop' and frees it. */
struct work {
    void (*fn)(void *arg);
    void *arg;
    void (*drop)(void *arg);
    struct waitq waiters;        /* touched by the owning thread only */
    bool back;                   /* so is this: the inbox has it */
    bool given_up;               /* and this: the waiter is gone */
    struct inbox *inbox;         /* the owning thread's */
    struct work *next;           /* in the pool's queue, then in the inbox */
    int state;                   /* atomic: enum work_state */
};

enum work_state { WORK_QUEUED, WORK_RUNNING, WORK_DONE, WORK_ABANDONED };

/* The waiter gives 'w' up. True if 'fn' will not touch its argument any
 * more: it had not started (and now never will), or it is done. */
static inline bool work_let_go(struct work *w)
{
    int seen = WORK_QUEUED;
    if (__atomic_compare_exchange_n(&w->state, &seen, WORK_ABANDONED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return true;
    return seen != WORK_RUNNING;
}

/* Nobody will read the results: 'arg' to 'drop', and the work freed. */
static inline void work_drop(struct work *w)
{
    if (w->drop != NULL)
        w->drop(w->arg);
    free(w);
}

/* The waiter is done with 'w', with its result or giving up: work that
 * is back is freed now (its argument given to 'drop' if 'gave_up'); work
 * still out is the inbox's to drop when it comes. Inline, so that the
 * runtime's unwait gives work up without calling back into inbox.c. */
static inline void work_release(struct work *w, bool gave_up)
{
    if (!w->back)
        w->given_up = true;
    else if (gave_up)
        work_drop(w);
    else
        free(w);
}

/* The running thread's inbox, made and watched by its poller at the first
 * call, expecting one more work: 0, or an errno. */
HIDDEN int inbox_expect(struct work *w);

/* From any thread: 'w' is done. Its thread's poller is woken (once per
 * burst), or, if that thread has exited, 'w' is dropped here. */
HIDDEN void inbox_post(struct work *w);

/* Whether 'fd' is the running thread's inbox. */
HIDDEN bool inbox_is(int fd);

/* Whether work came to this thread's inbox within 'ns' nanoseconds,
 * watching without a system call (watch_count). */
HIDDEN bool inbox_watch(int64_t ns);

/* The inbox's descriptor said something came: wake each waiter. */
HIDDEN void inbox_drain(void);

/* After fork, in the child: a new descriptor, 0 or -1 with errno; work
 * offloaded before the fork never comes. */
HIDDEN int inbox_renew(void);

/* The thread exits, its waiters gone: work still to come is dropped by
 * the workers. */
HIDDEN void inbox_close(void);

#endif
