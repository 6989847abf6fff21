/* coroutine_wait.h - coroutines that wait: for time, for descriptors, for
 * each other, for signals; and the socket calls built on those waits.
 *
 * NAMES
 * As coroutine.h says: what acts on a coroutine is verb_ctx (cancel_ctx,
 * join_ctx); a call that stands in for a system call is co_ and that
 * call's name, with its arguments and a deadline (co_read is read(2)
 * that waits); the rest is co_ and what it does (co_now, co_sleep).
 * Times are int64_t nanoseconds of CLOCK_MONOTONIC, as co_now() gives
 * them. co_cancel, co_cancelled and co_join are the names of version 1.0
 * for cancel_ctx, is_ctx_cancelled and join_ctx, kept until version 2.
 *
 * MODEL
 * A context (a coroutine, or main) that waits leaves the rotation of
 * coroutine.h: yield_ctx() passes it by, and switch_ctx() to it aborts.
 * When what it waits for happens, it rejoins the rotation just before the
 * context that is running then, so every context that could already run
 * goes first, and it runs within one turn. Contexts woken by the same
 * event rejoin in the order the event reached them: sleepers in deadline
 * order (equal deadlines in the order they began to wait). Two
 * exceptions, described in coroutine.h: a coroutine that finishes lets
 * the context it last woke run first, and a context that waits lets the
 * newest coroutine it created run first if that has not run yet.
 *
 * Each thread's first wait makes its poller: a coroutine (its id is the
 * next free one) that is in the rotation while a deadline, a descriptor
 * or another thread is waited for, or when nothing else can run. Once
 * per turn it takes what other threads sent, fires the deadlines that
 * passed and asks the kernel (epoll) which descriptors are ready, without
 * blocking while others can run, so a coroutine that yields in a loop
 * delays waiters by at most one turn. Waits that another context ends (a
 * join, a channel) need no poller.
 * When nothing can run, the thread sleeps in the kernel until the next
 * deadline or event: a thread whose coroutines all wait uses no CPU. When
 * nothing can run and nothing can wake anything (every context waits
 * without a deadline for another context), that is a deadlock: the
 * library names the waiting contexts on stderr and aborts.
 *
 * DEADLINES
 * Every call that can wait takes an absolute deadline:
 *     co_now() + 50 * CO_MSEC   wait at most 50 ms
 *     CO_FOREVER                no deadline
 *     0 (or any past time)      do not wait: ready now, or ETIMEDOUT
 * A call that can complete without waiting does so, whatever its
 * deadline: a longer deadline never gives a worse answer than 0.
 *
 * VIRTUAL TIME
 * With COROUTINE_VIRTUAL_TIME=1 in the environment, or co_clock_virtual()
 * called before the thread's first wait, a thread's clock is virtual:
 * co_now(), every deadline and sleep, and the trace read it. It starts at
 * one second (CO_SEC) and stands still while any context can run; when
 * every context waits and only deadlines can end a wait, it jumps to the
 * earliest deadline at once. A program whose coroutines sleep for an
 * hour of virtual time finishes in milliseconds, in the same order of
 * events as in real time. While a wait that the world outside ends is
 * pending (a descriptor, a mailbox, offloaded work), the thread is not
 * only waiting on itself: then the clock runs as real time does, moved on
 * by the time the thread spends blocked in the kernel, never past the
 * next deadline, so it does not jump past what is about to arrive. Each
 * thread has a clock of its own: deadlines mean nothing across threads.
 *
 * SEEDS
 * With COROUTINE_SEED=n in the environment (a number, or "random": one
 * is picked and said on stderr, so the run can be replayed), or after
 * co_seed(n), a thread draws from a generator seeded with n every choice
 * that a correct program must not depend on: whether a woken context
 * rejoins the rotation at the end of the turn or runs next (so contexts
 * woken together run in any order), whether what a context made or woke
 * runs first (coroutine.h), which ready case co_select() takes, and extra
 * yields: a call that may wait (a channel's send or receive, co_select, a
 * lock, a semaphore, a wait group, a mailbox's receive) yields first, one
 * time in four, though it could go on (on a channel, one made while the
 * thread was seeded). Queues stay first come, first
 * served, as the headers promise: what changes is only who runs when.
 * The same program with the same seed, a virtual clock and the same
 * input runs the same way again, and writes the same trace, byte for
 * byte. Without a seed, nothing of this runs.
 *
 * DESCRIPTORS
 * A descriptor is registered with the kernel's poller at its first wait
 * and stays registered until co_close(). Its readiness for each
 * direction, once reported, is remembered until a call on it (co_read,
 * co_write, ...) says EAGAIN: co_wait_fd() on a descriptor that is still
 * ready returns at once, however often it is asked. Close a descriptor
 * that any wait has seen with co_close(), not close(), from any thread:
 * it wakes the descriptor's waiters with EBADF (those of the thread that
 * registered it last, if that is another, through its poller) and
 * forgets the registrations, so the number can be reused in any thread.
 * The calls here make no descriptor non-blocking: co_accept(), co_listen()
 * and co_dial() return non-blocking ones; for others, set O_NONBLOCK
 * yourself, or a co_read() on them blocks the thread. One coroutine at a
 * time may wait on a descriptor in each direction: a second gets EBUSY.
 *
 * CANCELLATION
 * cancel_ctx(c) makes c's current wait, and every later one, end with
 * ECANCELED, so c can clean up and return. A call that need not wait
 * still completes (a ready read, a send to a waiting receiver, a free
 * lock, co_wait_fd on a ready descriptor, co_sleep of a past deadline):
 * only a wait is cancelled. Destroying a waiting coroutine ends its waits
 * without running it; what a waker had handed it (a semaphore's permit,
 * a mutex) goes on to the next waiter, or back.
 *
 * ERRORS
 * Calls return -1 (or NULL) with errno set, and nothing is lost: a
 * deadline that passes is ETIMEDOUT, a cancel ECANCELED, a descriptor
 * closed by co_close() while waited on EBADF, and what the system refuses
 * its own errno. Misuse (waiting on another thread's coroutine, joining
 * oneself) prints one line naming the context and aborts, as in
 * coroutine.h.
 *
 * THREADS AND FORK
 * Each thread has its own poller, made at its first wait and closed when
 * it exits. A coroutine waits on its own thread only. After fork(), the
 * child's runtime starts afresh at its first wait: the coroutines the
 * forking thread had keep their waits, re-registered with a new poller,
 * except those for work offloaded before the fork (co_offload).
 *
 * EXAMPLE
 *     // An echo server: a coroutine per connection.
 *     static void echo(void *arg) {
 *         int fd = (int)(intptr_t)arg;
 *         char buf[4096];
 *         ssize_t n;
 *         while ((n = co_read(fd, buf, sizeof buf, CO_FOREVER)) > 0)
 *             if (co_write(fd, buf, (size_t)n, CO_FOREVER) < 0)
 *                 break;
 *         co_close(fd);
 *     }
 *     int main(void) {
 *         int server = co_listen("127.0.0.1", 7000, 0);
 *         for (int fd; (fd = co_accept(server, NULL, NULL, CO_FOREVER)) >= 0;)
 *             detach_ctx(create_ctx(echo, (void *)(intptr_t)fd));
 *     }
 */
#ifndef COROUTINE_WAIT_H
#define COROUTINE_WAIT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "coroutine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Time =============================================================== */

#define CO_USEC ((int64_t)1000)
#define CO_MSEC ((int64_t)1000000)
#define CO_SEC ((int64_t)1000000000)
#define CO_FOREVER INT64_MAX    /* a deadline that never comes */

/* Now, on the clock deadlines are read on.
 * Returns the time in nanoseconds of CLOCK_MONOTONIC. */
int64_t co_now(void);

/* Wait until 'deadline' (not a moment earlier). A past deadline returns
 * at once, without a turn of the rotation: use yield_ctx() to let others
 * run.
 * Returns 0 at the deadline, or -1 with errno ECANCELED. */
int co_sleep(int64_t deadline);

/* Make this thread's clock virtual (VIRTUAL TIME), at CO_SEC. Call it
 * before the thread reads the clock or waits.
 * Returns 0 (also if it was virtual already), or -1 with errno EBUSY: the
 * thread has waited on the real clock. */
int co_clock_virtual(void);

/* Seed this thread's choices with 'seed' from now on (SEEDS); it takes
 * precedence over COROUTINE_SEED. */
void co_seed(uint64_t seed);

/* ==== Descriptors ======================================================= */

#define CO_READABLE 1
#define CO_WRITABLE 2

/* Wait until 'fd' may be ready for 'what' (CO_READABLE or CO_WRITABLE):
 * data or a connection to read, room to write, end of file, an error or a
 * hangup. Readiness is a hint: try the call and, on EAGAIN, wait again.
 * Returns 0 (at once while it is remembered ready, and still is), or -1
 * with errno:
 *   ETIMEDOUT  the deadline passed
 *   ECANCELED  cancel_ctx(), unless it is ready
 *   EBADF      'fd' is not open, or co_close() closed it while waiting, in any thread
 *   EBUSY      another coroutine waits on 'fd' for the same thing
 *   EINVAL     'what' is not one of the two, or 'fd' cannot be polled
 *              (a regular file: it is always ready, so just read it) */
int co_wait_fd(int fd, int what, int64_t deadline);

/* read(2), waiting while there is nothing to read.
 * Returns the count read (0 at end of file), or -1 with errno as read(2)
 * or co_wait_fd(). */
ssize_t co_read(int fd, void *buf, size_t len, int64_t deadline);

/* write(2) of the whole buffer, waiting while there is no room. A
 * socket's peer or a pipe's reader gone is EPIPE, never SIGPIPE.
 * Returns 'len', or -1 with errno as write(2) or co_wait_fd(); then an
 * unknown part of the buffer was written. */
ssize_t co_write(int fd, const void *buf, size_t len, int64_t deadline);

/* readv(2), waiting while there is nothing to read.
 * Returns as co_read. */
ssize_t co_readv(int fd, const struct iovec *iov, int iovcnt, int64_t deadline);

/* writev(2) of every byte of every buffer, as co_write. The entries of
 * 'iov' are changed as they are written.
 * Returns as co_write, the total of the buffers' lengths when it succeeds;
 * EINVAL if 'iovcnt' is below 0 or above IOV_MAX, as writev(2). */
ssize_t co_writev(int fd, struct iovec *iov, int iovcnt, int64_t deadline);

/* recv(2), waiting while there is nothing to read.
 * Returns as co_read. */
ssize_t co_recv(int fd, void *buf, size_t len, int flags, int64_t deadline);

/* send(2) of the whole buffer, as co_write; MSG_NOSIGNAL is always added.
 * Returns as co_write. */
ssize_t co_send(int fd, const void *buf, size_t len, int flags, int64_t deadline);

/* Wake every coroutine waiting on 'fd' (their waits end with EBADF),
 * forget its registration, and close(2) it.
 * Returns 0, or -1 with errno as close(2). */
int co_close(int fd);

/* ==== Sockets =========================================================== */

/* accept4(2) with the new socket non-blocking and close-on-exec, waiting
 * for a connection. Connections that fail before being accepted
 * (ECONNABORTED) are skipped. Out of descriptors (EMFILE, ENFILE), it does
 * not return: it closes the waiting connection at once, through a
 * descriptor kept in reserve, then backs off (1 ms, doubling up to 100 ms)
 * and tries again, so a server never spins and serves again as soon as
 * descriptors come back.
 * Returns the new descriptor, or -1 with errno as accept(2) or
 * co_wait_fd(). */
int co_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int64_t deadline);

/* connect(2), waiting for the connection to be made.
 * Returns 0, or -1 with errno as connect(2) (ECONNREFUSED, ...) or
 * co_wait_fd(). */
int co_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t deadline);

#define CO_REUSEPORT 1  /* co_listen: several sockets share the port */

/* A non-blocking, close-on-exec TCP socket listening on 'host' (a numeric
 * IPv4 or IPv6 address; NULL: every IPv4 address) and 'port' (0: any free
 * one), with SO_REUSEADDR, and SO_REUSEPORT given CO_REUSEPORT.
 * Returns the descriptor, or -1 with errno (EINVAL: 'host' is not
 * numeric, or 'flags' unknown; else as socket(2), bind(2), listen(2)). */
int co_listen(const char *host, int port, int flags);

/* The port a socket is bound to.
 * Returns it, or -1 with errno as getsockname(2). */
int co_port(int fd);

/* A non-blocking, close-on-exec TCP socket connected to 'host' and 'port'.
 * A name is resolved by co_offload() (getaddrinfo blocks), so this
 * thread's other coroutines run meanwhile; each address is tried in turn.
 * Returns the descriptor, or -1 with errno: ETIMEDOUT, ECANCELED,
 * EHOSTUNREACH (the name has no address), or the last connect(2) error. */
int co_dial(const char *host, int port, int64_t deadline);

/* ==== Coroutines ======================================================== */

/* End the waits of 'ctx' (NULL: main), the current one and every later
 * one, with ECANCELED. The coroutine itself runs on: it is told, not
 * stopped. Cancelling a finished one does nothing.
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
void cancel_ctx(sp_ctx ctx);

/* Whether the running context was cancelled.
 * Returns true once cancel_ctx() was called for it. */
bool is_ctx_cancelled(void);

/* Wait until 'ctx' finishes, or is destroyed.
 * Returns 0, or -1 with errno ETIMEDOUT or ECANCELED.
 * Aborts: 'ctx' is the running context or main (NULL), was destroyed, is
 * detached, or belongs to another thread. */
int join_ctx(sp_ctx ctx, int64_t deadline);

/* cancel_ctx() under its name of version 1.0, kept until version 2. */
void co_cancel(sp_ctx ctx);

/* is_ctx_cancelled() under its name of version 1.0, kept until version 2.
 * Returns as is_ctx_cancelled(). */
bool co_cancelled(void);

/* join_ctx() under its name of version 1.0, kept until version 2.
 * Returns as join_ctx(). */
int co_join(sp_ctx ctx, int64_t deadline);

/* ==== Signals =========================================================== */

/* Wait for one of the 'count' (at least 1) signals in 'signals'. The
 * signals are blocked in the calling thread from the first call on, so
 * that they are queued rather than acted on: block them in every other
 * thread too (call this, or pthread_sigmask(), before starting threads),
 * or the kernel may hand them to a thread that does not block them.
 * Returns the signal's number, or -1 with errno ETIMEDOUT, ECANCELED,
 * EINVAL (no signals, a number that is not a signal, or SIGKILL or
 * SIGSTOP, which are never queued) or as signalfd(2). */
int co_wait_signal(const int *signals, int count, int64_t deadline);

/* ==== Blocking work ===================================================== */

/* Run fn(arg) on a worker thread while the caller waits, so a call that
 * blocks (a computation, a read of a regular file, a library that does
 * its own I/O) stops no other coroutine of this thread. The workers are
 * one pool for the process: up to 16 threads, started as work comes and
 * kept, with every signal blocked; work waits in a queue, oldest first,
 * while all of them are busy. 'fn' runs on a worker thread: coroutines it
 * makes are that thread's.
 *
 * On a failure fn may still be running, and its results must not be
 * used. With a 'drop' call, every failure gives 'arg' to the pool, which
 * calls drop(arg) once, when fn is done with it or will never start, on
 * this thread or a worker's: 'drop' frees, and makes no coroutine call.
 * Without one (NULL), 'arg' stays the caller's, so the call returns only
 * when fn is done with it, however long after the deadline or the cancel.
 * Destroying a coroutine that waits here ends the wait as a cancel does,
 * unseen by its code. After fork(), in the child, a co_offload waiting
 * for work offloaded before the fork returns at once with ECANCELED,
 * drop call or not: the worker running that work is the parent's, and
 * the child's copy of 'arg' is not touched by it (with a drop call, drop
 * gets that copy).
 *
 * Returns 0 once fn(arg) has returned (what it left in 'arg' is the
 * caller's), or -1 with errno:
 *   ETIMEDOUT  the deadline passed (with 0, or one already past, fn never
 *              runs)
 *   ECANCELED  cancel_ctx (if it came first, fn never runs), or in a child
 *              after fork (above)
 *   EINVAL     'fn' is NULL
 *   ENOMEM     no memory
 *   EMFILE     no descriptor for this thread's inbox
 *   EAGAIN     no worker thread could be started
 * Aborts: destroying a coroutine (or exiting its thread) while fn runs for
 * it with no drop call, which would free 'arg' under fn. */
int co_offload(void (*fn)(void *arg), void *arg, void (*drop)(void *arg), int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif
