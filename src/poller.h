/* poller.h - what a poller backend provides: the short list of calls the
 * runtime (wait.c, runtime.c) makes of the kernel's readiness interface.
 * One backend file implements it per mechanism (poller_epoll.c); a new
 * mechanism is one new file, chosen in nob.c.
 *
 * Registration is edge-triggered and for both directions at once: a
 * descriptor is added once, at its first wait, and an event says what
 * became ready since the last one.
 */
#ifndef COROUTINE_POLLER_H
#define COROUTINE_POLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

struct poll_event {
    int fd;
    uint32_t generation;         /* as given to poll_add */
    bool readable;               /* or end of file, hangup, error */
    bool writable;               /* or hangup, error */
};

/* A new poller: its descriptor, or -1 with errno. */
HIDDEN int poll_create(void);

/* Watch 'fd' for both directions; events carry 'generation'. 0, or -1
 * with errno (EPERM: 'fd' cannot be polled, as a regular file). */
HIDDEN int poll_add(int poller, int fd, uint32_t generation);

/* Stop watching 'fd' (before it is closed: a duplicate would keep it). */
HIDDEN void poll_remove(int poller, int fd);

/* Wait up to 'timeout' ns (-1: no limit, 0: do not block) and fill at
 * most 'max' events. Their count (0 when interrupted by a signal), or -1
 * with errno. */
HIDDEN int poll_wait(int poller, int64_t timeout, struct poll_event *events, int max);

HIDDEN void poll_destroy(int poller);

#endif
