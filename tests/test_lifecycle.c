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
     * a stack per coroutine would be 100,000 mappings and 400 MB. */
    CHECK(count_mappings() < maps + 8);
    CHECK(resident_bytes() - rss < N * 256);
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

/* Touches 'bytes' of its stack in 1 KiB frames, then records the lowest
 * frame it reached. Each frame reads its own after the call returns, so no
 * compiler can turn the recursion into a loop, and it is not inlined into
 * itself, so the frames stay 1 KiB. */
static const volatile char *deepest;

__attribute__((noinline)) static size_t use_stack(size_t bytes)
{
    volatile char frame[1024];
    frame[0] = 1;
    if (bytes <= sizeof frame) {
        deepest = frame;
        return frame[0];
    }
    return use_stack(bytes - sizeof frame) + frame[0];
}

struct usage {
    size_t bytes;           /* to use */
    size_t frames;          /* how many frames use_stack made */
    size_t reached;         /* how far down the stack they went */
};

static void use_stack_body(void *arg)
{
    struct usage *u = arg;
    char top;
    u->frames = use_stack(u->bytes);
    u->reached = (size_t)(&top - (const char *)deepest);
}

TEST(stack_size_can_be_chosen)
{
    struct usage u = {.bytes = 48 * 1024};
    sp_ctx c = create_ctx_sized(use_stack_body, &u, 64 * 1024);
    CHECK(c != NULL);
    yield_ctx();
    CHECK(is_ctx_finished(c));
    CHECK_EQ(u.frames, 48);
    destroy_ctx(c);

    u = (struct usage){.bytes = 1024};       /* 3 KiB + 1: a page or more */
    c = create_ctx_sized(use_stack_body, &u, 3 * 1024 + 1);
    CHECK(c != NULL);
    yield_ctx();
    CHECK(is_ctx_finished(c));
    CHECK_EQ(u.frames, 1);
    destroy_ctx(c);
}

TEST(three_mib_of_stack)
{
    struct usage u = {.bytes = 3 << 20};
    sp_ctx c = create_ctx(use_stack_body, &u);
    yield_ctx();
    CHECK(is_ctx_finished(c));
    CHECK_EQ(u.frames, 3 * 1024);
    CHECK(u.reached >= (3 << 20) - 1024);
    destroy_ctx(c);
}

enum { MANY = 10000 };

static int ran[MANY];

static void count_rounds(void *arg)
{
    int *slot = arg;
    for (int i = 0; i < 3; i++) {
        ++*slot;
        yield_ctx();
    }
    ++*slot;
}

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

/* Address space in use now, from /proc/self/statm. */
static size_t address_space(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    CHECK(f != NULL && fscanf(f, "%lu", &pages) == 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

TEST(enomem_under_rlimit_as_leaves_others_running)
{
    enum { EARLY = 8, MAX_LATE = 64 };
    int early[EARLY] = {0}, late[MAX_LATE] = {0};
    sp_ctx e[EARLY], l[MAX_LATE];
    for (int i = 0; i < EARLY; i++) {
        e[i] = create_ctx(count_rounds, &early[i]);
        CHECK(e[i] != NULL);
    }
    yield_ctx();                             /* all started, all suspended */

    if (test_tool())
        test_skip("the tool reserves more address space than any limit leaves");
    /* Room for a few more stacks and no more. */
    struct rlimit lim = {address_space() + 4 * STACK_CAPACITY, RLIM_INFINITY};
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    void *far = mmap(NULL, 64 * STACK_CAPACITY, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (far != MAP_FAILED)                  /* qemu-user accepts it, enforces nothing */
        test_skip("this environment does not enforce RLIMIT_AS");
    int n_late = 0;
    errno = 0;
    while (n_late < MAX_LATE && (l[n_late] = create_ctx(count_rounds, &late[n_late])) != NULL)
        n_late++;
    CHECK(n_late < MAX_LATE);
    CHECK_EQ(errno, ENOMEM);
    sp_ctx small = create_ctx_sized(count_rounds, &late[n_late], 16 * 1024);
    CHECK(small != NULL);                   /* a small stack still fits */

    for (int i = 0; i < 8; i++)
        yield_ctx();
    for (int i = 0; i < EARLY; i++) {
        CHECK_EQ(early[i], 4);
        destroy_ctx(e[i]);
    }
    for (int i = 0; i <= n_late; i++)
        CHECK_EQ(late[i], 4);
    for (int i = 0; i < n_late; i++)
        destroy_ctx(l[i]);
    destroy_ctx(small);
}

TEST(enomem_when_mappings_run_out_leaves_others_running)
{
    enum { EARLY = 8, MAX_PAGES = 1 << 17, EXTRA = 10000 };
    static void *pages[MAX_PAGES];
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
    if (test_tool())
        test_skip("the tool itself needs mappings: it dies when they run out");
    int early[EARLY] = {0}, late = 0;
    sp_ctx e[EARLY];
    for (int i = 0; i < EARLY; i++)
        CHECK((e[i] = create_ctx(count_rounds, &early[i])) != NULL);
    yield_ctx();                             /* all started, all suspended */

    /* Use up the mappings: single pages, readable and not in turn, so that
     * no two neighbours merge into one. */
    for (; n < MAX_PAGES; n++) {
        pages[n] = mmap(NULL, page, n % 2 ? PROT_READ : PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages[n] == MAP_FAILED)
            break;
    }
    CHECK(n < MAX_PAGES);
    /* Slots left in a chunk mapped before still come; then no more. */
    static sp_ctx spare[EXTRA];
    int n_spare = 0, ignored = 0;
    errno = 0;
    while (n_spare < EXTRA && (spare[n_spare] = create_ctx(count_rounds, &ignored)) != NULL)
        n_spare++;
    CHECK(n_spare < EXTRA);
    CHECK_EQ(errno, ENOMEM);
    while (n_spare > 0)
        destroy_ctx(spare[--n_spare]);

    for (int i = 0; i < 8; i++)              /* the others are unharmed */
        yield_ctx();
    for (int i = 0; i < EARLY; i++)
        CHECK_EQ(early[i], 4);

    for (size_t i = 0; i < 16 && n > 0; i++) /* room again: it works again */
        munmap(pages[--n], page);
    sp_ctx again = create_ctx(count_rounds, &late);
    CHECK(again != NULL);
    while (!is_ctx_finished(again))
        yield_ctx();
    CHECK_EQ(late, 4);

    while (n > 0)
        munmap(pages[--n], page);
    destroy_ctx(again);
    for (int i = 0; i < EARLY; i++)
        destroy_ctx(e[i]);
}

static void use_then_wait(void *arg)
{
    struct usage *u = arg;
    u->frames = use_stack(u->bytes);
    yield_ctx();
}

TEST(stack_use_is_measured_at_its_deepest)
{
    struct usage small = {.bytes = 10 * 1024}, big = {.bytes = 200 * 1024};
    sp_ctx a = create_ctx_sized(use_then_wait, &small, 64 * 1024);
    sp_ctx b = create_ctx_sized(use_then_wait, &big, 512 * 1024);
    CHECK(get_ctx_stack_used(b) < 4096);     /* fresh: only the first frame */
    yield_ctx();                             /* both went deep and came back */
    /* frames are a little more than 1 KiB, more under ASan (redzones) */
    CHECK(get_ctx_stack_used(a) >= small.bytes);
    CHECK(get_ctx_stack_used(a) < small.bytes * 5 / 4 + 8192);
    CHECK(get_ctx_stack_used(b) >= big.bytes);
    CHECK(get_ctx_stack_used(b) < big.bytes * 5 / 4 + 8192);
    CHECK_EQ(get_ctx_stack_used(NULL), 0);
    yield_ctx();
    CHECK(is_ctx_finished(b));
    CHECK_EQ(get_ctx_stack_used(b), 0);
    destroy_ctx(a);
    destroy_ctx(b);
}

/* Uses all but 1 KiB (its own frames) of the size it was made with. */
static void use_nearly_all(void *arg)
{
    size_t n = *(size_t *)arg - 1024;
    volatile char *p = alloca(n);
    for (size_t i = 0; i < n; i += 64)
        p[i] = 1;
    p[0] = 1;
}

/* The first frame sits lower for some ids than others (see colored_top in
 * the core), never into the size asked for. */
TEST(create_ctx_sized_gives_the_size_asked_for_every_id)
{
    static size_t sizes[] = {4096, 8192, 12288, 20000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int i = 0; i < 64; i++) {
            sp_ctx c = create_ctx_sized(use_nearly_all, &sizes[s], sizes[s]);
            CHECK(c != NULL);
            switch_ctx(c);
            CHECK(is_ctx_finished(c));
            destroy_ctx(c);
        }
}
