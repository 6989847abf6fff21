/* offload.c - blocking work run on a pool of worker threads while the
 * coroutine that asked for it waits (co_offload, coroutine_wait.h).
 *
 * One pool for the process: a queue under a lock, and threads started as
 * work comes, up to MAX_WORKERS, which then live as long as the process.
 * Workers block every signal, so a signal meant for a signalfd or a
 * thread of the program is never taken by one of them. A worker runs the
 * work and posts it to the inbox of the thread it came from (inbox.c),
 * whose poller wakes the coroutine; if that coroutine gave up, the inbox
 * drops the work instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "inbox.h"
#include "wait.h"

#define MAX_WORKERS 16

/* A blocking call run on a worker thread for a context of this one. Its
 * waiter sits in 'waiters' and leaves it when its wait ends for any
 * reason; done, the work is posted to its thread's inbox, which wakes the
 * waiter if there still is one. The waiter frees the work
 * (offload_release) unless it gave up before the work came back: then
 * the delivery gives 'arg' to 'drop' and frees it. */
struct work {
    struct inbox_node node;      /* posted to its thread's inbox when done */
    void (*fn)(void *arg);
    void *arg;
    void (*drop)(void *arg);
    struct waitq waiters;        /* touched by the owning thread only */
    bool back;                   /* so is this: the inbox delivered it */
    bool given_up;               /* and this: the waiter is gone */
    struct inbox *inbox;         /* the owning thread's */
    struct work *next;           /* in the pool's queue */
    int state;                   /* atomic: enum work_state */
};

enum work_state { WORK_QUEUED, WORK_RUNNING, WORK_DONE, WORK_ABANDONED };

static struct {
    pthread_mutex_t lock;        /* guards the rest */
    pthread_cond_t work_came;
    struct work *first, *last;   /* queued, oldest first */
    size_t queued;
    unsigned workers, idle;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Under the lock, with nothing queued: watch the queue a while, the lock
 * let go of, before sleeping on the condition variable. Work that comes
 * soon is then taken with no futex call on either side. */
static void watch_queue(void)
{
    pthread_mutex_unlock(&pool.lock);
    inbox_watch_count(&pool.queued, WATCH_NS);
    pthread_mutex_lock(&pool.lock);
}

/* The oldest queued work, waiting for one; under the lock. A worker
 * watching counts as idle, so no other is started for the work it will
 * take. */
static struct work *next_work(void)
{
    pool.idle++;
    if (pool.first == NULL)
        watch_queue();
    while (pool.first == NULL)
        pthread_cond_wait(&pool.work_came, &pool.lock);
    pool.idle--;
    struct work *w = pool.first;
    pool.first = w->next;
    if (pool.first == NULL)
        pool.last = NULL;
    __atomic_store_n(&pool.queued, pool.queued - 1, __ATOMIC_RELAXED);
    return w;
}

static void *worker(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        struct work *w = next_work();
        pthread_mutex_unlock(&pool.lock);
        int queued = WORK_QUEUED;          /* or abandoned: then not started */
        if (__atomic_compare_exchange_n(&w->state, &queued, WORK_RUNNING, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            w->fn(w->arg);
            __atomic_store_n(&w->state, WORK_DONE, __ATOMIC_RELEASE);
        }
        inbox_post(w->inbox, &w->node);
    }
    return NULL;
}

/* One more worker, every signal blocked; under the lock. 0, or an errno. */
static int add_worker(void)
{
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&thread, &attr, worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err == 0)
        pool.workers++;
    return err;
}

/* Queue 'w' for a worker, starting one if none is free. 0, or an errno
 * (no worker at all could be started). */
static int submit(struct work *w)
{
    int err = 0;
    pthread_mutex_lock(&pool.lock);
    if (pool.queued >= pool.idle && pool.workers < MAX_WORKERS)
        err = add_worker();
    if (err == 0 || pool.workers > 0) {
        err = 0;
        w->next = NULL;
        *(pool.last ? &pool.last->next : &pool.first) = w;
        pool.last = w;
        __atomic_store_n(&pool.queued, pool.queued + 1, __ATOMIC_RELEASE);
        pthread_cond_signal(&pool.work_came);
    }
    pthread_mutex_unlock(&pool.lock);
    return err;
}

/* fork() copies the pool but none of its threads: the child starts with
 * none, and the queue of the parent's work stays the parent's. */
static void lock_pool(void)
{
    pthread_mutex_lock(&pool.lock);
}

static void unlock_pool(void)
{
    pthread_mutex_unlock(&pool.lock);
}

static void empty_pool(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.work_came, NULL);
    pool.first = pool.last = NULL;
    pool.queued = 0;
    pool.workers = pool.idle = 0;
}

/* As in wait.c: the registration pthread_atfork() wraps. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);


/* {=====================================================================
 * The work's way back, on its thread
 * ====================================================================== */

/* The waiter gives 'w' up. True if 'fn' will not touch its argument any
 * more: it had not started (and now never will), or it is done. */
static bool offload_let_go(struct work *w)
{
    int seen = WORK_QUEUED;
    if (__atomic_compare_exchange_n(&w->state, &seen, WORK_ABANDONED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return true;
    return seen != WORK_RUNNING;
}

/* Nobody will read the results: 'arg' to 'drop', and the work freed. */
static void offload_drop(struct work *w)
{
    if (w->drop != NULL)
        w->drop(w->arg);
    free(w);
}

/* The waiter is done with 'w', with its result or giving up: work that
 * is back is freed now (its argument given to 'drop' if 'gave_up'); work
 * still out is dropped when it comes. */
static void offload_release(struct work *w, bool gave_up)
{
    if (!w->back)
        w->given_up = true;
    else if (gave_up)
        offload_drop(w);
    else
        free(w);
}

static void offload_deliver(struct inbox_node *node)
{
    struct work *w = (struct work *)node;
    if (w->given_up) {
        offload_drop(w);
        return;
    }
    w->back = true;                    /* its waiter frees it, woken or about to run */
    if (w->waiters.first != NULL)
        waitq_wake(w->waiters.first, 0);
}

/* Its thread exited ('here' false: we are the worker), or, in a forked
 * child, the worker that runs it is the parent's: it never comes back,
 * and its waiter's wait ends with ECANCELED. */
static void offload_lost(struct inbox_node *node, bool here)
{
    struct work *w = (struct work *)node;
    if (!here || w->given_up) {
        offload_drop(w);
        return;
    }
    w->back = true;
    __atomic_store_n(&w->state, WORK_ABANDONED, __ATOMIC_RELAXED);
    if (w->waiters.first != NULL)
        waitq_wake(w->waiters.first, ECANCELED);
}

/* A coroutine whose work is out finished or is destroyed (wait.c's hook):
 * the work is given up. */
static void offload_gone(struct s_ctx *ctx)
{
    struct work *w = ctx->wait.work;
    if (!offload_let_go(w) && w->drop == NULL)
        ctx_misuse("coroutine %zu is destroyed while a worker thread runs work for it with no "
               "drop call: the work's argument would be freed under it",
               ctx->id);
    ctx->wait.work = NULL;
    offload_release(w, true);
}

/* }===================================================================== */

/* {=====================================================================
 * co_offload
 * ====================================================================== */

/* Once per process, at the first co_offload: the pool is emptied in a
 * forked child, and wait.c hands us a coroutine that goes with work out. */
static void offload_init(void)
{
    __register_atfork(lock_pool, unlock_pool, empty_pool, NULL);
    wait_work_gone = offload_gone;
}

/* A new work, expected by this thread's inbox: NULL with errno. */
static struct work *new_work(void (*fn)(void *), void *arg, void (*drop)(void *))
{
    struct inbox *in = inbox_mine();
    struct work *w = in != NULL ? calloc(1, sizeof *w) : NULL;
    if (w == NULL) {
        errno = in != NULL ? ENOMEM : errno;
        return NULL;
    }
    *w = (struct work){.node = {.deliver = offload_deliver, .lost = offload_lost},
                       .fn = fn, .arg = arg, .drop = drop, .inbox = in};
    inbox_expect(in, &w->node);
    return w;
}

/* Out of the rotation until the work is done or the wait ends otherwise:
 * 0 when done, else an errno. */
static int wait_for(struct work *w)
{
    struct waiter node = {.ctx = ctx_current};
    wait_why("offloaded work", w);
    waitq_push(&w->waiters, &node);
    ctx_current->wait.work = w;
    return wait_park_outside();
}

/* The caller gave up while 'fn' runs, but with no drop call 'arg' is
 * still its own: wait, through deadlines and cancels, until 'fn' is done
 * and the work back. */
static void outwait(struct work *w)
{
    while (!w->back) {
        ctx_current->wait.deadline = CO_FOREVER;
        wait_for(w);
    }
}

/* The call failed before any work was queued: with a drop call, 'arg'
 * is given to it all the same, so that every failure means one thing. */
static int give_up(void *arg, void (*drop)(void *arg), int err)
{
    if (drop != NULL)
        drop(arg);
    return wait_fail(err);
}

int co_offload(void (*fn)(void *arg), void *arg, void (*drop)(void *arg), int64_t deadline)
{
    if (fn == NULL)
        return give_up(arg, drop, EINVAL);
    int err = wait_begin(CO_FOREVER);          /* the thread set up, and no cancel yet */
    if (err == 0 && deadline != CO_FOREVER && deadline <= co_now())
        err = ETIMEDOUT;                       /* checked again by wait_begin */
    if (err != 0)
        return give_up(arg, drop, err);
    pthread_once(&init_once, offload_init);
    struct work *w = new_work(fn, arg, drop);
    if (w == NULL)
        return give_up(arg, drop, errno);
    if ((err = submit(w)) != 0) {
        w->given_up = true;
        inbox_post(w->inbox, &w->node);        /* dropped when it is delivered */
        return wait_fail(err);
    }
    ctx_current->wait.work = w;
    if ((err = wait_begin(deadline)) == 0)
        err = wait_for(w);
    if (err != 0 && !offload_let_go(w) && drop == NULL)
        outwait(w);
    ctx_current->wait.work = NULL;
    offload_release(w, err != 0);
    return wait_fail(err);
}

/* }===================================================================== */
