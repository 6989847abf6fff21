/* chan.c - what a message costs over coroutine_chan.h's channels: one
 * value ping-ponged over an unbuffered channel, a producer and a consumer
 * over a buffered one of 128, a consumer selecting over four channels, and
 * the floor: two bare switch_ctx calls; between two threads, a round trip
 * through mailboxes, its floor (a counter handed through one cache line,
 * both threads spinning), and through a pair of pipes; and a co_offload of a
 * function that does nothing. Prints "NAME: X ns" per
 * line, the best of three runs; bench/chan/run.sh compares them with Go's.
 *
 *     chan [N]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "coroutine_chan.h"

static long n = 2000000;
static co_chan *ping, *pong, *four[4];

static double ns_since(int64_t start, long count)
{
    return (double)(co_now() - start) / (double)count;
}

static void ponger(void *unused)
{
    (void)unused;
    for (long v; co_chan_recv(ping, &v, CO_FOREVER) == 0;)
        co_chan_send(pong, &v, CO_FOREVER);
}

/* ns per message: each round trip is two messages. */
static double ping_pong(void)
{
    ping = co_chan_create(sizeof(long), 0);
    pong = co_chan_create(sizeof(long), 0);
    sp_ctx c = create_ctx(ponger, NULL);
    int64_t start = co_now();
    for (long i = 0; i < n; i++) {
        co_chan_send(ping, &i, CO_FOREVER);
        co_chan_recv(pong, &i, CO_FOREVER);
    }
    double ns = ns_since(start, 2 * n);
    co_chan_close(ping);
    join_ctx(c, CO_FOREVER);
    destroy_ctx(c);
    co_chan_destroy(ping);
    co_chan_destroy(pong);
    return ns;
}

static void producer(void *ch)
{
    for (long i = 0; i < n; i++)
        co_chan_send(ch, &i, CO_FOREVER);
    co_chan_close(ch);
}

static double buffered(void)
{
    co_chan *ch = co_chan_create(sizeof(long), 128);
    sp_ctx c = create_ctx(producer, ch);
    int64_t start = co_now();
    long v, sum = 0;
    while (co_chan_recv(ch, &v, CO_FOREVER) == 0)
        sum += v;
    double ns = ns_since(start, n);
    if (sum != n * (n - 1) / 2)
        abort();
    join_ctx(c, CO_FOREVER);
    destroy_ctx(c);
    co_chan_destroy(ch);
    return ns;
}

static void round_robin(void *unused)
{
    (void)unused;
    for (long i = 0; i < n; i++)
        co_chan_send(four[i % 4], &i, CO_FOREVER);
}

static double select_four(void)
{
    long v[4];
    struct co_case cases[4];
    for (int i = 0; i < 4; i++) {
        four[i] = co_chan_create(sizeof(long), 0);
        cases[i] = (struct co_case){four[i], CO_RECV, &v[i], 0};
    }
    sp_ctx c = create_ctx(round_robin, NULL);
    int64_t start = co_now();
    for (long i = 0; i < n; i++)
        co_select(cases, 4, CO_FOREVER);
    double ns = ns_since(start, n);
    join_ctx(c, CO_FOREVER);
    destroy_ctx(c);
    for (int i = 0; i < 4; i++)
        co_chan_destroy(four[i]);
    return ns;
}

static sp_ctx partner;

static void switch_back(void *unused)
{
    (void)unused;
    for (;;)
        switch_ctx(NULL);
}

/* Two bare switches: there and back. */
static double two_switches(void)
{
    partner = create_ctx(switch_back, NULL);
    int64_t start = co_now();
    for (long i = 0; i < n; i++)
        switch_ctx(partner);
    double ns = ns_since(start, n);
    destroy_ctx(partner);
    return ns;
}

static co_mbox *to_echo, *to_main;

static void *echo_mbox(void *unused)
{
    (void)unused;
    long v;
    to_echo = co_mbox_create(sizeof v);
    co_mbox_send(to_main, &v);                     /* ready */
    while (co_mbox_recv(to_echo, &v, CO_FOREVER) == 0)
        co_mbox_send(to_main, &v);
    co_mbox_destroy(to_echo);
    return NULL;
}

/* ns per round trip between two threads. */
static double cross_thread(void)
{
    pthread_t t;
    long v, rounds = n / 10;
    to_main = co_mbox_create(sizeof v);
    pthread_create(&t, NULL, echo_mbox, NULL);
    co_mbox_recv(to_main, &v, CO_FOREVER);
    int64_t start = co_now();
    for (long i = 0; i < rounds; i++) {
        co_mbox_send(to_echo, &i);
        co_mbox_recv(to_main, &v, CO_FOREVER);
    }
    double ns = ns_since(start, rounds);
    co_mbox_close(to_echo);
    pthread_join(t, NULL);
    co_mbox_destroy(to_main);
    return ns;
}

static long line;                /* the one cache line two spinning threads share */

static void *spin_back(void *unused)
{
    (void)unused;
    for (long i = 1;; i += 2) {
        while (__atomic_load_n(&line, __ATOMIC_ACQUIRE) != i)
            if (__atomic_load_n(&line, __ATOMIC_ACQUIRE) < 0)
                return NULL;
        __atomic_store_n(&line, i + 1, __ATOMIC_RELEASE);
    }
}

/* The floor between threads: a counter handed back and forth through
 * one cache line, both threads spinning. ns per round trip. */
static double spinning(void)
{
    pthread_t t;
    long rounds = n / 10;
    line = 0;
    pthread_create(&t, NULL, spin_back, NULL);
    int64_t start = co_now();
    for (long i = 0; i < rounds; i++) {
        __atomic_store_n(&line, 2 * i + 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&line, __ATOMIC_ACQUIRE) != 2 * i + 2)
            ;
    }
    double ns = ns_since(start, rounds);
    __atomic_store_n(&line, -1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    return ns;
}

static int there[2], back[2];

static void *echo_pipe(void *unused)
{
    (void)unused;
    long v;
    while (read(there[0], &v, sizeof v) == (ssize_t)sizeof v)
        if (write(back[1], &v, sizeof v) != (ssize_t)sizeof v)
            break;
    return NULL;
}

/* The same over two pipes and blocking reads: what threads alone cost. */
static double pipes(void)
{
    pthread_t t;
    long v, rounds = n / 10;
    if (pipe(there) != 0 || pipe(back) != 0)
        abort();
    pthread_create(&t, NULL, echo_pipe, NULL);
    int64_t start = co_now();
    for (long i = 0; i < rounds; i++)
        if (write(there[1], &i, sizeof i) != (ssize_t)sizeof i ||
            read(back[0], &v, sizeof v) != (ssize_t)sizeof v)
            abort();
    double ns = ns_since(start, rounds);
    close(there[1]);
    pthread_join(t, NULL);
    close(there[0]);
    close(back[0]);
    close(back[1]);
    return ns;
}

static void nothing(void *unused)
{
    (void)unused;
}

/* ns per co_offload of a function that does nothing: the cost of taking
 * a call off the thread and back. */
static double offload(void)
{
    long rounds = n / 10;
    int64_t start = co_now();
    for (long i = 0; i < rounds; i++)
        if (co_offload(nothing, NULL, NULL, CO_FOREVER) != 0)
            abort();
    return ns_since(start, rounds);
}

static double best(double (*run)(void))
{
    double b = run();
    for (int i = 0; i < 2; i++) {
        double t = run();
        b = t < b ? t : b;
    }
    return b;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n = atol(argv[1]);
    printf("channel ping-pong: %.2f ns\n", best(ping_pong));
    printf("buffered channel: %.2f ns\n", best(buffered));
    printf("select: %.2f ns\n", best(select_four));
    printf("two switches: %.2f ns\n", best(two_switches));
    printf("cross-thread ping-pong: %.2f ns\n", best(cross_thread));
    printf("spinning ping-pong: %.2f ns\n", best(spinning));
    printf("pipe ping-pong: %.2f ns\n", best(pipes));
    printf("offload: %.2f ns\n", best(offload));
    return 0;
}
