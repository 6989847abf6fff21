/* stall.h - the stall detector (stall.c): what the core tells it. */
#ifndef COROUTINE_STALL_H
#define COROUTINE_STALL_H

#include "internal.h"

/* Once per process: watch if COROUTINE_STALL_MS says so. */
HIDDEN void stall_from_environment(void);

#endif
