/* threads.h - the threads that have coroutines (threads.c): what a dump
 * signal and the stall watcher must reach in each. */
#ifndef COROUTINE_THREADS_H
#define COROUTINE_THREADS_H

#include <pthread.h>
#include <stdbool.h>

#include "context.h"

#define THREADS_MAX 256

/* One thread, as other threads may read it at any moment: what it points
 * at is its own per-thread state. */
struct thread_view {
    pthread_t thread;
    int tid;
    bool used;
    const unsigned long *arrivals;   /* its arrival_count (arrival.h) */
    struct s_ctx *const *running;    /* its ctx_current */
    const bool *idle;                /* its threads_idle */
};
HIDDEN extern struct thread_view threads[THREADS_MAX];

/* True while this thread sleeps in the kernel with nothing to run (the
 * poller sets it): it is not stalled then. */
HIDDEN extern __thread bool threads_idle;

/* This thread has coroutines from now on, or exits: in the list, or out.
 * Its place in the list, or -1 (the list is full). */
HIDDEN int threads_join(void);
HIDDEN void threads_leave(void);

/* This thread's place, or -1. */
HIDDEN int threads_mine(void);

#endif
