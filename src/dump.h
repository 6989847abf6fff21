/* dump.h - the dump of every coroutine (dump.c): what the core tells it. */
#ifndef COROUTINE_DUMP_H
#define COROUTINE_DUMP_H

#include "internal.h"

/* Once per process: a dump on the signal COROUTINE_DUMP_SIGNAL names. */
HIDDEN void dump_from_environment(void);

/* A thread with coroutines starts: where its own stack ends. */
HIDDEN void dump_thread_start(void);

/* Where the running context of this thread runs now: at 'pc', and what
 * is scanned from 'sp' up (see dump_ctx), to 'fd'. */
HIDDEN void dump_backtrace_here(int fd, const void *pc, const void *sp);

#endif
