/* The dump (dump_ctx, COROUTINE_DUMP_SIGNAL) and names (set_ctx_name):
 * each coroutine with its name, its wait and a backtrace naming the
 * function it waits in; on a signal, every thread's, and the program
 * goes on. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coroutine_chan.h"
#include "test.h"

static co_chan *channel;
static co_mutex *mutex;
static int pipe_ends[2];
static volatile int after_waits;              /* so that no wait is a tail call */

static void sleeps_a_while(void *arg)
{
    (void)arg;
    co_sleep(co_now() + 10 * CO_SEC);
    after_waits++;
}

static void reads_a_pipe(void *arg)
{
    (void)arg;
    char b[4];
    co_read(pipe_ends[0], b, sizeof b, CO_FOREVER);
    after_waits++;
}

static void receives_on_a_channel(void *arg)
{
    (void)arg;
    int v;
    co_chan_recv(channel, &v, CO_FOREVER);
    after_waits++;
}

static void locks_a_mutex(void *arg)
{
    (void)arg;
    co_mutex_lock(mutex, CO_FOREVER);
    after_waits++;
}

static void joins_another(void *arg)
{
    join_ctx(arg, CO_FOREVER);
    after_waits++;
}

/* Five named coroutines, each waiting in its own way. */
static sp_ctx five[5];

static void make_five(void)
{
    CHECK_EQ(pipe2(pipe_ends, O_NONBLOCK), 0);
    channel = co_chan_create(sizeof(int), 0);
    mutex = co_mutex_create();
    CHECK_EQ(co_mutex_lock(mutex, CO_FOREVER), 0);
    five[0] = create_ctx(sleeps_a_while, NULL);
    five[1] = create_ctx(reads_a_pipe, NULL);
    five[2] = create_ctx(receives_on_a_channel, NULL);
    five[3] = create_ctx(locks_a_mutex, NULL);
    five[4] = create_ctx(joins_another, five[0]);
    static const char *names[] = {"sleeper", "pipe reader", "receiver", "locker", "joiner"};
    for (int i = 0; i < 5; i++)
        set_ctx_name(five[i], names[i]);
    yield_ctx();                                  /* each is waiting now */
}

static char *dump_to_text(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    dump_ctx(p[1]);
    close(p[1]);
    static char text[1 << 16];
    size_t n = 0;
    for (ssize_t r; (r = read(p[0], text + n, sizeof text - 1 - n)) > 0;)
        n += (size_t)r;
    text[n] = '\0';
    close(p[0]);
    return text;
}

/* The block of the coroutine named 'name': from its line to the next
 * context's. */
static const char *block_of(const char *text, const char *name, char *out, size_t size)
{
    char head[64];
    snprintf(head, sizeof head, "\"%s\": ", name);
    const char *at = strstr(text, head);
    CHECK(at != NULL);
    const char *end = strstr(at + 1, "\n  coroutine ");
    size_t n = end ? (size_t)(end - at) : strlen(at);
    n = n < size - 1 ? n : size - 1;
    memcpy(out, at, n);
    out[n] = '\0';
    return out;
}

TEST(a_dump_names_each_coroutine_its_wait_and_where_it_waits)
{
    make_five();
    set_ctx_name(NULL, "the main one");
    const char *text = dump_to_text();
    char b[2048];
    CHECK(strstr(text, "main \"the main one\": running") != NULL);
    CHECK(strstr(block_of(text, "sleeper", b, sizeof b), "waiting\n      sleeping, until +") != NULL);
    CHECK(strstr(b, "sleeps_a_while+") != NULL);
    CHECK(strstr(b, "made at ") != NULL);
    CHECK(strstr(block_of(text, "pipe reader", b, sizeof b), "reading descriptor ") != NULL);
    CHECK(strstr(b, "reads_a_pipe+") != NULL);
    CHECK(strstr(block_of(text, "receiver", b, sizeof b), "receiving on channel 0x") != NULL);
    CHECK(strstr(b, "receives_on_a_channel+") != NULL);
    CHECK(strstr(block_of(text, "locker", b, sizeof b), "locking mutex 0x") != NULL);
    CHECK(strstr(b, "locks_a_mutex+") != NULL);
    char id[64];
    snprintf(id, sizeof id, "joining coroutine %zu", get_ctx_id_of(five[0]));
    CHECK(strstr(block_of(text, "joiner", b, sizeof b), id) != NULL);
    CHECK(strstr(b, "joins_another+") != NULL);
}

TEST(names_are_copied_bounded_and_taken_away)
{
    sp_ctx c = create_ctx(sleeps_a_while, NULL);
    CHECK(get_ctx_name(c) == NULL);
    char name[] = "a name of more than thirty-one bytes, cut";
    set_ctx_name(c, name);
    name[0] = 'X';                                /* copied, not kept */
    CHECK_STR(get_ctx_name(c), "a name of more than thirty-one ");
    set_ctx_name(c, "");
    CHECK(get_ctx_name(c) == NULL);
    set_ctx_name(c, "again");
    set_ctx_name(c, NULL);
    CHECK(get_ctx_name(c) == NULL);
    destroy_ctx(c);
    sp_ctx d = create_ctx(sleeps_a_while, NULL);  /* perhaps the same memory: no name */
    CHECK(get_ctx_name(d) == NULL);
    destroy_ctx(d);
}

static void *other_thread(void *arg)
{
    sp_ctx c = create_ctx(sleeps_a_while, NULL);
    set_ctx_name(c, "in the other thread");
    yield_ctx();
    pthread_barrier_wait(arg);                    /* ready */
    pthread_barrier_wait(arg);                    /* dumped */
    destroy_ctx(c);
    return NULL;
}

static void dump_on_a_signal(void *arg)
{
    (void)arg;
    setenv("COROUTINE_DUMP_SIGNAL", "SIGUSR1", 1);
    make_five();
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 2);
    pthread_t th;
    pthread_create(&th, NULL, other_thread, &b);
    pthread_barrier_wait(&b);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 50; i++)                  /* let the other thread answer */
        usleep(2000);
    pthread_barrier_wait(&b);
    pthread_join(th, NULL);
    fprintf(stderr, "went on\n");
    _exit(0);
}

TEST(a_signal_dumps_every_thread_and_the_program_goes_on)
{
    if (getenv("TEST_EMULATOR") != NULL)       /* set by ./nob test */
        test_skip("under qemu-user, the dump signal passed between two threads ends the "
                  "process when the library is shared (the dump itself is written whole)");
    struct death d = run_in_child(dump_on_a_signal, NULL);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.message, "\"pipe reader\": waiting") != NULL);
    CHECK(strstr(d.message, "\"in the other thread\": waiting") != NULL);
    CHECK(strstr(d.message, "went on\n") != NULL);
}

/* A child that starts with one variable of the environment set to a bad
 * value ("NAME=value"): what it says is in the death's message. */
static void start_with(void *arg)
{
    char setting[64];
    snprintf(setting, sizeof setting, "%s", (const char *)arg);
    char *eq = strchr(setting, '=');
    *eq = '\0';
    setenv(setting, eq + 1, 1);
    sp_ctx c = create_ctx(sleeps_a_while, NULL);
    destroy_ctx(c);
    _exit(0);
}

TEST(a_dump_signal_that_is_not_one_is_said)
{
    struct death d = run_in_child(start_with, "COROUTINE_DUMP_SIGNAL=SIGNOTHING");
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.message, "COROUTINE_DUMP_SIGNAL=SIGNOTHING is not a signal") != NULL);
}

/* {=====================================================================
 * The stall detector
 * ====================================================================== */

static int64_t clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

__attribute__((noinline)) static void spin_for_a_while(int ms)
{
    int64_t until = clock_ms() + ms;
    while (clock_ms() < until)
        __asm__ volatile("" ::: "memory");
}

static void spinner(void *arg)
{
    (void)arg;
    spin_for_a_while(300);
}

static void stall_in_a_coroutine(void *arg)
{
    (void)arg;
    watch_ctx_stalls(50);
    sp_ctx c = create_ctx(spinner, NULL);
    set_ctx_name(c, "spinner");
    join_ctx(c, CO_FOREVER);
    usleep(100 * 1000);                           /* the backtrace's signal lands */
    destroy_ctx(c);
    _exit(0);
}

TEST(a_coroutine_that_runs_300_ms_without_a_switch_is_named_with_where_it_runs)
{
    if (test_tool() && strcmp(test_tool(), "valgrind") == 0)
        test_skip("valgrind runs one thread at a time: the watcher does not see the spin");
    struct death d = run_in_child(stall_in_a_coroutine, NULL);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.message, "coroutine: stall: coroutine ") != NULL);
    CHECK(strstr(d.message, "\"spinner\" of thread ") != NULL);
    /* under an emulator the interrupted state can be thinner: no frame of
     * the spinner's own may be left on the stack */
    CHECK(getenv("TEST_EMULATOR") != NULL || strstr(d.message, "spin_for_a_while+") != NULL);
    /* one report at 50 ms or so, then at each doubling: 4 or 5 in 300 ms */
    int reports = 0;
    for (const char *p = d.message; (p = strstr(p, "coroutine: stall:")) != NULL; p++)
        reports++;
    CHECK(reports >= 2 && reports <= 6);
}

static void switch_often(void *arg)
{
    int64_t until = clock_ms() + *(int *)arg;
    while (clock_ms() < until) {
        int64_t t = clock_ms();
        (void)t;
        for (volatile int i = 0; i < 200; i++)
            ;
        yield_ctx();
    }
}

static void busy_but_switching(void *arg)
{
    (void)arg;
    watch_ctx_stalls(50);
    int ms = 2000;
    sp_ctx a = create_ctx(switch_often, &ms), b = create_ctx(switch_often, &ms);
    join_ctx(a, CO_FOREVER);
    join_ctx(b, CO_FOREVER);
    destroy_ctx(a);
    destroy_ctx(b);
    co_sleep(co_now() + 200 * CO_MSEC);           /* asleep in the poller: not a stall */
    _exit(0);
}

TEST(a_program_that_switches_often_or_sleeps_is_not_reported)
{
    struct death d = run_in_child(busy_but_switching, NULL);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.message, "stall") == NULL);
}

/* }===================================================================== */

/* {=====================================================================
 * Time accounting
 * ====================================================================== */

static void sleep_then_compute(void *arg)
{
    (void)arg;
    CHECK_EQ(co_sleep(co_now() + 100 * CO_MSEC), 0);
    spin_for_a_while(50);
}

TEST(a_coroutine_that_sleeps_100_ms_and_computes_50_is_counted_so)
{
    struct ctx_stats st;
    CHECK_EQ(get_ctx_stats(NULL, &st), 0);        /* accounting begins */
    CHECK_EQ(st.running, 0);
    sp_ctx c = create_ctx(sleep_then_compute, NULL);
    CHECK_EQ(join_ctx(c, CO_FOREVER), 0);
    CHECK_EQ(get_ctx_stats(c, &st), 0);
    /* a wait counts from the switch after the call, so a little under the
     * 100 ms slept; over by up to 20 ms, a second under a tool */
    CHECK(st.waiting >= 95 * CO_MSEC && st.waiting < 120 * CO_MSEC + (test_tool() ? CO_SEC : 0));
    CHECK(st.running >= 45 * CO_MSEC && st.running < 70 * CO_MSEC + (test_tool() ? CO_SEC : 0));
    CHECK(st.runs >= 2);
    CHECK_EQ(get_ctx_stats(NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    destroy_ctx(c);
}

/* }===================================================================== */

static void overflow_a_named_one(void *arg)
{
    (void)arg;
    sp_ctx c = create_ctx_sized(grow_stack_forever, NULL, 64 * 1024);
    set_ctx_name(c, "deep diver");
    switch_ctx(c);
    _exit(0);
}

TEST(an_overflow_report_names_the_coroutine)
{
    struct death d = run_in_child(overflow_a_named_one, NULL);
    CHECK(died_with(&d, SIGABRT, "\"deep diver\": stack overflow at ") ||
          (test_sanitizer != NULL && strstr(d.message, "\"deep diver\": stack overflow at ")));
}

static void name_a_destroyed_one(void *arg)
{
    (void)arg;
    sp_ctx c = create_ctx(sleeps_a_while, NULL);
    destroy_ctx(c);
    set_ctx_name(c, "gone");
}

static void stats_of_a_destroyed_one(void *arg)
{
    (void)arg;
    struct ctx_stats st;
    sp_ctx c = create_ctx(sleeps_a_while, NULL);
    destroy_ctx(c);
    get_ctx_stats(c, &st);
}

TEST(naming_or_asking_the_stats_of_a_destroyed_coroutine_is_named)
{
    CHECK(aborts_saying(name_a_destroyed_one, "set_ctx_name: coroutine"));
    CHECK(aborts_saying(stats_of_a_destroyed_one, "get_ctx_stats: coroutine"));
}

TEST(a_stall_threshold_that_is_not_a_number_is_said)
{
    struct death d = run_in_child(start_with, "COROUTINE_STALL_MS=soon");
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.message, "COROUTINE_STALL_MS=soon is not a number") != NULL);
}

static void watch_then_stop(void *arg)
{
    (void)arg;
    watch_ctx_stalls(50);
    watch_ctx_stalls(0);                          /* 0 stops watching */
    sp_ctx c = create_ctx(spinner, NULL);
    join_ctx(c, CO_FOREVER);
    destroy_ctx(c);
    _exit(0);
}

TEST(a_stall_watch_of_0_ms_stops_watching)
{
    struct death d = run_in_child(watch_then_stop, NULL);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    CHECK(strstr(d.message, "stall") == NULL);
}
