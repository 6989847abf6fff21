/* Channels, select and the locks (coroutine_chan.h): what each promises,
 * the misuse each names, and a random walk checked for conservation. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "coroutine_chan.h"
#include "test.h"

/* {=====================================================================
 * Channels
 * ====================================================================== */

struct pair {
    co_chan *ch;
    int n;
    int got[64];
    int err;
};

static void send_n(void *arg)
{
    struct pair *p = arg;
    for (int i = 1; i <= p->n; i++)
        CHECK_EQ(co_chan_send(p->ch, &i, CO_FOREVER), 0);
}

TEST(an_unbuffered_send_waits_for_its_receiver)
{
    struct pair p = {.ch = co_chan_create(sizeof(int), 0), .n = 3};
    sp_ctx c = create_ctx(send_n, &p);
    yield_ctx();                                  /* it waits with 1 */
    CHECK(!is_ctx_finished(c));
    for (int i = 1; i <= 3; i++) {
        int v = 0;
        CHECK_EQ(co_chan_recv(p.ch, &v, CO_FOREVER), 0);
        CHECK_EQ(v, i);
    }
    CHECK_EQ(co_join(c, CO_FOREVER), 0);
    destroy_ctx(c);
    co_chan_destroy(p.ch);
}

TEST(a_buffered_channel_keeps_order_and_waits_only_when_full)
{
    co_chan *ch = co_chan_create(sizeof(int), 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(co_chan_send(ch, &i, 0), 0);     /* room: no wait */
    int v = 99;
    CHECK_EQ(co_chan_send(ch, &v, 0), -1);        /* full, and told not to wait */
    CHECK_EQ(errno, ETIMEDOUT);
    struct pair p = {.ch = ch, .n = 3};
    sp_ctx c = create_ctx(send_n, &p);            /* sends 1, 2, 3 behind 0..3 */
    yield_ctx();
    int want[] = {0, 1, 2, 3, 1, 2, 3};
    for (int i = 0; i < 7; i++) {
        CHECK_EQ(co_chan_recv(ch, &v, CO_FOREVER), 0);
        CHECK_EQ(v, want[i]);
    }
    CHECK_EQ(co_chan_recv(ch, &v, 0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    co_join(c, CO_FOREVER);
    destroy_ctx(c);
    co_chan_destroy(ch);
}

static void recv_all(void *arg)
{
    struct pair *p = arg;
    int v;
    while (p->n < 64 && co_chan_recv(p->ch, &v, CO_FOREVER) == 0)
        p->got[p->n++] = v;
    p->err = errno;
}

TEST(closing_drains_then_says_epipe)
{
    co_chan *ch = co_chan_create(sizeof(int), 2);
    int one = 1, two = 2;
    co_chan_send(ch, &one, 0);
    co_chan_send(ch, &two, 0);
    co_chan_close(ch);
    CHECK_EQ(co_chan_send(ch, &one, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    struct pair p = {.ch = ch};
    recv_all(&p);
    CHECK_EQ(p.n, 2);
    CHECK_EQ(p.got[0], 1);
    CHECK_EQ(p.got[1], 2);
    CHECK_EQ(p.err, EPIPE);
    co_chan_destroy(ch);
}

static void send_one(void *arg)
{
    struct pair *p = arg;
    int v = 7;
    p->err = co_chan_send(p->ch, &v, CO_FOREVER) == 0 ? 0 : errno;
}

TEST(closing_wakes_waiting_senders_and_receivers)
{
    struct pair r = {.ch = co_chan_create(sizeof(int), 0)}, s = {.ch = co_chan_create(sizeof(int), 0)};
    sp_ctx a = create_ctx(recv_all, &r), b = create_ctx(send_one, &s);
    yield_ctx();
    co_chan_close(r.ch);
    co_chan_close(s.ch);
    co_join(a, CO_FOREVER);
    co_join(b, CO_FOREVER);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(r.err, EPIPE);
    CHECK_EQ(s.err, EPIPE);
    destroy_ctx(a);
    destroy_ctx(b);
    co_chan_destroy(r.ch);
    co_chan_destroy(s.ch);
}

static void recv_with_deadline(void *arg)
{
    struct pair *p = arg;
    int v;
    p->err = co_chan_recv(p->ch, &v, co_now() + 60 * CO_SEC) == 0 ? 0 : errno;
}

TEST(waits_on_channels_time_out_are_cancelled_and_destroyed)
{
    co_chan *ch = co_chan_create(sizeof(int), 0);
    int v;
    int64_t t = co_now();
    CHECK_EQ(co_chan_recv(ch, &v, t + 2 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(co_now() >= t + 2 * CO_MSEC);
    struct pair p = {.ch = ch};
    sp_ctx c = create_ctx(recv_with_deadline, &p);
    yield_ctx();
    co_cancel(c);
    co_join(c, CO_FOREVER);
    CHECK_EQ(p.err, ECANCELED);
    destroy_ctx(c);
    c = create_ctx(recv_with_deadline, &p);
    yield_ctx();
    destroy_ctx(c);                               /* it leaves the queue */
    v = 5;
    CHECK_EQ(co_chan_send(ch, &v, 0), -1);        /* nobody receives now */
    CHECK_EQ(errno, ETIMEDOUT);
    co_chan_destroy(ch);
}

TEST(bad_channel_arguments_say_einval)
{
    CHECK(co_chan_create(0, 4) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK(co_chan_create(SIZE_MAX / 2, 4) == NULL);
    CHECK_EQ(errno, EINVAL);
    co_chan_destroy(NULL);
}

/* }===================================================================== */

/* {=====================================================================
 * Select
 * ====================================================================== */

TEST(select_picks_ready_cases_fairly)
{
    co_chan *a = co_chan_create(sizeof(int), 1), *b = co_chan_create(sizeof(int), 1);
    int count[2] = {0, 0}, x = 1, va, vb;
    for (int i = 0; i < 10000; i++) {
        co_chan_send(a, &x, 0);                   /* both always ready */
        co_chan_send(b, &x, 0);
        struct co_case cases[] = {{a, CO_RECV, &va, 0}, {b, CO_RECV, &vb, 0}};
        int k = co_select(cases, 2, 0);
        CHECK(k == 0 || k == 1);
        count[k]++;
        co_chan_recv(k == 0 ? b : a, &x, 0);      /* empty the other */
    }
    CHECK(count[0] > 4500 && count[1] > 4500);
    co_chan_destroy(a);
    co_chan_destroy(b);
}

static void send_later(void *arg)
{
    struct pair *p = arg;
    co_sleep(co_now() + CO_MSEC);
    int v = 42;
    co_chan_send(p->ch, &v, CO_FOREVER);
}

TEST(select_waits_for_the_first_case_and_leaves_the_others)
{
    co_chan *a = co_chan_create(sizeof(int), 0), *b = co_chan_create(sizeof(int), 0);
    int va = 0, vb = 0;
    struct co_case cases[] = {{a, CO_RECV, &va, 0}, {b, CO_RECV, &vb, 0}};
    CHECK_EQ(co_select(cases, 2, 0), -1);         /* a default: nothing ready */
    CHECK_EQ(errno, ETIMEDOUT);
    struct pair p = {.ch = b};
    sp_ctx c = create_ctx(send_later, &p);
    CHECK_EQ(co_select(cases, 2, co_now() + 10 * CO_SEC), 1);
    CHECK_EQ(vb, 42);
    CHECK_EQ(cases[1].err, 0);
    co_join(c, CO_FOREVER);
    destroy_ctx(c);
    int v = 1;                                    /* a's queue holds nobody now */
    CHECK_EQ(co_chan_send(a, &v, 0), -1);
    co_chan_close(a);
    CHECK_EQ(co_select(cases, 2, CO_FOREVER), 0); /* closed: ready, with EPIPE */
    CHECK_EQ(cases[0].err, EPIPE);
    co_chan_destroy(a);
    co_chan_destroy(b);
}

static void recv_one(void *arg)
{
    struct pair *p = arg;
    int v;
    p->err = co_chan_recv(p->ch, &v, CO_FOREVER);
    p->got[0] = v;
}

TEST(select_sends_too)
{
    co_chan *a = co_chan_create(sizeof(int), 0);
    struct pair p = {.ch = a};
    sp_ctx c = create_ctx(recv_one, &p);
    int v = 9;
    struct co_case cases[] = {{a, CO_SEND, &v, 0}};
    CHECK_EQ(co_select(cases, 1, co_now() + 10 * CO_SEC), 0);
    co_join(c, CO_FOREVER);
    CHECK_EQ(p.got[0], 9);
    destroy_ctx(c);
    struct co_case bad[] = {{a, 3, &v, 0}};
    CHECK_EQ(co_select(bad, 1, 0), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(co_select(bad, 0, 0), -1);
    co_chan_destroy(a);
}

/* }===================================================================== */

/* {=====================================================================
 * Locks
 * ====================================================================== */

struct locked {
    co_mutex *m;
    co_cond *c;
    int *log, *n, who;
    bool ready;
};

static void take_and_log(void *arg)
{
    struct locked *l = arg;
    CHECK_EQ(co_mutex_lock(l->m, CO_FOREVER), 0);
    l->log[(*l->n)++] = l->who;
    yield_ctx();                                  /* holding it */
    co_mutex_unlock(l->m);
}

TEST(a_mutex_goes_to_its_waiters_in_order)
{
    co_mutex *m = co_mutex_create();
    int log[4], n = 0;
    struct locked l[4];
    sp_ctx c[4];
    CHECK_EQ(co_mutex_lock(m, CO_FOREVER), 0);
    for (int i = 0; i < 4; i++) {
        l[i] = (struct locked){.m = m, .log = log, .n = &n, .who = i};
        c[i] = create_ctx(take_and_log, &l[i]);
        switch_ctx(c[i]);                         /* queue them 0, 1, 2, 3 */
    }
    co_mutex_unlock(m);
    for (int i = 0; i < 4; i++) {
        co_join(c[i], CO_FOREVER);
        destroy_ctx(c[i]);
    }
    for (int i = 0; i < 4; i++)
        CHECK_EQ(log[i], i);
    co_mutex_destroy(m);
}

static void wait_for_ready(void *arg)
{
    struct locked *l = arg;
    co_mutex_lock(l->m, CO_FOREVER);
    while (!l->ready)
        CHECK_EQ(co_cond_wait(l->c, l->m, CO_FOREVER), 0);
    (*l->n)++;
    co_mutex_unlock(l->m);
}

TEST(a_condition_variable_signals_and_broadcasts)
{
    co_mutex *m = co_mutex_create();
    co_cond *c = co_cond_create();
    int n = 0;
    struct locked l = {.m = m, .c = c, .n = &n};
    sp_ctx w[3];
    for (int i = 0; i < 3; i++)
        w[i] = create_ctx(wait_for_ready, &l);
    yield_ctx();                                  /* all three wait */
    co_mutex_lock(m, CO_FOREVER);
    l.ready = true;
    co_cond_broadcast(c);
    co_mutex_unlock(m);
    for (int i = 0; i < 3; i++) {
        co_join(w[i], CO_FOREVER);
        destroy_ctx(w[i]);
    }
    CHECK_EQ(n, 3);
    co_mutex_lock(m, CO_FOREVER);
    CHECK_EQ(co_cond_wait(c, m, co_now() + CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    co_mutex_unlock(m);                           /* held again after the timeout */
    co_cond_destroy(c);
    co_mutex_destroy(m);
}

static void sem_user(void *arg)
{
    co_sem *s = arg;
    CHECK_EQ(co_sem_acquire(s, CO_FOREVER), 0);
    yield_ctx();
    co_sem_release(s);
}

TEST(a_semaphore_and_a_wait_group)
{
    co_sem *s = co_sem_create(2);
    co_wg *wg = co_wg_create();
    sp_ctx c[5];
    for (int i = 0; i < 5; i++)
        c[i] = create_ctx(sem_user, s);
    yield_ctx();
    CHECK_EQ(co_sem_acquire(s, 0), -1);           /* two hold it, three wait */
    CHECK_EQ(errno, ETIMEDOUT);
    for (int i = 0; i < 5; i++) {
        co_join(c[i], CO_FOREVER);
        destroy_ctx(c[i]);
    }
    CHECK_EQ(co_sem_acquire(s, 0), 0);
    CHECK_EQ(co_wg_wait(wg, 0), 0);
    co_wg_add(wg, 2);
    CHECK_EQ(co_wg_wait(wg, 0), -1);
    co_wg_add(wg, -2);
    CHECK_EQ(co_wg_wait(wg, 0), 0);
    co_sem_destroy(s);
    co_wg_destroy(wg);
}

/* }===================================================================== */

/* {=====================================================================
 * Misuse
 * ====================================================================== */

static void close_twice(void *unused)
{
    (void)unused;
    co_chan *ch = co_chan_create(1, 0);
    co_chan_close(ch);
    co_chan_close(ch);
}

static void unlock_unheld(void *unused)
{
    (void)unused;
    co_mutex_unlock(co_mutex_create());
}

static co_chan *shared;

static void *use_from_thread(void *unused)
{
    (void)unused;
    char b = 0;
    co_chan_send(shared, &b, 0);
    return NULL;
}

static void another_thread(void *unused)
{
    (void)unused;
    pthread_t t;
    shared = co_chan_create(1, 1);
    pthread_create(&t, NULL, use_from_thread, NULL);
    pthread_join(t, NULL);
}

static void waiter_on(void *arg)
{
    char b;
    co_chan_recv(arg, &b, CO_FOREVER);
}

static void destroy_waited_on(void *unused)
{
    (void)unused;
    co_chan *ch = co_chan_create(1, 0);
    create_ctx(waiter_on, ch);
    yield_ctx();
    co_chan_destroy(ch);
}

TEST(channel_and_lock_misuse_is_named)
{
    struct death d = run_in_child(close_twice, NULL);
    CHECK(died_with(&d, SIGABRT, "co_chan_close: coroutine 0: the channel is closed already"));
    d = run_in_child(unlock_unheld, NULL);
    CHECK(died_with(&d, SIGABRT, "co_mutex_unlock: coroutine 0 does not hold the mutex"));
    d = run_in_child(another_thread, NULL);
    CHECK(died_with(&d, SIGABRT, "the channel belongs to another thread"));
    d = run_in_child(destroy_waited_on, NULL);
    CHECK(died_with(&d, SIGABRT, "still waits on the channel"));
}

/* }===================================================================== */

/* {=====================================================================
 * A random walk, checked for conservation
 * ====================================================================== */

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
 * have. TEST_SEED=N repeats a walk. */

enum { CHANS = 3, PRODUCERS = 4, CONSUMERS = 3, WORKERS = PRODUCERS + CONSUMERS };

struct message {
    int producer, seq;
};

static struct walk {
    co_chan *ch[CHANS];
    uint64_t rng;
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

static uint32_t roll(uint32_t n)
{
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

static uint64_t seed;

/* Consumer 'me' got 'm' from channel 'k' (main drains as 0, a producer's
 * slot, which no consumer uses). */
static void arrived(int me, struct message m, int k)
{
    int p = m.producer;
    CHECK(p >= 0 && p < PRODUCERS && m.seq > 0 && m.seq < (1 << 20));
    unsigned char *bit = &w.arrived[p][k][m.seq / 8], mask = (unsigned char)(1u << m.seq % 8);
    if (*bit & mask)
        test_fail(__FILE__, __LINE__, "producer %d's message %d on channel %d arrived twice (seed %llu)",
                  p, m.seq, k, (unsigned long long)seed);
    *bit |= mask;
    if (m.seq <= w.last[me][p][k])
        test_fail(__FILE__, __LINE__, "consumer %d: producer %d's message %d on channel %d after %d "
                  "(seed %llu)", me, p, m.seq, k, w.last[me][p][k], (unsigned long long)seed);
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

TEST(a_million_random_channel_operations_lose_nothing)
{
    const char *from = getenv("TEST_SEED");
    memset(&w, 0, sizeof w);
    w.rng = seed = from ? strtoull(from, NULL, 10) : (uint64_t)co_now() | 1;
    printf("channel walk seed %llu\n", (unsigned long long)seed);
    w.ops_left = test_tool() ? 100000 : 1000000;
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
    long total = 0;
    for (int p = 0; p < PRODUCERS; p++)
        for (int k = 0; k < CHANS; k++)
            total += w.seen[p][k];
    printf("%ld messages arrived\n", total);
    CHECK(total > (test_tool() ? 10000 : 100000));
    for (int p = 0; p < PRODUCERS; p++)
        for (int k = 0; k < CHANS; k++) {
            if (w.seen[p][k] > w.sent[p][k] || w.seen[p][k] < w.sent[p][k] - w.maybe[p][k])
                test_fail(__FILE__, __LINE__, "producer %d, channel %d: sent %d, received %d "
                          "(seed %llu)", p, k, w.sent[p][k], w.seen[p][k], (unsigned long long)seed);
        }
}

/* }===================================================================== */
