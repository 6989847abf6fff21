/* Stacks beyond the mapping limit, and the pool that reuses them.
 *
 * COROUTINE_GUARDED_STACKS sets how many stacks get a guard page; the
 * tests that set it run in a child process, since it is read once. */
#define _GNU_SOURCE
#include <alloca.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "test.h"

static void finish_after_one_yield(void *arg)
{
    int *done = arg;
    yield_ctx();
    ++*done;
}

TEST(hundred_thousand_alive_at_once_beyond_the_mapping_limit)
{
    enum { N = 100000 };      /* two mappings each with guards: 200,000 */
    static sp_ctx c[N];
    int done = 0;
    size_t maps = count_mappings();
    bool counted = test_tool() == NULL;     /* a tool maps memory too */
    if (test_tool() && strcmp(test_tool(), "valgrind") == 0)
        test_skip("valgrind cannot track this many mappings (VG_N_SEGMENTS)");
    for (int i = 0; i < N; i++) {
        c[i] = create_ctx(finish_after_one_yield, &done);
        CHECK(c[i] != NULL);
    }
    yield_ctx();                            /* all started, all suspended */
    CHECK_EQ(done, 0);
    CHECK(!counted || count_mappings() - maps < 65530 / 2 + 1000);
    yield_ctx();                            /* and all finish */
    CHECK_EQ(done, N);
    for (int i = 0; i < N; i++) {
        CHECK(is_ctx_finished(c[i]));
        destroy_ctx(c[i]);
    }
}

/* Run 'body' in a coroutine with a 16 KiB stack, in a child process where
 * only 'guarded' stacks get guard pages, and return how the child ended. */
static void (*child_body)(void *);
static const char *child_guards;

static void run_body(void *unused)
{
    (void)unused;
    setenv("COROUTINE_GUARDED_STACKS", child_guards, 1);
    if (strcmp(child_guards, "0") == 0)     /* no guard regions either */
        setenv("COROUTINE_GUARD_REGIONS", "0", 1);
    sp_ctx c = create_ctx_sized(child_body, NULL, 16 * 1024);
    fprintf(stderr, "id %zu\n", get_ctx_id_of(c));
    switch_ctx(c);
    while (!is_ctx_finished(c))
        yield_ctx();
}

static void expect_overflow(void (*body)(void *), const char *guarded)
{
    if (strcmp(guarded, "0") == 0 && test_tool() && strcmp(test_tool(), "valgrind") == 0)
        test_skip("under valgrind the overflow check of unguarded stacks is off");
    child_body = body;
    child_guards = guarded;
    struct death d = run_in_child(run_body, NULL);
    CHECK(died_of_overflow(&d));
}

TEST(runaway_recursion_is_reported_with_a_guard)
{
    expect_overflow(grow_stack_forever, "1000");
}

TEST(runaway_recursion_is_reported_without_a_guard)
{
    expect_overflow(grow_stack_forever, "0");
}

/* Volatile byte by byte: a memset of memory never read again is gone. */
static void fill(volatile char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 0x5a;
}

/* Writes below its stack (16 KiB asked for, and the room for the first
 * frame above), comes back up, then yields: only the tripwire can tell. */
__attribute__((noinline)) static void dip_below(void)
{
    size_t depth = 24 * 1024;
    fill(alloca(depth), depth);
}

static void dip_then_yield(void *arg)
{
    (void)arg;
    dip_below();
    yield_ctx();
}

TEST(an_overflow_that_came_back_is_caught_at_the_next_switch)
{
    expect_overflow(dip_then_yield, "0");
}

/* Yields with its stack pointer below the stack, having written nothing
 * there. The size is hidden from the compiler, which would otherwise
 * shrink an alloca that is touched at two bytes only. */
static void yield_from_below(void *arg)
{
    volatile size_t depth = 25 * 1024;
    (void)arg;
    volatile char *p = alloca(depth);
    p[depth - 1] = 1;                       /* the top end only */
    yield_ctx();
    p[0] = 1;
}

TEST(yielding_from_below_the_stack_is_caught)
{
    expect_overflow(yield_from_below, "0");
}

static void use_some_stack(void *arg)
{
    fill(alloca(*(size_t *)arg), *(size_t *)arg);
    yield_ctx();
}

static void small_budget(void *unused)
{
    (void)unused;
    setenv("COROUTINE_GUARDED_STACKS", "3", 1);
    setenv("COROUTINE_GUARD_REGIONS", "0", 1);      /* the fallback's budget */
    size_t maps = count_mappings(), bytes = 1024;
    sp_ctx c[10];
    for (int i = 0; i < 10; i++)
        c[i] = create_ctx_sized(use_some_stack, &bytes, 16 * 1024);
    /* 3 guarded stacks are 6 mappings; the other 7 share one chunk, and
     * the thread's alternate signal stack is one more. */
    if (count_mappings() - maps > 6 + 1 + 1)
        _exit(1);
    for (int i = 0; i < 10; i++) {
        yield_ctx();
        destroy_ctx(c[i]);
    }
    _exit(0);
}

TEST(past_the_guard_budget_stacks_share_a_mapping)
{
    if (test_tool())
        test_skip("the tool's own mappings would be counted");
    struct death d = run_in_child(small_budget, NULL);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
}

/* 64 coroutines each touch 256 KiB of stack, then all finish. Returns
 * how much resident memory that left behind. */
static size_t memory_left_by_64_coroutines(void)
{
    enum { N = 64 };
    size_t bytes = 256 * 1024;
    sp_ctx c[N];
    size_t before = resident_bytes();
    for (int i = 0; i < N; i++)
        c[i] = create_ctx(use_some_stack, &bytes);
    yield_ctx();                             /* each touches 256 KiB */
    yield_ctx();                             /* all finish: the pool has them */
    for (int i = 0; i < N; i++)
        destroy_ctx(c[i]);
    size_t after = resident_bytes();
    return after > before ? after - before : 0;
}

static long minor_faults(void)
{
    struct rusage u;
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt;
}

/* The pool keeps as many stacks warm as the thread had in use at once
 * lately (stack.h): a burst that comes again reuses them without a page
 * fault, and once the thread has not needed them for about two seconds,
 * idle in the poller, their memory goes back. */
TEST(a_pool_keeps_a_burst_warm_and_gives_it_back_when_idle)
{
    if (test_tool())
        test_skip("the tool's own memory would be counted");
    if (!memory_is_given_back())
        test_skip("memory given back stays resident in this environment");
    size_t before = resident_bytes();
    CHECK(memory_left_by_64_coroutines() > 48 * 256 * 1024);   /* all kept, not only 16 */
    long faults = minor_faults();
    memory_left_by_64_coroutines();
    CHECK(minor_faults() - faults < 64);     /* 64 x 64 pages if they were cold */
    CHECK_EQ(co_sleep(co_now() + 2500 * CO_MSEC), 0);
    size_t after = resident_bytes();
    CHECK(after < before + 20 * 256 * 1024); /* 16 warm stay */
}

/* 20,000 stack sizes, one coroutine at a time: sizes share classes, and
 * the pool keeps a bounded number of stacks whatever their sizes. */
TEST(twenty_thousand_stack_sizes_keep_memory_and_mappings_bounded)
{
    size_t bytes = 2048;
    sp_ctx warm_up = create_ctx(use_some_stack, &bytes);
    while (!is_ctx_finished(warm_up))
        yield_ctx();
    destroy_ctx(warm_up);
    size_t maps = count_mappings(), rss = resident_bytes();
    for (size_t i = 0; i < 20000; i++) {
        size_t size = 16 * 1024 + i * 97;   /* 16 KiB to about 2 MiB */
        sp_ctx c = create_ctx_sized(use_some_stack, &bytes, size);
        CHECK(c != NULL);
        while (!is_ctx_finished(c))
            yield_ctx();
        destroy_ctx(c);
    }
    if (test_tool())
        test_skip("the tool's own mappings and memory would be counted");
    CHECK(count_mappings() - maps < 100);
    CHECK(resident_bytes() - rss < 4 * 1024 * 1024);
}
