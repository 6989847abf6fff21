/* server.h - what the example servers share: their options, one runtime
 * per thread on its own SO_REUSEPORT socket, a coroutine per connection,
 * answers queued while reading goes on, and a clean stop on SIGINT or
 * SIGTERM. A server includes it and calls
 * serve_main() with a struct server: the function that talks to one
 * client, and what each thread does first and last.
 *
 *     ./NAME [--port N] [--threads N]
 *
 * prints "listening on 127.0.0.1:N" once every thread listens (N is the
 * port picked when --port 0), and on SIGINT or SIGTERM closes every
 * connection and exits 0.
 */
#ifndef SERVER_H
#define SERVER_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE       /* include this first: for pipe2 and accept4 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coroutine_wait.h"

/* A connection's stack: the servers keep their buffers on the heap. */
#define CONNECTION_STACK (64 * 1024)

/* Talk to the client on 'fd' until it leaves, an error, or a cancel (the
 * server stops); the caller closes 'fd'. */
typedef void (*serve_fn)(int fd);

struct server {
    serve_fn serve;
    int default_port;
    /* Optional. Once, with the number of threads, before they start; on
     * each thread, before it accepts; and after its connections have
     * closed, before the thread ends. */
    void (*prepare)(int threads);
    void (*thread_start)(int index);
    void (*thread_end)(void);
};

/* {=====================================================================
 * Answers sent while reading goes on
 *
 * A client may send many requests before it reads any answer (a pipeline
 * of a million PINGs, as redis-py and redis-benchmark -P send). A server
 * that stopped reading until its answers were read would wait for a
 * client that waits for it, for ever. So answers that do not go at once
 * are queued, and a second coroutine, started only then, sends them while
 * the connection's own coroutine goes on reading. Past OUTBOX_MAX queued
 * bytes it stops reading until they are sent: a client that never reads
 * holds that much and no more.
 * ====================================================================== */

#define OUTBOX_MAX (64 * 1024 * 1024)

/* Bytes that grow at the end. */
struct bytes {
    char *data;
    size_t len, cap;
};

static bool bytes_put(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        char *data = realloc(b->data, cap);
        if (data == NULL)
            return false;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

struct outbox {
    int fd;
    struct bytes queue;              /* unsent from 'sent' on */
    size_t sent;
    sp_ctx sender;                   /* sends the queue; NULL when empty */
    int error;                       /* a send's errno: the connection ends */
};

/* send(2) of what it can now: the count, or -1 with errno. */
static ssize_t send_now(int fd, const char *p, size_t n)
{
    ssize_t k;
    while ((k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return k < 0 && errno == EAGAIN ? 0 : k;
}

/* The sender: the queue to the last byte, waiting for room as it goes. */
static void outbox_drain(void *arg)
{
    struct outbox *o = arg;
    struct bytes *q = &o->queue;
    while (o->sent < q->len && o->error == 0) {
        ssize_t k = send_now(o->fd, q->data + o->sent, q->len - o->sent);
        if (k < 0 || (k == 0 && co_wait_fd(o->fd, CO_WRITABLE, CO_FOREVER) != 0))
            o->error = errno;
        else
            o->sent += (size_t)k;
    }
    q->len = o->sent = 0;
    if (q->cap > 1 << 20) {          /* after a big queue, give the memory back */
        free(q->data);
        *q = (struct bytes){0};
    }
}

static bool outbox_queue(struct outbox *o, const char *p, size_t n)
{
    return bytes_put(&o->queue, p, n) &&
           (o->sender != NULL || (o->sender = create_ctx_sized(outbox_drain, o, CONNECTION_STACK)) != NULL);
}

/* Send 'n' bytes after those queued before, without waiting unless the
 * queue is past OUTBOX_MAX. Returns false once the connection has failed
 * (errno set), or on a cancel while waiting. */
static bool outbox_send(struct outbox *o, const char *p, size_t n)
{
    if (o->sender != NULL && is_ctx_finished(o->sender)) {
        destroy_ctx(o->sender);
        o->sender = NULL;
    }
    if (o->error != 0) {
        errno = o->error;
        return false;
    }
    if (o->sender == NULL) {         /* nothing queued: straight out */
        ssize_t k = send_now(o->fd, p, n);
        if (k < 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    if (n > 0 && !outbox_queue(o, p, n))
        return false;
    if (o->queue.len - o->sent > OUTBOX_MAX && join_ctx(o->sender, CO_FOREVER) != 0)
        return false;
    return o->error == 0;
}

/* The connection is ending: what is queued goes first, unless the server
 * is stopping (a cancel), which cuts it short. */
static void outbox_close(struct outbox *o)
{
    if (o->sender != NULL) {
        join_ctx(o->sender, CO_FOREVER);
        destroy_ctx(o->sender);
    }
    free(o->queue.data);
}

/* }===================================================================== */

struct connection {
    struct connection *prev, *next;
    struct shard *shard;
    sp_ctx ctx;
    int fd;
};

/* One thread's share of the server: its socket and its connections. */
struct shard {
    pthread_t thread;
    const struct server *server;
    int index;
    int listener;
    int stop;                        /* readable (end of file) when stopping */
    struct connection live;          /* the list's head */
    size_t count;
};

static void connection_main(void *arg)
{
    struct connection *c = arg;
    c->shard->server->serve(c->fd);
    co_close(c->fd);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->shard->count--;
    free(c);
}

/* Name a connection's coroutine by its peer ("conn 10.0.0.7:51234"), so
 * that a dump (COROUTINE_DUMP_SIGNAL) or a stall report says whose it is. */
static void name_by_peer(sp_ctx ctx, int fd)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    char host[INET6_ADDRSTRLEN] = "?", name[64];
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) {
        if (peer.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&peer;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (peer.ss_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&peer;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(name, sizeof name, "conn %s:%d", host, port);
    set_ctx_name(ctx, name);
}

static void start_connection(struct shard *s, int fd)
{
    struct connection *c = malloc(sizeof *c);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c == NULL || (c->ctx = create_ctx_sized(connection_main, c, CONNECTION_STACK)) == NULL) {
        free(c);
        co_close(fd);              /* out of memory: this client goes */
        return;
    }
    *c = (struct connection){&s->live, s->live.next, s, c->ctx, fd};
    name_by_peer(c->ctx, fd);
    s->live.next->prev = c;
    s->live.next = c;
    s->count++;
    detach_ctx(c->ctx);
}

static void accept_loop(void *arg)
{
    struct shard *s = arg;
    for (;;) {
        int fd = co_accept(s->listener, NULL, NULL, CO_FOREVER);
        if (fd < 0) {                /* co_accept rides out running short itself */
            if (errno != ECANCELED)
                perror("server: accept");
            return;                  /* the connections served go on */
        }
        start_connection(s, fd);
    }
}

/* Runs a shard's thread: accept until told to stop, then cancel every
 * connection and wait for them all to close. */
static void *shard_main(void *arg)
{
    struct shard *s = arg;
    char byte;
    s->live.prev = s->live.next = &s->live;
    if (s->server->thread_start != NULL)
        s->server->thread_start(s->index);
    sp_ctx acceptor = create_ctx(accept_loop, s);
    if (acceptor == NULL) {
        perror("server: create_ctx");
        exit(1);
    }
    while (co_read(s->stop, &byte, 1, CO_FOREVER) < 0 && errno == EINTR)
        ;
    cancel_ctx(acceptor);
    join_ctx(acceptor, CO_FOREVER);
    destroy_ctx(acceptor);
    for (struct connection *c = s->live.next; c != &s->live; c = c->next)
        cancel_ctx(c->ctx);
    while (s->count > 0)
        yield_ctx();
    co_close(s->listener);
    if (s->server->thread_end != NULL)
        s->server->thread_end();
    return NULL;
}

static int parse_option(int argc, char **argv, int i, const char *name, int *value)
{
    if (strcmp(argv[i], name) != 0)
        return 0;
    char *end;
    long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
    if (i + 1 >= argc || *end != '\0' || v < 0 || v > 65535) {
        fprintf(stderr, "%s needs a number from 0 to 65535\n", name);
        exit(2);
    }
    *value = (int)v;
    return 1;
}

#define MAX_THREADS 64

/* Listen with --threads threads and serve every connection until SIGINT
 * or SIGTERM. */
static int serve_main(int argc, char **argv, const struct server *server)
{
    int port = server->default_port, threads = 1, pipe_fds[2];
    for (int i = 1; i < argc; i++) {
        if (parse_option(argc, argv, i, "--port", &port) || parse_option(argc, argv, i, "--threads", &threads)) {
            i++;
            continue;
        }
        fprintf(stderr, "usage: %s [--port N] [--threads N]\n", argv[0]);
        return 2;
    }
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "%s: --threads must be from 1 to %d\n", argv[0], MAX_THREADS);
        return 2;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);   /* the threads inherit it */
    signal(SIGPIPE, SIG_IGN);
    struct shard *shards = calloc((size_t)threads, sizeof *shards);
    if (shards == NULL || pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror(argv[0]);
        return 1;
    }
    for (int i = 0; i < threads; i++) {
        shards[i].server = server;
        shards[i].index = i;
        shards[i].stop = pipe_fds[0];
        shards[i].listener = co_listen("127.0.0.1", port, threads > 1 ? CO_REUSEPORT : 0);
        if (shards[i].listener < 0) {
            fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d: %s\n", argv[0], port, strerror(errno));
            return 1;
        }
        port = co_port(shards[i].listener);      /* the one picked for --port 0 */
    }
    if (server->prepare != NULL)
        server->prepare(threads);
    for (int i = 0; i < threads; i++)
        pthread_create(&shards[i].thread, NULL, shard_main, &shards[i]);
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    int signals[] = {SIGINT, SIGTERM};
    while (co_wait_signal(signals, 2, CO_FOREVER) < 0)
        ;
    close(pipe_fds[1]);                          /* every shard reads end of file */
    for (int i = 0; i < threads; i++)
        pthread_join(shards[i].thread, NULL);
    close(pipe_fds[0]);
    free(shards);
    return 0;
}

#endif
