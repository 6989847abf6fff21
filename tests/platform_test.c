/* The target's platform.c and asm.s alone, under a stand-in scheduler.
 *
 * tests/<target>/probes.s puts a probe in front of each C function the
 * assembly calls (yield_ctx_inner, switch_ctx_inner, coroutine_finish,
 * finish_ctx_inner): it records in probe_rsp[] the stack pointer as the
 * caller had it at the call (like record_entry_rsp), then goes on to the
 * fake_* functions here. So these tests see, for every entry from assembly
 * into C, exactly the stack it was given; the ABI wants it 16-aligned.
 *
 * The stand-in scheduler knows two contexts, main and one coroutine, and
 * each switch goes to the other one.
 */
#include <stdlib.h>

#include "platform.h"
#include "test.h"

enum { PROBE_YIELD, PROBE_SWITCH, PROBE_FINISH, PROBE_FINISH_INNER };
uintptr_t probe_rsp[4];

/* From test_regs.s: stores its caller's stack pointer at the call. */
void record_entry_rsp(void *slot);

static void *main_sp, *co_sp;
static bool in_coroutine;
static sp_ctx switch_target, dead_seen;

static void *other(void *sp)
{
    if (in_coroutine)
        co_sp = sp;
    else
        main_sp = sp;
    in_coroutine = !in_coroutine;
    return in_coroutine ? co_sp : main_sp;
}

void (*ctx_arrival_hook)(void);             /* none: no sanitizer here */

void *fake_yield_ctx_inner(void *sp);
void *fake_switch_ctx_inner(void *sp, sp_ctx target);
void fake_coroutine_finish(void);
void fake_finish_ctx_inner(sp_ctx dead);

void *fake_yield_ctx_inner(void *sp)
{
    return other(sp);
}

void *fake_switch_ctx_inner(void *sp, sp_ctx target)
{
    switch_target = target;
    return other(sp);
}

void fake_coroutine_finish(void)
{
    in_coroutine = false;
    _asm_finish_ctx(main_sp, (sp_ctx)&dead_seen);
}

void fake_finish_ctx_inner(sp_ctx dead)
{
    dead_seen = dead;
}

enum { STACK = 64 * 1024 };

static char *new_stack(void)
{
    char *s = aligned_alloc(16, STACK);
    CHECK(s != NULL);
    memset(s, 0, STACK);
    return s;
}

static void *start(char *stack, size_t misalign, coroutine fn, void *arg)
{
    co_sp = platform_setup_stack(stack + STACK - misalign, fn, arg, coroutine_finish);
    in_coroutine = false;
    return co_sp;
}

TEST(first_frame_enters_the_body_aligned_and_finishes)
{
    for (size_t misalign = 0; misalign < 16; misalign++) {
        char *stack = new_stack();
        uintptr_t body_sp = 0;
        void *sp = start(stack, misalign, record_entry_rsp, &body_sp);
        uintptr_t top = (uintptr_t)(stack + STACK - misalign);
        CHECK((uintptr_t)sp % 16 == 0);
        CHECK((uintptr_t)sp < top && top - (uintptr_t)sp <= 256);

        dead_seen = NULL;
        yield_ctx();                        /* runs the body to its end */
        CHECK(!in_coroutine);
        CHECK_EQ(body_sp % 16, 0);          /* the body saw a normal call */
        CHECK(body_sp <= top && top - body_sp < 64);
        CHECK_EQ(probe_rsp[PROBE_FINISH] % 16, 0);
        CHECK(probe_rsp[PROBE_FINISH] <= top && top - probe_rsp[PROBE_FINISH] < 64);
        /* finish_ctx_inner ran on main's stack, just below its frame */
        CHECK(dead_seen == (sp_ctx)&dead_seen);
        CHECK_EQ(probe_rsp[PROBE_FINISH_INNER] % 16, 0);
        CHECK(probe_rsp[PROBE_FINISH_INNER] == (uintptr_t)main_sp);
        free(stack);
    }
}

static void yield_three_times(void *arg)
{
    int *n = arg;
    for (int i = 0; i < 3; i++) {
        ++*n;
        yield_ctx();
        CHECK_EQ(probe_rsp[PROBE_YIELD] % 16, 0);
    }
}

TEST(yield_enters_the_scheduler_aligned)
{
    char *stack = new_stack();
    int n = 0;
    start(stack, 0, yield_three_times, &n);
    for (int i = 1; i <= 3; i++) {
        yield_ctx();
        CHECK_EQ(n, i);
        CHECK_EQ(probe_rsp[PROBE_YIELD] % 16, 0);
        CHECK(probe_rsp[PROBE_YIELD] >= (uintptr_t)stack &&
              probe_rsp[PROBE_YIELD] < (uintptr_t)stack + STACK);   /* from the coroutine */
    }
    yield_ctx();
    CHECK(dead_seen == (sp_ctx)&dead_seen);
    free(stack);
}

static void switch_back(void *arg)
{
    switch_ctx((sp_ctx)arg);
}

TEST(switch_enters_the_scheduler_aligned_with_its_target)
{
    char *stack = new_stack();
    start(stack, 0, switch_back, (void *)&main_sp);
    switch_ctx((sp_ctx)&co_sp);
    CHECK(switch_target == (sp_ctx)&main_sp);      /* the coroutine's call */
    CHECK_EQ(probe_rsp[PROBE_SWITCH] % 16, 0);
    yield_ctx();                                    /* let it finish */
    CHECK(dead_seen == (sp_ctx)&dead_seen);
    free(stack);
}
