/* Breaking the contract stops the program with one line that says how. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "coroutine.h"
#include "test.h"

static void nothing(void *arg)
{
    (void)arg;
}

static void switch_to_main_forever(void *arg)
{
    (void)arg;
    for (;;)
        switch_ctx(NULL);
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

/* A handle destroyed long ago, its memory reused many times since, is
 * still named as destroyed, by every call that takes a handle. */
static void stale_after_many(void *call)
{
    sp_ctx keep[8], old = create_ctx(nothing, NULL);
    destroy_ctx(old);
    for (int i = 0; i < 10000; i++) {
        sp_ctx c = create_ctx(nothing, NULL);
        if (i % 3 == 0)
            switch_ctx(c);
        if (i < 8)
            keep[i] = c;                    /* some stay alive */
        else
            destroy_ctx(c);
    }
    (void)keep;
    switch (*(int *)call) {
    case 0: switch_ctx(old); break;
    case 1: destroy_ctx(old); break;
    case 2: is_ctx_finished(old); break;
    default: get_ctx_id_of(old); break;
    }
    _exit(0);                               /* not reported: a failure */
}

TEST(a_stale_handle_is_named_after_10000_creates)
{
    static const char *names[] = {"switch_ctx", "destroy_ctx", "is_ctx_finished",
                                  "get_ctx_id_of"};
    for (int call = 0; call < 4; call++) {
        char needle[64];
        struct death d = run_in_child(stale_after_many, &call);
        snprintf(needle, sizeof needle, "%s: coroutine 0x", names[call]);
        CHECK(died_with(&d, SIGABRT, needle));
        CHECK(died_with(&d, SIGABRT, "was destroyed"));
    }
}

/* A thread makes coroutines, starts one and exits: the memory of its 200
 * contexts goes to the process, for other threads to reuse. */
static void *make_one_and_exit(void *out)
{
    sp_ctx waiting = create_ctx(switch_to_main_forever, NULL);
    switch_ctx(waiting);
    *(sp_ctx *)out = waiting;
    for (int i = 0; i < 199; i++)
        create_ctx(nothing, NULL);
    return NULL;
}

static void *use_foreign(void *handle)
{
    switch_ctx(handle);
    return NULL;
}

/* Its handle, used by a later thread (whose thread-local memory may sit
 * where the exited one's did) or by main. */
static void use_handle_of_exited_thread(void *later)
{
    pthread_t t;
    sp_ctx c = NULL;
    pthread_create(&t, NULL, make_one_and_exit, &c);
    pthread_join(t, NULL);
    if (*(bool *)later) {
        pthread_create(&t, NULL, use_foreign, c);
        pthread_join(t, NULL);
    } else {
        switch_ctx(c);
    }
    _exit(0);
}

TEST(a_handle_of_an_exited_thread_belongs_to_another_thread)
{
    for (int later = 0; later < 2; later++) {
        bool in_later_thread = later;
        struct death d = run_in_child(use_handle_of_exited_thread, &in_later_thread);
        CHECK(died_with(&d, SIGABRT, "switch_ctx: coroutine 0x"));
        CHECK(died_with(&d, SIGABRT, "belongs to another thread"));
    }
}

static void exit_thread_inside(void *unused)
{
    (void)unused;
    pthread_exit(NULL);
}

static void pthread_exit_in_a_coroutine(void *unused)
{
    (void)unused;
    run_coroutine_in_thread(exit_thread_inside, 0);
    _exit(0);
}

TEST(pthread_exit_inside_a_coroutine_aborts)
{
    if (test_sanitizer && strcmp(test_sanitizer, "ThreadSanitizer") == 0)
        test_skip("ThreadSanitizer stops a pthread_exit on a fiber itself, before the library");
    struct death d = run_in_child(pthread_exit_in_a_coroutine, NULL);
    CHECK(died_naming_it(&d, "the thread exited inside it"));
}

/* The exited thread's context memory may serve this thread since: its
 * handle is still another thread's. */
static void use_handle_of_exited_thread_after_reuse(void *unused)
{
    pthread_t t;
    sp_ctx c = NULL, mine[2000];
    (void)unused;
    pthread_create(&t, NULL, make_one_and_exit, &c);
    pthread_join(t, NULL);
    for (int round = 0; round < 3; round++) {     /* takes the exited thread's memory */
        for (int i = 0; i < 2000; i++)
            mine[i] = create_ctx(nothing, NULL);
        for (int i = 0; i < 2000; i++)
            destroy_ctx(mine[i]);
    }
    switch_ctx(c);
    _exit(0);
}

TEST(a_handle_of_an_exited_thread_is_named_after_its_memory_is_reused)
{
    struct death d = run_in_child(use_handle_of_exited_thread_after_reuse, NULL);
    CHECK(died_with(&d, SIGABRT, "belongs to another thread"));
}
