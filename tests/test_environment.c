/* Settings from the environment: a bad value is said once on stderr, and
 * the default is used. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "coroutine.h"
#include "test.h"

static void nothing(void *arg)
{
    (void)arg;
}

/* In a child: set one variable, make and run two coroutines (so that a
 * second create would say it again), exit 0 if they ran. */
static void run_with(void *setting)
{
    const char *const *kv = setting;
    setenv(kv[0], kv[1], 1);
    for (int i = 0; i < 2; i++) {
        sp_ctx c = create_ctx(nothing, NULL);
        if (c == NULL)
            _exit(3);
        switch_ctx(c);
        if (!is_ctx_finished(c))
            _exit(4);
        destroy_ctx(c);
    }
    _exit(0);
}

static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void expect_said_once(const char *name, const char *value)
{
    const char *kv[] = {name, value};
    char needle[256];
    struct death d = run_in_child(run_with, kv);
    snprintf(needle, sizeof needle, "coroutine: %s=%s", name, value);
    if (!WIFEXITED(d.status) || WEXITSTATUS(d.status) != 0)
        test_fail(__FILE__, __LINE__, "%s=%s: child status %#x: %s", name, value, d.status,
                  d.message);
    if (occurrences(d.message, needle) != 1 || occurrences(d.message, "\n") != 1)
        test_fail(__FILE__, __LINE__, "%s=%s: expected one line about it, got: \"%s\"", name,
                  value, d.message);
}

TEST(a_guard_count_that_is_not_a_number_is_reported)
{
    expect_said_once("COROUTINE_GUARDED_STACKS", "abc");
    expect_said_once("COROUTINE_GUARDED_STACKS", "-5");
    expect_said_once("COROUTINE_GUARDED_STACKS", "12abc");
    expect_said_once("COROUTINE_GUARDED_STACKS", "");
}

TEST(a_guard_count_past_what_the_mappings_allow_is_reported)
{
    expect_said_once("COROUTINE_GUARDED_STACKS", "99999999999999999999999");
    expect_said_once("COROUTINE_GUARDED_STACKS", "10000000");
}

TEST(a_bad_guard_region_switch_is_reported)
{
    expect_said_once("COROUTINE_GUARD_REGIONS", "maybe");
    expect_said_once("COROUTINE_GUARD_REGIONS", "2");
}

TEST(a_trace_file_that_cannot_be_written_is_reported)
{
    expect_said_once("COROUTINE_TRACE", "/nonexistent-directory/trace.json");
}

/* Good values say nothing. */
TEST(good_values_are_taken_silently)
{
    const char *settings[][2] = {
        {"COROUTINE_GUARDED_STACKS", "10"},
        {"COROUTINE_GUARD_REGIONS", "0"},
        {"COROUTINE_GUARD_REGIONS", "1"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        struct death d = run_in_child(run_with, settings[i]);
        CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
        CHECK_STR(d.message, "");
    }
}
