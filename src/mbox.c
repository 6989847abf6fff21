/* mbox.c - mailboxes: messages from any thread to the coroutines of one
 * (coroutine_chan.h).
 *
 * A mutex guards a ring that grows. Receivers wait as a channel's do, in
 * a queue, first come first served, and are handed their message
 * straight into their memory. A sender of another thread cannot touch
 * that queue: when receivers wait, it posts the mailbox (once, until it
 * is delivered) to the receiving thread's inbox (inbox.c), the one road
 * between threads, and there the mailbox hands out what it holds. A
 * sender of the receiving thread hands out at once. Channels (chan.c) pay
 * for none of this.
 *
 * Sleeping in the kernel and being woken costs microseconds on each
 * side. So a receiver whose thread has nothing else to run first watches
 * the count for a few microseconds, as Go's idle threads spin before they
 * park: a reply that comes quickly is taken without any system call or
 * even a switch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine_chan.h"
#include "inbox.h"
#include "wait.h"

#define MBOX_MAGIC 0x4d424f58u         /* "MBOX" */

struct co_mbox {
    uint32_t magic;
    uint64_t thread;                   /* the receiver's */
    struct inbox *inbox;               /* the receiver thread's, held */
    struct inbox_node node;            /* posted there while receivers wait */
    struct waitq receivers;            /* the receiver thread's only */
    pthread_mutex_t lock;              /* guards the rest */
    size_t size, cap, head;
    size_t count;                      /* written under the lock, atomically: read
                                          without it by a watching receiver */
    unsigned char *ring;
    bool closed;
    bool waited;                       /* receivers wait: a sender must post */
    bool posted;                       /* the node is on its way */
};

static co_mbox *mbox_any_thread(co_mbox *mb, const char *call)
{
    if (mb == NULL || mb->magic != MBOX_MAGIC)
        ctx_misuse("%s: %p is not a mailbox (destroyed, or never made)", call, (void *)mb);
    return mb;
}

/* For the receiver's calls: a mailbox of this thread, or abort. */
static co_mbox *mbox_own(co_mbox *mb, const char *call)
{
    mbox_any_thread(mb, call);
    if (mb->thread != ctx_thread_serial)
        ctx_misuse("%s: coroutine %zu: the mailbox belongs to another thread", call,
               ctx_current ? ctx_current->id : 0);
    return mb;
}

/* {=====================================================================
 * The ring, under the lock
 * ====================================================================== */

/* Twice the room, the elements unwrapped to the start. */
static int mbox_grow(co_mbox *mb)
{
    if (mb->cap > SIZE_MAX / 2 / mb->size)
        return ENOMEM;
    unsigned char *ring = malloc(mb->size * mb->cap * 2);
    if (ring == NULL)
        return ENOMEM;
    size_t first = mb->cap - mb->head < mb->count ? mb->cap - mb->head : mb->count;
    memcpy(ring, mb->ring + mb->head * mb->size, first * mb->size);
    memcpy(ring + first * mb->size, mb->ring, (mb->count - first) * mb->size);
    free(mb->ring);
    mb->ring = ring;
    mb->head = 0;
    mb->cap *= 2;
    return 0;
}

static void mbox_put(co_mbox *mb, const void *item)
{
    size_t slot = mb->head + mb->count;
    memcpy(mb->ring + (slot >= mb->cap ? slot - mb->cap : slot) * mb->size, item, mb->size);
    __atomic_store_n(&mb->count, mb->count + 1, __ATOMIC_RELEASE);
}

static void mbox_take(co_mbox *mb, void *item)
{
    memcpy(item, mb->ring + mb->head * mb->size, mb->size);
    mb->head = mb->head + 1 == mb->cap ? 0 : mb->head + 1;
    __atomic_store_n(&mb->count, mb->count - 1, __ATOMIC_RELAXED);
}

/* }===================================================================== */

/* {=====================================================================
 * Handing out, on the receiver's thread
 * ====================================================================== */

/* Each waiting receiver in turn gets a message, while there are any;
 * once closed and drained, the rest get EPIPE. */
static void mbox_hand_out(co_mbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->posted = false;
    struct waiter *r;
    while ((r = mb->receivers.first) != NULL && mb->count > 0) {
        mbox_take(mb, r->item);
        waitq_wake(r, 0);
    }
    while ((r = mb->receivers.first) != NULL && mb->closed)
        waitq_wake(r, EPIPE);
    mb->waited = mb->receivers.first != NULL;
    pthread_mutex_unlock(&mb->lock);
}

static void mbox_deliver(struct inbox_node *node)
{
    mbox_hand_out((co_mbox *)((char *)node - offsetof(co_mbox, node)));
}

/* The receiving thread exited: nobody waits any more. */
static void mbox_lost(struct inbox_node *node, bool here)
{
    (void)here;
    co_mbox *mb = (co_mbox *)((char *)node - offsetof(co_mbox, node));
    pthread_mutex_lock(&mb->lock);
    mb->posted = mb->waited = false;
    pthread_mutex_unlock(&mb->lock);
}

/* Under the lock: must this sender tell the receiver's thread? Once, until
 * it has handed out. */
static bool mbox_must_tell(co_mbox *mb)
{
    bool tell = mb->waited && !mb->posted;
    mb->posted |= tell;
    return tell;
}

static void mbox_tell(co_mbox *mb)
{
    if (mb->thread == ctx_thread_serial)
        mbox_hand_out(mb);
    else
        inbox_post(mb->inbox, &mb->node);
}

/* }===================================================================== */

co_mbox *co_mbox_create(size_t size)
{
    if (size == 0 || size > SIZE_MAX / 64) {
        errno = EINVAL;
        return NULL;
    }
    struct inbox *in = inbox_mine();
    if (in == NULL)
        return NULL;
    co_mbox *mb = calloc(1, sizeof *mb);
    if (mb == NULL || (mb->ring = malloc(size * 16)) == NULL) {
        free(mb);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&mb->lock, NULL);
    inbox_hold(in);
    mb->inbox = in;
    mb->node.deliver = mbox_deliver;
    mb->node.lost = mbox_lost;
    mb->magic = MBOX_MAGIC;
    mb->thread = ctx_this_thread();
    mb->size = size;
    mb->cap = 16;
    return mb;
}

int co_mbox_send(co_mbox *mb, const void *item)
{
    mbox_any_thread(mb, "co_mbox_send");
    if (item == NULL)
        return wait_fail(EINVAL);
    int err = 0;
    bool tell = false;
    pthread_mutex_lock(&mb->lock);
    if (mb->closed)
        err = EPIPE;
    else if (mb->count == mb->cap)
        err = mbox_grow(mb);
    if (err == 0) {
        mbox_put(mb, item);
        tell = mbox_must_tell(mb);
    }
    pthread_mutex_unlock(&mb->lock);
    if (tell)
        mbox_tell(mb);
    return wait_fail(err);
}

/* Take one now if nobody waits before us: 0, EPIPE (closed and drained),
 * or EAGAIN (then receivers are marked waiting, under the same lock). */
static int mbox_try(co_mbox *mb, void *item)
{
    int err = 0;
    pthread_mutex_lock(&mb->lock);
    if (mb->receivers.first != NULL)
        err = EAGAIN;                  /* others came first */
    else if (mb->count > 0)
        mbox_take(mb, item);
    else if (mb->closed)
        err = EPIPE;
    else
        err = EAGAIN;
    mb->waited |= err == EAGAIN;
    pthread_mutex_unlock(&mb->lock);
    return err;
}

/* Nothing else of this thread can run (the poller aside): watch the
 * count a while before waiting. */
static void mbox_watch(co_mbox *mb, int64_t deadline)
{
    if (mb->receivers.first != NULL || __atomic_load_n(&mb->count, __ATOMIC_ACQUIRE) > 0 ||
        !poller_alone(wait_self()))
        return;
    int64_t now = co_now();
    if (deadline > now)
        inbox_watch_count(&mb->count, deadline - now < WATCH_NS ? deadline - now : WATCH_NS);
}

/* The wait ended otherwise (deadline, cancel): receivers may be gone. */
static void mbox_gave_up(co_mbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->waited = mb->receivers.first != NULL;
    pthread_mutex_unlock(&mb->lock);
}

int co_mbox_recv(co_mbox *mb, void *item, int64_t deadline)
{
    mbox_own(mb, "co_mbox_recv");
    if (item == NULL)
        return wait_fail(EINVAL);
    wait_point();
    mbox_watch(mb, deadline);
    int err = mbox_try(mb, item);
    if (err != EAGAIN)
        return wait_fail(err);
    if ((err = wait_begin(deadline)) == 0) {
        wait_why("receiving from mailbox", mb);
        struct waiter w = {.ctx = ctx_current, .item = item};
        waitq_push(&mb->receivers, &w);
        err = wait_park_outside();
    }
    if (err != 0)
        mbox_gave_up(mb);
    return wait_fail(err);
}

void co_mbox_close(co_mbox *mb)
{
    mbox_any_thread(mb, "co_mbox_close");
    pthread_mutex_lock(&mb->lock);
    mb->closed = true;
    bool tell = mbox_must_tell(mb);
    pthread_mutex_unlock(&mb->lock);
    if (tell)
        mbox_tell(mb);
}

void co_mbox_destroy(co_mbox *mb)
{
    if (mb == NULL)
        return;
    mbox_own(mb, "co_mbox_destroy");
    if (mb->receivers.first != NULL)
        ctx_misuse("co_mbox_destroy: coroutine %zu: coroutine %zu still waits on the mailbox",
               ctx_current ? ctx_current->id : 0, mb->receivers.first->ctx->id);
    if (mb->posted)                    /* told, and not yet handed out: take it back */
        inbox_withdraw(mb->inbox, &mb->node);
    pthread_mutex_destroy(&mb->lock);
    inbox_release(mb->inbox);
    mb->magic = 0;
    free(mb->ring);
    free(mb);
}
