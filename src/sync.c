/* sync.c - a mutex, a condition variable, a semaphore and a wait group
 * for the coroutines of one thread (coroutine_chan.h): each a count or an
 * owner, and a wait queue (wait.h), woken first come, first served.
 * What a waker hands a waiter (a permit, the mutex) goes on to the next
 * waiter, or back, if the waiter is destroyed before it runs again.
 * No atomic operation: only one context of the thread runs at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "coroutine_chan.h"
#include "wait.h"

/* What every lock starts with: which thread, and who waits. */
struct lock_head {
    uint32_t magic;
    uint64_t thread;
    struct waitq waiters;
};

struct co_mutex {
    struct lock_head h;
    bool held;
    sp_ctx holder;                     /* its handle (NULL: main), generation and all */
};

struct co_cond {
    struct lock_head h;
};

struct co_sem {
    struct lock_head h;
    unsigned count;
};

struct co_wg {
    struct lock_head h;
    long count;
};

enum { MUTEX = 0x4d555458, COND = 0x434f4e44, SEM = 0x53454d41, WG = 0x57474752 };

static size_t running_id(void)
{
    return ctx_current ? ctx_current->id : 0;
}

static void *make(size_t size, uint32_t magic)
{
    struct lock_head *h = calloc(1, size);
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    h->magic = magic;
    h->thread = ctx_this_thread();
    return h;
}

static const char *kind(uint32_t magic)
{
    return magic == MUTEX ? "a mutex" : magic == COND ? "a condition variable"
         : magic == SEM ? "a semaphore" : "a wait group";
}

static void *own(void *object, uint32_t magic, const char *call)
{
    struct lock_head *h = object;
    if (h == NULL || h->magic != magic)
        ctx_misuse("%s: coroutine %zu: %p is not %s (destroyed, or never made)", call, running_id(),
               object, kind(magic));
    if (h->thread != ctx_this_thread())
        ctx_misuse("%s: coroutine %zu: it belongs to another thread", call, running_id());
    return object;
}

static void unmake(void *object, uint32_t magic, const char *call)
{
    struct lock_head *h = own(object, magic, call);
    if (h->waiters.first != NULL)
        ctx_misuse("%s: coroutine %zu: coroutine %zu still waits on it", call, running_id(),
               h->waiters.first->ctx->id);
    wait_forget_hand(h);                /* a woken waiter keeps what it was handed */
    h->magic = 0;
    free(h);
}

/* {=====================================================================
 * Mutex: unlocking hands it to the longest waiter, so none starves
 * ====================================================================== */

co_mutex *co_mutex_create(void)
{
    return make(sizeof(co_mutex), MUTEX);
}

static struct s_ctx *self(void)
{
    return ctx_current ? ctx_current : &main_ctx;
}

/* The running context's handle: NULL for main. */
static sp_ctx self_handle(void)
{
    return ctx_current == NULL || ctx_current == &main_ctx ? NULL : ctx_current->handle;
}

/* Is the holder still there? A handle names one coroutine for good, so
 * one destroyed, or finished, is seen even if its memory was reused. */
static bool holder_lives(sp_ctx holder)
{
    return holder == NULL || (ctx_at(holder)->handle == holder && ctx_at(holder)->state == CTX_LIVE);
}

int co_mutex_lock(co_mutex *m, int64_t deadline)
{
    own(m, MUTEX, "co_mutex_lock");
    wait_point();
    if (!m->held) {
        m->held = true;
        m->holder = self_handle();
        return 0;
    }
    if (m->holder == self_handle())
        ctx_misuse("co_mutex_lock: coroutine %zu holds the mutex already", running_id());
    if (!holder_lives(m->holder))
        ctx_misuse("co_mutex_lock: coroutine %zu: the mutex's holder finished or was destroyed "
               "without unlocking it", running_id());
    return wait_fail(wait_in(&m->h.waiters, NULL, deadline, "locking mutex", m));   /* the unlocker made us holder */
}

/* Lock it whatever happens: a condition variable's waiter must hold the
 * mutex again when it returns, cancelled or not. The cancel is kept for
 * the caller's next wait. */
static void lock_regardless(co_mutex *m)
{
    bool cancelled = self()->wait.cancelled;
    self()->wait.cancelled = false;
    while (co_mutex_lock(m, CO_FOREVER) != 0) {
        cancelled = true;
        self()->wait.cancelled = false;
    }
    self()->wait.cancelled = cancelled;
}

/* The mutex goes to its longest waiter, or is free. */
static void hand_on(void *mutex)
{
    co_mutex *m = mutex;
    struct waiter *next = m->h.waiters.first;
    m->held = next != NULL;
    if (next != NULL) {
        m->holder = next->ctx == &main_ctx ? NULL : next->ctx->handle;
        waitq_hand(next, hand_on, m);
    }
}

/* 'caller' names the call in the misuse message: co_cond_wait unlocks too. */
static void unlock_for(co_mutex *m, const char *caller)
{
    own(m, MUTEX, caller);
    if (!m->held || m->holder != self_handle())
        ctx_misuse("%s: coroutine %zu does not hold the mutex", caller, running_id());
    hand_on(m);
}

void co_mutex_unlock(co_mutex *m)
{
    unlock_for(m, "co_mutex_unlock");
}

void co_mutex_destroy(co_mutex *m)
{
    if (m == NULL)
        return;
    co_mutex *mine = own(m, MUTEX, "co_mutex_destroy");
    if (mine->held)
        ctx_misuse("co_mutex_destroy: coroutine %zu: the mutex is held", running_id());
    unmake(m, MUTEX, "co_mutex_destroy");
}

/* }===================================================================== */

/* {=====================================================================
 * Condition variable
 * ====================================================================== */

co_cond *co_cond_create(void)
{
    return make(sizeof(co_cond), COND);
}

int co_cond_wait(co_cond *c, co_mutex *m, int64_t deadline)
{
    own(c, COND, "co_cond_wait");
    unlock_for(m, "co_cond_wait");     /* aborts if the caller does not hold it */
    int err = wait_in(&c->h.waiters, NULL, deadline, "waiting on condition", c);
    lock_regardless(m);
    return wait_fail(err);
}

/* A signal goes to the longest waiter, if any. */
static void signal_on(void *cond)
{
    co_cond *c = cond;
    if (c->h.waiters.first != NULL)
        waitq_hand(c->h.waiters.first, signal_on, c);
}

void co_cond_signal(co_cond *c)
{
    own(c, COND, "co_cond_signal");
    signal_on(c);
}

void co_cond_broadcast(co_cond *c)
{
    own(c, COND, "co_cond_broadcast");
    while (c->h.waiters.first != NULL)
        waitq_wake(c->h.waiters.first, 0);
}

void co_cond_destroy(co_cond *c)
{
    if (c != NULL)
        unmake(c, COND, "co_cond_destroy");
}

/* }===================================================================== */

/* {=====================================================================
 * Semaphore and wait group
 * ====================================================================== */

co_sem *co_sem_create(unsigned count)
{
    co_sem *s = make(sizeof(co_sem), SEM);
    if (s != NULL)
        s->count = count;
    return s;
}

int co_sem_acquire(co_sem *s, int64_t deadline)
{
    own(s, SEM, "co_sem_acquire");
    wait_point();
    if (s->count > 0 && s->h.waiters.first == NULL) {
        s->count--;
        return 0;
    }
    return wait_fail(wait_in(&s->h.waiters, NULL, deadline, "acquiring semaphore", s));   /* the releaser gave us its permit */
}

/* A permit goes to the longest waiter, or back to the count. */
static void permit_on(void *sem)
{
    co_sem *s = sem;
    if (s->h.waiters.first != NULL)
        waitq_hand(s->h.waiters.first, permit_on, s);
    else
        s->count++;
}

void co_sem_release(co_sem *s)
{
    own(s, SEM, "co_sem_release");
    if (s->h.waiters.first == NULL && s->count == UINT_MAX)
        ctx_misuse("co_sem_release: coroutine %zu: more than UINT_MAX permits", running_id());
    permit_on(s);
}

void co_sem_destroy(co_sem *s)
{
    if (s != NULL)
        unmake(s, SEM, "co_sem_destroy");
}

co_wg *co_wg_create(void)
{
    return make(sizeof(co_wg), WG);
}

void co_wg_add(co_wg *wg, int n)
{
    own(wg, WG, "co_wg_add");
    if (wg->count + n < 0)
        ctx_misuse("co_wg_add: coroutine %zu: the count would go below 0 (%ld %+d)", running_id(),
               wg->count, n);
    wg->count += n;
    while (wg->count == 0 && wg->h.waiters.first != NULL)
        waitq_wake(wg->h.waiters.first, 0);
}

int co_wg_wait(co_wg *wg, int64_t deadline)
{
    own(wg, WG, "co_wg_wait");
    wait_point();
    if (wg->count == 0)
        return 0;
    return wait_fail(wait_in(&wg->h.waiters, NULL, deadline, "waiting for wait group", wg));
}

void co_wg_destroy(co_wg *wg)
{
    if (wg != NULL)
        unmake(wg, WG, "co_wg_destroy");
}

/* }===================================================================== */
