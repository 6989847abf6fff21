/* runtime.c - each thread's waiting contexts, and ending a wait.
 *
 * A waiting context sits in up to three tables: the deadline heap
 * (timer.c), the descriptor table, and wait queues (of the context it
 * joins, of channels, of locks, of offloaded work). Ending a wait, for
 * whatever reason, takes it out of all of them and back into the
 * rotation; the core calls here too, when a coroutine that others wait
 * for finishes, or a waiting one is destroyed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"
#include "inbox.h"
#include "runtime.h"
#include "trace.h"

__thread struct runtime rt;
unsigned fork_count;

static void unlink_waiter(struct waiter *w)
{
    if (w->queue == NULL)
        return;
    *(w->prev ? &w->prev->next : &w->queue->first) = w->next;
    *(w->next ? &w->next->prev : &w->queue->last) = w->prev;
    w->queue = NULL;
}

void waitq_push(struct waitq *q, struct waiter *w)
{
    w->queue = q;
    w->next = NULL;
    w->prev = q->last;
    *(q->last ? &q->last->next : &q->first) = w;
    q->last = w;
    w->sibling = w->ctx->wait.nodes;
    w->ctx->wait.nodes = w;
}

void waitq_wake(struct waiter *w, int result)
{
    w->ctx->wait.fired = w->index;
    wake(w->ctx, result);
}

static void leave_tables(struct s_ctx *ctx)
{
    struct wait *w = &ctx->wait;
    for (struct waiter *n = w->nodes; n != NULL; n = n->sibling)
        unlink_waiter(n);
    w->nodes = NULL;
    if (w->timer != NO_TIMER)
        timer_remove(&rt.timers, ctx);
    if (w->fd >= 0) {
        rt.fds[w->fd].waiter[w->what == CO_WRITABLE] = NULL;
        w->fd = -1;
        rt.fd_waits--;
    }
    if (w->waiting && w->work != NULL)
        rt.work_waits--;             /* 'work' stays: co_offload or unwait ends it */
    w->joining = NULL;
    w->waiting = false;
}

void wake(struct s_ctx *ctx, int result)
{
    if (tracing())
        trace_event(TRACE_WOKEN, ctx->id);
    leave_tables(ctx);
    ctx->wait.result = result;
    rejoin_rotation(ctx);
}

void unwait(struct s_ctx *ctx)
{
    struct work *w = ctx->wait.work;
    if (w != NULL && !work_let_go(w) && w->drop == NULL)
        misuse("coroutine %zu is destroyed while a worker thread runs work for it with no "
               "drop call: the work's argument would be freed under it",
               ctx->id);
    leave_tables(ctx);
    if (w != NULL) {
        ctx->wait.work = NULL;
        work_release(w, true);
    }
}

void wake_joiners(struct s_ctx *ctx)
{
    while (ctx->wait.joiners.first != NULL)
        waitq_wake(ctx->wait.joiners.first, 0);
}

struct fd_slot *fd_slot(int fd)
{
    if ((size_t)fd < rt.fds_len)
        return &rt.fds[fd];
    if (fcntl(fd, F_GETFD) < 0)          /* not open: grow nothing for it */
        return NULL;
    size_t len = rt.fds_len ? rt.fds_len : 64;
    while (len <= (size_t)fd)
        len *= 2;
    struct fd_slot *fds = realloc(rt.fds, len * sizeof *fds);
    if (fds == NULL)
        return NULL;
    memset(fds + rt.fds_len, 0, (len - rt.fds_len) * sizeof *fds);
    rt.fds = fds;
    rt.fds_len = len;
    return &fds[fd];
}

void runtime_thread_exit(void)
{
    if (rt.poller != NULL)               /* a child's inherited copy too */
        poll_destroy(rt.poll_fd);
    timer_free(&rt.timers);
    free(rt.fds);
    rt = (struct runtime){0};
}
