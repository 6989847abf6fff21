/* chan_walk.c - a random walk over channels, checked for conservation:
 * tests/test_chan.c runs a million steps of it, tests/fuzz/fuzz_chan.c
 * lets libFuzzer choose the steps. See chan_walk.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_walk.h"
#include "coroutine_chan.h"

/* Producers send numbered messages into three channels (unbuffered,
 * capacity 1, capacity 4), by send or select, with random deadlines;
 * consumers receive by recv or select, with random deadlines and
 * defaults; main cancels and destroys waiting coroutines at random, and
 * closes everything at the end; a worker cancelled or destroyed is
 * replaced by a new one in its place. What must hold: no message arrives
 * twice; each consumer sees each producer's messages on a channel in the
 * order they were sent (across consumers, who runs first is the rotation's
 * business); and at the end every message sent arrived, but for those a
 * producer was destroyed in the middle of sending, which may or may not
 * have. */

enum { CHANS = 3, PRODUCERS = 4, CONSUMERS = 3, WORKERS = PRODUCERS + CONSUMERS };

struct message {
    int producer, seq;
};

static struct walk {
    co_chan *ch[CHANS];
    uint64_t rng;
    const uint8_t *bytes;                    /* decisions to take first */
    size_t n_bytes;
    char failure[256];                       /* the first check that failed */
    long ops, ops_left;
    int sent[PRODUCERS][CHANS];              /* sends that returned 0 */
    int seen[PRODUCERS][CHANS];              /* how many arrived */
    int last[WORKERS][PRODUCERS][CHANS];     /* by consumer: the last seq seen */
    unsigned char arrived[PRODUCERS][CHANS][(1 << 20) / 8];   /* by seq, a bit */
    bool pending[PRODUCERS][CHANS];          /* a send to it is under way */
    int maybe[PRODUCERS][CHANS];             /* sends of destroyed producers */
    bool waiting[WORKERS], done[WORKERS];
    sp_ctx ctx[WORKERS];
} w;

/* A choice among 'n': the next input byte while there are any (the
 * fuzzer steers), then a xorshift. */
static uint32_t roll(uint32_t n)
{
    if (w.n_bytes > 0) {
        w.n_bytes--;
        return (uint32_t)(*w.bytes++) * n >> 8;
    }
    w.rng ^= w.rng << 13;
    w.rng ^= w.rng >> 7;
    w.rng ^= w.rng << 17;
    return (uint32_t)((w.rng >> 32) * n >> 32);
}

static int64_t random_deadline(void)
{
    switch (roll(4)) {
    case 0:
        return 0;                                  /* do not wait */
    case 1:
        return co_now() + (int64_t)roll(200) * CO_USEC;
    default:
        return CO_FOREVER;
    }
}

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    if (w.failure[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w.failure, sizeof w.failure, fmt, ap);
    va_end(ap);
}

/* Consumer 'me' got 'm' from channel 'k' (main drains as 0, a producer's
 * slot, which no consumer uses). */
static void arrived(int me, struct message m, int k)
{
    int p = m.producer;
    if (p < 0 || p >= PRODUCERS || m.seq <= 0 || m.seq >= (1 << 20)) {
        fail("a message from nowhere: producer %d, number %d", p, m.seq);
        return;
    }
    unsigned char *bit = &w.arrived[p][k][m.seq / 8], mask = (unsigned char)(1u << m.seq % 8);
    if (*bit & mask)
        fail("producer %d's message %d on channel %d arrived twice", p, m.seq, k);
    *bit |= mask;
    if (m.seq <= w.last[me][p][k])
        fail("consumer %d: producer %d's message %d on channel %d after %d", me, p, m.seq, k,
             w.last[me][p][k]);
    w.last[me][p][k] = m.seq;
    w.seen[p][k]++;
}

static void producer(void *arg)
{
    int me = (int)(intptr_t)arg;
    while (w.ops_left-- > 0) {
        int k = (int)roll(CHANS), r;
        struct message m = {me, w.sent[me][k] + 1};
        int k2 = (k + 1) % CHANS;
        w.waiting[me] = w.pending[me][k] = true;
        if (roll(2)) {
            r = co_chan_send(w.ch[k], &m, random_deadline());
        } else {                                   /* two cases: k, and k+1 */
            w.pending[me][k2] = true;
            struct message m2 = {me, w.sent[me][k2] + 1};
            struct co_case cases[] = {{w.ch[k], CO_SEND, &m, 0}, {w.ch[k2], CO_SEND, &m2, 0}};
            r = co_select(cases, 2, random_deadline());
            if (r >= 0 && cases[r].err != 0) {
                errno = cases[r].err;
                r = -1;
            }
            k = r == 1 ? k2 : k;
            r = r >= 0 ? 0 : -1;
        }
        w.waiting[me] = w.pending[me][k] = w.pending[me][k2] = false;
        if (r == 0)
            w.sent[me][k]++;
        else if (errno == EPIPE || errno == ECANCELED)
            break;
        if (roll(8) == 0)
            yield_ctx();
    }
    w.done[me] = true;
}

static void consumer(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (;;) {
        struct message m[CHANS];
        int k = (int)roll(CHANS), r;
        w.waiting[me] = true;
        if (roll(2)) {
            r = co_chan_recv(w.ch[k], &m[k], random_deadline());
        } else {
            struct co_case cases[CHANS];
            for (int i = 0; i < CHANS; i++)
                cases[i] = (struct co_case){w.ch[i], CO_RECV, &m[i], 0};
            r = co_select(cases, CHANS, random_deadline());
            if (r >= 0 && cases[r].err != 0) {
                errno = cases[r].err;
                r = -1;
            }
            k = r >= 0 ? r : k;
            r = r >= 0 ? 0 : -1;
        }
        w.waiting[me] = false;
        if (r == 0)
            arrived(me, m[k], k);
        else if (errno == ECANCELED || (errno == EPIPE && w.ops_left <= 0))
            break;
    }
    w.done[me] = true;
}

/* Now and then, cancel a worker that waits, or destroy a producer that
 * does. Not a consumer: one woken with a message and destroyed before it
 * ran would take the message with it, as it should, and the count with
 * it. A producer destroyed so may have sent the message it was sending:
 * its number is used up either way. */
static void meddle(void)
{
    int i = (int)roll(WORKERS);
    if (w.ctx[i] == NULL || w.done[i] || !w.waiting[i] || roll(512) != 0)
        return;
    if (roll(2) || i >= PRODUCERS) {
        co_cancel(w.ctx[i]);
        return;
    }
    for (int k = 0; k < CHANS; k++)
        if (w.pending[i][k]) {
            w.pending[i][k] = false;
            w.sent[i][k]++;
            w.maybe[i][k]++;
        }
    destroy_ctx(w.ctx[i]);
    w.ctx[i] = NULL;
    w.done[i] = true;
}

/* A worker in slot 'i' that finished (cancelled) or was destroyed gets a
 * successor, which goes on with its numbers. */
static void replace(int i)
{
    if (!w.done[i])
        return;
    if (w.ctx[i] != NULL)
        destroy_ctx(w.ctx[i]);
    w.done[i] = w.waiting[i] = false;
    w.ctx[i] = create_ctx_sized(i < PRODUCERS ? producer : consumer, (void *)(intptr_t)i, 64 * 1024);
}

const char *chan_walk(uint64_t seed, const uint8_t *bytes, size_t n, long ops, long *total)
{
    memset(&w, 0, sizeof w);
    w.rng = seed | 1;
    w.bytes = bytes;
    w.n_bytes = n;
    w.ops_left = ops;
    size_t caps[CHANS] = {0, 1, 4};
    for (int k = 0; k < CHANS; k++)
        w.ch[k] = co_chan_create(sizeof(struct message), caps[k]);
    for (int i = 0; i < WORKERS; i++)
        w.ctx[i] = create_ctx_sized(i < PRODUCERS ? producer : consumer,
                                    (void *)(intptr_t)i, 64 * 1024);
    while (w.ops_left > 0) {
        meddle();
        yield_ctx();
        for (int i = 0; i < WORKERS && w.ops_left > 0; i++)
            replace(i);
    }
    w.ops_left = 0;
    for (int i = 0; i < PRODUCERS; i++)            /* the producers stop first */
        if (w.ctx[i] != NULL) {
            co_cancel(w.ctx[i]);
            co_join(w.ctx[i], CO_FOREVER);
        }
    bool consuming = false;
    for (int i = PRODUCERS; i < WORKERS; i++)
        consuming |= !w.done[i];
    for (int k = 0; k < CHANS; k++)
        co_chan_close(w.ch[k]);
    struct message m;
    for (int k = 0; k < CHANS && !consuming; k++)  /* nobody left to drain them */
        while (co_chan_recv(w.ch[k], &m, 0) == 0)
            arrived(0, m, k);
    for (int i = 0; i < WORKERS; i++)
        if (w.ctx[i] != NULL) {
            co_join(w.ctx[i], CO_FOREVER);
            destroy_ctx(w.ctx[i]);
        }
    for (int k = 0; k < CHANS; k++) {
        while (co_chan_recv(w.ch[k], &m, 0) == 0)  /* what the last consumer left */
            arrived(0, m, k);
        co_chan_destroy(w.ch[k]);
    }
    *total = 0;
    for (int p = 0; p < PRODUCERS; p++)
        for (int k = 0; k < CHANS; k++) {
            *total += w.seen[p][k];
            if (w.seen[p][k] > w.sent[p][k] || w.seen[p][k] < w.sent[p][k] - w.maybe[p][k])
                fail("producer %d, channel %d: sent %d, received %d", p, k, w.sent[p][k],
                     w.seen[p][k]);
        }
    return w.failure[0] ? w.failure : NULL;
}
