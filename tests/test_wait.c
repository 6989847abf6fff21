/* The waiting runtime (coroutine_wait.h): deadlines, descriptors,
 * cancellation, joins, and what misuse of them says. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "test.h"

/* {=====================================================================
 * Time
 * ====================================================================== */

struct sleeper {
    int64_t deadline;
    int64_t woke;
    int order;
};

static int wakes;
static int64_t base;             /* deadlines count from here, once set */

/* Sleep until the deadline and note when, and the how-manieth this was
 * to wake. A deadline that passed before the sleep began (a slow
 * machine) is left out of the order: -1. So is one that was too close to
 * call: co_sleep returns at once for a deadline past by the time it
 * looks, and the thread can be preempted for milliseconds between that
 * look and ours. */
#define TOO_CLOSE (5 * CO_MSEC)

static void sleep_until(void *arg)
{
    struct sleeper *s = arg;
    bool late = co_now() + TOO_CLOSE >= s->deadline;
    CHECK_EQ(co_sleep(s->deadline), 0);
    s->woke = co_now();
    s->order = late ? -1 : wakes++;
}

/* Wait until main says go, then sleep: the deadlines are set once every
 * sleeper has started, however slow the machine (valgrind, qemu). */

static void sleep_after_start(void *arg)
{
    struct sleeper *s = arg;
    yield_ctx();
    s->deadline += base;
    sleep_until(s);
}

/* One round of 8 sleepers with deadlines out of order, 'margin' after
 * they have all started. Returns false if the machine was too slow for
 * the margin (a sleeper began after its deadline): try a wider one. */
static bool eight_sleepers_in_order(int64_t margin)
{
    enum { N = 8 };
    struct sleeper s[N];
    sp_ctx c[N];
    wakes = 0;
    for (int i = 0; i < N; i++) {   /* deadlines out of order: 2, 12, 6, 16, 10, ... ms */
        s[i] = (struct sleeper){.deadline = ((i * 5) % N + 1) * 2 * CO_MSEC};
        c[i] = create_ctx(sleep_after_start, &s[i]);
    }
    yield_ctx();                     /* each is at its yield */
    base = co_now() + margin;
    for (int i = 0; i < N; i++)
        CHECK_EQ(co_join(c[i], CO_FOREVER), 0);
    bool late = false;
    for (int i = 0; i < N; i++) {
        CHECK(s[i].woke >= s[i].deadline);
        late = late || s[i].order < 0;
    }
    for (int i = 0; i < N; i++) {
        CHECK(late || s[i].order == (i * 5) % N);
        destroy_ctx(c[i]);
    }
    return !late;
}

TEST(sleepers_wake_in_deadline_order_and_never_early)
{
    int64_t margin = 20 * CO_MSEC;
    while (!eight_sleepers_in_order(margin))
        CHECK((margin *= 2) <= 10 * CO_SEC);
}

/* One round of 10,000 sleepers, started first; their deadlines, spread
 * over 20 ms, begin 'margin' plus twice what starting them took after.
 * Returns how many were on time, each of those woken in deadline order. */
static int ten_thousand_sleepers(int64_t margin)
{
    enum { N = 10000 };
    static struct sleeper s[N];
    static sp_ctx c[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){.deadline = (rand() % 200) * CO_USEC * 100};
        CHECK((c[i] = create_ctx_sized(sleep_after_start, &s[i], 16384)) != NULL);
    }
    wakes = 0;
    int64_t t = co_now();
    yield_ctx();                     /* each is at its yield */
    base = co_now() + margin + 2 * (co_now() - t);
    for (int i = 0; i < N; i++)
        CHECK_EQ(co_join(c[i], CO_FOREVER), 0);
    int on_time = 0;
    for (int i = 0; i < N; i++) {
        CHECK(s[i].woke >= s[i].deadline);
        on_time += s[i].order >= 0;
        for (int j = i + 1; j < N && j < i + 50 && s[i].order >= 0; j++)
            if (s[j].deadline != s[i].deadline && s[j].order >= 0)   /* earlier woke first */
                CHECK((s[j].deadline < s[i].deadline) == (s[j].order < s[i].order));
        destroy_ctx(c[i]);
    }
    return on_time;
}

/* Most must be on time to be ordered; a machine too busy for that (a
 * loaded one, valgrind) gets rounds with wider margins. */
TEST(ten_thousand_sleepers_wake_in_deadline_order)
{
    int64_t margin = 20 * CO_MSEC;
    while (ten_thousand_sleepers(margin) <= 10000 / 2)
        CHECK((margin *= 4) <= 10 * CO_SEC);
}

static void sleep_or_be_cancelled(void *arg)
{
    struct sleeper *s = arg;
    yield_ctx();
    s->deadline += base;
    int r = co_sleep(s->deadline);
    s->woke = co_now();
    s->order = r == 0 ? wakes++ : -2;        /* -2: cancelled */
}

/* Half of 3,000 sleepers cancelled at random: their heap entries go stale
 * and are swept, and the rest still wake in deadline order, none early. */
TEST(cancelled_sleepers_leave_the_others_in_order)
{
    enum { N = 3000 };
    static struct sleeper s[N];
    static sp_ctx c[N];
    srand(11);
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){.deadline = (rand() % 300) * CO_USEC * 100};
        c[i] = create_ctx_sized(sleep_or_be_cancelled, &s[i], 16384);
    }
    int64_t t = co_now();
    yield_ctx();
    base = co_now() + 100 * CO_MSEC + 2 * (co_now() - t);   /* however slow the machine */
    yield_ctx();                              /* all asleep */
    for (int i = 0; i < N; i += 2)
        co_cancel(c[i]);
    for (int i = 0; i < N; i++)
        CHECK_EQ(co_join(c[i], CO_FOREVER), 0);
    int cancelled = 0;
    for (int i = 0; i < N; i++) {
        cancelled += s[i].order == -2;      /* an even one may have woken first */
        CHECK(s[i].order != -2 || i % 2 == 0);
        if (s[i].order != -2)
            CHECK(s[i].woke >= s[i].deadline);
        for (int j = i + 2; i % 2 == 1 && j < N; j += 2)
            if (s[j].deadline != s[i].deadline)
                CHECK((s[j].deadline < s[i].deadline) == (s[j].order < s[i].order));
        destroy_ctx(c[i]);
    }
    CHECK(cancelled > N / 4);
}

TEST(sleep_with_a_past_deadline_returns_at_once)
{
    CHECK_EQ(co_sleep(0), 0);
    CHECK_EQ(co_sleep(co_now() - CO_SEC), 0);
    int64_t t = co_now();
    CHECK_EQ(co_sleep(t + 2 * CO_MSEC), 0);
    CHECK(co_now() >= t + 2 * CO_MSEC);
}

static void spin_yielding(void *arg)
{
    volatile bool *stop = arg;
    while (!*stop)
        yield_ctx();
}

/* A coroutine that yields in a loop does not starve a sleeper. */
TEST(a_busy_coroutine_cannot_starve_a_sleeper)
{
    volatile bool stop = false;
    sp_ctx busy = create_ctx(spin_yielding, (void *)&stop);
    int64_t t = co_now();
    CHECK_EQ(co_sleep(t + 5 * CO_MSEC), 0);
    CHECK(co_now() - t < 2 * CO_SEC);
    stop = true;
    CHECK_EQ(co_join(busy, CO_FOREVER), 0);
    destroy_ctx(busy);
}

struct counted_sleep {
    int64_t until;
    int asleep;
};

static void sleep_counted(void *arg)
{
    struct counted_sleep *s = arg;
    s->asleep++;
    CHECK_EQ(co_sleep(s->until), 0);
}

static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* 10,000 coroutines asleep: the thread sleeps in the kernel, using no
 * CPU while they do (getrusage, over half a second). */
TEST(ten_thousand_sleeping_coroutines_use_no_cpu)
{
    enum { N = 10000 };
    static sp_ctx c[N];
    struct counted_sleep s = { co_now() + 60 * CO_SEC, 0 };
    for (int i = 0; i < N; i++)
        CHECK((c[i] = create_ctx_sized(sleep_counted, &s, 16384)) != NULL);
    /* Starting 10,000 stacks can take longer than any fixed pause under
     * valgrind on a loaded machine: wait until each has gone to sleep. */
    while (s.asleep < N)
        CHECK_EQ(co_sleep(co_now() + CO_MSEC), 0);
    CHECK_EQ(co_sleep(co_now() + 10 * CO_MSEC), 0);
    double cpu = cpu_seconds();
    int64_t t = co_now();
    CHECK_EQ(co_sleep(t + 500 * CO_MSEC), 0);
    cpu = cpu_seconds() - cpu;
    double wall = (double)(co_now() - t) / CO_SEC;
    if (cpu > 0.02 * wall)
        test_fail(__FILE__, __LINE__, "%.3f s of CPU in %.3f s", cpu, wall);
    for (int i = 0; i < N; i++)
        destroy_ctx(c[i]);
}

/* }===================================================================== */

/* {=====================================================================
 * Descriptors
 * ====================================================================== */

static void socket_pair(int sv[2])
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

struct reader {
    int fd;
    ssize_t got;
    int err;
    char buf[64];
};

static void read_once(void *arg)
{
    struct reader *r = arg;
    r->got = co_read(r->fd, r->buf, sizeof r->buf, CO_FOREVER);
    r->err = r->got < 0 ? errno : 0;
}

TEST(a_read_waits_for_data_and_others_run_meanwhile)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();                                /* it waits now */
    CHECK_EQ(r.got, 0);
    CHECK(!is_ctx_finished(c));
    CHECK_EQ(co_write(sv[1], "hello", 5, CO_FOREVER), 5);
    CHECK_EQ(co_join(c, co_now() + 5 * CO_SEC), 0);
    CHECK_EQ(r.got, 5);
    CHECK(memcmp(r.buf, "hello", 5) == 0);
    destroy_ctx(c);
    co_close(sv[0]);
    co_close(sv[1]);
}

TEST(a_read_times_out_and_a_zero_deadline_does_not_wait)
{
    int sv[2];
    socket_pair(sv);
    char b;
    int64_t t = co_now();
    CHECK_EQ(co_read(sv[0], &b, 1, t + 3 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(co_now() >= t + 3 * CO_MSEC);
    CHECK_EQ(co_wait_fd(sv[0], CO_READABLE, 0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK_EQ(co_wait_fd(sv[1], CO_WRITABLE, 0), 0);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    CHECK_EQ(co_wait_fd(sv[0], CO_READABLE, 0), 0);
    co_close(sv[0]);
    co_close(sv[1]);
}

TEST(bad_descriptor_waits_say_why)
{
    CHECK_EQ(co_wait_fd(-1, CO_READABLE, CO_FOREVER), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(co_wait_fd(0, 3, CO_FOREVER), -1);
    CHECK_EQ(errno, EINVAL);
    int fd = open("/proc/self/status", O_RDONLY);
    CHECK_EQ(co_wait_fd(fd, CO_READABLE, CO_FOREVER), -1);   /* a regular file */
    CHECK_EQ(errno, EINVAL);
    close(fd);
    int sv[2];
    socket_pair(sv);
    int dead = sv[0];
    close(sv[0]);
    CHECK_EQ(co_wait_fd(dead, CO_READABLE, CO_FOREVER), -1);
    CHECK_EQ(errno, EBADF);
    close(sv[1]);
}

TEST(a_second_waiter_on_the_same_side_gets_ebusy)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();
    char b;
    CHECK_EQ(co_read(sv[0], &b, 1, CO_FOREVER), -1);
    CHECK_EQ(errno, EBUSY);
    CHECK_EQ(co_wait_fd(sv[0], CO_WRITABLE, CO_FOREVER), 0);   /* the other side is free */
    CHECK_EQ(write(sv[1], "y", 1), 1);
    CHECK_EQ(co_join(c, CO_FOREVER), 0);
    CHECK_EQ(r.got, 1);
    destroy_ctx(c);
    co_close(sv[0]);
    co_close(sv[1]);
}

TEST(closing_a_descriptor_wakes_its_waiter_with_ebadf)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();
    CHECK_EQ(co_close(sv[0]), 0);
    CHECK_EQ(co_join(c, CO_FOREVER), 0);
    CHECK_EQ(r.got, -1);
    CHECK_EQ(r.err, EBADF);
    destroy_ctx(c);
    co_close(sv[1]);
}

/* A closed descriptor's number, reused at once, belongs to the new one:
 * the old registration's events never wake its waiter. */
TEST(a_reused_descriptor_number_gets_only_its_own_events)
{
    int a[2], b[2];
    socket_pair(a);
    struct reader r = {.fd = a[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();
    CHECK_EQ(write(a[1], "old", 3), 3);
    int number = a[0];
    co_close(a[0]);                     /* before the event is seen */
    co_join(c, CO_FOREVER);
    destroy_ctx(c);
    socket_pair(b);
    if (b[0] != number) {               /* make the new one take the number */
        CHECK_EQ(dup2(b[0], number), number);
        close(b[0]);
        b[0] = number;
    }
    r = (struct reader){.fd = b[0]};
    c = create_ctx(read_once, &r);
    yield_ctx();
    yield_ctx();
    CHECK(!is_ctx_finished(c));         /* nothing to read on the new one */
    CHECK_EQ(write(b[1], "new", 3), 3);
    CHECK_EQ(co_join(c, CO_FOREVER), 0);
    CHECK_EQ(r.got, 3);
    CHECK(memcmp(r.buf, "new", 3) == 0);
    destroy_ctx(c);
    co_close(b[0]);
    co_close(b[1]);
    co_close(a[1]);
}

TEST(a_write_to_a_closed_peer_is_epipe_not_sigpipe)
{
    int sv[2];
    socket_pair(sv);
    close(sv[1]);
    CHECK_EQ(co_write(sv[0], "x", 1, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK_EQ(co_send(sv[0], "x", 1, 0, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    co_close(sv[0]);
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);           /* a pipe has no MSG_NOSIGNAL */
    CHECK_EQ(co_write(p[1], "x", 1, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    close(p[1]);
}

static void write_a_lot(void *arg)
{
    int fd = *(int *)arg;
    static char buf[1 << 20];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i * 7);
    CHECK_EQ(co_write(fd, buf, sizeof buf, CO_FOREVER), (ssize_t)sizeof buf);
    co_close(fd);
}

TEST(a_write_waits_for_room_and_sends_every_byte)
{
    int sv[2];
    socket_pair(sv);
    sp_ctx c = create_ctx(write_a_lot, &sv[1]);
    static char got[1 << 20];
    size_t n = 0;
    ssize_t k;
    while ((k = co_read(sv[0], got + n, sizeof got - n, CO_FOREVER)) > 0)
        n += (size_t)k;
    CHECK_EQ(n, sizeof got);
    for (size_t i = 0; i < n; i++)
        if (got[i] != (char)(i * 7))
            test_fail(__FILE__, __LINE__, "byte %zu differs", i);
    CHECK_EQ(co_join(c, CO_FOREVER), 0);
    destroy_ctx(c);
    co_close(sv[0]);
}

/* }===================================================================== */

/* {=====================================================================
 * Cancel, destroy, join
 * ====================================================================== */

static void sleep_long(void *arg)
{
    int *err = arg;
    *err = co_sleep(co_now() + 60 * CO_SEC) == 0 ? 0 : errno;
    err[1] = co_sleep(co_now() + 60 * CO_SEC) == 0 ? 0 : errno;   /* later waits too */
    err[2] = co_cancelled();
}

TEST(cancel_ends_the_current_wait_and_every_later_one)
{
    int err[3] = {-1, -1, -1};
    sp_ctx c = create_ctx(sleep_long, err);
    yield_ctx();
    co_cancel(c);
    CHECK_EQ(co_join(c, co_now() + 5 * CO_SEC), 0);
    CHECK_EQ(err[0], ECANCELED);
    CHECK_EQ(err[1], ECANCELED);
    CHECK_EQ(err[2], 1);
    co_cancel(c);                        /* finished: nothing happens */
    destroy_ctx(c);
}

TEST(cancel_wakes_a_read_and_main_can_be_cancelled)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();
    co_cancel(c);
    co_join(c, CO_FOREVER);
    CHECK_EQ(r.err, ECANCELED);
    destroy_ctx(c);
    co_cancel(NULL);
    CHECK(co_cancelled());
    CHECK_EQ(co_sleep(co_now() + CO_SEC), -1);
    CHECK_EQ(errno, ECANCELED);
    co_close(sv[0]);
    co_close(sv[1]);
}

TEST(destroying_waiting_coroutines_removes_their_waits)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    int err[3];
    sp_ctx reading = create_ctx(read_once, &r), sleeping = create_ctx(sleep_long, err);
    yield_ctx();
    destroy_ctx(reading);
    destroy_ctx(sleeping);
    /* the descriptor is free to wait on again, and the thread does not
     * wait 60 s for the destroyed sleeper */
    CHECK_EQ(write(sv[1], "z", 1), 1);
    int64_t t = co_now();
    CHECK_EQ(co_wait_fd(sv[0], CO_READABLE, t + 5 * CO_SEC), 0);
    CHECK_EQ(co_sleep(co_now() + CO_MSEC), 0);
    CHECK(co_now() - t < 5 * CO_SEC);
    co_close(sv[0]);
    co_close(sv[1]);
}

static void joins_the_other(void *arg)
{
    sp_ctx *other = arg;
    CHECK_EQ(co_join(*other, CO_FOREVER), 0);
}

TEST(join_times_out_and_wakes_when_the_coroutine_is_destroyed)
{
    int err[3];
    sp_ctx sleeping = create_ctx(sleep_long, err);
    int64_t t = co_now();
    CHECK_EQ(co_join(sleeping, t + 3 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(co_now() >= t + 3 * CO_MSEC);
    sp_ctx joiner = create_ctx(joins_the_other, &sleeping);
    yield_ctx();
    CHECK(!is_ctx_finished(joiner));
    destroy_ctx(sleeping);
    CHECK_EQ(co_join(joiner, co_now() + 5 * CO_SEC), 0);
    destroy_ctx(joiner);
}

static void finish_quickly(void *arg)
{
    (*(int *)arg)++;
}

static void ask_if_finished(void *handle)
{
    is_ctx_finished(handle);
}

TEST(detached_coroutines_destroy_themselves)
{
    int ran = 0;
    sp_ctx c = create_ctx(finish_quickly, &ran);
    detach_ctx(c);
    yield_ctx();
    CHECK_EQ(ran, 1);
    sp_ctx d = create_ctx(finish_quickly, &ran);
    yield_ctx();
    detach_ctx(d);                      /* finished already: destroyed now */
    CHECK_EQ(ran, 2);
    struct death death = run_in_child(ask_if_finished, c);
    CHECK(died_with(&death, SIGABRT, "was destroyed"));
}

/* }===================================================================== */

/* {=====================================================================
 * Misuse
 * ====================================================================== */

static void wait_forever(void *unused)
{
    (void)unused;
    co_sleep(CO_FOREVER);
}

static void switch_to_waiting(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(wait_forever, NULL);
    yield_ctx();
    switch_ctx(c);
}

static void join_self(void *unused)
{
    (void)unused;
    co_join(get_ctx_ptr(), CO_FOREVER);
}

static void join_in_coroutine(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(join_self, NULL);
    switch_ctx(c);
}

static void everyone_joins(void *unused)
{
    (void)unused;
    static sp_ctx main_joins;
    main_joins = create_ctx(wait_forever, NULL);
    sp_ctx c = create_ctx(joins_the_other, &main_joins);
    (void)c;
    /* the sleeper sleeps forever with no deadline and no descriptor:
     * nothing can ever wake anyone */
    co_join(main_joins, CO_FOREVER);
}

TEST(waiting_misuse_is_named)
{
    CHECK(aborts_saying(switch_to_waiting, "it is waiting (cancel_ctx wakes it)"));
    CHECK(aborts_saying(join_in_coroutine, "join_ctx: coroutine 1 cannot join itself"));
    CHECK(aborts_saying(everyone_joins, "deadlock: every context of this thread waits"));
    CHECK(aborts_saying(everyone_joins, "main joins coroutine 1"));
}

/* }===================================================================== */

/* {=====================================================================
 * Sockets, threads, fork
 * ====================================================================== */

static void serve_one(void *arg)
{
    int server = *(int *)arg;
    int fd = co_accept(server, NULL, NULL, co_now() + 10 * CO_SEC);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    char buf[16];
    ssize_t n = co_read(fd, buf, sizeof buf, CO_FOREVER);
    CHECK_EQ(co_write(fd, buf, (size_t)n, CO_FOREVER), n);
    co_close(fd);
}

TEST(listen_accept_dial_round_trip)
{
    int server = co_listen("127.0.0.1", 0, 0);
    CHECK(server >= 0);
    int port = co_port(server);
    CHECK(port > 0);
    sp_ctx s = create_ctx(serve_one, &server);
    int fd = co_dial("localhost", port, co_now() + 10 * CO_SEC);   /* by name */
    CHECK(fd >= 0);
    CHECK_EQ(co_write(fd, "ping", 4, CO_FOREVER), 4);
    char buf[8];
    CHECK_EQ(co_read(fd, buf, sizeof buf, CO_FOREVER), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_EQ(co_join(s, CO_FOREVER), 0);
    destroy_ctx(s);
    co_close(fd);
    co_close(server);
    CHECK_EQ(co_dial("127.0.0.1", port, co_now() + 5 * CO_SEC), -1);
    CHECK_EQ(errno, ECONNREFUSED);
    CHECK_EQ(co_listen("not-an-address", 0, 0), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(co_dial("no-such-host.invalid", 80, co_now() + 10 * CO_SEC), -1);
    CHECK(errno == EHOSTUNREACH || errno == ETIMEDOUT);
}

/* With every descriptor used, accept sheds waiting connections instead
 * of failing or spinning, and serves again once one is freed. */
TEST(accept_out_of_descriptors_backs_off_and_recovers)
{
    int server = co_listen("127.0.0.1", 0, 0);
    int port = co_port(server);
    CHECK_EQ(co_accept(server, NULL, NULL, 0), -1);     /* sets up the reserve */
    CHECK_EQ(errno, ETIMEDOUT);
    int client = co_dial("127.0.0.1", port, co_now() + 5 * CO_SEC);
    CHECK(client >= 0);
    int spare = dup(0);                 /* one to free later */
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = 256;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
    int fill[4096], n = 0;
    while (n < 4096 && (fill[n] = dup(0)) >= 0)
        n++;
    CHECK(n < 4096);                    /* every descriptor in use */
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    CHECK_EQ(co_accept(server, NULL, NULL, co_now() + 300 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    getrusage(RUSAGE_SELF, &after);
    long cpu_us = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000L +
                  (after.ru_utime.tv_usec - before.ru_utime.tv_usec);
    if (test_tool() == NULL)
        CHECK(cpu_us < 200000);         /* it slept, it did not spin */
    char b;
    CHECK_EQ(co_read(client, &b, 1, co_now() + 5 * CO_SEC), 0);   /* shed: closed */
    close(spare);
    close(client);
    for (int i = 0; i < n; i++)
        close(fill[i]);
    client = co_dial("127.0.0.1", port, co_now() + 5 * CO_SEC);
    int conn = co_accept(server, NULL, NULL, co_now() + 5 * CO_SEC);
    CHECK(conn >= 0);
    co_close(conn);
    co_close(client);
    co_close(server);
}

static void *thread_sleeps_and_reads(void *arg)
{
    int *ok = arg;
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    co_sleep(co_now() + 5 * CO_MSEC);
    co_write(sv[1], "t", 1, CO_FOREVER);
    co_join(c, CO_FOREVER);
    *ok = r.got == 1;
    destroy_ctx(c);
    co_close(sv[0]);
    co_close(sv[1]);
    return NULL;
}

TEST(each_thread_has_its_own_runtime_and_poller)
{
    pthread_t t[2];
    int ok[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, thread_sleeps_and_reads, &ok[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(ok[0] && ok[1]);
}

TEST(a_forked_child_gets_a_runtime_of_its_own)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();                        /* it waits on sv[0] in both */
    pid_t pid = fork();
    if (pid == 0) {
        co_sleep(co_now() + CO_MSEC);
        if (write(sv[1], "c", 1) != 1 || co_join(c, co_now() + 5 * CO_SEC) != 0)
            _exit(2);
        _exit(r.got == 1 && r.buf[0] == 'c' ? 0 : 3);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK(!is_ctx_finished(c));         /* the child's read took the byte */
    co_cancel(c);
    co_join(c, CO_FOREVER);
    destroy_ctx(c);
    co_close(sv[0]);
    co_close(sv[1]);
}

TEST(a_signal_is_waited_for)
{
    int signals[] = {SIGUSR1, SIGTERM};
    CHECK_EQ(co_wait_signal(signals, 2, co_now() + CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    kill(getpid(), SIGTERM);
    CHECK_EQ(co_wait_signal(signals, 2, co_now() + 5 * CO_SEC), SIGTERM);
}

/* }===================================================================== */

/* {=====================================================================
 * Promises at their edges: each of these once failed
 * ====================================================================== */

/* co_wait_fd(fd, what, d) returns 0 at once, whatever the deadline 'd'. */
static void ready_at_once(int fd, int what)
{
    int64_t t = co_now();
    CHECK_EQ(co_wait_fd(fd, what, 0), 0);
    CHECK_EQ(co_wait_fd(fd, what, t + 2 * CO_SEC), 0);
    CHECK_EQ(co_wait_fd(fd, what, CO_FOREVER), 0);
    CHECK(co_now() - t < CO_SEC);
}

TEST(readiness_is_remembered_until_a_call_sees_eagain)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    CHECK_EQ(write(p[1], "abcdefg", 7), 7);
    ready_at_once(p[0], CO_READABLE);
    ready_at_once(p[0], CO_READABLE);          /* reported once: still ready */
    char b[3];
    CHECK_EQ(co_read(p[0], b, 3, CO_FOREVER), 3);
    ready_at_once(p[0], CO_READABLE);          /* 4 bytes left */
    char rest[8];
    CHECK_EQ(co_read(p[0], rest, sizeof rest, CO_FOREVER), 4);
    CHECK_EQ(co_wait_fd(p[0], CO_READABLE, co_now() + 5 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    ready_at_once(p[1], CO_WRITABLE);
    CHECK_EQ(co_write(p[1], "x", 1, CO_FOREVER), 1);
    ready_at_once(p[1], CO_WRITABLE);          /* after a completed write */
    ready_at_once(p[0], CO_READABLE);
    co_close(p[0]);
    co_close(p[1]);
}

TEST(a_dialled_socket_is_ready_for_writing_every_time_it_is_asked)
{
    int server = co_listen("127.0.0.1", 0, 0);
    CHECK(server >= 0);
    int fd = co_dial("127.0.0.1", co_port(server), co_now() + 5 * CO_SEC);
    CHECK(fd >= 0);
    ready_at_once(fd, CO_WRITABLE);
    ready_at_once(fd, CO_WRITABLE);
    CHECK_EQ(co_write(fd, "hi", 2, CO_FOREVER), 2);
    ready_at_once(fd, CO_WRITABLE);
    int conn = co_accept(server, NULL, NULL, co_now() + 5 * CO_SEC);
    CHECK(conn >= 0);
    ready_at_once(conn, CO_READABLE);
    co_close(conn);
    co_close(fd);
    co_close(server);
}

TEST(writev_with_a_bad_count_is_einval_as_readv)
{
    int sv[2];
    socket_pair(sv);
    struct iovec iov = {"x", 1};
    CHECK_EQ(co_writev(sv[1], &iov, -1, CO_FOREVER), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(co_readv(sv[0], &iov, -1, CO_FOREVER), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(co_writev(sv[1], &iov, 0, CO_FOREVER), 0);
    co_close(sv[0]);
    co_close(sv[1]);
}

/* After a cancel, what need not wait succeeds, descriptor waits too;
 * only a wait ends with ECANCELED. */
TEST(after_a_cancel_what_is_ready_succeeds_and_only_waits_fail)
{
    int sv[2];
    socket_pair(sv);
    CHECK_EQ(write(sv[1], "z", 1), 1);
    co_cancel(NULL);
    CHECK_EQ(co_wait_fd(sv[0], CO_READABLE, CO_FOREVER), 0);
    CHECK_EQ(co_wait_fd(sv[1], CO_WRITABLE, CO_FOREVER), 0);
    char b;
    CHECK_EQ(co_read(sv[0], &b, 1, CO_FOREVER), 1);
    CHECK_EQ(co_wait_fd(sv[0], CO_READABLE, CO_FOREVER), -1);
    CHECK_EQ(errno, ECANCELED);
    CHECK_EQ(co_read(sv[0], &b, 1, CO_FOREVER), -1);
    CHECK_EQ(errno, ECANCELED);
    CHECK_EQ(co_sleep(0), 0);                  /* a past deadline does not wait */
    CHECK_EQ(co_sleep(co_now() + CO_SEC), -1);
    CHECK_EQ(errno, ECANCELED);
    close(sv[0]);
    close(sv[1]);
}

TEST(waiting_for_no_signal_is_einval)
{
    int none[1] = {0};
    int64_t t = co_now();
    CHECK_EQ(co_wait_signal(none, 0, t + CO_SEC), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(co_wait_signal(NULL, 1, t + CO_SEC), -1);
    CHECK_EQ(errno, EINVAL);
    int kill_signal[] = {SIGKILL};
    CHECK_EQ(co_wait_signal(kill_signal, 1, t + CO_SEC), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(co_now() - t < CO_SEC / 2);
}

TEST(a_write_to_a_pipe_with_no_reader_is_epipe_not_sigpipe)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    close(p[0]);
    CHECK_EQ(co_write(p[1], "x", 1, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    struct iovec iov = {"y", 1};
    CHECK_EQ(co_writev(p[1], &iov, 1, CO_FOREVER), -1);
    CHECK_EQ(errno, EPIPE);
    sigset_t pending;
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGPIPE));    /* nothing left queued either */
    co_close(p[1]);
}

static int open_descriptors(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static void *accept_once(void *arg)
{
    int server = *(int *)arg;
    CHECK_EQ(co_accept(server, NULL, NULL, 0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    return NULL;
}

TEST(a_thread_that_accepted_leaves_no_descriptor_behind)
{
    int server = co_listen("127.0.0.1", 0, 0);
    CHECK(server >= 0);
    pthread_t t;
    pthread_create(&t, NULL, accept_once, &server);   /* its runtime, its reserve */
    pthread_join(t, NULL);
    int before = open_descriptors();
    for (int i = 0; i < 4; i++) {
        pthread_create(&t, NULL, accept_once, &server);
        pthread_join(t, NULL);
    }
    CHECK_EQ(open_descriptors(), before);
    co_close(server);
}

/* }===================================================================== */

/* {=====================================================================
 * Descriptors closed by another thread
 * ====================================================================== */

static void *close_it(void *arg)
{
    usleep(20 * 1000);
    CHECK_EQ(co_close(*(int *)arg), 0);
    return NULL;
}

static void write_five_later(void *arg)
{
    co_sleep(co_now() + 50 * CO_MSEC);
    CHECK_EQ(co_write(*(int *)arg, "12345", 5, CO_FOREVER), 5);
}

/* The registration follows the descriptor, not its number: thread A's
 * registration of a number that thread B closed is renewed when the
 * number comes back, here a new pipe's. */
TEST(a_number_closed_by_another_thread_and_reused_gets_its_events)
{
    int p[2], q[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    CHECK_EQ(co_wait_fd(p[0], CO_READABLE, co_now() + CO_MSEC), -1);   /* registered here */
    int number = p[0];
    pthread_t t;
    pthread_create(&t, NULL, close_it, &number);
    pthread_join(t, NULL);
    close(p[1]);
    CHECK_EQ(pipe2(q, O_NONBLOCK), 0);
    if (q[0] != number) {
        CHECK_EQ(dup2(q[0], number), number);
        close(q[0]);
        q[0] = number;
    }
    sp_ctx w = create_ctx(write_five_later, &q[1]);
    char buf[8];
    int64_t t0 = co_now();
    CHECK_EQ(co_read(q[0], buf, sizeof buf, t0 + 3 * CO_SEC), 5);
    CHECK(co_now() - t0 < CO_SEC);
    CHECK_EQ(co_join(w, CO_FOREVER), 0);
    destroy_ctx(w);
    co_close(q[0]);
    co_close(q[1]);
}

TEST(a_close_in_another_thread_wakes_the_waiter_with_ebadf)
{
    int sv[2];
    socket_pair(sv);
    struct reader r = {.fd = sv[0]};
    sp_ctx c = create_ctx(read_once, &r);
    yield_ctx();                                 /* it waits on sv[0] */
    pthread_t t;
    int64_t t0 = co_now();
    pthread_create(&t, NULL, close_it, &sv[0]);
    CHECK_EQ(co_join(c, t0 + 5 * CO_SEC), 0);
    CHECK(co_now() - t0 < 2 * CO_SEC);
    CHECK_EQ(r.got, -1);
    CHECK_EQ(r.err, EBADF);
    pthread_join(t, NULL);
    destroy_ctx(c);
    co_close(sv[1]);
}

/* }===================================================================== */
