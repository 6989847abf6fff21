/* runner.c - runs the registered tests, each in its own child process.
 *
 *     tests [NAME...]     run every test, or those whose names contain NAME
 *
 * The last line is "N passed, N failed", then ", N skipped" if any were.
 * What the tests share (children that die, counts of mappings and memory)
 * is in fixtures.c.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 256
#define TIMEOUT_SECONDS 120
#define SKIP_STATUS 77          /* exit status of a skipped test */

static struct {
    const char *name;
    void (*fn)(void);
} tests[MAX_TESTS];
static size_t n_tests;

void test_register(const char *name, void (*fn)(void))
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "too many tests; raise MAX_TESTS\n");
        exit(2);
    }
    tests[n_tests].name = name;
    tests[n_tests].fn = fn;
    n_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: check failed: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(NULL);
    _exit(1);
}

void test_skip(const char *why)
{
    printf("     skipped: %s\n", why);
    fflush(NULL);
    _exit(SKIP_STATUS);
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return true;
    return false;
}

enum outcome { PASSED, FAILED, SKIPPED };

/* Run one test in a child. */
static enum outcome run_test(size_t i)
{
    int status;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(TIMEOUT_SECONDS);
        tests[i].fn();
        fflush(NULL);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        printf("FAIL %s (could not run it)\n", tests[i].name);
        return FAILED;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("ok   %s\n", tests[i].name);
        return PASSED;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_STATUS) {
        printf("skip %s\n", tests[i].name);
        return SKIPPED;
    }
    if (WIFSIGNALED(status))
        printf("FAIL %s (killed by signal %d%s)\n", tests[i].name, WTERMSIG(status),
               WTERMSIG(status) == SIGALRM ? ": timed out" : "");
    else
        printf("FAIL %s (exit status %d)\n", tests[i].name, WEXITSTATUS(status));
    return FAILED;
}

int main(int argc, char **argv)
{
    int count[3] = {0};
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n_tests; i++)
        if (selected(tests[i].name, argc, argv))
            count[run_test(i)]++;
    printf("%d passed, %d failed", count[PASSED], count[FAILED]);
    if (count[SKIPPED] > 0)
        printf(", %d skipped", count[SKIPPED]);
    printf("\n");
    return count[FAILED] == 0 ? 0 : 1;
}
