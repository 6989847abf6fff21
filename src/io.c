/* io.c - system calls that wait: each is tried first, and waits for the
 * descriptor only when the kernel says EAGAIN, so a ready descriptor
 * costs nothing but the call itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "poller.h"
#include "wait.h"

/* -1 to return (errno set), or 0 to try the call again: after EINTR, or
 * once 'fd' became ready after EAGAIN. */
static int again(int fd, int what, int64_t deadline)
{
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
    return wait_fd(fd, what, deadline, true);
}

ssize_t co_read(int fd, void *buf, size_t len, int64_t deadline)
{
    ssize_t n;
    while ((n = read(fd, buf, len)) < 0)
        if (again(fd, CO_READABLE, deadline) != 0)
            return -1;
    return n;
}

ssize_t co_readv(int fd, const struct iovec *iov, int iovcnt, int64_t deadline)
{
    ssize_t n;
    while ((n = readv(fd, iov, iovcnt)) < 0)
        if (again(fd, CO_READABLE, deadline) != 0)
            return -1;
    return n;
}

ssize_t co_recv(int fd, void *buf, size_t len, int flags, int64_t deadline)
{
    ssize_t n;
    while ((n = recv(fd, buf, len, flags)) < 0)
        if (again(fd, CO_READABLE, deadline) != 0)
            return -1;
    return n;
}

/* writev(2) that raises no SIGPIPE: a pipe whose reader is gone says
 * EPIPE, as a socket does with MSG_NOSIGNAL. The signal is blocked for
 * the call and, if the call raised it, taken back. One the caller blocks
 * itself is left as it is: that one may have been pending before. */
static ssize_t writev_quietly(int fd, const struct iovec *iov, int iovcnt)
{
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t n = writev(fd, iov, iovcnt);
    int err = errno;
    if (n < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec now = {0, 0};
        sigtimedwait(&pipe_only, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return n;
}

/* The whole of 'iov' through sendmsg(2) or writev(2), whichever suits
 * 'fd'; neither raises SIGPIPE. */
static ssize_t put_all(int fd, struct iovec *iov, int iovcnt, int flags, int64_t deadline)
{
    ssize_t total = 0;
    bool socket = true;
    if (iovcnt < 0 || iovcnt > IOV_MAX) {
        errno = EINVAL;
        return -1;
    }
    while (iovcnt > 0) {
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = socket ? sendmsg(fd, &msg, flags | MSG_NOSIGNAL) : writev_quietly(fd, iov, iovcnt);
        if (n < 0 && socket && errno == ENOTSOCK) {
            socket = false;
            continue;
        }
        if (n < 0) {
            if (again(fd, CO_WRITABLE, deadline) != 0)
                return -1;
            continue;
        }
        total += n;
        for (; iovcnt > 0 && (size_t)n >= iov->iov_len; iov++, iovcnt--)
            n -= (ssize_t)iov->iov_len;
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return total;
}

ssize_t co_write(int fd, const void *buf, size_t len, int64_t deadline)
{
    struct iovec iov = {(void *)buf, len};
    return put_all(fd, &iov, 1, 0, deadline);
}

ssize_t co_writev(int fd, struct iovec *iov, int iovcnt, int64_t deadline)
{
    return put_all(fd, iov, iovcnt, 0, deadline);
}

ssize_t co_send(int fd, const void *buf, size_t len, int flags, int64_t deadline)
{
    struct iovec iov = {(void *)buf, len};
    return put_all(fd, &iov, 1, flags, deadline);
}

int co_close(int fd)
{
    poller_fd_close(fd);
    return close(fd);
}

/* The signals are blocked first, so that from now on they wait in the
 * signalfd's queue instead of being acted on. */
int co_wait_signal(const int *signals, int count, int64_t deadline)
{
    sigset_t set;
    sigemptyset(&set);
    if (signals == NULL || count <= 0) {
        errno = EINVAL;                /* nothing could ever end the wait */
        return -1;
    }
    for (int i = 0; i < count; i++) {
        if (signals[i] == SIGKILL || signals[i] == SIGSTOP) {
            errno = EINVAL;            /* never queued: the kernel acts on them */
            return -1;
        }
        if (sigaddset(&set, signals[i]) != 0)
            return -1;
    }
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (err != 0) {
        errno = err;
        return -1;
    }
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    struct signalfd_siginfo info;
    ssize_t n = co_read(fd, &info, sizeof info, deadline);
    err = errno;
    co_close(fd);
    errno = err;
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : -1;
}
