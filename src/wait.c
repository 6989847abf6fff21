/* wait.c - how a context waits, all of it: beginning a wait, queueing,
 * parking out of the rotation, being woken, and leaving every queue and
 * table once the wait ends, for whatever reason (a waker, a deadline, a
 * cancel, a destroy). The calls that wait (channels, locks, descriptors,
 * mailboxes, offloaded work) are each a few lines on top of this.
 *
 * A waiting context sits in up to three places: wait queues (the
 * channels', the locks', a coroutine's joiners'), the deadline heap
 * (timer.c), and the poller's descriptor table (poller.c). The poller is
 * started at the thread's first wait and brought into the rotation only
 * by waits that need it; a message between two coroutines costs a
 * switch, not a turn of the poller as well.
 *
 * The core (coroutine.c) calls nothing here by name: at the first wait
 * of the process this file registers its hooks for a coroutine's end and
 * a thread's exit (ctx_hooks, context.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timer.h"
#include "trace.h"
#include "wait.h"

static __thread struct timers timers;        /* by deadline, earliest first */
void (*wait_work_gone)(struct s_ctx *ctx);    /* offload.c's, once it is used */

/* {=====================================================================
 * Ending a wait
 * ====================================================================== */

/* Out of every queue and table: the wait is over. */
static void wait_leave(struct s_ctx *ctx)
{
    struct wait *w = &ctx->wait;
    for (struct waiter *n = w->nodes; n != NULL; n = n->sibling)
        waitq_remove(n);
    w->nodes = NULL;
    w->waiting = false;
    if (!w->extra)
        return;
    w->extra = false;
    if (w->timer != NO_TIMER)
        timer_remove(&timers, ctx);
    if (w->fd >= 0) {
        poller_fd_unwait(w->fd, w->what == CO_WRITABLE);
        w->fd = -1;
    }
    if (w->outside) {
        poller_outside(-1);
        w->outside = false;
    }
}

void wait_wake(struct s_ctx *ctx, int result)
{
    if (tracing())
        trace_event(TRACE_WOKEN, ctx->id);
    wait_leave(ctx);
    ctx->wait.result = result;
    ctx_rejoin_rotation(ctx, seeded() && seed_below(2));
}

/* A context handed something was woken and has not run since: it is in
 * the rotation, so only the contexts that can run are looked at. */
void wait_forget_hand(const void *arg)
{
    if (ctx_current == NULL || ctx_current->next == NULL)
        return;
    for (struct s_ctx *ctx = ctx_current->next; ctx != ctx_current; ctx = ctx->next)
        if (ctx->wait.undo != NULL && ctx->wait.undo_arg == arg)
            ctx->wait.undo = NULL;
}

static void wake_joiners(struct s_ctx *ctx)
{
    while (ctx->wait.joiners.first != NULL)
        waitq_wake(ctx->wait.joiners.first, 0);
}

/* 'ctx' goes while it waits, or while offloaded work is out for it: its
 * wait ends unseen and what it holds for the wait is let go. */
static inline void wait_abandon(struct s_ctx *ctx)
{
    struct wait *w = &ctx->wait;
    if (w->waiting)
        wait_leave(ctx);
    if (w->work != NULL)
        wait_work_gone(ctx);
    if (w->places != NULL) {
        free(w->places);
        w->places = NULL;
    }
}

/* A coroutine finished or is destroyed (the core's hook): its wait ends
 * unseen, what was handed to it goes on, and its joiners wake. */
static void wait_ended(struct s_ctx *ctx)
{
    struct wait *w = &ctx->wait;
    wait_abandon(ctx);
    if (w->undo != NULL) {
        void (*undo)(void *) = w->undo;
        w->undo = NULL;
        undo(w->undo_arg);
    }
    wake_joiners(ctx);
}

/* The thread exits (the core's hook): every wait ends, unseen; nothing
 * handed over goes on, as every context of the thread goes. */
static void wait_thread_exit(void)
{
    for (size_t i = 0; i < g_ctx.len; i++)
        wait_abandon(g_ctx.items[i]);
    poller_thread_exit();
    timer_free(&timers);
}

/* }===================================================================== */

/* {=====================================================================
 * What the poller asks of us
 * ====================================================================== */

/* Wake every context whose deadline is at or before 'now': the next
 * deadline, or CO_FOREVER. */
static int64_t wait_expire(int64_t now)
{
    struct s_ctx *first;
    bool due;
    while ((first = timer_first(&timers, now, &due)) != NULL && due)
        wait_wake(first, ETIMEDOUT);
    return first != NULL ? first->wait.deadline : CO_FOREVER;
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
__attribute__((noreturn, cold)) static void wait_deadlock(void)
{
    char line[512], what[64];
    size_t used = 0;
    for (size_t i = 0; i < g_ctx.len && used < sizeof line - 80; i++) {
        const struct s_ctx *ctx = g_ctx.items[i];
        if (ctx->wait.waiting)
            used += (size_t)snprintf(line + used, sizeof line - used, ", coroutine %zu%s%s%s %s",
                                     ctx->id, ctx->name[0] ? " \"" : "", ctx->name,
                                     ctx->name[0] ? "\"" : "", waits_for(ctx, what, sizeof what));
    }
    if (main_ctx.wait.waiting && used < sizeof line - 80)
        snprintf(line + used, sizeof line - used, ", main %s",
                 waits_for(&main_ctx, what, sizeof what));
    ctx_misuse("deadlock: every context of this thread waits and nothing can wake one%s",
           used || main_ctx.wait.waiting ? line : "");
}

static const struct poller_hooks poller_hooks = {wait_expire, wait_wake, wait_deadlock};
static const struct ctx_hooks wait_ctx_hooks = {wait_ended, wait_thread_exit};

/* }===================================================================== */

/* {=====================================================================
 * Beginning and parking
 * ====================================================================== */

/* The thread can wait: the core tells us of ends, the poller runs. 0, or
 * an errno. */
static int wait_setup(void)
{
    if (poller_ready())
        return 0;
    __atomic_store_n(&ctx_hooks, &wait_ctx_hooks, __ATOMIC_RELEASE);
    return poller_start(&poller_hooks);
}

int wait_begin_slow(int64_t deadline)
{
    int err = wait_setup();
    if (err != 0)
        return err;
    if (ctx_current->wait.cancelled)
        return ECANCELED;
    if (deadline != CO_FOREVER && (deadline <= 0 || deadline <= co_now()))
        return ETIMEDOUT;
    ctx_current->wait.deadline = deadline;
    ctx_current->wait.fired = -1;
    if (deadline == CO_FOREVER)
        return 0;
    if (timer_add(&timers, ctx_current) != 0)
        return ENOMEM;
    ctx_current->wait.extra = true;
    return 0;
}

/* The poller comes into the rotation only if it has something to do: a
 * deadline or a descriptor or another thread to watch, or nobody else
 * left to run (then it blocks in the kernel, or finds a deadlock). */
int wait_park(void)
{
    struct s_ctx *self = ctx_current;
    if (self->wait.extra || self->next == self)
        poller_needed();
    if (tracing())
        trace_event(TRACE_WAITS, self->id);
    self->wait.waiting = true;
    ctx_leave_and_run(self);
    self->wait.undo = NULL;              /* it runs: what it was handed is its own */
    return self->wait.result;
}

int wait_park_outside(void)
{
    ctx_current->wait.outside = ctx_current->wait.extra = true;
    poller_outside(+1);
    return wait_park();
}

/* }===================================================================== */

/* {=====================================================================
 * Time and descriptors
 * ====================================================================== */

int co_clock_virtual(void)
{
    if (timer_virtual())
        return 0;
    if (poller_ready())                  /* it waited: deadlines were read on the real clock */
        return wait_fail(EBUSY);
    timer_go_virtual();
    return 0;
}

void co_seed(uint64_t seed)
{
    seed_start(seed, ctx_this_thread());
}

int co_sleep(int64_t deadline)
{
    if (deadline != CO_FOREVER && deadline <= co_now())
        return 0;                        /* no wait: not even a cancel ends it */
    int err = wait_begin(deadline);
    if (err == 0) {
        wait_why("sleeping", NULL);
        err = wait_park();
    }
    return wait_fail(err == ETIMEDOUT ? 0 : err);
}

/* Is 'fd' ready for 'what' right now? 0, ETIMEDOUT or EBADF. */
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

/* Whether 'fd' is ready without a wait: 0, an errno, or EAGAIN to wait.
 * The kernel is asked when readiness is remembered (the caller's own
 * calls may have spent it since), or when the call must not wait. */
static int ready_without_waiting(int fd, int what, int64_t deadline, bool remembered)
{
    bool cancelled = ctx_current->wait.cancelled;
    bool must_not_wait = cancelled || (deadline != CO_FOREVER && deadline <= co_now());
    if (!remembered && !must_not_wait)
        return EAGAIN;
    int err = ready_now(fd, what);
    if (err != ETIMEDOUT)
        return err;
    poller_fd_spent(fd, what == CO_WRITABLE);
    return !must_not_wait ? EAGAIN : cancelled ? ECANCELED : ETIMEDOUT;
}

int wait_fd(int fd, int what, int64_t deadline, bool after_eagain)
{
    if (what != CO_READABLE && what != CO_WRITABLE)
        return wait_fail(EINVAL);
    if (fd < 0)
        return wait_fail(EBADF);
    int side = what == CO_WRITABLE, err = wait_setup();
    if (err != 0)
        return wait_fail(err);
    if (after_eagain)
        poller_fd_spent(fd, side);
    int ready = poller_fd_ready(fd, side);
    if (ready < 0)
        return -1;
    if ((err = ready_without_waiting(fd, what, deadline, ready)) != EAGAIN)
        return wait_fail(err);
    if ((err = poller_fd_wait(fd, side, ctx_current)) != 0)
        return wait_fail(err);
    if ((err = wait_begin(deadline)) != 0) {
        poller_fd_unwait(fd, side);
        return wait_fail(err);
    }
    wait_why(what == CO_READABLE ? "reading descriptor" : "writing descriptor", NULL);
    ctx_current->wait.fd = fd;
    ctx_current->wait.what = (uint8_t)what;
    ctx_current->wait.extra = true;
    return wait_fail(wait_park());
}

int co_wait_fd(int fd, int what, int64_t deadline)
{
    return wait_fd(fd, what, deadline, false);
}

/* }===================================================================== */

/* {=====================================================================
 * Coroutines: cancel and join
 * ====================================================================== */

void cancel_ctx(sp_ctx handle)
{
    struct s_ctx *ctx = handle != NULL ? ctx_of(handle, "cancel_ctx") : &main_ctx;
    int err = wait_setup();              /* main_ctx is set up then */
    if (err != 0)
        ctx_misuse("cancel_ctx: cannot set up this thread: %s", strerror(err));
    if (ctx->state == CTX_FINISHED)
        return;
    ctx->wait.cancelled = true;
    if (ctx->wait.waiting)
        wait_wake(ctx, ECANCELED);
}

bool is_ctx_cancelled(void)
{
    return ctx_current != NULL && ctx_current->wait.cancelled;
}

int join_ctx(sp_ctx handle, int64_t deadline)
{
    if (handle == NULL)
        ctx_misuse("join_ctx: cannot join main, which never finishes");
    struct s_ctx *ctx = ctx_of(handle, "join_ctx");
    if (ctx == ctx_current)
        ctx_misuse("join_ctx: coroutine %zu cannot join itself", ctx->id);
    if (ctx->detached)
        ctx_misuse("join_ctx: coroutine %zu is detached: its handle ends when it does", ctx->id);
    if (ctx->state == CTX_FINISHED)
        return 0;
    int err = wait_begin(deadline);
    if (err != 0)
        return wait_fail(err);
    struct waiter w = {.ctx = ctx_current};
    wait_why("joining", NULL);
    waitq_push(&ctx->wait.joiners, &w);
    ctx_current->wait.joining = ctx;         /* for deadlock reports and gdb */
    err = wait_park();
    ctx_current->wait.joining = NULL;
    return wait_fail(err);
}

/* The names of an earlier version, kept for one more. */
void co_cancel(sp_ctx ctx) __attribute__((alias("cancel_ctx")));
bool co_cancelled(void) __attribute__((alias("is_ctx_cancelled")));
int co_join(sp_ctx ctx, int64_t deadline) __attribute__((alias("join_ctx")));

/* }===================================================================== */
