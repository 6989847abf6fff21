/* skynet.c - skynet (github.com/atemerev/skynet) with this library, as a
 * new user would write it: each coroutine makes 10 children, down to
 * 1,000,000 leaves (1,111,111 coroutines in all, 16 KiB stacks, children
 * detached); each leaf sends its number up an unbuffered channel, each
 * parent sums its 10 and sends the sum up. Prints one line:
 *
 *     skynet: SUM, MS ms, KB KB peak, FAULTS faults
 *
 * and then, with "burst", a server-shaped burst: 100,000 coroutines made
 * at once, each sleeping 1 ms and returning, ten rounds, with the page
 * faults of the first round and the most of any later one.
 *
 *     skynet [LEAVES] [burst]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "coroutine_chan.h"

struct job {
    co_chan *up;
    long num, size;
};

static void skynet(void *arg)
{
    struct job job = *(struct job *)arg;
    free(arg);
    if (job.size == 1) {
        co_chan_send(job.up, &job.num, CO_FOREVER);
        return;
    }
    co_chan *mine = co_chan_create(sizeof(long), 0);
    long sub = job.size / 10, sum = 0, v;
    for (long i = 0; i < 10; i++) {
        struct job *child = malloc(sizeof *child);
        *child = (struct job){mine, job.num + i * sub, sub};
        detach_ctx(create_ctx_sized(skynet, child, 16 * 1024));
    }
    for (int i = 0; i < 10; i++) {
        co_chan_recv(mine, &v, CO_FOREVER);
        sum += v;
    }
    co_chan_destroy(mine);
    co_chan_send(job.up, &sum, CO_FOREVER);
}

static long faults(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt + u.ru_majflt;
}

static void run_skynet(long leaves)
{
    co_chan *top = co_chan_create(sizeof(long), 0);
    struct job *root = malloc(sizeof *root);
    *root = (struct job){top, 0, leaves};
    long f = faults(), sum;
    int64_t t = co_now();
    detach_ctx(create_ctx_sized(skynet, root, 16 * 1024));
    co_chan_recv(top, &sum, CO_FOREVER);
    t = co_now() - t;
    f = faults() - f;
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    printf("skynet: %ld, %.1f ms, %ld KB peak, %ld faults\n", sum, (double)t / 1e6, u.ru_maxrss, f);
    co_chan_destroy(top);
}

static void nap(void *arg)
{
    (void)arg;
    co_sleep(co_now() + CO_MSEC);
}

static void run_burst(void)
{
    enum { N = 100000, ROUNDS = 10 };
    static sp_ctx c[N];
    long first = 0, most = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long f = faults();
        for (int i = 0; i < N; i++)
            c[i] = create_ctx(nap, NULL);
        for (int i = 0; i < N; i++) {
            join_ctx(c[i], CO_FOREVER);
            destroy_ctx(c[i]);
        }
        f = faults() - f;
        if (r == 0)
            first = f;
        else if (f > most)
            most = f;
    }
    printf("burst: %ld faults in the first round, at most %ld in a later one\n", first, most);
}

int main(int argc, char **argv)
{
    run_skynet(argc > 1 ? atol(argv[1]) : 1000000);
    if (argc > 2 && strcmp(argv[2], "burst") == 0)
        run_burst();
    return 0;
}
