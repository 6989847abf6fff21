/* Channels, select and the locks (coroutine_chan.h): what each promises,
 * the misuse each names, and a random walk checked for conservation. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan_walk.h"
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
    CHECK_EQ(co_chan_send(a, NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(co_chan_recv(a, NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    struct co_case no_item[] = {{a, CO_RECV, NULL, 0}};
    CHECK_EQ(co_select(no_item, 1, 0), -1);
    CHECK_EQ(errno, EINVAL);
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

static void cond_wait_unheld(void *unused)
{
    (void)unused;
    co_cond_wait(co_cond_create(), co_mutex_create(), 0);
}

static void lock_a_null_mutex(void *unused)
{
    (void)unused;
    co_mutex_lock(NULL, 0);
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

static void lock_and_return(void *m)
{
    co_mutex_lock(m, CO_FOREVER);
}

static void lock_after_holder_finished(void *unused)
{
    (void)unused;
    co_mutex *m = co_mutex_create();
    sp_ctx c = create_ctx(lock_and_return, m);
    co_join(c, CO_FOREVER);
    destroy_ctx(c);
    create_ctx(lock_and_return, co_mutex_create());   /* may take the same memory */
    co_mutex_lock(m, CO_FOREVER);
}

TEST(channel_and_lock_misuse_is_named)
{
    CHECK(aborts_saying(close_twice, "co_chan_close: coroutine 0: the channel is closed already"));
    CHECK(aborts_saying(unlock_unheld, "co_mutex_unlock: coroutine 0 does not hold the mutex"));
    CHECK(aborts_saying(cond_wait_unheld, "co_cond_wait: coroutine 0 does not hold the mutex"));
    CHECK(aborts_saying(lock_a_null_mutex, "co_mutex_lock: coroutine 0: (nil) is not a mutex"));
    CHECK(aborts_saying(another_thread, "the channel belongs to another thread"));
    CHECK(aborts_saying(destroy_waited_on, "still waits on the channel"));
    CHECK(aborts_saying(lock_after_holder_finished,
                        "the mutex's holder finished or was destroyed without unlocking it"));
}

/* }===================================================================== */

/* {=====================================================================
 * A random walk, checked for conservation (tests/chan_walk.c)
 * ====================================================================== */

TEST(a_million_random_channel_operations_lose_nothing)
{
    const char *from = getenv("TEST_SEED");
    uint64_t seed = from ? strtoull(from, NULL, 10) : (uint64_t)co_now();
    long total, ops = test_tool() ? 100000 : 1000000;
    printf("channel walk seed %llu (TEST_SEED=%llu repeats it)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    const char *failure = chan_walk(seed, NULL, 0, ops, &total);
    if (failure != NULL)
        test_fail(__FILE__, __LINE__, "%s (seed %llu)", failure, (unsigned long long)seed);
    printf("%ld messages arrived\n", total);
    CHECK(total > ops / 10);
}

/* }===================================================================== */

/* {=====================================================================
 * Mailboxes: between threads (these run under ThreadSanitizer too)
 * ====================================================================== */

enum { SENDERS = 4, EACH = 5000 };

static co_mbox *inbox;

static void *send_numbers(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 1; i <= EACH; i++) {
        int m[2] = {me, i};
        CHECK_EQ(co_mbox_send(inbox, m), 0);
        if (i % 64 == 0)
            sched_yield();
    }
    return NULL;
}

TEST(messages_from_other_threads_arrive_in_order)
{
    pthread_t t[SENDERS];
    int last[SENDERS] = {0}, m[2];
    inbox = co_mbox_create(sizeof m);
    for (int i = 0; i < SENDERS; i++)
        pthread_create(&t[i], NULL, send_numbers, (void *)(intptr_t)i);
    for (int n = 0; n < SENDERS * EACH; n++) {
        CHECK_EQ(co_mbox_recv(inbox, m, co_now() + 30 * CO_SEC), 0);
        CHECK(m[0] >= 0 && m[0] < SENDERS);
        CHECK_EQ(m[1], last[m[0]] + 1);
        last[m[0]] = m[1];
    }
    for (int i = 0; i < SENDERS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(co_mbox_recv(inbox, m, 0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    co_mbox_close(inbox);
    CHECK_EQ(co_mbox_send(inbox, m), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK_EQ(co_mbox_recv(inbox, m, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    co_mbox_destroy(inbox);
}

static co_mbox *to_echo, *to_main;

static void *echo_thread(void *unused)
{
    (void)unused;
    long v;
    to_echo = co_mbox_create(sizeof v);
    CHECK_EQ(co_mbox_send(to_main, &v), 0);         /* ready */
    while (co_mbox_recv(to_echo, &v, CO_FOREVER) == 0)
        co_mbox_send(to_main, &v);
    co_mbox_destroy(to_echo);
    return NULL;
}

TEST(two_threads_ping_pong_through_mailboxes)
{
    pthread_t t;
    long v;
    to_main = co_mbox_create(sizeof v);
    pthread_create(&t, NULL, echo_thread, NULL);
    CHECK_EQ(co_mbox_recv(to_main, &v, co_now() + 30 * CO_SEC), 0);
    for (long i = 0; i < 20000; i++) {
        CHECK_EQ(co_mbox_send(to_echo, &i), 0);
        CHECK_EQ(co_mbox_recv(to_main, &v, co_now() + 30 * CO_SEC), 0);
        CHECK_EQ(v, i);
    }
    co_mbox_close(to_echo);                          /* the echo thread ends */
    pthread_join(t, NULL);
    co_mbox_destroy(to_main);
}

/* What a message points to: written before the send, or (the planted
 * race) after it. */
static int before_send, after_send;

static void *hand_over(void *arg)
{
    int *p = &before_send;
    before_send = 42;
    CHECK_EQ(co_mbox_send(inbox, &p), 0);
    if (arg != NULL) {
        usleep(50 * 1000);                           /* after the read, as a rule */
        after_send = 7;                              /* but nothing orders the two */
    }
    return NULL;
}

static void receive_handed_over(void *plant)
{
    pthread_t t;
    int *p;
    inbox = co_mbox_create(sizeof p);
    pthread_create(&t, NULL, hand_over, plant);
    CHECK_EQ(co_mbox_recv(inbox, &p, co_now() + 30 * CO_SEC), 0);
    CHECK_EQ(*p, 42);                                /* ordered by the mailbox */
    if (plant != NULL)
        printf("read %d\n", after_send);            /* races with the write */
    pthread_join(t, NULL);
    co_mbox_destroy(inbox);
}

TEST(a_mailbox_orders_the_threads_and_a_planted_race_is_still_found)
{
    if (test_sanitizer != NULL && strcmp(test_sanitizer, "ThreadSanitizer") == 0) {
        /* first: TSan refuses threads in a child forked with threads */
        struct death d = run_in_child(receive_handed_over, (void *)1);
        CHECK(strstr(d.message, "ThreadSanitizer: data race") != NULL);
        CHECK(strstr(d.message, "hand_over") != NULL);
    }
    receive_handed_over(NULL);                       /* clean, under TSan too */
}

static void receive_with_cancel(void *arg)
{
    long v;
    int *err = arg;
    *err = co_mbox_recv(inbox, &v, CO_FOREVER) == 0 ? 0 : errno;
}

TEST(a_mailbox_wait_on_this_thread_times_out_and_is_cancelled)
{
    long v;
    int err = -1;
    inbox = co_mbox_create(sizeof v);
    int64_t t = co_now();
    CHECK_EQ(co_mbox_recv(inbox, &v, t + 2 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(co_now() >= t + 2 * CO_MSEC);
    sp_ctx c = create_ctx(receive_with_cancel, &err);
    yield_ctx();
    CHECK_EQ(co_mbox_recv(inbox, &v, 0), -1);       /* c waits first: nothing for us */
    CHECK_EQ(errno, ETIMEDOUT);
    co_cancel(c);
    co_join(c, CO_FOREVER);
    CHECK_EQ(err, ECANCELED);
    destroy_ctx(c);
    CHECK(co_mbox_create(0) == NULL);
    CHECK_EQ(errno, EINVAL);
    co_mbox_destroy(inbox);
}

/* }===================================================================== */

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* {=====================================================================
 * Promises at their edges: each of these once failed
 * ====================================================================== */

struct receiver {
    co_mbox *mb;
    int64_t deadline;
    long got;
    int err;
};

static void receive_one(void *arg)
{
    struct receiver *r = arg;
    r->err = co_mbox_recv(r->mb, &r->got, r->deadline) == 0 ? 0 : errno;
}

static void *post_two_later(void *arg)
{
    usleep(20 * 1000);
    long v = 7;
    CHECK_EQ(co_mbox_send(arg, &v), 0);
    v = 8;
    CHECK_EQ(co_mbox_send(arg, &v), 0);
    return NULL;
}

/* Two receivers of one mailbox wait their turns, first come first
 * served, and a message from another thread wakes the first. */
TEST(a_second_mailbox_receiver_waits_its_turn)
{
    co_mbox *mb = co_mbox_create(sizeof(long));
    int64_t t = co_now();
    struct receiver a = {mb, t + 5 * CO_SEC, 0, -1}, b = {mb, t + 5 * CO_SEC, 0, -1};
    sp_ctx ca = create_ctx(receive_one, &a);
    sp_ctx cb = create_ctx(receive_one, &b);
    yield_ctx();                                 /* both wait now, b first (newest) */
    long v;
    CHECK_EQ(co_mbox_recv(mb, &v, 0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    pthread_t th;
    pthread_create(&th, NULL, post_two_later, mb);
    CHECK_EQ(co_join(ca, t + 5 * CO_SEC), 0);
    CHECK_EQ(co_join(cb, t + 5 * CO_SEC), 0);
    CHECK(co_now() - t < 2 * CO_SEC);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(b.err, 0);
    CHECK_EQ(b.got, 7);                          /* b began to wait first */
    CHECK_EQ(a.got, 8);
    pthread_join(th, NULL);
    destroy_ctx(ca);
    destroy_ctx(cb);
    struct receiver c = {mb, t + 5 * CO_SEC, 0, -1};   /* and from this thread */
    sp_ctx cc = create_ctx(receive_one, &c);
    yield_ctx();
    v = 9;
    CHECK_EQ(co_mbox_send(mb, &v), 0);
    CHECK_EQ(co_join(cc, t + 5 * CO_SEC), 0);
    CHECK_EQ(c.got, 9);
    destroy_ctx(cc);
    co_mbox_destroy(mb);
}

TEST(a_mailbox_deadline_may_be_any_past_time)
{
    co_mbox *mb = co_mbox_create(sizeof(long));
    long v = 1;
    CHECK_EQ(co_mbox_recv(mb, &v, INT64_MIN), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK_EQ(co_mbox_recv(mb, &v, -1), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK_EQ(co_mbox_send(mb, &v), 0);
    CHECK_EQ(co_mbox_recv(mb, &v, INT64_MIN), 0);
    co_mbox_destroy(mb);
}

TEST(a_select_case_with_no_channel_is_never_ready)
{
    co_chan *ch = co_chan_create(sizeof(int), 1);
    int x = 5, y = 0;
    struct co_case cases[] = {{NULL, CO_RECV, &y, 0}, {ch, CO_SEND, &x, 0}, {NULL, CO_SEND, &x, 0}};
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(co_select(cases, 3, 0), 1);
        CHECK_EQ(co_chan_recv(ch, &y, 0), 0);
    }
    struct co_case none[] = {{NULL, CO_RECV, &y, 0}};
    CHECK_EQ(co_select(none, 1, co_now() + CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    co_chan_destroy(ch);
}

static void acquire_into(void *arg)
{
    co_sem *s = arg;
    CHECK_EQ(co_sem_acquire(s, CO_FOREVER), 0);
}

/* A permit given to a waiter that is destroyed before it runs again goes
 * to the next waiter, or back to the count. */
TEST(a_permit_handed_to_a_destroyed_waiter_is_not_lost)
{
    co_sem *s = co_sem_create(0);
    sp_ctx a = create_ctx(acquire_into, s);
    yield_ctx();
    sp_ctx b = create_ctx(acquire_into, s);
    yield_ctx();                                 /* a, then b, wait */
    co_sem_release(s);                           /* to a */
    destroy_ctx(a);                              /* before it runs */
    CHECK_EQ(co_join(b, co_now() + 5 * CO_SEC), 0);   /* b has it */
    destroy_ctx(b);
    CHECK_EQ(co_sem_acquire(s, 0), -1);
    a = create_ctx(acquire_into, s);
    yield_ctx();
    co_sem_release(s);
    destroy_ctx(a);
    CHECK_EQ(co_sem_acquire(s, 0), 0);           /* back to the count */
    co_sem_destroy(s);
}

static void lock_into(void *arg)
{
    CHECK_EQ(co_mutex_lock(arg, CO_FOREVER), 0);
    co_mutex_unlock(arg);
}

TEST(a_mutex_handed_to_a_destroyed_waiter_is_not_lost)
{
    co_mutex *m = co_mutex_create();
    CHECK_EQ(co_mutex_lock(m, 0), 0);
    sp_ctx a = create_ctx(lock_into, m);
    yield_ctx();
    co_mutex_unlock(m);                          /* to a */
    destroy_ctx(a);
    CHECK_EQ(co_mutex_lock(m, 0), 0);
    co_mutex_unlock(m);
    co_mutex_destroy(m);
}

static void select_many(void *arg)
{
    co_chan **chans = arg;
    int v;
    struct co_case cases[12];
    for (int i = 0; i < 12; i++)
        cases[i] = (struct co_case){chans[i], CO_RECV, &v, 0};
    co_select(cases, 12, CO_FOREVER);
}

TEST(a_coroutine_destroyed_in_a_big_select_leaks_nothing)
{
    co_chan *chans[12];
    for (int i = 0; i < 12; i++)
        chans[i] = co_chan_create(sizeof(int), 0);
    size_t before = 0;
    for (int round = 0; round < 300; round++) {
        if (round == 100)                        /* the pools are warm now */
            before = mallinfo2().uordblks;
        sp_ctx c = create_ctx(select_many, chans);
        yield_ctx();
        destroy_ctx(c);
    }
    if (__lsan_do_recoverable_leak_check != NULL)     /* AddressSanitizer's LeakSanitizer */
        CHECK_EQ(__lsan_do_recoverable_leak_check(), 0);
    else if (test_tool() == NULL)                /* valgrind's malloc keeps no such count */
        CHECK(mallinfo2().uordblks < before + 200 * 64);
    for (int i = 0; i < 12; i++)
        co_chan_destroy(chans[i]);
}

/* }===================================================================== */

struct cond_waiter {
    co_cond *c;
    co_mutex *m;
    int result;
};

static void wait_for_signal(void *arg)
{
    struct cond_waiter *w = arg;
    CHECK_EQ(co_mutex_lock(w->m, CO_FOREVER), 0);
    w->result = co_cond_wait(w->c, w->m, co_now() + 5 * CO_SEC) == 0 ? 0 : errno;
    co_mutex_unlock(w->m);
}

TEST(a_signal_handed_to_a_destroyed_waiter_goes_to_the_next)
{
    co_mutex *m = co_mutex_create();
    co_cond *c = co_cond_create();
    struct cond_waiter a = {c, m, -1}, b = {c, m, -1};
    sp_ctx ca = create_ctx(wait_for_signal, &a);
    yield_ctx();
    sp_ctx cb = create_ctx(wait_for_signal, &b);
    yield_ctx();                                 /* a, then b, wait */
    co_cond_signal(c);                           /* to a */
    destroy_ctx(ca);
    CHECK_EQ(join_ctx(cb, co_now() + 10 * CO_SEC), 0);
    CHECK_EQ(b.result, 0);                       /* signalled, not timed out */
    destroy_ctx(cb);
    co_cond_destroy(c);
    co_mutex_destroy(m);
}

/* A semaphore destroyed while the waiter it handed a permit to has not
 * run: the waiter keeps the permit, and nothing reads the semaphore. */
TEST(a_semaphore_destroyed_after_handing_a_permit_is_not_read_again)
{
    co_sem *s = co_sem_create(0);
    sp_ctx a = create_ctx(acquire_into, s);
    yield_ctx();
    co_sem_release(s);
    co_sem_destroy(s);                           /* a has not run yet */
    destroy_ctx(a);                              /* ASan: no read of s */
}

static void put_one(void *arg)
{
    int v = 1;
    CHECK_EQ(co_chan_send(arg, &v, CO_FOREVER), 0);
}

/* After a cancel, what need not wait still completes: a ready channel,
 * a free lock, a permit, a message; only a wait is cancelled. */
TEST(after_a_cancel_ready_channels_locks_and_mailboxes_succeed)
{
    co_chan *ch = co_chan_create(sizeof(int), 1);
    co_chan *bare = co_chan_create(sizeof(int), 0);
    co_mutex *m = co_mutex_create();
    co_sem *s = co_sem_create(1);
    co_mbox *mb = co_mbox_create(sizeof(int));
    sp_ctx sender = create_ctx(put_one, bare);
    yield_ctx();                                 /* it waits to send */
    cancel_ctx(NULL);
    int v = 7;
    CHECK_EQ(co_chan_send(ch, &v, CO_FOREVER), 0);
    CHECK_EQ(co_chan_recv(ch, &v, CO_FOREVER), 0);
    CHECK_EQ(co_chan_recv(bare, &v, CO_FOREVER), 0);
    CHECK_EQ(v, 1);
    CHECK_EQ(co_mutex_lock(m, CO_FOREVER), 0);
    CHECK_EQ(co_sem_acquire(s, CO_FOREVER), 0);
    CHECK_EQ(co_mbox_send(mb, &v), 0);
    CHECK_EQ(co_mbox_recv(mb, &v, CO_FOREVER), 0);
    CHECK_EQ(co_chan_recv(ch, &v, CO_FOREVER), -1);        /* these must wait */
    CHECK_EQ(errno, ECANCELED);
    CHECK_EQ(co_sem_acquire(s, CO_FOREVER), -1);
    CHECK_EQ(errno, ECANCELED);
    CHECK_EQ(co_mbox_recv(mb, &v, CO_FOREVER), -1);
    CHECK_EQ(errno, ECANCELED);
    yield_ctx();                                 /* the sender finishes */
    CHECK_EQ(join_ctx(sender, CO_FOREVER), 0);   /* finished: no wait */
    destroy_ctx(sender);
    co_mutex_unlock(m);
    co_mutex_destroy(m);
    co_sem_destroy(s);
    co_mbox_destroy(mb);
    co_chan_destroy(ch);
    co_chan_destroy(bare);
}

static void *send_seven(void *arg)
{
    int v = 7;
    CHECK_EQ(co_mbox_send(arg, &v), 0);
    return NULL;
}

static void receive_int(void *arg)
{
    int v;
    co_mbox_recv(arg, &v, CO_FOREVER);
}

/* A mailbox told of a message from another thread, and destroyed before
 * its thread's poller handed it out: the inbox does not touch it again. */
TEST(a_mailbox_destroyed_while_a_wake_up_is_on_its_way_is_not_touched)
{
    co_mbox *mb = co_mbox_create(sizeof(int));
    sp_ctx r = create_ctx(receive_int, mb);
    yield_ctx();                                 /* r waits: a sender must tell */
    pthread_t t;
    pthread_create(&t, NULL, send_seven, mb);
    pthread_join(t, NULL);                       /* posted; no turn of the poller yet */
    destroy_ctx(r);
    co_mbox_destroy(mb);
    co_sleep(co_now() + CO_MSEC);                /* the poller drains the inbox */
}

static void *close_later(void *arg)
{
    usleep(20 * 1000);
    co_mbox_close(arg);
    return NULL;
}

/* A close from another thread wakes every waiting receiver with EPIPE,
 * long before their deadline. */
TEST(a_mailbox_closed_by_another_thread_wakes_its_receivers)
{
    co_mbox *mb = co_mbox_create(sizeof(long));
    int64_t t = co_now();
    struct receiver a = {mb, t + 10 * CO_SEC, 0, -1}, b = {mb, CO_FOREVER, 0, -1};
    sp_ctx ca = create_ctx(receive_one, &a), cb = create_ctx(receive_one, &b);
    yield_ctx();
    pthread_t th;
    pthread_create(&th, NULL, close_later, mb);
    CHECK_EQ(join_ctx(ca, t + 10 * CO_SEC), 0);
    CHECK_EQ(join_ctx(cb, t + 10 * CO_SEC), 0);
    CHECK(co_now() - t < 5 * CO_SEC);
    CHECK_EQ(a.err, EPIPE);
    CHECK_EQ(b.err, EPIPE);
    pthread_join(th, NULL);
    destroy_ctx(ca);
    destroy_ctx(cb);
    co_mbox_destroy(mb);
}

/* {=====================================================================
 * Shares (coroutine_chan.h): every sender or receiver gets at least one
 * message a turn, and the first to run after its partner waits gets C + 1
 * more
 * ====================================================================== */

static co_chan *shared;
static long counts[8];
static bool stop_sending;

static void send_until_stopped(void *arg)
{
    long i = (long)(intptr_t)arg;
    while (!stop_sending && co_chan_send(shared, &i, CO_FOREVER) == 0)
        counts[i]++;
}

static void receive_until_closed(void *arg)
{
    long i = (long)(intptr_t)arg, v;
    while (co_chan_recv(shared, &v, CO_FOREVER) == 0)
        counts[i]++;
}

/* 16,000 messages between 'n' coroutines and main, on a channel of
 * capacity 'cap': each coroutine's share is at least 16,000 / (n + cap + 1),
 * at most cap + 2 times that. */
static void check_shares(int n, size_t cap, bool senders)
{
    enum { MESSAGES = 16000 };
    shared = co_chan_create(sizeof(long), cap);
    stop_sending = false;
    memset(counts, 0, sizeof counts);
    sp_ctx c[8];
    for (long i = 0; i < n; i++)
        c[i] = create_ctx(senders ? send_until_stopped : receive_until_closed, (void *)(intptr_t)i);
    for (long k = 0, v; k < MESSAGES; k++)
        CHECK_EQ(senders ? co_chan_recv(shared, &v, CO_FOREVER) : co_chan_send(shared, &k, CO_FOREVER), 0);
    stop_sending = true;
    co_chan_close(shared);
    long least = MESSAGES, most = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        CHECK_EQ(join_ctx(c[i], CO_FOREVER), 0);
        destroy_ctx(c[i]);
        least = counts[i] < least ? counts[i] : least;
        most = counts[i] > most ? counts[i] : most;
        sum += counts[i];
    }
    long fair = MESSAGES / (n + (long)cap + 1);
    CHECK(sum >= MESSAGES);                 /* senders count what sits in the buffer too */
    CHECK(least >= fair - 1);
    CHECK(most <= (long)(cap + 2) * (fair + 1));
    co_chan_destroy(shared);
}

TEST(eight_senders_and_four_receivers_get_their_documented_shares)
{
    check_shares(8, 0, true);
    check_shares(8, 3, true);
    check_shares(4, 0, false);
    check_shares(4, 3, false);
}

/* }===================================================================== */

/* {=====================================================================
 * Who runs first (coroutine.h): what a context made or woke
 * ====================================================================== */

static char order[64];
static co_chan *answers;

static void note(char c)
{
    size_t n = strlen(order);
    if (n + 1 < sizeof order)
        order[n] = c;
}

/* A child: says who it is and answers its maker. */
static void answer(void *arg)
{
    note(*(const char *)arg);
    int v = 1;
    CHECK_EQ(co_chan_send(answers, &v, CO_FOREVER), 0);
}

static void make_two_and_wait(void *arg)
{
    (void)arg;
    note('P');
    sp_ctx c1 = create_ctx(answer, "1"), c2 = create_ctx(answer, "2");
    int v;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(co_chan_recv(answers, &v, CO_FOREVER), 0);
        note('p');
    }
    detach_ctx(c1);
    detach_ctx(c2);
}

static void take_turns(void *arg)
{
    for (int i = 0; i < *(int *)arg; i++) {
        note('S');
        yield_ctx();
    }
}

TEST(a_new_coroutine_runs_when_its_maker_waits_and_hands_back_when_it_ends)
{
    memset(order, 0, sizeof order);
    answers = co_chan_create(sizeof(int), 0);
    int turns = 3;
    sp_ctx s = create_ctx(take_turns, &turns), p = create_ctx(make_two_and_wait, NULL);
    while (!is_ctx_finished(p) || !is_ctx_finished(s))
        yield_ctx();
    /* P waits: its newest child 2 runs in its place, before S; 2 woke P
     * and ended, so P runs next, and waits again: now the rotation goes
     * on (S, main, then 1, older, made before P waited). */
    if (strcmp(order, "P2pS1pSS") != 0)
        fprintf(stderr, "order %s\n", order);
    CHECK(strcmp(order, "P2pS1pSS") == 0);
    destroy_ctx(p);
    destroy_ctx(s);
    co_chan_destroy(answers);
}

static long spawned;

static void make_one_after_another(void *arg)
{
    for (long i = 0; i < *(long *)arg; i++, spawned++) {
        detach_ctx(create_ctx(answer, "c"));
        int v;
        CHECK_EQ(co_chan_recv(answers, &v, CO_FOREVER), 0);
    }
}

static void count_turns(void *arg)
{
    long *turns = arg;
    while (spawned < 10000) {
        ++*turns;
        yield_ctx();
    }
}

TEST(a_coroutine_that_makes_one_after_another_leaves_the_others_their_turns)
{
    memset(order, 0, sizeof order);
    answers = co_chan_create(sizeof(int), 0);
    long n = 10000, turns = 0;
    spawned = 0;
    sp_ctx counter = create_ctx(count_turns, &turns), maker = create_ctx(make_one_after_another, &n);
    CHECK_EQ(join_ctx(maker, CO_FOREVER), 0);
    CHECK_EQ(join_ctx(counter, CO_FOREVER), 0);
    /* Each child and its maker go first, but at most 64 in a row: then
     * the rotation's next runs, and the counter's turn comes within a
     * few of those (without the bound, it would never come). */
    CHECK(turns >= 10000 / 200);
    destroy_ctx(maker);
    destroy_ctx(counter);
    co_chan_destroy(answers);
}

/* }===================================================================== */

static void answer_nothing(void *arg)
{
    note(*(const char *)arg);
}

static void make_two_and_yield(void *arg)
{
    (void)arg;
    note('P');
    sp_ctx c1 = create_ctx(answer_nothing, "1"), c2 = create_ctx(answer_nothing, "2");
    yield_ctx();                                  /* they run right after us: 2, then 1 */
    note('p');
    join_ctx(c1, CO_FOREVER);
    join_ctx(c2, CO_FOREVER);
    destroy_ctx(c1);
    destroy_ctx(c2);
}

TEST(while_main_waits_a_new_coroutine_joins_right_after_its_maker)
{
    memset(order, 0, sizeof order);
    int turns = 2;
    sp_ctx s = create_ctx(take_turns, &turns);   /* in the rotation ahead of P */
    sp_ctx p = create_ctx(make_two_and_yield, NULL);
    CHECK_EQ(join_ctx(p, CO_FOREVER), 0);        /* main waits from here */
    CHECK_EQ(join_ctx(s, CO_FOREVER), 0);
    if (strcmp(order, "P21SpS") != 0)
        fprintf(stderr, "order %s\n", order);
    CHECK(strcmp(order, "P21SpS") == 0);
    destroy_ctx(p);
    destroy_ctx(s);
}
