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

/* Count every arrival from now on, in each thread's 'arrival_count' (the
 * stall watcher reads it): the hook then runs on every switch. */
HIDDEN void arrival_count_on(void);
HIDDEN extern __thread unsigned long arrival_count;

/* Let 'fn' count every arrival from now on (time accounting). */
HIDDEN void arrival_set_accountant(void (*fn)(void));

#endif
