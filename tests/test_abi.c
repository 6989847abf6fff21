/* What the ABI asks of a switch: callee-saved registers, the floating-
 * point control words and stack alignment survive, whatever the other
 * context does. The register work is in tests/<target>/test_regs.s. */
#include <fenv.h>
#include <float.h>
#include <stdio.h>

#include "coroutine.h"
#include "test.h"

/* From test_regs.s: load every callee-saved register and the rounding
 * controls from 'seed', call switcher(target), and return a mask of those
 * that came back changed. */
uint64_t regs_across(void (*switcher)(sp_ctx), sp_ctx target, uint64_t seed);
/* A coroutine body loading different values into all of them, yielding. */
void regs_clobber(void *seed);
/* A coroutine body storing the stack pointer as its caller had it at the
 * call; the ABIs we support want it 16-byte aligned. */
void record_entry_rsp(void *slot);

static void yield_wrapper(sp_ctx unused)
{
    (void)unused;
    yield_ctx();
}

TEST(callee_saved_registers_survive_yield)
{
    for (uint64_t seed = 0; seed < 16; seed++) {
        uint64_t s = seed * 0x0101010101010101u;
        sp_ctx c = create_ctx(regs_clobber, &s);
        CHECK_EQ(regs_across(yield_wrapper, NULL, s), 0);
        destroy_ctx(c);
    }
}

TEST(callee_saved_registers_survive_switch)
{
    for (uint64_t seed = 0; seed < 16; seed++) {
        uint64_t s = ~seed * 0x0101010101010101u;
        sp_ctx c = create_ctx(regs_clobber, &s);
        CHECK_EQ(regs_across(switch_ctx, c, s), 0);
        destroy_ctx(c);
    }
}

static uint64_t inner_mask = 99;

static void check_from_coroutine(void *clobber)
{
    inner_mask = regs_across(switch_ctx, clobber, 5);
}

TEST(callee_saved_registers_survive_in_coroutines)
{
    uint64_t s = 5;
    sp_ctx clobber = create_ctx(regs_clobber, &s);
    sp_ctx c = create_ctx(check_from_coroutine, clobber);
    while (!is_ctx_finished(c))
        yield_ctx();
    CHECK_EQ(inner_mask, 0);
    destroy_ctx(c);
    destroy_ctx(clobber);
}

/* Divides with SSE (double) and with the x87 unit (long double, on x86):
 * the results depend on each unit's own rounding mode. Not inlined, so the
 * compiler cannot move the divisions across a fesetround(). */
struct quotients {
    double d;
    long double ld;
};

__attribute__((noinline)) static struct quotients divide(void)
{
    volatile double one = 1, three = 3;
    volatile long double lone = 1, lthree = 3;
    return (struct quotients){one / three, lone / lthree};
}

static int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};

/* Each coroutine picks a rounding mode, yields, and checks it still has
 * it, in both units, while the others use theirs. */
static void keep_rounding(void *arg)
{
    int k = *(int *)arg;
    fesetround(modes[k]);
    struct quotients mine = divide();
    for (int i = 0; i < 5; i++) {
        yield_ctx();
        CHECK_EQ(fegetround(), modes[k]);
        struct quotients now = divide();
        CHECK(now.d == mine.d);
        CHECK(now.ld == mine.ld);
    }
}

TEST(rounding_modes_are_per_coroutine)
{
    if (test_tool() && strcmp(test_tool(), "valgrind") == 0)
        test_skip("valgrind does not emulate changes of the rounding mode");
    int k[4] = {0, 1, 2, 3};
    sp_ctx c[4];
    fesetround(FE_TONEAREST);
    struct quotients before = divide();
    for (int i = 0; i < 4; i++)
        c[i] = create_ctx(keep_rounding, &k[i]);
    for (int i = 0; i < 7; i++) {
        yield_ctx();
        CHECK_EQ(fegetround(), FE_TONEAREST);
        struct quotients now = divide();
        CHECK(now.d == before.d && now.ld == before.ld);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(is_ctx_finished(c[i]));
        destroy_ctx(c[i]);
    }
    /* The four modes really do give different answers. */
    fesetround(FE_UPWARD);
    struct quotients up = divide();
    fesetround(FE_DOWNWARD);
    struct quotients down = divide();
    fesetround(FE_TONEAREST);
    CHECK(up.d != down.d && up.ld != down.ld);
}

static int inherited = -1;

static void read_rounding(void *arg)
{
    (void)arg;
    inherited = fegetround();
}

TEST(a_new_coroutine_starts_with_its_creators_rounding)
{
    fesetround(FE_UPWARD);
    sp_ctx c = create_ctx(read_rounding, NULL);
    fesetround(FE_TONEAREST);
    yield_ctx();
    CHECK_EQ(inherited, FE_UPWARD);
    CHECK_EQ(fegetround(), FE_TONEAREST);
    destroy_ctx(c);
}

TEST(coroutines_are_entered_with_an_aligned_stack)
{
    size_t sizes[] = {0, 4096, 5000, 12345, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uintptr_t rsp = 0;
        sp_ctx c = sizes[i] ? create_ctx_sized(record_entry_rsp, &rsp, sizes[i])
                            : create_ctx(record_entry_rsp, &rsp);
        yield_ctx();
        CHECK(is_ctx_finished(c));
        CHECK(rsp != 0);
        CHECK_EQ(rsp % 16, 0);
        destroy_ctx(c);
    }
}

TEST(the_stack_is_not_executable)
{
    /* The assembly's .note.GNU-stack keeps the linker from asking for an
     * executable stack for the whole program. */
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f))
        if (strstr(line, "[stack]")) {
            char perms[8];
            CHECK(sscanf(line, "%*s %7s", perms) == 1);
            CHECK_STR(perms, "rw-p");
            found = true;
        }
    fclose(f);
    CHECK(found);
}
