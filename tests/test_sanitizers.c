/* Under AddressSanitizer, coroutine stacks are stacks like any other: a
 * switch raises no false alarm (the rest of the suite runs under it), a
 * real out-of-bounds access on a coroutine stack is still caught, and
 * memory that only a suspended coroutine still points to is not a leak.
 * Outside an ASan build these tests have nothing to look at. */
#include <stdlib.h>
#include <sys/wait.h>

#include "coroutine.h"
#include "test.h"

/* Present only when LeakSanitizer is linked in. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void need_asan(void)
{
    if (test_sanitizer == NULL || strcmp(test_sanitizer, "AddressSanitizer") != 0)
        test_skip("needs a build with AddressSanitizer");
}

/* Through a plain pointer, so that UBSan's knowledge of the array's bounds
 * does not catch it before the sanitizers that look at memory. */
static void write_past_a_buffer(void *arg)
{
    volatile char buf[16];
    volatile char *p = buf;
    p[*(volatile int *)arg] = 1;
    (void)buf[0];
}

static void run_past_a_buffer(void *unused)
{
    static int sixteen = 16;
    (void)unused;
    switch_ctx(create_ctx(write_past_a_buffer, &sixteen));
}

TEST(an_out_of_bounds_write_on_a_coroutine_stack_is_caught)
{
    need_asan();
    struct death d = run_in_child(run_past_a_buffer, NULL);
    /* ASan's report, or UBSan's if it sees the object's size first (gcc) */
    CHECK(strstr(d.message, "stack-buffer-overflow") != NULL ||
          strstr(d.message, "insufficient space for an object") != NULL);
    CHECK(strstr(d.message, "test_sanitizers.c") != NULL);
}

/* Holds the only pointer to a block in its own frame while suspended. */
static void hold_a_block(void *arg)
{
    char *volatile block = malloc(100);
    (void)arg;
    block[0] = 1;
    yield_ctx();
    free(block);
}

TEST(memory_held_by_a_suspended_coroutine_is_not_a_leak)
{
    need_asan();
    sp_ctx c = create_ctx(hold_a_block, NULL);
    yield_ctx();                           /* suspended, holding the block */
    CHECK(__lsan_do_recoverable_leak_check != NULL);
    CHECK_EQ(__lsan_do_recoverable_leak_check(), 0);
    yield_ctx();
    destroy_ctx(c);
}

/* The only pointer to the block dies with this frame. */
__attribute__((noinline)) static void lose_a_block(void)
{
    char *volatile block = malloc(100);
    block[0] = 1;
}

static void leak_for_real(void *unused)
{
    (void)unused;
    lose_a_block();
    _exit(__lsan_do_recoverable_leak_check() ? 3 : 0);   /* not exit: LSan's own check */
}

TEST(a_real_leak_is_still_reported)
{
    need_asan();
    struct death d = run_in_child(leak_for_real, NULL);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 3);
    CHECK(strstr(d.message, "LeakSanitizer") != NULL);
}
