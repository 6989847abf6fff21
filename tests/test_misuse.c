/* Breaking the contract stops the program with one line that says how. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "coroutine.h"
#include "test.h"

static void nothing(void *arg)
{
    (void)arg;
}

static void switch_to_finished(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(nothing, NULL);
    switch_ctx(c);
    switch_ctx(c);
}

TEST(switching_to_a_finished_coroutine_aborts)
{
    struct death d = run_in_child(switch_to_finished, NULL);
    CHECK(died_with(&d, SIGABRT, "switch_ctx: cannot switch to finished coroutine 1\n"));
}

static void switch_to_destroyed(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(nothing, NULL);
    destroy_ctx(c);
    switch_ctx(c);
}

TEST(switching_to_a_destroyed_coroutine_aborts)
{
    struct death d = run_in_child(switch_to_destroyed, NULL);
    CHECK(died_with(&d, SIGABRT, "switch_ctx: coroutine 0x"));
    CHECK(died_with(&d, SIGABRT, "was destroyed"));
}

static void destroy_twice(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(nothing, NULL);
    destroy_ctx(c);
    destroy_ctx(c);
}

TEST(destroying_twice_aborts)
{
    struct death d = run_in_child(destroy_twice, NULL);
    CHECK(died_with(&d, SIGABRT, "destroy_ctx: coroutine 0x"));
}

static void destroy_self(void *unused)
{
    (void)unused;
    destroy_ctx(get_ctx_ptr());
}

static void run_destroy_self(void *unused)
{
    (void)unused;
    switch_ctx(create_ctx(destroy_self, NULL));
}

TEST(destroying_the_running_coroutine_aborts)
{
    struct death d = run_in_child(run_destroy_self, NULL);
    CHECK(died_with(&d, SIGABRT, "destroy_ctx: cannot destroy running coroutine 1\n"));
}

static void destroy_main(void *unused)
{
    (void)unused;
    destroy_ctx(NULL);
}

TEST(destroying_main_aborts)
{
    struct death d = run_in_child(destroy_main, NULL);
    CHECK(died_with(&d, SIGABRT, "destroy_ctx: cannot destroy the main context\n"));
}

static void query_destroyed(void *unused)
{
    (void)unused;
    sp_ctx c = create_ctx(nothing, NULL);
    destroy_ctx(c);
    is_ctx_finished(c);
}

TEST(asking_about_a_destroyed_coroutine_aborts)
{
    struct death d = run_in_child(query_destroyed, NULL);
    CHECK(died_with(&d, SIGABRT, "is_ctx_finished: coroutine 0x"));
}

/* Makes a coroutine and stays alive, so the handle is as valid as can be. */
static void *make_one(void *out)
{
    __atomic_store_n((sp_ctx *)out, create_ctx(nothing, NULL), __ATOMIC_RELEASE);
    sleep(60);
    return NULL;
}

static void switch_to_other_thread(void *unused)
{
    pthread_t t;
    sp_ctx c = NULL;
    (void)unused;
    pthread_create(&t, NULL, make_one, &c);
    while (__atomic_load_n(&c, __ATOMIC_ACQUIRE) == NULL)
        usleep(1000);
    switch_ctx(c);
}

TEST(switching_to_another_threads_coroutine_aborts)
{
    struct death d = run_in_child(switch_to_other_thread, NULL);
    CHECK(died_with(&d, SIGABRT, "switch_ctx: coroutine 1 belongs to another thread\n"));
}
