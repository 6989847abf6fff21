/* resp_server.c - a key-value server that speaks the Redis protocol, so
 * redis-cli and redis-benchmark use it unchanged: PING, ECHO, SET (EX, PX,
 * NX, XX, KEEPTTL, GET), GET, DEL, EXISTS, INCR, DECR, INCRBY, DECRBY,
 * MSET, MGET, DBSIZE, FLUSHALL, FLUSHDB, SELECT 0, QUIT, CONFIG GET (of
 * "save" and "appendonly"; else empty) and COMMAND (empty), with Redis's
 * replies (resp_commands.h). Commands a client sends before reading the
 * answers (pipelining) are answered with one write.
 *
 *     ./nob && ./build/examples/resp_server --port 6380 &
 *     redis-cli -p 6380 set greeting hello
 *
 * One thread: the keyspace is this thread's alone.
 */
#include "server.h"
#include "resp_commands.h"

/* {=====================================================================
 * A connection: read, run every whole command, write every answer
 * ====================================================================== */

static void resp(int fd)
{
    struct client cl;
    bool go_on = client_init(&cl);
    while (go_on) {
        if ((go_on = client_room(&cl))) {
            ssize_t n = co_read(fd, cl.buf + cl.len, cl.cap - cl.len, CO_FOREVER);
            if (n <= 0)
                break;
            client_received(&cl, (size_t)n, &go_on);
        }
        if (cl.out.len > 0 && co_write(fd, cl.out.data, cl.out.len, CO_FOREVER) < 0)
            break;
        client_sent(&cl);
    }
    client_free(&cl);
}

/* }===================================================================== */

int main(int argc, char **argv)
{
    db_seed();
    return serve_main(argc, argv, resp, 6379, 1);
}
