/* resp_server.c - a key-value server that speaks the Redis protocol, so
 * redis-cli and redis-benchmark use it unchanged: PING, ECHO, SET (EX, PX,
 * NX, XX, KEEPTTL, GET), GET, DEL, EXISTS, INCR, DECR, INCRBY, DECRBY,
 * MSET, MGET, DBSIZE, FLUSHALL, FLUSHDB, SELECT 0, QUIT, CONFIG GET (of
 * "save" and "appendonly"; else empty) and COMMAND (empty), with Redis's
 * replies (resp_commands.h). Commands a client sends before reading the
 * answers (pipelining) are answered with one write.
 *
 *     ./nob && ./build/examples/resp_server --port 6380 --threads 2 &
 *     redis-cli -p 6380 set greeting hello
 *
 * With --threads N the keyspace is sharded, shared-nothing, as Seastar
 * and Dragonfly do: a key belongs to one thread, picked by its hash, and
 * only that thread touches it. A connection, on whichever thread accepted
 * it, sends the part of a command that concerns another thread's key to
 * that thread's mailbox as a hop, and waits for the hop to come back
 * done. The owner runs parts one after another, so an INCR from any
 * number of connections loses nothing. A multi-key command is one hop
 * per key; DBSIZE and FLUSHALL visit every thread.
 */
#include "server.h"
#include "coroutine_chan.h"
#include "resp_commands.h"

/* {=====================================================================
 * Shards: which thread owns a key, and hops between threads
 * ====================================================================== */

/* The part of a command to run on another thread. The asker waits until
 * it comes back, so the call (and the reply it writes into) stays put. */
struct hop {
    void (*part)(struct call *);
    struct call *call;
    int from;                    /* the asking thread's index */
    bool done;
    co_chan *back;               /* the asking connection's */
};

static struct {
    int threads;
    uint64_t seed;               /* of the hash that picks a key's thread */
    co_mbox *mbox[MAX_THREADS];  /* each thread's hops, asked and answered */
    pthread_barrier_t ready;     /* every mailbox made */
    int idle, quiet;             /* atomic: threads past each stage of the end */
} shards;

static _Thread_local int this_shard;
static _Thread_local sp_ctx hop_runner;

static int owner_of(const char *key, size_t len)
{
    uint64_t h = shards.seed;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 0x100000001B3ULL;
    return (int)((h ^ (h >> 32)) % (uint64_t)shards.threads);
}

/* Send 'part' of 'c' to thread 'to' and wait for it to come back. A
 * cancel (the server stopping) cannot cut this short: the other thread
 * writes into this connection's reply meanwhile. */
static void hop(int to, struct call *c, void (*part)(struct call *))
{
    co_chan *back = c->asker;
    struct hop h = {part, c, this_shard, false, back}, *p = &h;
    if (co_mbox_send(shards.mbox[to], &p) != 0) {
        c->out->failed = true;       /* out of memory: the connection closes */
        return;
    }
    while (co_chan_recv(back, &p, CO_FOREVER) != 0)
        yield_ctx();                 /* cancelled: wait on, letting others run */
}

static void route_at_key(struct call *c, void (*part)(struct call *))
{
    int to = owner_of(arg(c, 1), c->args[1].len);
    if (to == this_shard)
        part(c);
    else
        hop(to, c, part);
}

static void route_everywhere(struct call *c, void (*part)(struct call *))
{
    for (int to = 0; to < shards.threads; to++)
        if (to == this_shard)
            part(c);
        else
            hop(to, c, part);
}

/* Each thread's runner of hops: parts other threads ask for, run and sent
 * back; and hops of this thread's connections, come back done. */
static void run_hops(void *unused)
{
    (void)unused;
    struct hop *h;
    while (co_mbox_recv(shards.mbox[this_shard], &h, CO_FOREVER) == 0) {
        if (h->done) {
            co_chan_send(h->back, &h, CO_FOREVER);     /* room for one: never waits */
            continue;
        }
        h->part(h->call);
        h->done = true;
        if (co_mbox_send(shards.mbox[h->from], &h) != 0) {
            fprintf(stderr, "resp_server: cannot answer a hop: %s\n", strerror(errno));
            abort();                 /* its asker would wait for ever */
        }
    }
}

static void prepare(int threads)
{
    shards.threads = threads;
    shards.seed = (uint64_t)clock_ns() * 0x9E3779B97F4A7C15ULL;
    if (threads > 1) {
        pthread_barrier_init(&shards.ready, NULL, (unsigned)threads);
        router = (struct router){route_at_key, route_everywhere};
    }
}

static void shard_start(int index)
{
    this_shard = index;
    db_seed();
    if (shards.threads == 1)
        return;
    shards.mbox[index] = co_mbox_create(sizeof(struct hop *));
    hop_runner = create_ctx(run_hops, NULL);
    if (shards.mbox[index] == NULL || hop_runner == NULL) {
        perror("resp_server: a thread's mailbox");
        exit(1);
    }
    pthread_barrier_wait(&shards.ready);      /* before any hop is sent */
}

/* Until 'count' reaches every thread, still running others' hops. */
static void wait_for_all(int *count)
{
    __atomic_add_fetch(count, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(count, __ATOMIC_SEQ_CST) < shards.threads)
        co_sleep(co_now() + CO_MSEC);
}

/* The thread's connections are closed. Once every thread's are, no hop
 * is asked any more; once every thread has seen that, none is being
 * answered either, and the mailboxes can go. */
static void shard_end(void)
{
    if (shards.threads > 1) {
        wait_for_all(&shards.idle);
        wait_for_all(&shards.quiet);
        co_mbox_close(shards.mbox[this_shard]);
        join_ctx(hop_runner, CO_FOREVER);
        destroy_ctx(hop_runner);
        co_mbox_destroy(shards.mbox[this_shard]);
    }
    db_flush();                               /* no hop can reach it now */
    free(db.buckets);
}

/* }===================================================================== */

/* {=====================================================================
 * A connection: read, run every whole command, write every answer
 * ====================================================================== */

static void resp(int fd)
{
    struct client cl;
    struct outbox out = {.fd = fd};
    bool go_on = client_init(&cl);
    if (go_on && shards.threads > 1)
        go_on = (cl.asker = co_chan_create(sizeof(struct hop *), 1)) != NULL;
    while (go_on) {
        if ((go_on = client_room(&cl))) {
            ssize_t n = co_read(fd, cl.buf + cl.len, cl.cap - cl.len, CO_FOREVER);
            if (n <= 0)
                break;
            client_received(&cl, (size_t)n, &go_on);
        }
        if (cl.out.len > 0 && !outbox_send(&out, cl.out.data, cl.out.len))
            break;
        client_sent(&cl);
    }
    outbox_close(&out);
    co_chan_destroy(cl.asker);
    client_free(&cl);
}

/* }===================================================================== */

int main(int argc, char **argv)
{
    static const struct server server = {
        .serve = resp, .default_port = 6379,
        .prepare = prepare, .thread_start = shard_start, .thread_end = shard_end,
    };
    return serve_main(argc, argv, &server);
}
