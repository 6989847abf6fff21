/* resp_epoll.c - resp_server without coroutines: the same commands
 * (examples/resp_commands.h) behind a bare epoll loop with a callback per
 * event, as Redis's own event loop is written. The benchmark runs both,
 * to show what writing the server in blocking style costs.
 *
 *     resp_epoll [--port N]      prints "listening on 127.0.0.1:N"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../examples/resp_commands.h"

/* What epoll hands back: who to call for an event on which descriptor. */
struct handler {
    void (*on_event)(struct handler *h, uint32_t events);
    int fd;
};

struct connection {
    struct handler h;            /* first: a handler is a connection */
    struct client cl;
    size_t sent;                 /* of cl.out, while waiting to write */
    bool go_on;
};

static int poller;

static void watch(struct handler *h, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = h};
    epoll_ctl(poller, op, h->fd, &ev);
}

static void drop(struct connection *c)
{
    close(c->h.fd);              /* closing also takes it out of epoll */
    client_free(&c->cl);
    free(c);
}

/* Write what is left of the answers: true when all went out. */
static bool flush(struct connection *c)
{
    while (c->sent < c->cl.out.len) {
        ssize_t n = send(c->h.fd, c->cl.out.data + c->sent, c->cl.out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0)
            return false;
        c->sent += (size_t)n;
    }
    c->sent = 0;
    client_sent(&c->cl);
    return true;
}

static void on_connection(struct handler *h, uint32_t events)
{
    struct connection *c = (struct connection *)h;
    if (events & EPOLLOUT) {
        if (!flush(c)) {
            if (errno != EAGAIN)
                drop(c);
            return;
        }
        if (!c->go_on) {
            drop(c);
            return;
        }
        watch(h, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
    if ((c->go_on = client_room(&c->cl))) {
        ssize_t n = read(h->fd, c->cl.buf + c->cl.len, c->cl.cap - c->cl.len);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            drop(c);
            return;
        }
        if (n > 0)
            client_received(&c->cl, (size_t)n, &c->go_on);
    }
    if (!flush(c)) {
        if (errno != EAGAIN) {
            drop(c);
            return;
        }
        watch(h, EPOLLOUT, EPOLL_CTL_MOD);   /* the rest when there is room */
    } else if (!c->go_on) {
        drop(c);
    }
}

static void on_listener(struct handler *h, uint32_t events)
{
    (void)events;
    int fd, one = 1;
    while ((fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct connection *c = malloc(sizeof *c);
        if (c == NULL || !client_init(&c->cl)) {
            free(c);
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->h = (struct handler){on_connection, fd};
        c->sent = 0;
        c->go_on = true;
        watch(&c->h, EPOLLIN, EPOLL_CTL_ADD);
    }
}

int main(int argc, char **argv)
{
    int port = argc == 3 ? atoi(argv[2]) : 0, one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    struct handler listener = {on_listener, socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)};
    setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener.fd, SOMAXCONN) != 0 ||
        getsockname(listener.fd, (struct sockaddr *)&a, &len) != 0) {
        perror("resp_epoll");
        return 1;
    }
    db_seed();
    poller = epoll_create1(EPOLL_CLOEXEC);
    watch(&listener, EPOLLIN, EPOLL_CTL_ADD);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        struct epoll_event events[256];
        int n = epoll_wait(poller, events, 256, -1);
        for (int i = 0; i < n; i++) {
            struct handler *h = events[i].data.ptr;
            h->on_event(h, events[i].events);
        }
    }
}
