/* mbox.c - mailboxes: messages from any thread to the coroutines of one
 * (coroutine_chan.h).
 *
 * A mutex guards a ring that grows. The receiver waits on an eventfd in
 * its thread's poller, like any descriptor; a sender that finds it waiting
 * writes the eventfd once, and no more until the receiver has run
 * ('signalled'), so a burst of messages costs one write, as Go's netpoll
 * wake-ups are coalesced. Channels (chan.c) pay none of this.
 *
 * Sleeping in the kernel and being woken costs microseconds on each side.
 * So a receiver whose thread has nothing else to run first watches the
 * count for a few microseconds, as Go's idle threads spin before they
 * park: a reply that comes quickly is taken without any system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "coroutine_chan.h"
#include "runtime.h"
#include "wait.h"

#define MBOX_MAGIC 0x4d424f58u         /* "MBOX" */

struct co_mbox {
    uint32_t magic;
    uint64_t thread;                   /* the receiver's */
    int wake_fd;                       /* an eventfd */
    pthread_mutex_t lock;              /* guards the rest */
    size_t size, cap, head;
    size_t count;                      /* written under the lock, atomically: read
                                          without it by a spinning receiver */
    unsigned char *ring;
    bool closed;
    bool waiting;                      /* the receiver waits on wake_fd */
    bool signalled;                    /* wake_fd written since it began */
};

static co_mbox *any_thread(co_mbox *mb, const char *call);

/* For the receiver's calls: a mailbox of this thread, or abort. */
static co_mbox *own(co_mbox *mb, const char *call)
{
    any_thread(mb, call);
    if (mb->thread != thread_serial)
        misuse("%s: coroutine %zu: the mailbox belongs to another thread", call,
               current ? current->id : 0);
    return mb;
}

/* For the calls any thread may make: a mailbox, or abort. */
static co_mbox *any_thread(co_mbox *mb, const char *call)
{
    if (mb == NULL || mb->magic != MBOX_MAGIC)
        misuse("%s: %p is not a mailbox (destroyed, or never made)", call, (void *)mb);
    return mb;
}

/* Under the lock: should this sender wake the receiver? Once per wait. */
static bool must_wake(co_mbox *mb)
{
    bool wake = mb->waiting && !mb->signalled;
    mb->signalled |= wake;
    return wake;
}

/* After the lock: one write, which the receiver's poller sees. It fails
 * only with EAGAIN, at 2^64 - 2 unread, and then the receiver is awake. */
static void wake_receiver(co_mbox *mb)
{
    uint64_t one = 1;
    ssize_t n = write(mb->wake_fd, &one, sizeof one);
    (void)n;
}

co_mbox *co_mbox_create(size_t size)
{
    if (size == 0 || size > SIZE_MAX / 64) {
        errno = EINVAL;
        return NULL;
    }
    co_mbox *mb = calloc(1, sizeof *mb);
    if (mb == NULL || (mb->ring = malloc(size * 16)) == NULL) {
        free(mb);
        errno = ENOMEM;
        return NULL;
    }
    if ((mb->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        int err = errno;
        free(mb->ring);
        free(mb);
        errno = err;
        return NULL;
    }
    pthread_mutex_init(&mb->lock, NULL);
    mb->magic = MBOX_MAGIC;
    mb->thread = this_thread();
    mb->size = size;
    mb->cap = 16;
    return mb;
}

/* Twice the room, the elements unwrapped to the start; under the lock. */
static int grow(co_mbox *mb)
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

int co_mbox_send(co_mbox *mb, const void *item)
{
    any_thread(mb, "co_mbox_send");
    if (item == NULL)
        return wait_fail(EINVAL);
    int err = 0;
    bool wake = false;
    pthread_mutex_lock(&mb->lock);
    if (mb->closed)
        err = EPIPE;
    else if (mb->count == mb->cap)
        err = grow(mb);
    if (err == 0) {
        size_t slot = mb->head + mb->count;
        memcpy(mb->ring + (slot >= mb->cap ? slot - mb->cap : slot) * mb->size, item, mb->size);
        __atomic_store_n(&mb->count, mb->count + 1, __ATOMIC_RELEASE);
        wake = must_wake(mb);
    }
    pthread_mutex_unlock(&mb->lock);
    if (wake)
        wake_receiver(mb);
    return wait_fail(err);
}

/* Take one under the lock if there is one: 0, EPIPE, or EAGAIN (empty:
 * then the receiver is marked waiting). */
static int take(co_mbox *mb, void *item)
{
    int err = 0;
    pthread_mutex_lock(&mb->lock);
    if (mb->count > 0) {
        memcpy(item, mb->ring + mb->head * mb->size, mb->size);
        mb->head = mb->head + 1 == mb->cap ? 0 : mb->head + 1;
        __atomic_store_n(&mb->count, mb->count - 1, __ATOMIC_RELAXED);
        mb->waiting = false;
    } else if (mb->closed) {
        err = EPIPE;
        mb->waiting = false;
    } else {
        err = EAGAIN;
        mb->waiting = true;
        mb->signalled = false;
    }
    pthread_mutex_unlock(&mb->lock);
    return err;
}

/* Nothing else of this thread can run (the poller aside): watch the
 * count a while before sleeping. */
static void spin_for(co_mbox *mb, int64_t deadline)
{
    struct s_ctx *self = current ? current : &main_ctx;
    if (self->next != NULL && self->next != self && self->next != rt.poller)
        return;
    int64_t left = deadline - co_now();
    if (left > 0)
        watch_count(&mb->count, left < WATCH_NS ? left : WATCH_NS);
}

int co_mbox_recv(co_mbox *mb, void *item, int64_t deadline)
{
    own(mb, "co_mbox_recv");
    if (item == NULL)
        return wait_fail(EINVAL);
    int err;
    uint64_t count;
    if (__atomic_load_n(&mb->count, __ATOMIC_ACQUIRE) == 0)
        spin_for(mb, deadline);        /* before saying it waits: no wake-up is sent */
    while ((err = take(mb, item)) == EAGAIN) {
        if (wait_fd(mb->wake_fd, CO_READABLE, deadline, false) != 0) {
            err = errno;
            pthread_mutex_lock(&mb->lock);
            mb->waiting = false;
            pthread_mutex_unlock(&mb->lock);
            break;
        }
        if (read(mb->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
            break;
    }
    return wait_fail(err);
}

void co_mbox_close(co_mbox *mb)
{
    any_thread(mb, "co_mbox_close");
    pthread_mutex_lock(&mb->lock);
    mb->closed = true;
    bool wake = must_wake(mb);
    pthread_mutex_unlock(&mb->lock);
    if (wake)
        wake_receiver(mb);
}

void co_mbox_destroy(co_mbox *mb)
{
    if (mb == NULL)
        return;
    own(mb, "co_mbox_destroy");
    if (rt.fds_len > (size_t)mb->wake_fd && rt.fds[mb->wake_fd].waiter[0] != NULL)
        misuse("co_mbox_destroy: coroutine %zu: coroutine %zu still waits on the mailbox",
               current ? current->id : 0, rt.fds[mb->wake_fd].waiter[0]->id);
    co_close(mb->wake_fd);
    pthread_mutex_destroy(&mb->lock);
    mb->magic = 0;
    free(mb->ring);
    free(mb);
}
