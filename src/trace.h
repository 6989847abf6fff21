/* trace.h - recording who ran when; see trace.c. */
#ifndef COROUTINE_TRACE_H
#define COROUTINE_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "platform.h"

enum trace_kind {
    TRACE_ARRIVED,           /* by yield, or as the next after a finish */
    TRACE_SWITCHED_TO,       /* by switch_ctx to a context out of turn */
    TRACE_CREATED,
    TRACE_FINISHED,
    TRACE_DESTROYED,
};

/* Counts the times tracing started, so that what a thread remembers from
 * an earlier trace is not trusted in the next. */
PLATFORM_HIDDEN extern unsigned trace_session;

/* True while tracing: the core records its events only then. */
PLATFORM_HIDDEN extern bool trace_on;

static inline bool tracing(void)
{
#ifdef COROUTINE_NO_TRACE    /* a build to measure the cost of the check */
    return false;
#else
    return __atomic_load_n(&trace_on, __ATOMIC_RELAXED);
#endif
}

/* Record that context 'id' (0: main) arrived, was created, ... now. */
PLATFORM_HIDDEN void trace_event(int kind, size_t id);

/* Start tracing if COROUTINE_TRACE names a file; called once. */
PLATFORM_HIDDEN void trace_from_environment(void);

/* Provided by the core: set or clear the arrival hook of asm.s for what
 * now needs it (a sanitizer, the trace). */
PLATFORM_HIDDEN void trace_hook_changed(void);

#endif
