/* Creating, finishing and destroying coroutines, and what it costs. */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "coroutine.h"
#include "test.h"

/* Remembers an address on its own stack, yields 'yields' times, returns. */
struct probe {
    int yields;
    int steps;              /* how far it got */
    const void *on_stack;
};

static void run_probe(void *arg)
{
    struct probe *p = arg;
    int local;
    p->on_stack = &local;
    for (; p->steps < p->yields; p->steps++)
        yield_ctx();
    p->steps++;
}

/* Two stacks are the same if their first frames are within a page. */
static bool same_stack(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return (x > y ? x - y : y - x) < 4096;
}

TEST(finishing_gives_the_stack_back_at_once)
{
    struct probe p = {.yields = 1}, q = {.yields = 0};
    sp_ctx c = create_ctx(run_probe, &p);
    yield_ctx();
    CHECK(!is_ctx_finished(c));
    yield_ctx();
    CHECK(is_ctx_finished(c));
    CHECK_EQ(p.steps, 2);
    sp_ctx d = create_ctx(run_probe, &q);   /* c not destroyed yet */
    yield_ctx();
    CHECK(same_stack(p.on_stack, q.on_stack));
    destroy_ctx(c);
    destroy_ctx(d);
}

TEST(never_destroying_does_not_pile_up_stacks)
{
    enum { N = 100000 };
    static sp_ctx c[N];
    struct probe p = {.yields = 0};
    if (test_tool())
        test_skip("the tool's own mappings and memory would be counted");
    c[0] = create_ctx(run_probe, &p);       /* let the pool and malloc settle */
    yield_ctx();
    size_t maps = count_mappings(), rss = resident_bytes();
    for (int i = 1; i < N; i++) {
        c[i] = create_ctx(run_probe, &p);
        yield_ctx();                        /* it finishes at once */
    }
    /* The handles live on (their array may get a mapping of its own), but
     * a stack per coroutine would be 100,000 mappings and 400 MB; a context
     * is about 250 bytes. */
    CHECK(count_mappings() < maps + 8);
    CHECK(resident_bytes() - rss < N * 512);
    for (int i = 0; i < N; i++)
        destroy_ctx(c[i]);
}

TEST(destroying_a_suspended_coroutine_stops_it)
{
    struct probe p = {.yields = 5}, q = {.yields = 0};
    sp_ctx c = create_ctx(run_probe, &p);
    yield_ctx();                            /* starts, yields at once */
    yield_ctx();                            /* one step, yields again */
    CHECK_EQ(p.steps, 1);
    destroy_ctx(c);
    for (int i = 0; i < 10; i++)
        yield_ctx();
    CHECK_EQ(p.steps, 1);
    sp_ctx d = create_ctx(run_probe, &q);   /* its stack is free again */
    yield_ctx();
    CHECK(same_stack(p.on_stack, q.on_stack));
    destroy_ctx(d);
}

TEST(destroying_an_unstarted_coroutine)
{
    struct probe p = {.yields = 0};
    sp_ctx c = create_ctx(run_probe, &p);
    destroy_ctx(c);
    yield_ctx();
    CHECK_EQ(p.steps, 0);
    CHECK(p.on_stack == NULL);
}

static void nothing(void *arg)
{
    (void)arg;
}

TEST(bad_arguments_are_einval)
{
    errno = 0;
    CHECK(create_ctx(NULL, NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(create_ctx_sized(nothing, NULL, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(create_ctx_sized(nothing, NULL, (size_t)-1) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(create_ctx_sized(nothing, NULL, (size_t)1 << 60) == NULL);
    CHECK_EQ(errno, ENOMEM);
}

enum { MANY = 10000 };

static int ran[MANY];


TEST(ten_thousand_live_coroutines)
{
    static sp_ctx c[MANY];
    for (int i = 0; i < MANY; i++) {
        c[i] = create_ctx(count_rounds, &ran[i]);
        CHECK(c[i] != NULL);
    }
    for (int round = 1; round <= 3; round++) {
        yield_ctx();                         /* every one of them runs once */
        for (int i = 0; i < MANY; i++)
            CHECK_EQ(ran[i], round);
    }
    yield_ctx();
    for (int i = 0; i < MANY; i++) {
        CHECK_EQ(ran[i], 4);
        CHECK(is_ctx_finished(c[i]));
        destroy_ctx(c[i]);
    }
}

/* One coroutine's whole life. */
static void cycle(void)
{
    int n = 0;
    sp_ctx c = create_ctx(count_rounds, &n);
    if (c == NULL)
        test_fail(__FILE__, __LINE__, "create_ctx: %s", strerror(errno));
    while (!is_ctx_finished(c))
        yield_ctx();
    destroy_ctx(c);
    if (n != 4)
        test_fail(__FILE__, __LINE__, "ran %d steps", n);
}

TEST(create_run_destroy_200k_times_without_growth)
{
    if (test_tool())
        test_skip("the tool's own mappings and memory would be counted");
    for (int i = 0; i < 1000; i++)           /* let malloc settle */
        cycle();
    size_t maps = count_mappings(), rss = resident_bytes();
    for (int i = 0; i < 200000; i++)
        cycle();
    CHECK_EQ(count_mappings(), maps);
    size_t grown = resident_bytes() > rss ? resident_bytes() - rss : 0;
    CHECK(grown < 256 * 1024);
}
