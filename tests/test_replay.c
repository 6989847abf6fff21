/* Virtual time and seeded schedules (coroutine_wait.h, VIRTUAL TIME and
 * SEEDS): an hour of sleeps in no time, at their deadlines and in their
 * order; the world outside still waited for; the same seed, the same
 * run, byte for byte; different seeds, different runs; and a planted
 * ordering bug that a seed finds and replays. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coroutine_chan.h"
#include "test.h"

static int64_t wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * CO_SEC + t.tv_nsec;
}

/* {=====================================================================
 * Virtual time
 * ====================================================================== */

enum { SLEEPERS = 1000 };

struct sleeper {
    int64_t deadline, woke;
    int index, rank;                 /* its place among the deadlines; when it woke */
};

static int woken_so_far;

static void sleep_once(void *arg)
{
    struct sleeper *s = arg;
    CHECK_EQ(co_sleep(s->deadline), 0);
    s->woke = co_now();
    s->rank = woken_so_far++;
}

static int by_deadline(const void *a, const void *b)
{
    const struct sleeper *x = a, *y = b;
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    return x->index - y->index;      /* equal deadlines: in the order they began */
}

TEST(an_hour_of_sleeps_passes_in_no_time_at_each_deadline_in_order)
{
    CHECK_EQ(co_clock_virtual(), 0);
    CHECK_EQ(co_now(), CO_SEC);
    static struct sleeper s[SLEEPERS];
    static sp_ctx c[SLEEPERS];
    unsigned r = 12345;
    int64_t start = co_now(), wall = wall_now();
    for (int i = 0; i < SLEEPERS; i++) {
        r = r * 1103515245 + 12345;
        s[i] = (struct sleeper){.deadline = start + (int64_t)(r % 3600000) * CO_MSEC, .index = i};
        c[i] = create_ctx(sleep_once, &s[i]);
    }
    for (int i = 0; i < SLEEPERS; i++) {
        CHECK_EQ(join_ctx(c[i], CO_FOREVER), 0);
        destroy_ctx(c[i]);
        CHECK_EQ(s[i].woke, s[i].deadline);     /* at it, not a moment later */
    }
    CHECK(wall_now() - wall < (test_tool() ? 10 : 1) * CO_SEC);   /* a tool is slower */
    qsort(s, SLEEPERS, sizeof *s, by_deadline);
    for (int i = 0; i < SLEEPERS; i++)
        CHECK_EQ(s[i].rank, i);
}

static co_mutex *held;

static void hold_ten_minutes(void *arg)
{
    (void)arg;
    CHECK_EQ(co_mutex_lock(held, CO_FOREVER), 0);
    CHECK_EQ(co_sleep(co_now() + 10 * 60 * CO_SEC), 0);
    co_mutex_unlock(held);
}

TEST(deadlines_of_minutes_on_channels_and_locks_end_at_their_virtual_time)
{
    CHECK_EQ(co_clock_virtual(), 0);
    co_chan *ch = co_chan_create(sizeof(int), 0);
    int v;
    int64_t t = co_now(), wall = wall_now();
    CHECK_EQ(co_chan_recv(ch, &v, t + 5 * 60 * CO_SEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK_EQ(co_now(), t + 5 * 60 * CO_SEC);
    held = co_mutex_create();
    sp_ctx holder = create_ctx(hold_ten_minutes, NULL);
    yield_ctx();                                 /* it holds the lock now */
    t = co_now();
    CHECK_EQ(co_mutex_lock(held, t + 2 * 60 * CO_SEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK_EQ(co_now(), t + 2 * 60 * CO_SEC);
    CHECK_EQ(co_mutex_lock(held, CO_FOREVER), 0);   /* at ten minutes */
    CHECK_EQ(co_now(), t + 10 * 60 * CO_SEC);
    co_mutex_unlock(held);
    CHECK_EQ(join_ctx(holder, CO_FOREVER), 0);
    destroy_ctx(holder);
    CHECK(wall_now() - wall < (test_tool() ? 10 : 1) * CO_SEC);
    co_mutex_destroy(held);
    co_chan_destroy(ch);
}

static int pipe_ends[2];

static void *write_after_50_ms(void *arg)
{
    (void)arg;
    usleep(50 * 1000);
    CHECK_EQ(write(pipe_ends[1], "hello", 5), 5);
    return NULL;
}

struct order {
    int64_t at[3];                   /* virtual time of: the read, the 10 ms, the 1 s sleeper */
    int n, who[3];
};

static struct order seen;

static void note_at(int who)
{
    seen.at[who] = co_now();
    seen.who[seen.n++] = who;
}

static void read_the_socket(void *arg)
{
    (void)arg;
    char buf[8];
    CHECK_EQ(co_read(pipe_ends[0], buf, sizeof buf, CO_FOREVER), 5);
    note_at(0);
}

static void sleep_for(void *arg)
{
    int who = *(int *)arg;
    CHECK_EQ(co_sleep(co_now() + (who == 1 ? 10 * CO_MSEC : CO_SEC)), 0);
    note_at(who);
}

TEST(virtual_time_waits_for_the_world_outside_and_does_not_jump_past_it)
{
    CHECK_EQ(co_clock_virtual(), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pipe_ends), 0);
    int one = 1, two = 2;
    int64_t start = co_now();
    sp_ctx r = create_ctx(read_the_socket, NULL), a = create_ctx(sleep_for, &one),
           b = create_ctx(sleep_for, &two);
    pthread_t th;
    pthread_create(&th, NULL, write_after_50_ms, NULL);
    CHECK_EQ(join_ctx(r, CO_FOREVER), 0);
    CHECK_EQ(join_ctx(a, CO_FOREVER), 0);
    CHECK_EQ(join_ctx(b, CO_FOREVER), 0);
    pthread_join(th, NULL);
    /* The 10 ms sleeper woke first, while the read was pending, on time;
     * then the data came, about 50 ms in; the 1 s sleeper last, at its
     * deadline, jumped to once nothing but deadlines was left. */
    CHECK_EQ(seen.n, 3);
    CHECK_EQ(seen.who[0], 1);
    CHECK_EQ(seen.who[1], 0);
    CHECK_EQ(seen.who[2], 2);
    CHECK_EQ(seen.at[1], start + 10 * CO_MSEC);
    CHECK(seen.at[0] >= start + 10 * CO_MSEC && seen.at[0] < start + CO_SEC);
    CHECK_EQ(seen.at[2], start + CO_SEC);
    destroy_ctx(r);
    destroy_ctx(a);
    destroy_ctx(b);
    co_close(pipe_ends[0]);
    close(pipe_ends[1]);
}

TEST(the_clock_cannot_turn_virtual_after_a_wait)
{
    CHECK_EQ(co_sleep(co_now() + CO_MSEC), 0);
    CHECK_EQ(co_clock_virtual(), -1);
    CHECK_EQ(errno, EBUSY);
}

/* }===================================================================== */

/* {=====================================================================
 * Seeds
 * ====================================================================== */

/* Five workers, each three times: take the lock, note its name, send to
 * a buffered channel, let go; main drains the channel. */
static char names[64];
static co_mutex *lock;
static co_chan *notes;

static void work(void *arg)
{
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(co_mutex_lock(lock, CO_FOREVER), 0);
        size_t n = strlen(names);
        names[n] = *(const char *)arg;
        CHECK_EQ(co_chan_send(notes, arg, CO_FOREVER), 0);
        co_mutex_unlock(lock);
        CHECK_EQ(co_sleep(co_now() + CO_MSEC), 0);
    }
}

static void five_workers(void)
{
    static const char who[] = "ABCDE";
    memset(names, 0, sizeof names);
    lock = co_mutex_create();
    notes = co_chan_create(1, 4);
    sp_ctx c[5];
    for (int i = 0; i < 5; i++)
        c[i] = create_ctx(work, (void *)&who[i]);
    char v;
    for (int i = 0; i < 15; i++)
        CHECK_EQ(co_chan_recv(notes, &v, CO_FOREVER), 0);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(join_ctx(c[i], CO_FOREVER), 0);
        destroy_ctx(c[i]);
    }
    co_chan_destroy(notes);
    co_mutex_destroy(lock);
}

struct run {
    uint64_t seed;
    char path[64];
};

static void traced_run(void *arg)
{
    const struct run *r = arg;
    co_clock_virtual();
    co_seed(r->seed);
    CHECK_EQ(trace_ctx(r->path), 0);
    five_workers();
    CHECK_EQ(trace_ctx(NULL), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

TEST(the_same_seed_writes_the_same_trace_byte_for_byte)
{
    char *first = NULL;
    for (int i = 0; i < 10; i++) {
        struct run r = {.seed = 42};
        snprintf(r.path, sizeof r.path, "/tmp/coroutine-replay-%d.json", (int)getpid());
        struct death d = run_in_child(traced_run, &r);
        CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
        char *text = slurp(r.path);
        unlink(r.path);
        CHECK(strlen(text) > 1000);
        if (first == NULL)
            first = text;
        else
            CHECK(strcmp(first, text) == 0);
    }
    struct run other = {.seed = 43};           /* and another seed, another run */
    snprintf(other.path, sizeof other.path, "/tmp/coroutine-replay-%d.json", (int)getpid());
    struct death d = run_in_child(traced_run, &other);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    char *text = slurp(other.path);
    unlink(other.path);
    CHECK(strcmp(first, text) != 0);
}

TEST(fifty_seeds_give_many_interleavings_and_no_seed_gives_the_default_one)
{
    CHECK_EQ(co_clock_virtual(), 0);
    five_workers();
    char plain[64];
    strcpy(plain, names);
    CHECK_STR(plain, "EDCBAEDCBAEDCBA");     /* the rotation: newest first, every time */
    static char seen_names[50][64];
    int distinct = 0;
    for (int s = 1; s <= 50; s++) {
        co_seed((uint64_t)s);
        five_workers();
        bool known = false;
        for (int k = 0; k < distinct; k++)
            known |= strcmp(seen_names[k], names) == 0;
        if (!known)
            strcpy(seen_names[distinct++], names);
    }
    CHECK(distinct >= 20);
}

/* The planted bug: two withdrawals of 60 from 100, each checking the
 * balance, then sending a note to an audit channel (a call that need not
 * wait: the channel has room), then taking the money. In the default
 * order nothing runs between the check and the act; a seed may yield at
 * the send, and then both pass the check. */
static int balance;
static co_chan *audit;

static void withdraw(void *arg)
{
    (void)arg;
    int amount = 60;
    if (balance >= amount) {
        CHECK_EQ(co_chan_send(audit, &amount, CO_FOREVER), 0);
        balance -= amount;
    }
}

static bool overdrawn(void)
{
    balance = 100;
    audit = co_chan_create(sizeof(int), 8);
    sp_ctx a = create_ctx(withdraw, NULL), b = create_ctx(withdraw, NULL);
    CHECK_EQ(join_ctx(a, CO_FOREVER), 0);
    CHECK_EQ(join_ctx(b, CO_FOREVER), 0);
    destroy_ctx(a);
    destroy_ctx(b);
    co_chan_destroy(audit);
    return balance < 0;
}

TEST(a_planted_ordering_bug_is_found_by_a_seed_and_replayed_by_it)
{
    CHECK(!overdrawn());                     /* the default order hides it */
    uint64_t found = 0;
    for (uint64_t s = 1; s <= 1000 && found == 0; s++) {
        co_seed(s);
        if (overdrawn())
            found = s;
    }
    CHECK(found != 0);
    for (int i = 0; i < 5; i++) {
        co_seed(found);
        CHECK(overdrawn());
    }
}

/* }===================================================================== */

/* {=====================================================================
 * From the environment
 * ====================================================================== */

static void *read_the_clock(void *arg)
{
    *(int64_t *)arg = co_now();
    return NULL;
}

static void seeded_from_the_environment(void *arg)
{
    setenv("COROUTINE_SEED", (const char *)arg, 1);
    setenv("COROUTINE_VIRTUAL_TIME", "1", 1);
    int64_t t = 0;
    pthread_t th;
    pthread_create(&th, NULL, read_the_clock, &t);   /* any thread's clock is virtual */
    pthread_join(th, NULL);
    if (t != CO_SEC)
        _exit(3);
    _exit(overdrawn() ? 1 : 0);
}

TEST(the_environment_seeds_and_makes_clocks_virtual_and_random_says_its_seed)
{
    struct death d = run_in_child(seeded_from_the_environment, "random");
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) != 3);
    unsigned long long seed;
    CHECK(sscanf(d.message, "coroutine: COROUTINE_SEED=%llu\n", &seed) == 1);
    char again[32];
    snprintf(again, sizeof again, "%llu", seed);   /* the seed said replays the run */
    struct death e = run_in_child(seeded_from_the_environment, again);
    CHECK_EQ(e.status, d.status);
    CHECK(strstr(e.message, "COROUTINE_SEED") == NULL);
    struct death bad = run_in_child(seeded_from_the_environment, "12x");
    CHECK(strstr(bad.message, "COROUTINE_SEED=12x is not a number") != NULL);
    CHECK(WIFEXITED(bad.status) && WEXITSTATUS(bad.status) == 0);   /* unseeded: no bug */
}

/* }===================================================================== */
