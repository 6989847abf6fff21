/* trace.h - recording who ran when (trace.c) and writing it out
 * (trace_write.c). */
#ifndef COROUTINE_TRACE_H
#define COROUTINE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "internal.h"

enum trace_kind {
    TRACE_ARRIVED,           /* by yield, or as the next after a finish */
    TRACE_SWITCHED_TO,       /* by switch_ctx to a context out of turn */
    TRACE_CREATED,
    TRACE_FINISHED,
    TRACE_DESTROYED,
    TRACE_WAITS,             /* leaves the rotation to wait (wait.c) */
    TRACE_WOKEN,             /* its wait ended: it rejoins the rotation */
};

/* Counts the times tracing started, so that what a thread remembers from
 * an earlier trace is not trusted in the next. */
HIDDEN extern unsigned trace_session;

/* True while tracing: the core records its events only then. */
HIDDEN extern bool trace_on;

static inline bool tracing(void)
{
#ifdef COROUTINE_NO_TRACE    /* a build to measure the cost of the check */
    return false;
#else
    return __atomic_load_n(&trace_on, __ATOMIC_RELAXED);
#endif
}

/* Record that context 'id' (0: main) arrived, was created, ... now. */
HIDDEN void trace_event(int kind, size_t id);

/* Start tracing if COROUTINE_TRACE names a file; called once. */
HIDDEN void trace_from_environment(void);

/* ---- trace_write.c ------------------------------------------------------ */

struct event {
    unsigned long long ns;   /* co_now(): the thread's clock, maybe virtual */
    int kind;                /* enum trace_kind */
    int thread;              /* gettid(), or the thread's serial if its clock is virtual */
    size_t id;               /* the context's id, 0 for main */
};

/* Write 'n' events to 'f' and close it: Chrome's trace-event JSON, or the
 * SVG timeline. 0, or -1 when the file could not be written. */
HIDDEN int trace_write(FILE *f, const struct event *events, size_t n, bool svg);

#endif
