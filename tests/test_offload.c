/* test_offload.c - blocking work on worker threads (co_offload): results,
 * deadlines and cancels while the work runs, what happens to an abandoned
 * argument, signals, threads and misuse. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coroutine.h"
#include "coroutine_wait.h"
#include "test.h"

/* {=====================================================================
 * Work to offload
 * ====================================================================== */

struct job {
    int64_t sleep_ns;            /* blocks the worker this long */
    pthread_t ran_on;
    int input, output;
    int started, finished;       /* atomic */
};

static int drops;                /* atomic: drop calls */

static void blocking_square(void *arg)
{
    struct job *j = arg;
    __atomic_store_n(&j->started, 1, __ATOMIC_SEQ_CST);
    j->ran_on = pthread_self();
    if (j->sleep_ns > 0)
        usleep((useconds_t)(j->sleep_ns / 1000));
    j->output = j->input * j->input;
    __atomic_store_n(&j->finished, 1, __ATOMIC_SEQ_CST);
}

/* The pool's end of an abandoned job: it must have finished, or never
 * started. */
static void drop_job(void *arg)
{
    struct job *j = arg;
    CHECK(j->finished || !j->started);
    __atomic_add_fetch(&drops, 1, __ATOMIC_SEQ_CST);
    free(j);
}

static struct job *new_job(int input, int64_t sleep_ns)
{
    struct job *j = calloc(1, sizeof *j);
    CHECK(j != NULL);
    j->input = input;
    j->sleep_ns = sleep_ns;
    return j;
}

/* Until 'count' drops were made, running the thread's coroutines and its
 * poller meanwhile (the drop of abandoned work comes through it). */
static void wait_for_drops(int count)
{
    int64_t until = co_now() + 10 * CO_SEC;
    while (__atomic_load_n(&drops, __ATOMIC_SEQ_CST) < count && co_now() < until)
        co_sleep(co_now() + CO_MSEC);
    CHECK_EQ(__atomic_load_n(&drops, __ATOMIC_SEQ_CST), count);
}

/* }===================================================================== */

static int ticks;

static void tick(void *unused)
{
    (void)unused;
    for (;;) {
        ticks++;
        co_sleep(co_now() + CO_MSEC);
    }
}

TEST(offloaded_work_runs_on_another_thread_while_others_run)
{
    sp_ctx t = create_ctx(tick, NULL);
    struct job j = {.input = 7, .sleep_ns = 50 * CO_MSEC};
    CHECK_EQ(co_offload(blocking_square, &j, NULL, CO_FOREVER), 0);
    CHECK_EQ(j.output, 49);
    CHECK(!pthread_equal(j.ran_on, pthread_self()));
    CHECK(ticks >= 3);           /* 50 ms of work, a tick a millisecond */
    destroy_ctx(t);
}

static void square_many(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct job j = {.input = i, .sleep_ns = i % 3 ? 0 : CO_MSEC};
    CHECK_EQ(co_offload(blocking_square, &j, NULL, CO_FOREVER), 0);
    CHECK_EQ(j.output, i * i);
}

TEST(a_hundred_coroutines_offload_at_once)
{
    sp_ctx c[100];
    for (int i = 0; i < 100; i++)
        c[i] = create_ctx(square_many, (void *)(intptr_t)i);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(co_join(c[i], co_now() + 30 * CO_SEC), 0);
        destroy_ctx(c[i]);
    }
}

static int gate_open, gate_entered;    /* atomic */

/* Holds its worker until the test opens the gate. */
static void gated_square(void *arg)
{
    __atomic_store_n(&gate_entered, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&gate_open, __ATOMIC_SEQ_CST))
        usleep(1000);
    blocking_square(arg);
}

TEST(offloaded_work_that_outlives_its_deadline_is_dropped_once_done)
{
    struct job warm = {.input = 1};                    /* the runtime and a worker, ready */
    CHECK_EQ(co_offload(blocking_square, &warm, NULL, CO_FOREVER), 0);
    struct job *j = new_job(3, 0);
    CHECK_EQ(co_offload(gated_square, j, drop_job, co_now() + 20 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);                        /* while the work is held */
    co_sleep(co_now() + 20 * CO_MSEC);
    if (__atomic_load_n(&gate_entered, __ATOMIC_SEQ_CST))      /* else skipped, never run */
        CHECK_EQ(__atomic_load_n(&drops, __ATOMIC_SEQ_CST), 0);
    __atomic_store_n(&gate_open, 1, __ATOMIC_SEQ_CST);
    wait_for_drops(1);                                 /* after the work ended */
}

static void offload_forever(void *arg);
static int quick_result;

static void read_a_byte(void *arg)
{
    char b;
    CHECK_EQ(co_read(*(int *)arg, &b, 1, CO_FOREVER), 1);
}

static void offload_quick_or_time_out(void *arg)
{
    struct job *j = arg;
    quick_result = co_offload(blocking_square, j, drop_job, co_now() + 30 * CO_MSEC) == 0 ? 0 : errno;
}

/* The deadline passes and the work comes back in one turn of the poller,
 * before the coroutine runs again: the work is the coroutine's to give
 * up, dropped once, never freed under it (ASan would see it). */
TEST(offloaded_work_back_in_the_same_turn_as_its_deadline_is_dropped_once)
{
    struct job warm = {.input = 1};
    CHECK_EQ(co_offload(blocking_square, &warm, NULL, CO_FOREVER), 0);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    sp_ctx reader = create_ctx(read_a_byte, &sv[0]);  /* so the poller asks the kernel */
    quick_result = -1;
    sp_ctx c = create_ctx(offload_quick_or_time_out, new_job(5, 5 * CO_MSEC));
    yield_ctx();                             /* both wait */
    usleep(100 * 1000);                      /* past the deadline, the work back, no turn */
    CHECK_EQ(co_join(c, co_now() + 10 * CO_SEC), 0);
    CHECK_EQ(quick_result, ETIMEDOUT);
    destroy_ctx(c);
    wait_for_drops(1);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    CHECK_EQ(co_join(reader, co_now() + 10 * CO_SEC), 0);
    destroy_ctx(reader);
    co_close(sv[0]);
    co_close(sv[1]);
}

/* A coroutine cancelled while its work runs, and destroyed before it
 * runs again: the work is dropped once it is done, not lost. */
TEST(offload_cancelled_then_destroyed_before_it_runs_drops_its_work)
{
    int result = -1;
    sp_ctx c = create_ctx(offload_forever, &result);
    yield_ctx();
    co_sleep(co_now() + 20 * CO_MSEC);       /* the work has started */
    co_cancel(c);
    destroy_ctx(c);
    CHECK_EQ(result, -1);
    wait_for_drops(1);
}

static void offload_forever(void *arg)
{
    int *result = arg;
    struct job *j = new_job(4, 200 * CO_MSEC);
    *result = co_offload(blocking_square, j, drop_job, CO_FOREVER) == 0 ? 0 : errno;
}

TEST(cancel_while_offloaded_work_runs_ends_the_wait_and_drops_it)
{
    int result = -1;
    sp_ctx c = create_ctx(offload_forever, &result);
    yield_ctx();                             /* it is waiting now */
    co_sleep(co_now() + 20 * CO_MSEC);       /* and the work has started */
    co_cancel(c);
    CHECK_EQ(co_join(c, co_now() + 10 * CO_SEC), 0);
    CHECK_EQ(result, ECANCELED);
    destroy_ctx(c);
    wait_for_drops(1);
}

TEST(destroying_a_coroutine_waiting_for_offloaded_work_drops_it)
{
    int result = -1;
    sp_ctx c = create_ctx(offload_forever, &result);
    yield_ctx();
    destroy_ctx(c);
    CHECK_EQ(result, -1);                    /* it never ran again */
    wait_for_drops(1);
}

TEST(without_a_drop_call_the_offloader_keeps_its_argument)
{
    struct job j = {.input = 5, .sleep_ns = 150 * CO_MSEC};
    CHECK_EQ(co_offload(blocking_square, &j, NULL, co_now() + 10 * CO_MSEC), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK(!j.started || j.finished);         /* returned only once the work let go */
}

TEST(a_past_deadline_or_a_cancel_first_offloads_nothing)
{
    struct job *j = new_job(2, 0);
    CHECK_EQ(co_offload(blocking_square, j, drop_job, 0), -1);
    CHECK_EQ(errno, ETIMEDOUT);
    CHECK_EQ(__atomic_load_n(&drops, __ATOMIC_SEQ_CST), 1);   /* at once */
    struct job local = {.input = 2};
    co_cancel(NULL);
    CHECK_EQ(co_offload(blocking_square, &local, NULL, CO_FOREVER), -1);
    CHECK_EQ(errno, ECANCELED);
    CHECK(!local.started);
    CHECK_EQ(co_offload(NULL, NULL, NULL, CO_FOREVER), -1);
    CHECK_EQ(errno, EINVAL);
}

static void *offload_from_thread(void *arg)
{
    int base = (int)(intptr_t)arg, sum = 0;
    for (int i = 0; i < 200; i++) {
        struct job j = {.input = base + i};
        CHECK_EQ(co_offload(blocking_square, &j, NULL, CO_FOREVER), 0);
        sum += j.output == (base + i) * (base + i);
    }
    return (void *)(intptr_t)sum;
}

TEST(threads_offload_at_the_same_time)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, offload_from_thread, (void *)(intptr_t)(i * 1000)), 0);
    for (int i = 0; i < 4; i++) {
        void *sum;
        CHECK_EQ(pthread_join(t[i], &sum), 0);
        CHECK_EQ((intptr_t)sum, 200);
    }
}

static void *abandon_then_exit(void *unused)
{
    (void)unused;
    struct job *j = new_job(6, 100 * CO_MSEC);
    CHECK_EQ(co_offload(blocking_square, j, drop_job, co_now() + 5 * CO_MSEC), -1);
    return NULL;                             /* the thread is gone before the work */
}

TEST(offloaded_work_for_a_thread_that_exited_is_dropped_by_the_worker)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, abandon_then_exit, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    int64_t until = co_now() + 10 * CO_SEC;
    while (__atomic_load_n(&drops, __ATOMIC_SEQ_CST) < 1 && co_now() < until)
        usleep(1000);
    CHECK_EQ(__atomic_load_n(&drops, __ATOMIC_SEQ_CST), 1);
}

static void raise_soon(void *unused)
{
    (void)unused;
    usleep(20 * 1000);
    kill(getpid(), SIGUSR1);                 /* to the process: any thread not blocking it */
}

TEST(offload_workers_never_take_a_signal_meant_for_a_signalfd)
{
    int sig = SIGUSR1;
    CHECK_EQ(co_wait_signal(&sig, 1, 0), -1);          /* blocks it here, first */
    CHECK_EQ(errno, ETIMEDOUT);
    struct job j = {0};
    CHECK_EQ(co_offload(raise_soon, &j, NULL, CO_FOREVER), 0);
    CHECK_EQ(co_wait_signal(&sig, 1, co_now() + 5 * CO_SEC), SIGUSR1);
}

static void offload_in_child(void *unused)
{
    (void)unused;
    struct job k = {.input = 9};
    bool ok = co_offload(blocking_square, &k, NULL, co_now() + 10 * CO_SEC) == 0 && k.output == 81;
    _exit(ok ? 0 : 1);
}

TEST(a_forked_child_offloads_with_workers_of_its_own)
{
    if (test_sanitizer != NULL && strcmp(test_sanitizer, "ThreadSanitizer") == 0)
        test_skip("ThreadSanitizer refuses new threads in a child forked with threads");
    struct job j = {.input = 8};
    CHECK_EQ(co_offload(blocking_square, &j, NULL, CO_FOREVER), 0);    /* the parent's pool */
    struct death d = run_in_child(offload_in_child, NULL);
    bool ok = WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0;
    if (!ok && getenv("TEST_EMULATOR") != NULL)             /* set by ./nob test */
        test_skip("qemu-user fails its own assertion when a child forked with threads "
                  "starts one");
    CHECK(ok);
    CHECK_EQ(co_offload(blocking_square, &j, NULL, CO_FOREVER), 0);    /* and still here */
}

static void offload_job(void *job)
{
    co_offload(blocking_square, job, NULL, CO_FOREVER);
}

static void hold_a_worker(void *unused)
{
    (void)unused;
    struct job j = {.input = 1};
    CHECK_EQ(co_offload(gated_square, &j, NULL, CO_FOREVER), 0);
}

TEST(destroying_a_coroutine_whose_dropless_offload_has_not_started_is_fine)
{
    sp_ctx holders[16];                      /* every worker held at the gate */
    for (int i = 0; i < 16; i++)
        holders[i] = create_ctx(hold_a_worker, NULL);
    co_sleep(co_now() + 50 * CO_MSEC);
    struct job queued = {.input = 2};
    sp_ctx c = create_ctx(offload_job, &queued);
    yield_ctx();                             /* it waits, its work queued */
    destroy_ctx(c);                          /* so nothing runs on 'queued' */
    __atomic_store_n(&gate_open, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 16; i++) {
        CHECK_EQ(co_join(holders[i], co_now() + 10 * CO_SEC), 0);
        destroy_ctx(holders[i]);
    }
    CHECK(!queued.started);
}

static void destroy_while_dropless_work_runs(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(hold_a_worker, NULL);
    while (!__atomic_load_n(&gate_entered, __ATOMIC_SEQ_CST))
        co_sleep(co_now() + CO_MSEC);      /* until its work runs */
    destroy_ctx(c);
}

TEST(destroying_a_coroutine_whose_offloaded_work_has_no_drop_is_named)
{
    CHECK(aborts_saying(destroy_while_dropless_work_runs,
                        "coroutine 1 is destroyed while a worker thread runs work"));
}

/* {=====================================================================
 * Promises at their edges
 * ====================================================================== */

static void offload_slow_without_drop(void *arg)
{
    int *err = arg;
    struct job j = {.input = 3, .sleep_ns = 400 * CO_MSEC};
    *err = co_offload(blocking_square, &j, NULL, CO_FOREVER) == 0 ? 0 : errno;
}

/* In the child, the wait for work that a worker of the parent runs ends at
 * once: that worker does not exist there. */
static void fork_while_work_runs(void *unused)
{
    (void)unused;
    int err = -1;
    sp_ctx c = create_ctx(offload_slow_without_drop, &err);
    yield_ctx();                                 /* it waits; the worker sleeps */
    usleep(20 * 1000);
    pid_t pid = fork();
    if (pid == 0) {
        int64_t t = co_now();
        if (co_join(c, t + 5 * CO_SEC) != 0)
            _exit(2);
        _exit(err == ECANCELED && co_now() - t < 300 * CO_MSEC ? 0 : 3);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_EQ(co_join(c, co_now() + 10 * CO_SEC), 0);
    CHECK_EQ(err, 0);                            /* the parent's returns as ever */
    destroy_ctx(c);
}

TEST(a_forked_child_ends_the_wait_for_work_the_parent_runs)
{
    if (getenv("TEST_EMULATOR") != NULL)
        test_skip("qemu-user fails its own assertion on threads in a forked child");
    fork_while_work_runs(NULL);
}

/* }===================================================================== */
