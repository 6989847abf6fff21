/* poller.h - the poller (poller.c): the coroutine that ends the waits
 * its thread cannot end by itself (deadlines passed, descriptors ready,
 * messages from other threads) and that sleeps in the kernel when
 * nothing can run; and, at the end, the few calls a kernel backend gives
 * it (poller_epoll.c), as Redis's ae.c sits on ae_epoll.c.
 *
 * The poller knows contexts only as what to wake: the waiting protocol
 * above it (wait.c) registers how, with poller_start().
 */
#ifndef COROUTINE_POLLER_H
#define COROUTINE_POLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "context.h"
#include "internal.h"

/* What the poller asks of the layer that starts it. */
struct poller_hooks {
    /* End the waits whose deadline is at or before 'now': the deadline
     * that comes next, or INT64_MAX for none. */
    int64_t (*expire)(int64_t now);
    /* End the wait of 'ctx' with 'result' (0 or an errno). */
    void (*wake)(struct s_ctx *ctx, int result);
    /* Nothing can run and nothing can wake anything: say so and abort. */
    __attribute__((noreturn)) void (*deadlock)(void);
};

/* This thread's poller, made at its first call (or made anew in a child
 * after fork): 0, or an errno. */
HIDDEN int poller_start(const struct poller_hooks *hooks);

/* Whether the thread's poller is made and current (not the parent's,
 * after fork): every wait asks, so inline. */
HIDDEN extern __thread unsigned poller_forks;    /* 'fork_count' when made, plus one */
HIDDEN extern unsigned poller_fork_count;        /* forks this process made, plus one */
static inline bool poller_ready(void)
{
    return poller_forks == poller_fork_count;
}

/* The running context is about to wait for what only the poller ends
 * (a deadline, a descriptor, another thread), or for something while no
 * other context can run: the poller joins the rotation if it is out. */
HIDDEN void poller_needed(void);

/* Whether nothing but the poller could run after 'self'. */
HIDDEN bool poller_alone(const struct s_ctx *self);

/* A wait that another thread ends (a mailbox, offloaded work) begins
 * (+1) or ends (-1): while any is open, the poller watches its inbox. */
HIDDEN void poller_outside(int delta);

/* The thread exits, its waits already ended: the poller and its tables
 * go. */
HIDDEN void poller_thread_exit(void);

/* {=====================================================================
 * Descriptors: their registration with the kernel, and their readiness
 * ====================================================================== */

/* Whether 'fd' is known ready for 'side' (0 read, 1 write): 1 or 0,
 * registering it with the kernel at its first asking; or -1 with errno
 * EBADF (not open), EINVAL (cannot be polled: a regular file), ENOMEM. */
HIDDEN int poller_fd_ready(int fd, int side);

/* A call on 'fd' said EAGAIN: its readiness for 'side' is spent. */
HIDDEN void poller_fd_spent(int fd, int side);

/* 'ctx' waits until 'fd' is ready for 'side': 0, or EBUSY (another
 * context of this thread waits for the same). */
HIDDEN int poller_fd_wait(int fd, int side, struct s_ctx *ctx);

/* The wait of 'fd' for 'side' ended otherwise (a deadline, a cancel). */
HIDDEN void poller_fd_unwait(int fd, int side);

/* 'fd' is about to be closed, by any thread: every waiter on it, in any
 * thread, wakes with EBADF, and its registrations are forgotten. */
HIDDEN void poller_fd_close(int fd);

/* {=====================================================================
 * A backend: the kernel's readiness interface
 * ====================================================================== */

/* One event: 'fd' with the 'tag' it was added with. */
struct poller_event {
    int fd;
    uint32_t tag;
    bool readable;               /* or end of file, hangup, error */
    bool writable;               /* or hangup, error */
};

/* Registration is edge-triggered and for both directions at once: a
 * descriptor is added once, at its first wait, and an event says what
 * became ready since the last one. */
struct poller_backend {
    const char *name;
    int (*create)(void);                                   /* a handle, or -1 with errno */
    int (*add)(int poller, int fd, uint32_t tag);          /* 0, or -1 with errno (EPERM: a
                                                              regular file) */
    void (*remove)(int poller, int fd);
    /* Wait up to 'timeout' ns (-1: no limit, 0: do not block) and fill at
     * most 'max' events: their count (0 when a signal came), or -1. */
    int (*wait)(int poller, int64_t timeout, struct poller_event *events, int max);
    void (*destroy)(int poller);
};

HIDDEN extern const struct poller_backend poller_epoll;

#endif
