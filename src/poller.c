/* poller.c - each thread's poller: the coroutine that ends the waits
 * that no other context of the thread can end, and the loop it runs.
 *
 * The poller is an ordinary coroutine, so the scheduler needs no new
 * path. It is in the rotation while a deadline, a descriptor or another
 * thread is waited for, and each time its turn comes it
 *
 *     ends the waits whose deadline passed (a hook of wait.c's),
 *     delivers what other threads posted to the inbox (inbox.c),
 *     asks the kernel which descriptors became ready, without blocking,
 *
 * then yields. When it is the only context left that can run, it blocks
 * in the kernel instead, until the next deadline, a descriptor or a post;
 * and if nothing at all could wake anyone, that is a deadlock. It leaves
 * the rotation when it has nothing to watch.
 *
 * It also keeps the thread's table of descriptors: each is registered
 * with the kernel once, edge-triggered, and its readiness for each side
 * is remembered from the event that reported it until a call on it says
 * EAGAIN, as Go's poll descriptors do. A descriptor closed with co_close()
 * in another thread is told to the thread that registered it through its
 * inbox, and a number reused since is registered anew.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "inbox.h"
#include "poller.h"
#include "threads.h"
#include "timer.h"
#include "trace.h"

#define POLLER_STACK (256 * 1024)
#define POLL_BATCH 128
#define INBOX_TAG UINT32_MAX         /* the inbox's event: never a descriptor's tag */

struct poller_fd {
    struct s_ctx *waiter[2];     /* for reading, for writing, or NULL */
    bool ready[2];               /* reported, and no EAGAIN seen since */
    bool registered;             /* added to the backend */
    uint32_t tag;                /* counted up as it is forgotten: events carry it */
    uint32_t closes;             /* the process's close count of the number, then */
};

static __thread struct {
    const struct poller_backend *backend;
    const struct poller_hooks *hooks;
    int handle;                  /* the backend's */
    struct s_ctx *ctx;           /* the poller's coroutine, or NULL */
    struct inbox *inbox;
    struct poller_fd *fds;       /* indexed by descriptor number */
    size_t fds_len;
    size_t fd_waits;             /* contexts waiting on a descriptor */
    size_t outside;              /* contexts waiting for another thread */
} pt;

__thread unsigned poller_forks;
unsigned poller_fork_count = 1;

/* {=====================================================================
 * The process's count of closes of each number, and who registered it
 * ====================================================================== */

/* A descriptor number's record, shared by every thread: how often
 * co_close() closed it, and the inbox of the thread that registered it
 * last (held), to be told. Pages are made as numbers are first used and
 * never freed. */
struct poller_number {
    uint32_t closes;             /* atomic */
    struct inbox *owner;         /* atomic */
};

#define NUMBER_PAGE 4096
#define NUMBER_PAGES 1024        /* numbers past 4M are not followed across threads */
static struct poller_number *numbers[NUMBER_PAGES];

static struct poller_number *number_of(int fd)
{
    size_t page = (size_t)fd / NUMBER_PAGE;
    if (page >= NUMBER_PAGES)
        return NULL;
    struct poller_number *p = __atomic_load_n(&numbers[page], __ATOMIC_ACQUIRE);
    if (p == NULL) {
        struct poller_number *fresh = calloc(NUMBER_PAGE, sizeof *fresh);
        if (fresh == NULL)
            return NULL;
        if (__atomic_compare_exchange_n(&numbers[page], &p, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            p = fresh;
        else
            free(fresh);                 /* another thread made it first */
    }
    return &p[(size_t)fd % NUMBER_PAGE];
}

static uint32_t closes_of(const struct poller_number *n)
{
    return n != NULL ? __atomic_load_n(&n->closes, __ATOMIC_ACQUIRE) : 0;
}

/* This thread registered the number: it is the one to tell of a close. */
static void own_number(struct poller_number *n)
{
    if (n == NULL || pt.inbox == NULL)
        return;
    inbox_hold(pt.inbox);
    struct inbox *old = __atomic_exchange_n(&n->owner, pt.inbox, __ATOMIC_ACQ_REL);
    if (old != NULL)
        inbox_release(old);
}

/* This thread forgets the number: it no longer needs telling. */
static void disown_number(int fd)
{
    struct poller_number *n = number_of(fd);
    struct inbox *expected = pt.inbox;
    if (n != NULL && expected != NULL &&
        __atomic_compare_exchange_n(&n->owner, &expected, NULL, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        inbox_release(expected);
}

/* }===================================================================== */

/* {=====================================================================
 * The table of descriptors
 * ====================================================================== */

/* The slot of 'fd', the table grown as needed; NULL with errno EBADF
 * ('fd' is not open) or ENOMEM. */
static struct poller_fd *slot_of(int fd)
{
    if ((size_t)fd < pt.fds_len)
        return &pt.fds[fd];
    if (fcntl(fd, F_GETFD) < 0)          /* not open: grow nothing for it */
        return NULL;
    size_t len = pt.fds_len ? pt.fds_len : 64;
    while (len <= (size_t)fd)
        len *= 2;
    struct poller_fd *fds = realloc(pt.fds, len * sizeof *fds);
    if (fds == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memset(fds + pt.fds_len, 0, (len - pt.fds_len) * sizeof *fds);
    pt.fds = fds;
    pt.fds_len = len;
    return &fds[fd];
}

/* Forget the registration of 'fd' (closed, here or elsewhere): its
 * waiters wake with EBADF, and events of the old one are dropped. */
static void forget(int fd, struct poller_fd *slot)
{
    if (!slot->registered)
        return;
    if (poller_ready())
        pt.backend->remove(pt.handle, fd);
    slot->registered = false;
    slot->ready[0] = slot->ready[1] = false;
    slot->tag = (slot->tag + 1) & 0x7fffffff;    /* never INBOX_TAG */
    for (int side = 0; side < 2; side++)
        if (slot->waiter[side] != NULL)
            pt.hooks->wake(slot->waiter[side], EBADF);
}

static int enroll(int fd, struct poller_fd *slot, struct poller_number *n)
{
    if (pt.backend->add(pt.handle, fd, slot->tag) != 0)
        return errno == EPERM ? EINVAL : errno;
    slot->registered = true;
    slot->ready[0] = slot->ready[1] = false;
    slot->closes = closes_of(n);
    own_number(n);
    return 0;
}

int poller_fd_ready(int fd, int side)
{
    struct poller_fd *slot = slot_of(fd);
    if (slot == NULL)
        return -1;
    struct poller_number *n = number_of(fd);
    if (slot->registered && slot->closes != closes_of(n))
        forget(fd, slot);                /* closed by another thread, the number reused */
    int err = slot->registered ? 0 : enroll(fd, slot, n);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return slot->ready[side];
}

void poller_fd_spent(int fd, int side)
{
    if ((size_t)fd < pt.fds_len)
        pt.fds[fd].ready[side] = false;
}

int poller_fd_wait(int fd, int side, struct s_ctx *ctx)
{
    struct poller_fd *slot = &pt.fds[fd];        /* poller_fd_ready made it */
    if (slot->waiter[side] != NULL)
        return EBUSY;
    slot->waiter[side] = ctx;
    pt.fd_waits++;
    return 0;
}

void poller_fd_unwait(int fd, int side)
{
    pt.fds[fd].waiter[side] = NULL;
    pt.fd_waits--;
}

/* A close in another thread, told through this thread's inbox. */
struct close_note {
    struct inbox_node node;
    int fd;
};

static void close_note_deliver(struct inbox_node *node)
{
    struct close_note *c = (struct close_note *)node;
    if ((size_t)c->fd < pt.fds_len && pt.fds[c->fd].closes != closes_of(number_of(c->fd)))
        forget(c->fd, &pt.fds[c->fd]);
    free(c);
}

static void close_note_lost(struct inbox_node *node, bool here)
{
    (void)here;
    free(node);
}

static void tell_owner(struct inbox *owner, int fd)
{
    struct close_note *c = malloc(sizeof *c);
    if (c != NULL) {                     /* else its waits end by their deadlines */
        *c = (struct close_note){.node.deliver = close_note_deliver,
                                 .node.lost = close_note_lost, .fd = fd};
        inbox_post(owner, &c->node);
    }
    inbox_release(owner);
}

void poller_fd_close(int fd)
{
    if (fd < 0)
        return;
    if ((size_t)fd < pt.fds_len)
        forget(fd, &pt.fds[fd]);
    size_t page = (size_t)fd / NUMBER_PAGE;
    if (page >= NUMBER_PAGES || __atomic_load_n(&numbers[page], __ATOMIC_ACQUIRE) == NULL)
        return;                          /* never registered by anyone */
    struct poller_number *n = number_of(fd);
    __atomic_add_fetch(&n->closes, 1, __ATOMIC_ACQ_REL);
    struct inbox *owner = __atomic_exchange_n(&n->owner, NULL, __ATOMIC_ACQ_REL);
    if (owner == NULL)
        return;
    if (owner == pt.inbox)
        inbox_release(owner);
    else
        tell_owner(owner, fd);
}

/* }===================================================================== */

/* {=====================================================================
 * The loop
 * ====================================================================== */

static void deliver(const struct poller_event *e)
{
    if (e->tag == INBOX_TAG) {
        inbox_drain();
        return;
    }
    if ((size_t)e->fd >= pt.fds_len)
        return;
    struct poller_fd *slot = &pt.fds[e->fd];
    if (!slot->registered || slot->tag != e->tag)
        return;                          /* for a descriptor since closed */
    bool sides[2] = {e->readable, e->writable};
    for (int side = 0; side < 2; side++) {
        if (!sides[side])
            continue;
        slot->ready[side] = true;
        if (slot->waiter[side] != NULL)
            pt.hooks->wake(slot->waiter[side], 0);
    }
}

static int renew_after_fork(void);

/* Ask the kernel, waiting up to 'timeout' ns (-1: no limit). */
static void poll_kernel(int64_t timeout)
{
    struct poller_event events[POLL_BATCH];
    threads_idle = timeout != 0;         /* asleep, not stalled (stall.c) */
    int n = pt.backend->wait(pt.handle, timeout, events, POLL_BATCH);
    threads_idle = false;
    if (n < 0)
        ctx_misuse("poller: waiting for events failed: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        deliver(&events[i]);
}

/* As poll_kernel; a virtual clock moves on by the real time it took, up
 * to 'next', the first deadline: while the world outside can end a wait,
 * virtual time runs as real time does, so it never jumps past what is
 * about to arrive. */
static void poll_kernel_timed(int64_t timeout, int64_t next)
{
    if (!timer_virtual()) {
        poll_kernel(timeout);
        return;
    }
    int64_t start = timer_real_now();
    poll_kernel(timeout);
    int64_t to = co_now() + (timer_real_now() - start);
    timer_pass(to < next ? to : next);
}

/* Nothing else can run: how long to block, until the next deadline (-1:
 * none); 0 if it passed, or a post came while watching for one. */
static int64_t time_to_sleep(int64_t next)
{
    if (next == CO_FOREVER && pt.fd_waits == 0 && pt.outside == 0)
        pt.hooks->deadlock();
    if (timer_virtual() && pt.fd_waits == 0 && pt.outside == 0) {
        timer_pass(next);                /* only a deadline can end a wait: go there */
        return 0;
    }
    int64_t timeout = next == CO_FOREVER ? -1 : next - co_now();
    if (next != CO_FOREVER && timeout <= 0)
        return 0;
    if (pt.outside > 0 && inbox_watch(timeout < 0 || timeout > WATCH_NS ? WATCH_NS : timeout))
        return 0;
    int64_t pool = stack_idle();         /* wakes to give memory back, while it holds some */
    return pool >= 0 && (timeout < 0 || timeout > pool) ? pool + 1 : timeout;
}

/* One turn: posts, deadlines and the kernel, blocking only if nothing
 * else can run. */
static void poller_turn(void)
{
    if (!poller_ready() && renew_after_fork() != 0)
        ctx_misuse("poller: cannot make a new poller after fork: %s", strerror(errno));
    int64_t next = pt.hooks->expire(co_now());  /* first: a deadline that passed wins */
    inbox_drain();
    if (ctx_current->next != ctx_current) {              /* others can run: a look only */
        if (pt.fd_waits > 0)
            poll_kernel(0);
        return;
    }
    int64_t timeout = time_to_sleep(next);
    if (timeout != 0 && !inbox_sleep())
        timeout = 0;                             /* a post came: no sleep */
    if (timeout != 0 || pt.fd_waits > 0)
        poll_kernel_timed(timeout, next);
    if (timeout != 0)
        inbox_awake();
    inbox_drain();
    pt.hooks->expire(co_now());
}

static void poller_main(void *unused)
{
    (void)unused;
    for (;;) {
        poller_turn();
        if (pt.fd_waits == 0 && pt.outside == 0 && pt.hooks->expire(co_now()) == CO_FOREVER)
            ctx_leave_and_run(ctx_current);     /* rest until a wait needs it */
        else
            yield_ctx();
    }
}

void poller_needed(void)
{
    if (pt.ctx->next == NULL)
        ctx_rejoin_rotation(pt.ctx, false);
}

bool poller_alone(const struct s_ctx *self)
{
    return self->next == NULL || self->next == self || (self->next == pt.ctx && pt.ctx->next == self);
}

void poller_outside(int delta)
{
    if (delta > 0)
        pt.outside++;
    else
        pt.outside--;
}

/* }===================================================================== */

/* {=====================================================================
 * The thread's poller: made at its first wait, renewed after fork
 * ====================================================================== */

static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    poller_fork_count++;         /* in the child, where only this thread is */
}

/* glibc's registration that pthread_atfork() wraps: that wrapper lives in
 * libc_nonshared.a and needs the startup files' __dso_handle, which the
 * shared library is built without. A NULL handle registers for the life
 * of the process, as the library's other process-wide state is. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);

static void watch_forks(void)
{
    __register_atfork(NULL, NULL, count_fork, NULL);
}

static int watch_inbox(void)
{
    return pt.backend->add(pt.handle, inbox_fd(pt.inbox), INBOX_TAG) == 0 ? 0 : errno;
}

/* A fresh backend, with every descriptor that has a waiter added again
 * (the one inherited is shared with the parent, whose registrations it
 * holds), and the inbox renewed: work that the parent's workers run
 * never comes here. */
static int renew_after_fork(void)
{
    int handle = pt.backend->create();
    if (handle < 0)
        return -1;
    pt.backend->destroy(pt.handle);
    pt.handle = handle;
    poller_forks = poller_fork_count;
    for (size_t i = 0; i < pt.fds_len; i++) {
        struct poller_fd *slot = &pt.fds[i];
        slot->registered = slot->waiter[0] || slot->waiter[1];
        slot->tag = (slot->tag + 1) & 0x7fffffff;
        if (slot->registered && pt.backend->add(handle, (int)i, slot->tag) != 0)
            return -1;
    }
    int err = inbox_renew();
    if (err == 0)
        err = watch_inbox();
    errno = err;
    return err == 0 ? 0 : -1;
}

static int make_poller(void)
{
    pt.backend = &poller_epoll;
    if ((pt.inbox = inbox_mine()) == NULL)
        return errno;
    int handle = pt.backend->create();
    if (handle < 0)
        return errno;
    pt.handle = handle;
    int err = watch_inbox();
    struct ctx_first made = ctx_made;    /* the poller is not what the caller made */
    sp_ctx ctx = err == 0 ? create_ctx_sized(poller_main, NULL, POLLER_STACK) : NULL;
    ctx_made = made;
    if (ctx != NULL)
        set_ctx_name(ctx, "poller");
    if (ctx == NULL) {
        err = err ? err : errno;
        pt.backend->destroy(handle);
        return err;
    }
    pt.ctx = ctx_at(ctx);                /* in the rotation: create_ctx put it there */
    poller_forks = poller_fork_count;
    return 0;
}

int poller_start(const struct poller_hooks *hooks)
{
    if (poller_ready())
        return 0;
    pt.hooks = hooks;
    if (pt.ctx != NULL)
        return renew_after_fork() == 0 ? 0 : errno;
    pthread_once(&fork_watch, watch_forks);
    return make_poller();
}

void poller_thread_exit(void)
{
    for (size_t i = 0; i < pt.fds_len; i++)
        if (pt.fds[i].registered)
            disown_number((int)i);
    if (pt.ctx != NULL)                  /* a child's inherited copy too */
        pt.backend->destroy(pt.handle);
    free(pt.fds);
    inbox_close();
    pt = (__typeof__(pt)){0};
    poller_forks = 0;
}

/* }===================================================================== */
