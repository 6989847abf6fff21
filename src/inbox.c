/* inbox.c - each thread's inbox: what other threads send to it, and the
 * one way they wake it.
 *
 * An inbox is a list under a lock and an eventfd that the thread's
 * poller watches. A poster appends its node and writes the eventfd only
 * if the thread sleeps in the kernel and nobody has written since it fell
 * asleep: a thread that is awake finds its posts at its poller's next
 * turn, with no system call on either side, and a burst of posts to a
 * sleeping thread costs one write (as Go's netpoll wake-ups are
 * coalesced). What is posted is a node inside the thing that crosses,
 * with the call that delivers it on the thread: a mailbox's wake-up, a
 * work done, a descriptor closed. This file knows none of them.
 *
 * An inbox outlives its thread while anybody holds it (a mailbox, work
 * on its way, a descriptor registration): a post to the inbox of a thread
 * that exited is lost at once, on the poster's thread, and the last
 * release frees it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "inbox.h"

struct node_list {
    struct inbox_node *first, *last;
};

struct inbox {
    pthread_mutex_t lock;        /* guards the rest */
    int fd;                      /* the eventfd */
    struct node_list posted;     /* to deliver, oldest first */
    struct node_list expected;   /* to be posted (offloaded work) */
    size_t count;                /* posted; written atomically: read unlocked */
    size_t holders;              /* its thread (until it exits), and others */
    bool sleeping;               /* its thread sleeps in the kernel */
    bool signalled;              /* fd written since it fell asleep */
    bool closed;                 /* its thread exited */
};

static __thread struct inbox *mine;

bool inbox_watch_count(const size_t *count, int64_t ns)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t until = now.tv_sec * CO_SEC + now.tv_nsec + ns;
    for (int i = 1;; i++) {
        if (__atomic_load_n(count, __ATOMIC_ACQUIRE) > 0)
            return true;
        if (i % 64 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec * CO_SEC + now.tv_nsec >= until)
                return false;
        }
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
}

/* {=====================================================================
 * Lists
 * ====================================================================== */

static void list_append(struct node_list *l, struct inbox_node *n)
{
    n->next = NULL;
    n->prev = l->last;
    *(l->last ? &l->last->next : &l->first) = n;
    l->last = n;
}

static void list_unlink(struct node_list *l, struct inbox_node *n)
{
    *(n->prev ? &n->prev->next : &l->first) = n->next;
    *(n->next ? &n->next->prev : &l->last) = n->prev;
}

static struct inbox_node *list_take_all(struct node_list *l)
{
    struct inbox_node *first = l->first;
    l->first = l->last = NULL;
    return first;
}

/* }===================================================================== */

/* {=====================================================================
 * Life
 * ====================================================================== */

struct inbox *inbox_mine(void)
{
    if (mine != NULL)
        return mine;
    struct inbox *in = calloc(1, sizeof *in);
    if (in == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if ((in->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        free(in);
        return NULL;
    }
    pthread_mutex_init(&in->lock, NULL);
    in->holders = 1;                    /* its thread */
    mine = in;
    return in;
}

int inbox_fd(const struct inbox *in)
{
    return in->fd;
}

void inbox_hold(struct inbox *in)
{
    pthread_mutex_lock(&in->lock);
    in->holders++;
    pthread_mutex_unlock(&in->lock);
}

/* Under the lock: one holder fewer; whether it was the last. */
static bool let_go(struct inbox *in)
{
    return --in->holders == 0;
}

static void inbox_free(struct inbox *in)
{
    pthread_mutex_destroy(&in->lock);
    free(in);
}

void inbox_release(struct inbox *in)
{
    pthread_mutex_lock(&in->lock);
    bool last = let_go(in);
    pthread_mutex_unlock(&in->lock);
    if (last)
        inbox_free(in);
}

void inbox_close(void)
{
    struct inbox *in = mine;
    if (in == NULL)
        return;
    mine = NULL;
    pthread_mutex_lock(&in->lock);
    struct inbox_node *posted = list_take_all(&in->posted);
    in->closed = true;
    close(in->fd);
    pthread_mutex_unlock(&in->lock);
    while (posted != NULL) {
        struct inbox_node *n = posted;
        posted = n->next;
        n->lost(n, false);
    }
    inbox_release(in);
}

int inbox_renew(void)
{
    struct inbox *in = mine;
    if (in == NULL)
        return 0;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);   /* the old one is the parent's too */
    if (fd < 0)
        return errno;
    close(in->fd);
    pthread_mutex_init(&in->lock, NULL);               /* a parent's thread may have held it */
    in->fd = fd;
    in->sleeping = in->signalled = false;
    struct inbox_node *expected = list_take_all(&in->expected);
    while (expected != NULL) {                         /* their posters are in the parent */
        struct inbox_node *n = expected;
        expected = n->next;
        n->expected = false;
        in->holders--;
        n->lost(n, true);
    }
    return 0;
}

/* }===================================================================== */

/* {=====================================================================
 * Posting and delivering
 * ====================================================================== */

void inbox_expect(struct inbox *in, struct inbox_node *n)
{
    pthread_mutex_lock(&in->lock);
    in->holders++;
    n->expected = true;
    list_append(&in->expected, n);
    pthread_mutex_unlock(&in->lock);
}

/* Under the lock: was 'n' expected? Then it no longer is. */
static bool was_expected(struct inbox *in, struct inbox_node *n)
{
    if (!n->expected)
        return false;
    list_unlink(&in->expected, n);
    n->expected = false;
    return true;
}

void inbox_post(struct inbox *in, struct inbox_node *n)
{
    pthread_mutex_lock(&in->lock);
    bool last = was_expected(in, n) && let_go(in);
    if (in->closed) {
        pthread_mutex_unlock(&in->lock);
        n->lost(n, false);
        if (last)
            inbox_free(in);
        return;
    }
    list_append(&in->posted, n);
    __atomic_store_n(&in->count, in->count + 1, __ATOMIC_RELEASE);
    if (in->sleeping && !in->signalled) {     /* under the lock: fd stays open */
        uint64_t one = 1;
        in->signalled = write(in->fd, &one, sizeof one) == sizeof one;
    }
    pthread_mutex_unlock(&in->lock);
}

void inbox_withdraw(struct inbox *in, struct inbox_node *n)
{
    pthread_mutex_lock(&in->lock);
    list_unlink(&in->posted, n);
    __atomic_store_n(&in->count, in->count - 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&in->lock);
}

bool inbox_has_mail(void)
{
    return mine != NULL && __atomic_load_n(&mine->count, __ATOMIC_ACQUIRE) > 0;
}

bool inbox_watch(int64_t ns)
{
    return mine != NULL && inbox_watch_count(&mine->count, ns);
}

bool inbox_sleep(void)
{
    struct inbox *in = mine;
    if (in == NULL)
        return true;
    pthread_mutex_lock(&in->lock);
    bool may = in->posted.first == NULL;
    in->sleeping = may;
    pthread_mutex_unlock(&in->lock);
    return may;
}

void inbox_awake(void)
{
    struct inbox *in = mine;
    if (in == NULL)
        return;
    pthread_mutex_lock(&in->lock);
    bool signalled = in->signalled;
    in->sleeping = in->signalled = false;
    pthread_mutex_unlock(&in->lock);
    if (signalled) {                          /* empty it, so the next write is an edge */
        uint64_t count;
        ssize_t n = read(in->fd, &count, sizeof count);
        (void)n;
    }
}

void inbox_drain(void)
{
    struct inbox *in = mine;
    if (in == NULL || __atomic_load_n(&in->count, __ATOMIC_ACQUIRE) == 0)
        return;
    pthread_mutex_lock(&in->lock);
    struct inbox_node *posted = list_take_all(&in->posted);
    __atomic_store_n(&in->count, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&in->lock);
    while (posted != NULL) {
        struct inbox_node *n = posted;
        posted = n->next;
        n->deliver(n);
    }
}

/* }===================================================================== */
