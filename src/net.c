/* net.c - TCP sockets on the waiting calls: accept that survives running
 * out of descriptors, connect with a deadline, listen, and dial with the
 * name resolved off the thread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "internal.h"
#include "wait.h"

/* {=====================================================================
 * Accepting
 * ====================================================================== */

/* A descriptor held back for the moment the process runs out: closing it
 * makes room to accept one waiting connection and close it at once, so
 * its client hears a close instead of hanging in the queue (as nginx and
 * libuv do). One per thread that accepts, closed when the thread exits. */
static __thread int reserve_plus_one;
static pthread_key_t reserve_key;
static pthread_once_t reserve_once = PTHREAD_ONCE_INIT;

static void close_reserve(void *unused)
{
    (void)unused;
    if (reserve_plus_one > 0)
        close(reserve_plus_one - 1);
    reserve_plus_one = 0;
}

static void make_reserve_key(void)
{
    pthread_key_create(&reserve_key, close_reserve);
}

static void keep_reserve(void)
{
    if (reserve_plus_one != 0)
        return;
    pthread_once(&reserve_once, make_reserve_key);
    reserve_plus_one = open("/dev/null", O_RDONLY | O_CLOEXEC) + 1;
    pthread_setspecific(reserve_key, &reserve_plus_one);    /* non-NULL: run it */
}

static void shed_one(int fd)
{
    if (reserve_plus_one == 0)
        return;
    close(reserve_plus_one - 1);
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn >= 0)
        close(conn);
    int again = open("/dev/null", O_RDONLY | O_CLOEXEC);
    reserve_plus_one = again + 1;
}

static bool out_of_descriptors(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Out of descriptors: shed a connection and wait, 1 ms at first, then
 * twice as long each time, up to 100 ms. 0 to try again, or -1. */
static int back_off(int fd, int64_t *pause, int64_t deadline)
{
    shed_one(fd);
    int64_t until = co_now() + *pause;
    *pause = *pause * 2 > 100 * CO_MSEC ? 100 * CO_MSEC : *pause * 2;
    if (until >= deadline) {
        if (co_sleep(deadline) == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    return co_sleep(until);
}

int co_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int64_t deadline)
{
    int64_t pause = CO_MSEC;
    keep_reserve();
    for (;;) {
        int conn = accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn >= 0)
            return conn;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (out_of_descriptors(errno)) {
            if (back_off(fd, &pause, deadline) != 0)
                return -1;
            continue;
        }
        if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
            wait_fd(fd, CO_READABLE, deadline, true) != 0)
            return -1;
    }
}

/* }===================================================================== */

/* {=====================================================================
 * Connecting and listening
 * ====================================================================== */

int co_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t deadline)
{
    if (connect(fd, addr, addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -1;
    if (wait_fd(fd, CO_WRITABLE, deadline, true) != 0)
        return -1;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -1;
    errno = err;
    return err == 0 ? 0 : -1;
}

union address {
    struct sockaddr any;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
};

/* 'host' as a numeric address with 'port': its length, or 0. */
static socklen_t numeric(const char *host, int port, union address *a)
{
    memset(a, 0, sizeof *a);
    if (host == NULL || inet_pton(AF_INET, host, &a->v4.sin_addr) == 1) {
        a->v4.sin_family = AF_INET;
        a->v4.sin_port = htons((uint16_t)port);
        return sizeof a->v4;
    }
    if (inet_pton(AF_INET6, host, &a->v6.sin6_addr) == 1) {
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_port = htons((uint16_t)port);
        return sizeof a->v6;
    }
    return 0;
}

static int new_socket(int family)
{
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int co_listen(const char *host, int port, int flags)
{
    union address a;
    socklen_t len = numeric(host, port, &a);
    if (len == 0 || port < 0 || port > 65535 || (flags & ~CO_REUSEPORT) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = new_socket(a.any.sa_family), one = 1;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ((flags & CO_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, &a.any, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int co_port(int fd)
{
    union address a;
    socklen_t len = sizeof a;
    if (getsockname(fd, &a.any, &len) != 0)
        return -1;
    return ntohs(a.any.sa_family == AF_INET6 ? a.v6.sin6_port : a.v4.sin_port);
}

/* }===================================================================== */

/* {=====================================================================
 * Dialing: names are resolved by a worker thread (co_offload)
 * ====================================================================== */

/* The worker's argument; a dial that gives up (deadline, cancel) leaves
 * it to the pool, which frees it with lookup_free. */
struct lookup {
    char *host;
    char port[8];
    struct addrinfo *result;
    int status;                  /* getaddrinfo's */
};

static void lookup_free(void *arg)
{
    struct lookup *l = arg;
    if (l->result != NULL)
        freeaddrinfo(l->result);
    free(l->host);
    free(l);
}

static void resolve(void *arg)
{
    struct lookup *l = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    l->status = getaddrinfo(l->host, l->port, &hints, &l->result);
}

static struct lookup *lookup_new(const char *host, int port)
{
    struct lookup *l = calloc(1, sizeof *l);
    if (l == NULL || (l->host = strdup(host)) == NULL) {
        free(l);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(l->port, sizeof l->port, "%d", port);
    return l;
}

/* Try each address in turn: the connected socket, or -1 with the last
 * error. */
static int connect_any(const struct addrinfo *ai, int64_t deadline)
{
    errno = EHOSTUNREACH;
    for (; ai != NULL; ai = ai->ai_next) {
        int fd = new_socket(ai->ai_family);
        if (fd < 0)
            continue;
        if (co_connect(fd, ai->ai_addr, ai->ai_addrlen, deadline) == 0)
            return fd;
        int err = errno;
        co_close(fd);
        errno = err;
        if (err == ETIMEDOUT || err == ECANCELED)
            break;
    }
    return -1;
}

int co_dial(const char *host, int port, int64_t deadline)
{
    union address a;
    if (host == NULL || port < 0 || port > 65535) {
        errno = EINVAL;
        return -1;
    }
    socklen_t len = numeric(host, port, &a);
    if (len != 0) {
        struct addrinfo ai = {.ai_family = a.any.sa_family, .ai_addr = &a.any, .ai_addrlen = len};
        return connect_any(&ai, deadline);
    }
    struct lookup *l = lookup_new(host, port);
    if (l == NULL || co_offload(resolve, l, lookup_free, deadline) != 0)
        return -1;                       /* 'l' is the pool's now, or was never made */
    int fd = -1;
    if (l->status == 0)
        fd = connect_any(l->result, deadline);
    else
        errno = EHOSTUNREACH;
    int err = errno;
    lookup_free(l);
    errno = err;
    return fd;
}

/* }===================================================================== */
