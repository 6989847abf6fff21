/* echo_server.c - sends back every byte it receives, one coroutine per
 * connection, written as if reads and writes blocked.
 *
 *     ./nob && ./build/examples/echo_server --port 7000 &
 *     echo hello | nc -q1 127.0.0.1 7000
 */
#include "server.h"

static void echo(int fd)
{
    char buf[16384];
    struct outbox out = {.fd = fd};
    ssize_t n;
    while ((n = co_read(fd, buf, sizeof buf, CO_FOREVER)) > 0)
        if (!outbox_send(&out, buf, (size_t)n))
            break;
    outbox_close(&out);
}

int main(int argc, char **argv)
{
    static const struct server server = {.serve = echo, .default_port = 7000};
    return serve_main(argc, argv, &server);
}
