/* arrival.h - what runs on every arrival in a context; see arrival.c. */
#ifndef COROUTINE_ARRIVAL_H
#define COROUTINE_ARRIVAL_H

#include "internal.h"

/* Once per process, before any switch: look for the C++ runtime and set
 * the hook for whoever listens. */
HIDDEN void arrival_setup(void);

/* Let 'listener' (NULL: nobody) hear every arrival, after the sanitizer
 * and the C++ runtime; the trace listens while it records. */
HIDDEN void arrival_set_listener(void (*listener)(void));

#endif
