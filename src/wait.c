/* wait.c - a context waits: it leaves the rotation until a deadline, a
 * descriptor or another context wakes it. Here are the calls that start
 * a wait, and the poller, the coroutine that ends the waits for time,
 * descriptors and offloaded work (another context ends a join, a channel
 * or a lock wait itself).
 *
 * The poller is an ordinary coroutine, so the scheduler needs no new
 * path: it is in the rotation while a deadline, a descriptor or offloaded
 * work is waited for, and each time its turn comes it fires the deadlines
 * that passed and asks the kernel which descriptors are ready, then
 * yields. When it is the only context left that can run, it blocks in the
 * kernel instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poller.h"
#include "inbox.h"
#include "runtime.h"
#include "trace.h"
#include "wait.h"

#define POLLER_STACK (256 * 1024)
#define POLL_BATCH 128

int64_t co_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * CO_SEC + ts.tv_nsec;
}

/* {=====================================================================
 * Leaving and rejoining the rotation
 * ====================================================================== */

static void run(struct s_ctx *next)
{
    switch_ctx(next == &main_ctx ? NULL : next->handle);
}

/* Out of the rotation, running 'next' instead. */
static void step_out(struct s_ctx *self)
{
    struct s_ctx *next = self->next;
    leave_rotation(self);
    self->switch_key = 0;
    run(next);
}

static void poller_in(void)
{
    if (rt.poller->next == NULL)
        rejoin_rotation(rt.poller);
}

/* The running context waits for what its 'wait' says was set up, and
 * comes back when woken: how the wait ended (0 or an errno). The poller
 * comes into the rotation only if it has something to do: a deadline or
 * a descriptor to watch, or nobody else left to run (then it blocks in
 * the kernel, or finds a deadlock). A message between two coroutines
 * costs a switch, not a turn of the poller as well. */
int wait_park(void)
{
    struct s_ctx *self = current;
    if (self->wait.deadline != CO_FOREVER || self->wait.fd >= 0 || self->wait.work != NULL ||
        self->next == self)
        poller_in();
    if (tracing())
        trace_event(TRACE_WAITS, self->id);
    self->wait.waiting = true;
    step_out(self);
    return self->wait.result;
}

/* }===================================================================== */

/* {=====================================================================
 * The poller
 * ====================================================================== */

static void fire_timers(int64_t now)
{
    struct s_ctx *first;
    bool due;
    while ((first = timer_first(&rt.timers, now, &due)) != NULL && due)
        wake(first, ETIMEDOUT);
}

static void ready(struct fd_slot *slot, int side)
{
    if (slot->waiter[side] != NULL)
        wake(slot->waiter[side], 0);
    else
        slot->ready[side] = true;
}

static void deliver(const struct poll_event *e)
{
    if (inbox_is(e->fd)) {
        inbox_drain();
        return;
    }
    if ((size_t)e->fd >= rt.fds_len)
        return;
    struct fd_slot *slot = &rt.fds[e->fd];
    if (!slot->registered || slot->generation != e->generation)
        return;                             /* for a descriptor since closed */
    if (e->readable)
        ready(slot, 0);
    if (e->writable)
        ready(slot, 1);
}

static const char *waits_for(const struct s_ctx *ctx, char *buf, size_t size)
{
    if (ctx->wait.joining != NULL)
        snprintf(buf, size, "joins coroutine %zu", ctx->wait.joining->id);
    else if (ctx->wait.nodes != NULL)
        snprintf(buf, size, "waits on a channel or lock");
    else
        snprintf(buf, size, "waits with no deadline");
    return buf;
}

/* Nothing can run and nothing can wake anyone: name them and stop. */
__attribute__((noreturn, cold)) static void deadlock(void)
{
    char line[512], what[64];
    size_t used = 0;
    for (size_t i = 0; i < g_ctx.len && used < sizeof line - 80; i++) {
        const struct s_ctx *ctx = g_ctx.items[i];
        if (ctx->wait.waiting)
            used += (size_t)snprintf(line + used, sizeof line - used, ", coroutine %zu %s", ctx->id,
                                     waits_for(ctx, what, sizeof what));
    }
    if (main_ctx.wait.waiting && used < sizeof line - 80)
        snprintf(line + used, sizeof line - used, ", main %s",
                 waits_for(&main_ctx, what, sizeof what));
    misuse("deadlock: every context of this thread waits and nothing can wake one%s",
           used || main_ctx.wait.waiting ? line : "");
}

static int renew_after_fork(void);

/* One look at the deadlines and the kernel: blocking only if nothing
 * else can run. */
static void poll_once(void)
{
    struct poll_event events[POLL_BATCH];
    int64_t timeout = 0;
    fire_timers(co_now());
    bool others = current->next != current;     /* anyone else can run */
    if (rt.forks != fork_count && renew_after_fork() != 0)
        misuse("poller: cannot make a new poller after fork: %s", strerror(errno));
    if (!others) {
        bool due;                           /* never: a look, not a take */
        struct s_ctx *first = timer_first(&rt.timers, INT64_MIN, &due);
        if (first == NULL && rt.fd_waits == 0 && rt.work_waits == 0)
            deadlock();
        timeout = first == NULL ? -1 : first->wait.deadline - co_now();
        timeout = timeout < 0 && first != NULL ? 0 : timeout;
        if (rt.work_waits > 0 && timeout != 0 &&
            inbox_watch(timeout < 0 || timeout > WATCH_NS ? WATCH_NS : timeout)) {
            inbox_drain();                      /* came while watching: no sleep */
            return;
        }
    } else if (rt.fd_waits == 0 && rt.work_waits == 0) {
        return;
    }
    int n = poll_wait(rt.poll_fd, timeout, events, POLL_BATCH);
    if (n < 0)
        misuse("poller: waiting for events failed: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        deliver(&events[i]);
    if (!others)
        fire_timers(co_now());
}

static void poller(void *unused)
{
    (void)unused;
    for (;;) {
        poll_once();
        if (rt.fd_waits == 0 && rt.work_waits == 0 && rt.timers.heap.len == 0)  /* rest */
            step_out(current);
        else
            yield_ctx();
    }
}

/* }===================================================================== */

/* {=====================================================================
 * The thread's runtime: made at its first wait, renewed after fork
 * ====================================================================== */

static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    fork_count++;             /* in the child, where only this thread is */
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

/* A fresh poller, with every descriptor that has a waiter added again: the
 * one inherited is shared with the parent, whose registrations it holds. */
static int renew_after_fork(void)
{
    int fd = poll_create();
    if (fd < 0)
        return -1;
    close(rt.poll_fd);
    rt.poll_fd = fd;
    rt.forks = fork_count;
    for (size_t i = 0; i < rt.fds_len; i++) {
        struct fd_slot *slot = &rt.fds[i];
        slot->registered = slot->waiter[0] || slot->waiter[1];
        if (slot->registered && poll_add(fd, (int)i, slot->generation) != 0)
            return -1;
    }
    return inbox_renew();
}

static int start_runtime(void)
{
    if (rt.poller != NULL)
        return rt.forks == fork_count ? 0 : renew_after_fork();
    pthread_once(&fork_watch, watch_forks);
    int fd = poll_create();
    if (fd < 0)
        return -1;
    sp_ctx handle = create_ctx_sized(poller, NULL, POLLER_STACK);
    if (handle == NULL) {
        close(fd);
        return -1;
    }
    rt.poll_fd = fd;
    rt.forks = fork_count;
    rt.poller = ctx_at(handle);            /* in the rotation: create_ctx put it there */
    return 0;
}

/* }===================================================================== */

/* {=====================================================================
 * Waits
 * ====================================================================== */

/* wait_begin (wait.h), all of it: the runtime started or renewed after
 * fork, a cancel, a deadline passed or to set. 0, or an errno. */
int wait_begin_slow(int64_t deadline)
{
    if (current != NULL && current->wait.cancelled)
        return ECANCELED;
    if (start_runtime() != 0)
        return errno;
    if (deadline != CO_FOREVER && (deadline <= 0 || deadline <= co_now()))
        return ETIMEDOUT;
    current->wait.deadline = deadline;
    current->wait.fired = -1;
    if (deadline != CO_FOREVER && timer_add(&rt.timers, current) != 0)
        return ENOMEM;
    return 0;
}

int co_sleep(int64_t deadline)
{
    int err = wait_begin(deadline);
    if (err == 0)
        err = wait_park();
    return wait_fail(err == ETIMEDOUT ? 0 : err);
}

/* Is 'fd' ready for 'what' right now? For a wait that must not block. */
static int ready_now(int fd, int what)
{
    struct pollfd p = {.fd = fd, .events = what == CO_READABLE ? POLLIN : POLLOUT};
    int n = poll(&p, 1, 0);
    if (n < 0)
        return errno;
    if (p.revents & POLLNVAL)
        return EBADF;
    return n > 0 ? 0 : ETIMEDOUT;
}

static int register_fd(int fd, struct fd_slot *slot)
{
    if (slot->registered)
        return 0;
    if (poll_add(rt.poll_fd, fd, slot->generation) != 0)
        return errno == EPERM ? EINVAL : errno;
    slot->registered = true;
    slot->ready[0] = slot->ready[1] = false;
    return 0;
}

static int wait_on(int fd, int what, int64_t deadline, bool after_eagain)
{
    int side = what == CO_WRITABLE;
    if (current != NULL && current->wait.cancelled)
        return ECANCELED;
    if (start_runtime() != 0)
        return errno;
    struct fd_slot *slot = fd_slot(fd);
    if (slot == NULL)
        return errno;
    if (slot->waiter[side] != NULL)
        return EBUSY;
    int err = register_fd(fd, slot);
    if (err != 0)
        return err;
    if (slot->ready[side] && !after_eagain) {
        slot->ready[side] = false;
        return 0;
    }
    slot->ready[side] = false;
    if (deadline <= co_now())
        return ready_now(fd, what);
    if ((err = wait_begin(deadline)) != 0)
        return err;
    slot->waiter[side] = current;
    current->wait.fd = fd;
    current->wait.what = what;
    rt.fd_waits++;
    return wait_park();
}

int wait_fd(int fd, int what, int64_t deadline, bool after_eagain)
{
    if (what != CO_READABLE && what != CO_WRITABLE)
        return wait_fail(EINVAL);
    if (fd < 0)
        return wait_fail(EBADF);
    return wait_fail(wait_on(fd, what, deadline, after_eagain));
}

int co_wait_fd(int fd, int what, int64_t deadline)
{
    return wait_fd(fd, what, deadline, false);
}

void forget_fd(int fd)
{
    if (fd < 0 || (size_t)fd >= rt.fds_len || !rt.fds[fd].registered)
        return;
    struct fd_slot *slot = &rt.fds[fd];
    if (rt.forks == fork_count)
        poll_remove(rt.poll_fd, fd);
    slot->registered = false;
    slot->ready[0] = slot->ready[1] = false;
    slot->generation++;
    for (int side = 0; side < 2; side++)
        if (slot->waiter[side] != NULL)
            wake(slot->waiter[side], EBADF);
}

/* }===================================================================== */

/* {=====================================================================
 * Coroutines
 * ====================================================================== */

void co_cancel(sp_ctx handle)
{
    struct s_ctx *ctx = handle != NULL ? ctx_of(handle, "co_cancel") : &main_ctx;
    if (current == NULL && start_runtime() != 0)    /* main_ctx is set up then */
        misuse("co_cancel: cannot set up this thread: %s", strerror(errno));
    if (ctx->state == CTX_FINISHED)
        return;
    ctx->wait.cancelled = true;
    if (ctx->wait.waiting)
        wake(ctx, ECANCELED);
}

bool co_cancelled(void)
{
    return current != NULL && current->wait.cancelled;
}

int co_join(sp_ctx handle, int64_t deadline)
{
    if (handle == NULL)
        misuse("co_join: cannot join main, which never finishes");
    struct s_ctx *ctx = ctx_of(handle, "co_join");
    if (ctx == current)
        misuse("co_join: coroutine %zu cannot join itself", ctx->id);
    if (ctx->detached)
        misuse("co_join: coroutine %zu is detached: its handle ends when it does", ctx->id);
    if (ctx->state == CTX_FINISHED)
        return 0;
    current->wait.joining = ctx;             /* for deadlock reports and gdb */
    int err = wait_in(&ctx->wait.joiners, NULL, deadline);
    current->wait.joining = NULL;            /* if it never waited */
    return wait_fail(err);
}

/* }===================================================================== */
