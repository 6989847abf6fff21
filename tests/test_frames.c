/* get_ctx_frame shows the frame a switch consumes, read from the stack. */
#include <stdint.h>
#include <string.h>

#include "coroutine.h"
#include "test.h"

/* From tests/<target>/test_regs.s. */
uint64_t regs_across(void (*switcher)(sp_ctx), sp_ctx target, uint64_t seed);

static void yield_wrapper(sp_ctx unused)
{
    (void)unused;
    yield_ctx();
}

static const uint64_t seed = 0x5eed000000000000u;

static void wait_with_known_registers(void *arg)
{
    *(uint64_t *)arg = regs_across(yield_wrapper, NULL, seed);
}

static bool has_value(const struct ctx_slot *slot, size_t n, unsigned long value)
{
    for (size_t i = 0; i < n; i++)
        if (slot[i].value == value)
            return true;
    return false;
}

static bool points_to(const struct ctx_slot *slot, size_t n, const char *routine)
{
    for (size_t i = 0; i < n; i++)
        if (slot[i].points_to != NULL && strcmp(slot[i].points_to, routine) == 0)
            return true;
    return false;
}

TEST(the_first_frame_holds_the_function_and_its_argument)
{
    uint64_t mask = 99;
    struct ctx_slot slot[CTX_FRAME_MAX];
    sp_ctx c = create_ctx(wait_with_known_registers, &mask);
    size_t n = get_ctx_frame(c, slot, CTX_FRAME_MAX);
    CHECK(n >= 8 && n <= CTX_FRAME_MAX);
    for (size_t i = 1; i < n; i++)
        CHECK((const char *)slot[i].address > (const char *)slot[i - 1].address);
    CHECK(has_value(slot, n, (unsigned long)(uintptr_t)wait_with_known_registers));
    CHECK(has_value(slot, n, (unsigned long)(uintptr_t)&mask));
    CHECK(points_to(slot, n, "_asm_ctx_start"));   /* where it will resume */
    CHECK(points_to(slot, n, "coroutine_finish")); /* where it goes after */
    yield_ctx();
    CHECK_EQ(get_ctx_frame(c, slot, CTX_FRAME_MAX), n);
    CHECK(!points_to(slot, n, "_asm_ctx_start"));  /* it resumes inside its body now */
    yield_ctx();
    destroy_ctx(c);
}

TEST(a_suspended_frame_holds_what_the_switch_will_load)
{
    uint64_t mask = 99;
    struct ctx_slot slot[CTX_FRAME_MAX];
    sp_ctx c = create_ctx(wait_with_known_registers, &mask);
    yield_ctx();                             /* suspended inside regs_across */
    size_t n = get_ctx_frame(c, slot, CTX_FRAME_MAX);
    /* regs_across loaded callee-saved registers with seed + 1, + 2, ...;
     * the first two may be frame pointers a compiler reuses on the way */
    for (unsigned long k = 3; k <= 6; k++)
        CHECK(has_value(slot, n, (unsigned long)(seed + k)));
    yield_ctx();                             /* the switch loads them back */
    CHECK(is_ctx_finished(c));
    CHECK_EQ(mask, 0);                       /* and they were right */
    CHECK_EQ(get_ctx_frame(c, slot, CTX_FRAME_MAX), 0); /* finished: no frame */
    CHECK_EQ(get_ctx_frame(NULL, slot, CTX_FRAME_MAX), 0);
    destroy_ctx(c);
}
