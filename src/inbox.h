/* inbox.h - each thread's inbox (inbox.c): the one road by which
 * anything crosses to a thread from another, be it a mailbox's message,
 * offloaded work done, or a descriptor closed elsewhere. */
#ifndef COROUTINE_INBOX_H
#define COROUTINE_INBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* What is posted: a node inside whatever crosses (a mailbox, a work),
 * with what to do with it on the other side. */
struct inbox_node {
    struct inbox_node *prev, *next;   /* in one of the inbox's lists */
    bool expected;                    /* in the list of those expected */
    /* On the inbox's thread, when its poller drains the inbox. */
    void (*deliver)(struct inbox_node *n);
    /* When it can never be delivered: 'here' is true in a forked child,
     * on the inbox's thread (the node was expected, and whoever would
     * post it is in the parent); false on the poster's thread, the
     * inbox's thread having exited. */
    void (*lost)(struct inbox_node *n, bool here);
};

struct inbox;

/* The running thread's inbox, made at the first asking: NULL with errno
 * (EMFILE, ENOMEM). It lives while its thread does and while anybody
 * holds it. */
HIDDEN struct inbox *inbox_mine(void);

/* The eventfd that a post writes while the thread sleeps in the kernel:
 * its poller watches it. */
HIDDEN int inbox_fd(const struct inbox *in);

/* One more holder of 'in', which stays valid until the matching
 * release, even after its thread exits. Any thread. */
HIDDEN void inbox_hold(struct inbox *in);
HIDDEN void inbox_release(struct inbox *in);

/* 'n' will be posted to the running thread's inbox, which holds itself
 * for it until then: noted, so that a fork can say it is lost. */
HIDDEN void inbox_expect(struct inbox *in, struct inbox_node *n);

/* From any thread: 'n' goes to 'in' (as expected, or not), waking the
 * thread if it sleeps in the kernel; or, if its thread exited, n->lost. */
HIDDEN void inbox_post(struct inbox *in, struct inbox_node *n);

/* On the inbox's thread: 'n', posted and not yet delivered, is taken
 * back (its owner is about to be freed). */
HIDDEN void inbox_withdraw(struct inbox *in, struct inbox_node *n);

/* This thread's inbox has posts waiting: a glance, no lock. */
HIDDEN bool inbox_has_mail(void);

/* Whether a post came within 'ns' nanoseconds, watching without a
 * system call (inbox_watch_count). */
HIDDEN bool inbox_watch(int64_t ns);

/* The thread is about to sleep in the kernel: true if it may (posts from
 * now on write the eventfd), false if posts are waiting. Then, awake
 * again, inbox_awake(). */
HIDDEN bool inbox_sleep(void);
HIDDEN void inbox_awake(void);

/* Deliver every post, oldest first. */
HIDDEN void inbox_drain(void);

/* In a child after fork: a new eventfd (0, or an errno); every expected
 * node is lost. */
HIDDEN int inbox_renew(void);

/* The thread exits: posts waiting are lost, later ones too. */
HIDDEN void inbox_close(void);

/* How long a thread with nothing else to do watches before it sleeps. */
#define WATCH_NS (20 * 1000)

/* Watch '*count' (written atomically by other threads) for up to 'ns'
 * nanoseconds, spinning: whether it became non-zero. Sleeping in the
 * kernel and being woken costs microseconds on each side, so a thread
 * with nothing else to do watches a while first, as Go's idle threads
 * spin before they park. */
HIDDEN bool inbox_watch_count(const size_t *count, int64_t ns);

#endif
