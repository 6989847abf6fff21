/* dump.h - the dump of every coroutine (dump.c): what the core tells it. */
#ifndef COROUTINE_DUMP_H
#define COROUTINE_DUMP_H

#include "internal.h"

/* Once per process: a dump on the signal COROUTINE_DUMP_SIGNAL names. */
HIDDEN void dump_from_environment(void);

/* A thread with coroutines starts or exits: a dump signal reaches it. */
HIDDEN void dump_thread_start(void);
HIDDEN void dump_thread_exit(void);

#endif
