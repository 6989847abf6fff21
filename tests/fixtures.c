/* fixtures.c - what the tests share: the tool they run under, children
 * that are expected to die, counts of mappings and resident memory, and
 * what this machine can show.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizer.h"          /* the library's own detection of the tools */
#include "test.h"

#if defined(SAN_ASAN)
const char *const test_sanitizer = "AddressSanitizer";
#elif defined(SAN_TSAN)
const char *const test_sanitizer = "ThreadSanitizer";
#else
const char *const test_sanitizer = NULL;
#endif

const char *test_tool(void)
{
    return test_sanitizer ? test_sanitizer : san_under_valgrind() ? "valgrind" : NULL;
}

struct death run_in_child(void (*fn)(void *), void *arg)
{
    struct death d = {0};
    int fds[2];
    if (pipe(fds) != 0)
        test_fail(__FILE__, __LINE__, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < sizeof d.message &&
           (n = read(fds[0], d.message + len, sizeof d.message - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    waitpid(pid, &d.status, 0);
    return d;
}

bool aborts_saying(void (*fn)(void *), const char *needle)
{
    struct death d = run_in_child(fn, NULL);
    return died_with(&d, SIGABRT, needle);
}

bool died_with(const struct death *d, int signal, const char *needle)
{
    if (!WIFSIGNALED(d->status) || WTERMSIG(d->status) != signal) {
        fprintf(stderr, "child status %#x, expected signal %d; it said: %s\n",
                d->status, signal, d->message);
        return false;
    }
    if (needle && !strstr(d->message, needle)) {
        fprintf(stderr, "child said \"%s\", expected \"%s\"\n", d->message, needle);
        return false;
    }
    return true;
}

bool died_of_segv(const struct death *d)
{
    if (WIFSIGNALED(d->status) && WTERMSIG(d->status) == SIGSEGV)
        return true;
    if (test_sanitizer && strstr(d->message, "Sanitizer: SEGV"))
        return true;
    fprintf(stderr, "child status %#x, not a segmentation fault; it said: %s\n", d->status,
            d->message);
    return false;
}

bool died_naming_it(const struct death *d, const char *what)
{
    size_t id = 0;
    char needle[160];
    if (sscanf(d->message, "id %zu", &id) != 1) {
        fprintf(stderr, "the child did not say its coroutine's id; it said: %s\n", d->message);
        return false;
    }
    snprintf(needle, sizeof needle, "coroutine %zu: %s", id, what);
    return died_with(d, SIGABRT, needle);
}

bool died_of_overflow(const struct death *d)
{
    return died_naming_it(d, "stack overflow at");
}



void grow_stack_forever(void *unused)
{
    (void)unused;
    for (;;) {
        volatile char *p = alloca(4096);
        p[0] = 1;
    }
}

size_t count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    size_t lines = 0;
    int c;
    if (f == NULL)
        test_fail(__FILE__, __LINE__, "cannot open /proc/self/maps");
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines;
}

size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, resident;
    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2)
        test_fail(__FILE__, __LINE__, "cannot read /proc/self/statm");
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

bool is_mapped(const void *addr)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char vec;
    void *start = (void *)((uintptr_t)addr & ~(uintptr_t)(page - 1));
    return mincore(start, page, &vec) == 0;    /* ENOMEM when unmapped */
}

bool guard_regions_in_use(void)
{
    const char *env = getenv("COROUTINE_GUARD_REGIONS");
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int fds[2];
    bool works = false;
    if (env != NULL && strcmp(env, "0") == 0)
        return false;
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && madvise(p, page, 102 /* MADV_GUARD_INSTALL */) == 0 && pipe(fds) == 0) {
        works = write(fds[1], p, 1) < 0 && errno == EFAULT;
        close(fds[0]);
        close(fds[1]);
    }
    munmap(p, page);
    return works;
}

/* Does 'give' (on a touched mapping of 'size' bytes) lower the resident
 * memory by half of it at least? */
static bool frees_memory(char *p, size_t size, void (*give)(char *, size_t))
{
    memset(p, 0x5a, size);
    size_t before = resident_bytes();
    give(p, size);
    return before - resident_bytes() > size / 2;
}

static void dontneed(char *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

static void unmap(char *p, size_t size)
{
    munmap(p, size);
}

/* qemu-user keeps bookkeeping for every page of every mapping it has
 * seen: many big mappings, each touched once and unmapped, leave
 * megabytes resident there and nothing here. */
static bool unmapping_leaves_nothing(void)
{
    size_t size = 4 << 20, before = resident_bytes();
    for (int i = 0; i < 256; i++) {
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(p != MAP_FAILED);
        p[size - 1] = 1;
        munmap(p, size);
    }
    size_t after = resident_bytes();
    return after < before + 512 * 1024;
}

bool memory_is_given_back(void)
{
    size_t size = 4 << 20;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    bool frees = frees_memory(p, size, dontneed) && frees_memory(p, size, unmap);
    if (!frees)
        munmap(p, size);
    return frees && unmapping_leaves_nothing();
}

