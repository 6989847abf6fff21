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
#include "runtime.h"
#include "wait.h"

#define MAX_WORKERS 16

static struct {
    pthread_mutex_t lock;        /* guards the rest */
    pthread_cond_t work_came;
    struct work *first, *last;   /* queued, oldest first */
    size_t queued;
    unsigned workers, idle;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0};

static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

/* Under the lock, with nothing queued: watch the queue a while, the lock
 * let go of, before sleeping on the condition variable. Work that comes
 * soon is then taken with no futex call on either side. */
static void watch_queue(void)
{
    pthread_mutex_unlock(&pool.lock);
    watch_count(&pool.queued, WATCH_NS);
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
        inbox_post(w);
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

static void watch_forks(void)
{
    __register_atfork(lock_pool, unlock_pool, empty_pool, NULL);
}

/* A new work, counted by this thread's inbox: NULL with errno. */
static struct work *new_work(void (*fn)(void *), void *arg, void (*drop)(void *))
{
    struct work *w = calloc(1, sizeof *w);
    int err = w == NULL ? ENOMEM : inbox_expect(w);
    if (err != 0) {
        free(w);
        errno = err;
        return NULL;
    }
    *w = (struct work){.fn = fn, .arg = arg, .drop = drop, .inbox = w->inbox};
    return w;
}

/* Out of the rotation until the work is done or the wait ends otherwise:
 * 0 when done, else an errno. */
static int wait_for(struct work *w)
{
    struct waiter node = {.ctx = current};
    waitq_push(&w->waiters, &node);
    current->wait.work = w;
    rt.work_waits++;
    return wait_park();
}

/* The caller gave up while 'fn' runs, but with no drop call 'arg' is
 * still its own: wait, through deadlines and cancels, until 'fn' is done
 * and the work back. */
static void outwait(struct work *w)
{
    while (!w->back) {
        current->wait.deadline = CO_FOREVER;
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
    int err = wait_begin(CO_FOREVER);          /* the runtime, and no cancel yet */
    if (err == 0 && deadline != CO_FOREVER && deadline <= co_now())
        err = ETIMEDOUT;                       /* checked again by wait_begin */
    if (err != 0)
        return give_up(arg, drop, err);
    pthread_once(&fork_watch, watch_forks);
    struct work *w = new_work(fn, arg, drop);
    if (w == NULL)
        return give_up(arg, drop, errno);
    if ((err = submit(w)) != 0) {
        w->given_up = true;
        inbox_post(w);                         /* counted off and dropped there */
        return wait_fail(err);
    }
    if ((err = wait_begin(deadline)) == 0)
        err = wait_for(w);
    if (err != 0 && !work_let_go(w) && drop == NULL)
        outwait(w);
    current->wait.work = NULL;
    work_release(w, err != 0);
    return wait_fail(err);
}
