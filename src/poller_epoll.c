/* poller_epoll.c - the poller backend for Linux's epoll (see poller.h).
 *
 * Each descriptor is added once with EPOLLET, as Go's netpoller does, so a
 * wait costs no system call of its own: the kernel reports a change of
 * readiness once, and the poller remembers it until a call sees EAGAIN.
 * Timeouts go to epoll_pwait2 in nanoseconds, where the kernel has it, so
 * a sleep is not rounded up to a whole millisecond.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "poller.h"

static int epoll_backend_create(void)
{
    return epoll_create1(EPOLL_CLOEXEC);
}

static int epoll_backend_add(int poller, int fd, uint32_t tag)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.u64 = (uint64_t)tag << 32 | (uint32_t)fd,
    };
    return epoll_ctl(poller, EPOLL_CTL_ADD, fd, &ev);
}

static void epoll_backend_remove(int poller, int fd)
{
    epoll_ctl(poller, EPOLL_CTL_DEL, fd, NULL);
}

static int no_pwait2;                    /* atomic: the kernel said ENOSYS */

static int epoll_backend_sleep(int poller, int64_t timeout, struct epoll_event *ev, int max)
{
    if (!__atomic_load_n(&no_pwait2, __ATOMIC_RELAXED)) {
        struct timespec ts = {timeout / 1000000000, timeout % 1000000000};
        int n = epoll_pwait2(poller, ev, max, timeout < 0 ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        __atomic_store_n(&no_pwait2, 1, __ATOMIC_RELAXED);
    }
    int ms = timeout < 0 ? -1 : timeout > (int64_t)1 << 40 ? 1 << 30
                                                           : (int)((timeout + 999999) / 1000000);
    return epoll_wait(poller, ev, max, ms);
}

static int epoll_backend_wait(int poller, int64_t timeout, struct poller_event *events, int max)
{
    struct epoll_event ev[256];
    int n = epoll_backend_sleep(poller, timeout, ev, max < 256 ? max : 256);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t e = ev[i].events;
        bool broken = e & (EPOLLERR | EPOLLHUP);
        events[i] = (struct poller_event){
            .fd = (int)(uint32_t)ev[i].data.u64,
            .tag = (uint32_t)(ev[i].data.u64 >> 32),
            .readable = broken || (e & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)),
            .writable = broken || (e & EPOLLOUT),
        };
    }
    return n;
}

static void epoll_backend_destroy(int poller)
{
    close(poller);
}

const struct poller_backend poller_epoll = {
    .name = "epoll",
    .create = epoll_backend_create,
    .add = epoll_backend_add,
    .remove = epoll_backend_remove,
    .wait = epoll_backend_wait,
    .destroy = epoll_backend_destroy,
};
