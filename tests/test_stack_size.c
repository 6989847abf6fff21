/* Stack sizes: what create_ctx_sized gives, what a coroutine can use, and
 * how deep get_ctx_stack_used says it went. */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "coroutine.h"
#include "test.h"

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
