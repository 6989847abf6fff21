/* Guard pages: an overflow is reported and stops the process; other
 * faults go to whoever handled SIGSEGV before. */
#define _GNU_SOURCE
#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coroutine.h"
#include "test.h"

static void run_it(void *ctx)
{
    switch_ctx(ctx);
}

static void expect_overflow_report(sp_ctx c)
{
    char needle[64];
    snprintf(needle, sizeof needle, "coroutine %zu: stack overflow", get_ctx_id_of(c));
    struct death d = run_in_child(run_it, c);
    CHECK(died_with(&d, SIGABRT, needle));
    /* One line, whole: (an emulator may add a line of its own after it) */
    const char *line = strstr(d.message, needle), *end = strchr(line, '\n');
    CHECK(end != NULL && end[-1] == ')');
    CHECK(strstr(end, "overflow") == NULL);
}

TEST(overflow_is_reported)
{
    expect_overflow_report(create_ctx(grow_stack_forever, NULL));
}

TEST(overflow_of_a_small_stack_is_reported)
{
    create_ctx(grow_stack_forever, NULL);                 /* another one, not run */
    expect_overflow_report(create_ctx_sized(grow_stack_forever, NULL, 16 * 1024));
}

/* One big frame that moves the stack pointer 16 KiB past the bottom of the
 * usable stack in a single step, touching its lowest byte first. */
static void big_frame(void *arg)
{
    volatile char *p = alloca(*(size_t *)arg + 16 * 1024);
    p[0] = 1;
}

TEST(a_frame_that_jumps_past_the_bottom_is_reported)
{
    static size_t size = 64 * 1024;
    sp_ctx neighbour = create_ctx_sized(big_frame, &size, size);
    CHECK(neighbour != NULL);                   /* mapped right below, likely */
    expect_overflow_report(create_ctx_sized(big_frame, &size, size));
}

static void start_thread(void *unused)
{
    (void)unused;
    run_coroutine_in_thread(grow_stack_forever, 32 * 1024);
}

TEST(overflow_in_another_thread_is_reported)
{
    struct death d = run_in_child(start_thread, NULL);
    CHECK(died_of_overflow(&d));
}

static void bad_pointer(void *arg)
{
    volatile int *p = arg;
    *p = 1;
}

static void app_handler(int sig, siginfo_t *info, void *uctx)
{
    static const char saw[] = "application handler: fault at 16\n";
    (void)sig;
    (void)uctx;
    if (info->si_addr == (void *)16) {
        ssize_t unused = write(STDERR_FILENO, saw, sizeof saw - 1);
        (void)unused;
        _exit(42);
    }
    _exit(43);
}

static void fault_with_app_handler(void *unused)
{
    struct sigaction sa = {.sa_sigaction = app_handler, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    (void)unused;
    sigaction(SIGSEGV, &sa, NULL);
    switch_ctx(create_ctx(bad_pointer, (void *)16));
}

TEST(other_faults_reach_the_application_handler)
{
    struct death d = run_in_child(fault_with_app_handler, NULL);
    CHECK(WIFEXITED(d.status));
    CHECK(strstr(d.message, "application handler: fault at 16") != NULL);
    if (test_tool() == NULL)        /* valgrind's error exit code wins */
        CHECK_EQ(WEXITSTATUS(d.status), 42);
    CHECK(strstr(d.message, "stack overflow at") == NULL);
}

static void fault_without_handler(void *unused)
{
    (void)unused;
    switch_ctx(create_ctx(bad_pointer, (void *)16));
}

TEST(other_faults_kill_as_usual_without_a_handler)
{
    struct death d = run_in_child(fault_without_handler, NULL);
    CHECK(died_of_segv(&d));
    CHECK(strstr(d.message, "stack overflow at") == NULL);
}

static void where_am_i(void *arg)
{
    int local;
    *(const void **)arg = &local;
    yield_ctx();
}

/* Main touches a suspended coroutine's guard page: a bug, but not that
 * coroutine's overflow, and not the library's to report. */
static void fault_in_main_on_a_guard(void *unused)
{
    const char *local = NULL;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    (void)unused;
    create_ctx(where_am_i, &local);
    yield_ctx();
    uintptr_t top = ((uintptr_t)local + page) & ~(page - 1);   /* local is in the top page */
    volatile char *guard = (char *)(top - STACK_CAPACITY - 32 * 1024);   /* mid-guard */
    *guard = 1;
}

TEST(a_fault_in_main_is_not_an_overflow)
{
    struct death d = run_in_child(fault_in_main_on_a_guard, NULL);
    CHECK(died_of_segv(&d));
    CHECK(strstr(d.message, "stack overflow at") == NULL);
}

/* Frames far bigger than the guard. Built with -fstack-clash-protection
 * (as the suite is), a frame touches each page on its way down, so it
 * meets the guard instead of jumping it. */
/* Out of line, so the compiler must give the caller's array all its bytes. */
__attribute__((noinline)) static void touch_ends(volatile char *p, size_t n)
{
    p[0] = 1;
    p[n - 1] = 1;
}

static void one_mib_frame(void *unused)
{
    char b[1 << 20];
    (void)unused;
    touch_ends(b, sizeof b);
}

TEST(a_1_mib_frame_in_a_64_kib_stack_is_reported)
{
    sp_ctx neighbour = create_ctx_sized(where_am_i, &(const char *){NULL}, 64 * 1024);
    CHECK(neighbour != NULL);
    expect_overflow_report(create_ctx_sized(one_mib_frame, NULL, 64 * 1024));
}

__attribute__((noinline)) static void big_frame_that_returns(void)
{
    char b[150 * 1024];
    touch_ends(b, sizeof b);
}

static void big_frame_then_yield(void *unused)
{
    (void)unused;
    big_frame_that_returns();
    yield_ctx();
}

TEST(a_frame_that_returns_before_switching_is_reported)
{
    expect_overflow_report(create_ctx_sized(big_frame_then_yield, NULL, 16 * 1024));
}

/* 40,000 coroutines, each holding a canary near the top of its stack; then
 * the newest recurses without end. Its overflow must be reported before it
 * writes a byte of any other stack: the SIGABRT handler, run as the report
 * aborts, checks every canary. */
enum { CROWD = 40000, CANARY_WORDS = 32 };
static volatile uint64_t *canaries[CROWD];

static uint64_t canary(int i, int k)
{
    return 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) + (uint64_t)k;
}

static void hold_canary(void *arg)
{
    int i = (int)(intptr_t)arg;
    volatile uint64_t words[CANARY_WORDS];
    for (int k = 0; k < CANARY_WORDS; k++)
        words[k] = canary(i, k);
    canaries[i] = words;
    switch_ctx(NULL);                       /* never resumed */
}

static void check_canaries(int sig)
{
    char line[64];
    int changed = 0;
    (void)sig;
    for (int i = 0; i < CROWD; i++)
        for (int k = 0; k < CANARY_WORDS; k++)
            changed += canaries[i][k] != canary(i, k);
    int len = snprintf(line, sizeof line, "canaries changed: %d\n", changed);
    ssize_t unused = write(STDERR_FILENO, line, (size_t)len);
    (void)unused;
}

static void crowd_then_runaway(void *unused)
{
    (void)unused;
    for (int i = 0; i < CROWD; i++) {
        sp_ctx c = create_ctx_sized(hold_canary, (void *)(intptr_t)i, 16 * 1024);
        if (c == NULL)
            _exit(3);
        switch_ctx(c);
    }
    sp_ctx runaway = create_ctx_sized(grow_stack_forever, NULL, 16 * 1024);
    fprintf(stderr, "id %zu\n", get_ctx_id_of(runaway));
    signal(SIGABRT, check_canaries);        /* returns, and abort() goes on */
    switch_ctx(runaway);
}

TEST(an_overflow_among_40000_stacks_harms_no_neighbour)
{
    if (!guard_regions_in_use())
        test_skip("without guard regions, stacks past the guard budget have none: their "
                  "overflow is found at the next switch (README, Stacks and overflow)");
    if (test_tool() && strcmp(test_tool(), "valgrind") == 0)
        test_skip("too slow under valgrind");
    struct death d = run_in_child(crowd_then_runaway, NULL);
    CHECK(died_of_overflow(&d));
    CHECK(strstr(d.message, "canaries changed: 0\n") != NULL);
}
