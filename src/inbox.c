/* inbox.c - work other threads finished, back to the thread that waits
 * for it.
 *
 * Each thread that offloads work has one inbox: a list under a lock and
 * an eventfd its poller watches. A worker posts the work it finished and
 * writes the eventfd, once per burst (a post that finds a write on its way
 * adds none, as Go's netpoll wake-ups are coalesced); the poller reads it
 * and wakes each waiter. Work whose waiter gave up (a deadline, a cancel,
 * a destroy) is freed here instead, its argument given to its drop call.
 *
 * An inbox outlives its thread while work is on its way to it: the last
 * post frees it. A post to the inbox of a thread that exited drops the
 * work on the worker's thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "poller.h"
#include "inbox.h"
#include "runtime.h"

struct inbox {
    pthread_mutex_t lock;        /* guards the rest */
    int fd;                      /* the eventfd */
    struct work *first, *last;   /* done, not yet drained */
    size_t expected;             /* works on their way, plus those listed */
    size_t listed;               /* written atomically: read unlocked by a watcher */
    bool signalled;              /* fd written since the last drain */
    bool closed;                 /* its thread exited */
};

/* An eventfd the thread's poller watches. */
static int watched_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (poll_add(rt.poll_fd, fd, 0) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static int inbox_open(void)
{
    if (rt.inbox != NULL)
        return 0;
    struct inbox *in = calloc(1, sizeof *in);
    if (in == NULL)
        return ENOMEM;
    if ((in->fd = watched_eventfd()) < 0) {
        int err = errno;
        free(in);
        return err;
    }
    pthread_mutex_init(&in->lock, NULL);
    rt.inbox = in;
    return 0;
}

int inbox_expect(struct work *w)
{
    int err = inbox_open();
    if (err != 0)
        return err;
    w->inbox = rt.inbox;
    pthread_mutex_lock(&rt.inbox->lock);
    rt.inbox->expected++;
    pthread_mutex_unlock(&rt.inbox->lock);
    return 0;
}

bool inbox_is(int fd)
{
    return rt.inbox != NULL && rt.inbox->fd == fd;
}

/* Under the lock: the last work on its way to a closed inbox frees it. */
static bool last_of_closed(struct inbox *in)
{
    return in->closed && in->expected == 0;
}

static void inbox_free(struct inbox *in)
{
    pthread_mutex_destroy(&in->lock);
    free(in);
}

void inbox_post(struct work *w)
{
    struct inbox *in = w->inbox;
    pthread_mutex_lock(&in->lock);
    if (in->closed) {
        in->expected--;
        bool last = last_of_closed(in);
        pthread_mutex_unlock(&in->lock);
        work_drop(w);
        if (last)
            inbox_free(in);
        return;
    }
    w->next = NULL;
    *(in->last ? &in->last->next : &in->first) = w;
    in->last = w;
    __atomic_store_n(&in->listed, in->listed + 1, __ATOMIC_RELEASE);
    if (!in->signalled) {              /* under the lock: the thread cannot close fd meanwhile */
        uint64_t one = 1;
        in->signalled = write(in->fd, &one, sizeof one) == sizeof one;
    }
    pthread_mutex_unlock(&in->lock);
}

/* Under the lock: what was posted, the inbox emptied. */
static struct work *take_all(struct inbox *in)
{
    struct work *list = in->first;
    for (struct work *w = list; w != NULL; w = w->next)
        in->expected--;
    in->first = in->last = NULL;
    __atomic_store_n(&in->listed, 0, __ATOMIC_RELAXED);
    in->signalled = false;
    return list;
}

bool inbox_watch(int64_t ns)
{
    return rt.inbox != NULL && watch_count(&rt.inbox->listed, ns);
}

void inbox_drain(void)
{
    struct inbox *in = rt.inbox;
    uint64_t count;
    ssize_t n = read(in->fd, &count, sizeof count);  /* first: a later post writes again */
    (void)n;
    pthread_mutex_lock(&in->lock);
    struct work *list = take_all(in);
    pthread_mutex_unlock(&in->lock);
    while (list != NULL) {
        struct work *w = list;
        list = w->next;
        if (w->given_up) {
            work_drop(w);
            continue;
        }
        w->back = true;                /* its waiter frees it, woken or about to run */
        if (w->waiters.first != NULL)
            waitq_wake(w->waiters.first, 0);
    }
}


int inbox_renew(void)
{
    struct inbox *in = rt.inbox;
    if (in == NULL)
        return 0;
    int fd = watched_eventfd();        /* the old one is shared with the parent */
    if (fd < 0)
        return -1;
    close(in->fd);
    pthread_mutex_init(&in->lock, NULL);
    in->fd = fd;
    in->first = in->last = NULL;       /* work of the parent's workers: gone */
    in->expected = in->listed = 0;
    in->signalled = false;
    return 0;
}

void inbox_close(void)
{
    struct inbox *in = rt.inbox;
    if (in == NULL)
        return;
    rt.inbox = NULL;
    pthread_mutex_lock(&in->lock);
    struct work *list = take_all(in);
    in->closed = true;
    close(in->fd);
    bool last = last_of_closed(in);
    pthread_mutex_unlock(&in->lock);
    while (list != NULL) {
        struct work *w = list;
        list = w->next;
        work_drop(w);
    }
    if (last)
        inbox_free(in);
}
