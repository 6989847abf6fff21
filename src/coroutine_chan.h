/* coroutine_chan.h - coroutines that talk: channels, select, and the
 * locks built the same way (mutex, condition variable, semaphore, wait
 * group).
 *
 * NAMES
 * As in coroutine_wait.h: co_ then the object, then what it does
 * (co_chan_send). Every object is an opaque handle made by a _create call
 * and freed by a _destroy call. Every call that can wait takes an absolute
 * deadline as coroutine_wait.h does: CO_FOREVER, or 0 to not wait at all.
 *
 * MODEL
 * Objects belong to the thread that made them: their calls come from its
 * main or its coroutines, and cost no atomic operation. Mailboxes are the
 * exception, built for other threads to send to. A context that
 * must wait (a send with no receiver and no room, a lock held by another)
 * leaves the rotation as any wait does, and is woken first come, first
 * served: each object keeps its waiters in the order they came.
 *
 * A channel carries elements of a fixed size, copied in and out.
 * Unbuffered (capacity 0), a send waits until a receiver takes the
 * element; buffered, it waits only while the buffer is full. Closing a
 * channel wakes every waiter: senders fail with EPIPE, receivers take
 * what is buffered first, then fail with EPIPE.
 *
 * SHARES
 * A send that finds a receiver waiting puts the element straight into
 * its memory and wakes it; a receive that finds a sender waiting takes
 * its element and wakes it (as Go hands the element to the waiter it
 * wakes). A call that can complete without waiting does so. So a waiter
 * is never overtaken by one that began to wait after it, but a context
 * just woken may, on its next call, complete at once, ahead of others
 * woken with it that have not run yet. With several senders and one
 * receiver, every sender sends at least once a turn of the rotation and
 * the first to run after the receiver waits sends once more (with a
 * buffer of C, C + 1 more): 8 senders, 16,000 messages, gave 3,556 to
 * one and 1,777 or 1,778 to each other unbuffered, 6,670 and 1,333 with
 * C = 3. Receivers of one sender share in the same way.
 *
 * ERRORS
 * A call that could not do its work returns -1 with errno: ETIMEDOUT (the
 * deadline passed; with 0, it would have had to wait), ECANCELED
 * (cancel_ctx), EPIPE (the channel is closed), ENOMEM, EINVAL. Misuse
 * aborts with one line naming it and the coroutine: an object of another
 * thread, closing a channel twice, unlocking a mutex the caller does not
 * hold, destroying an object that has waiters.
 *
 * EXAMPLE
 *     static void producer(void *arg) {
 *         co_chan *ch = arg;
 *         for (int i = 1; i <= 3; i++)
 *             co_chan_send(ch, &i, CO_FOREVER);
 *         co_chan_close(ch);
 *     }
 *     int main(void) {
 *         co_chan *ch = co_chan_create(sizeof(int), 0);
 *         sp_ctx p = create_ctx(producer, ch);
 *         for (int v; co_chan_recv(ch, &v, CO_FOREVER) == 0;)
 *             printf("got %d\n", v);
 *         destroy_ctx(p);
 *         co_chan_destroy(ch);
 *     }
 */
#ifndef COROUTINE_CHAN_H
#define COROUTINE_CHAN_H

#include "coroutine_wait.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Channels ========================================================== */

typedef struct co_chan co_chan;

/* A channel of elements of 'size' bytes (at least 1) holding up to
 * 'capacity' of them (0: unbuffered).
 * Returns it, or NULL with errno EINVAL or ENOMEM. */
co_chan *co_chan_create(size_t size, size_t capacity);

/* Copy the element at 'item' into the channel: handed to a waiting
 * receiver, else buffered, else wait for either.
 * Returns 0, or -1 with errno EPIPE (closed, before or while waiting: the
 * element was not sent), ETIMEDOUT, ECANCELED or EINVAL ('item' is NULL).
 * Aborts: 'ch' belongs to another thread. */
int co_chan_send(co_chan *ch, const void *item, int64_t deadline);

/* Take the next element into 'item': the oldest buffered one, else a
 * waiting sender's, else wait for one.
 * Returns 0, or -1 with errno EPIPE (closed and drained), ETIMEDOUT,
 * ECANCELED or EINVAL ('item' is NULL).
 * Aborts: 'ch' belongs to another thread. */
int co_chan_recv(co_chan *ch, void *item, int64_t deadline);

/* No more sends: waiting senders fail with EPIPE, receivers drain the
 * buffer, then fail with EPIPE.
 * Aborts: 'ch' was already closed, or belongs to another thread. */
void co_chan_close(co_chan *ch);

/* Free the channel. NULL does nothing.
 * Aborts: someone waits on it, or it belongs to another thread. */
void co_chan_destroy(co_chan *ch);

/* ==== Mailboxes: messages between threads =============================== */

typedef struct co_mbox co_mbox;

/* A mailbox of elements of 'size' bytes (at least 1), unbounded, that any
 * thread may send to and whose receiver is the calling thread (its main
 * or its coroutines).
 * Returns it, or NULL with errno EINVAL or ENOMEM. */
co_mbox *co_mbox_create(size_t size);

/* Copy the element at 'item' into the mailbox, from any thread. Never
 * waits: a lock is held for the copy, and a receiver that waits is told
 * through its thread's inbox, with at most one eventfd write while that
 * thread sleeps in the kernel (none while it is awake).
 * Returns 0, or -1 with errno EPIPE (closed), ENOMEM or EINVAL ('item' is
 * NULL). */
int co_mbox_send(co_mbox *mb, const void *item);

/* Take the oldest element into 'item', waiting for one. Receivers of
 * the thread wait in a queue, as a channel's do: each message goes to the
 * one that has waited longest, straight into its 'item'.
 * Returns 0, or -1 with errno EPIPE (closed and drained), ETIMEDOUT,
 * ECANCELED or EINVAL ('item' is NULL).
 * Aborts: the mailbox belongs to another thread. */
int co_mbox_recv(co_mbox *mb, void *item, int64_t deadline);

/* No more sends (from any thread): they fail with EPIPE; the receiver
 * drains what is there, then gets EPIPE. Closing twice does nothing. */
void co_mbox_close(co_mbox *mb);

/* Free it, with what it still holds. NULL does nothing. No thread may
 * send to it any more.
 * Aborts: a coroutine waits on it, or it belongs to another thread. */
void co_mbox_destroy(co_mbox *mb);

/* ==== Select ============================================================ */

#define CO_SEND 1
#define CO_RECV 2

/* One case of a select: send the element at 'item' into 'chan', or
 * receive one into 'item'. A case whose 'chan' is NULL is never ready,
 * as a nil channel in Go, so cases can be turned off in place. 'err' is
 * set for the case that completes: 0, or EPIPE when its channel is
 * closed. */
struct co_case {
    co_chan *chan;
    int op;                      /* CO_SEND or CO_RECV */
    void *item;
    int err;
};

/* Complete exactly one of the 'n' cases: one that can complete now, or
 * else the first that becomes able to before the deadline. When several
 * can complete at once, the choice is random (uniform), so no case
 * starves; a deadline of 0 makes this a select with a default.
 * Returns the index of the case, or -1 with errno ETIMEDOUT, ECANCELED or
 * EINVAL (n < 1, a case with no item or an unknown op).
 * Aborts: a channel belongs to another thread. */
int co_select(struct co_case *cases, int n, int64_t deadline);

/* ==== Locks ============================================================= */

typedef struct co_mutex co_mutex;
typedef struct co_cond co_cond;
typedef struct co_sem co_sem;
typedef struct co_wg co_wg;

/* A mutex between the coroutines of one thread, unlocked.
 * Returns it, or NULL with errno ENOMEM. */
co_mutex *co_mutex_create(void);

/* Lock it, waiting while another context holds it.
 * Returns 0, or -1 with errno ETIMEDOUT or ECANCELED.
 * Aborts: the caller holds it already; its holder finished or was
 * destroyed without unlocking it; it belongs to another thread. */
int co_mutex_lock(co_mutex *m, int64_t deadline);

/* Unlock it; the longest waiter gets it.
 * Aborts: the caller does not hold it. */
void co_mutex_unlock(co_mutex *m);

/* Free it. NULL does nothing.
 * Aborts: it is held or waited on. */
void co_mutex_destroy(co_mutex *m);

/* A condition variable.
 * Returns it, or NULL with errno ENOMEM. */
co_cond *co_cond_create(void);

/* Unlock 'm', wait for a signal, lock 'm' again (waiting for it with no
 * deadline).
 * Returns 0 once signalled, or -1 with errno ETIMEDOUT or ECANCELED; 'm'
 * is held again in every case.
 * Aborts: the caller does not hold 'm'. */
int co_cond_wait(co_cond *c, co_mutex *m, int64_t deadline);

/* Wake the longest waiter, if any. */
void co_cond_signal(co_cond *c);

/* Wake every waiter, if any. */
void co_cond_broadcast(co_cond *c);

/* Free it. NULL does nothing.
 * Aborts: someone waits on it. */
void co_cond_destroy(co_cond *c);

/* A semaphore holding 'count' permits.
 * Returns it, or NULL with errno ENOMEM. */
co_sem *co_sem_create(unsigned count);

/* Take a permit, waiting while there is none.
 * Returns 0, or -1 with errno ETIMEDOUT or ECANCELED. */
int co_sem_acquire(co_sem *s, int64_t deadline);

/* Give a permit back; the longest waiter takes it.
 * Aborts: the count would pass UINT_MAX. */
void co_sem_release(co_sem *s);

/* Free it. NULL does nothing.
 * Aborts: someone waits on it. */
void co_sem_destroy(co_sem *s);

/* A wait group: a count of work not done yet, starting at 0.
 * Returns it, or NULL with errno ENOMEM. */
co_wg *co_wg_create(void);

/* Add 'n' (may be negative) to the count; at 0, every waiter wakes.
 * Aborts: the count would go below 0. */
void co_wg_add(co_wg *wg, int n);

/* Wait until the count is 0.
 * Returns 0, or -1 with errno ETIMEDOUT or ECANCELED. */
int co_wg_wait(co_wg *wg, int64_t deadline);

/* Free it. NULL does nothing.
 * Aborts: someone waits on it. */
void co_wg_destroy(co_wg *wg);

#ifdef __cplusplus
}
#endif

#endif
