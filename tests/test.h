/* test.h - a small test harness.
 *
 *     TEST(adds_up) { CHECK_EQ(1 + 1, 2); }
 *
 * Tests register themselves; tests/runner.c runs each one in a child process
 * of its own, so a crash fails that test and nothing else. A failed check
 * prints where and why, then ends the child with status 1.
 */
#ifndef TEST_H
#define TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void test_register(const char *name, void (*fn)(void));
__attribute__((noreturn, format(printf, 3, 4)))
void test_fail(const char *file, int line, const char *fmt, ...);

/* End the test as skipped, saying why: only for an environment that
 * cannot show the behaviour at all (an emulator that ignores a system
 * call), never to hide a failure. Skips are counted and printed. */
__attribute__((noreturn)) void test_skip(const char *why);

#define TEST(name)                                                             \
    static void name(void);                                                    \
    __attribute__((constructor)) static void register_##name(void)             \
    {                                                                          \
        test_register(#name, name);                                            \
    }                                                                          \
    static void name(void)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            test_fail(__FILE__, __LINE__, "%s", #cond);                        \
    } while (0)

/* Compare as integers and show both values when they differ. */
#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b,   \
                      a_, b_);                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (strcmp(a_, b_) != 0)                                               \
            test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a,  \
                      #b, a_, b_);                                             \
    } while (0)

/* The sanitizer this suite was built with, or NULL. Under one, a fault
 * that is not an overflow goes to its handler (it was installed before the
 * library's), which reports the fault instead of letting the process die
 * of it. */
extern const char *const test_sanitizer;

/* The sanitizer, or "valgrind" when running under it, or NULL. Under
 * either, mapping and memory counts include the tool's own. */
const char *test_tool(void);

/* How a child that was expected to die ended. */
struct death {
    int status;          /* from waitpid */
    char message[4096];  /* what it wrote to stderr */
};

/* Run fn(arg) in a child process, capturing its stderr. */
struct death run_in_child(void (*fn)(void *), void *arg);

/* True when 'd' is an abort() whose message contains 'needle'. */
bool died_with(const struct death *d, int signal, const char *needle);

/* Whether fn(NULL), run in a child, aborts saying 'needle': the misuse
 * checks, one line each. */
bool aborts_saying(void (*fn)(void *), const char *needle);

/* True when 'd' died of a segmentation fault, or had it reported by the
 * sanitizer's handler. */
bool died_of_segv(const struct death *d);

/* True when the child wrote "id N" first, then aborted reporting an
 * overflow of coroutine N. */
bool died_of_overflow(const struct death *d);

/* True when the child wrote "id N" first, then aborted with a line saying
 * "coroutine N: " and 'what'. */
bool died_naming_it(const struct death *d, const char *what);

/* In a new thread: make a coroutine that runs 'body' (NULL argument) on a
 * stack of 'size' bytes (0: STACK_CAPACITY), write "id N" to stderr, switch
 * to it; then join the thread. */
void run_coroutine_in_thread(void (*body)(void *), size_t size);

/* A coroutine body that counts in '*(int *)arg' to 4, yielding between
 * counts: it runs in four turns. */
void count_rounds(void *arg);

/* A coroutine body that grows its stack a page at a time, forever. */
void grow_stack_forever(void *unused);

/* Lines in /proc/self/maps: the number of mappings. */
size_t count_mappings(void);

/* Resident set size in bytes, from /proc/self/statm. */
size_t resident_bytes(void);

/* Does every stack get a guard region here: the kernel has them
 * (MADV_GUARD_INSTALL, asked as the library asks) and
 * COROUTINE_GUARD_REGIONS is not 0? */
bool guard_regions_in_use(void);

/* Do madvise(MADV_DONTNEED) and munmap give all memory back here?
 * qemu-user 7.2 keeps some of it resident. */
bool memory_is_given_back(void);

/* Is the page holding 'addr' mapped? */
bool is_mapped(const void *addr);

#endif
