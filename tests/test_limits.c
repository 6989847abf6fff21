/* When the system runs out (address space, mappings): ENOMEM, and the
 * coroutines made before keep running. */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "coroutine.h"
#include "test.h"

/* Address space in use now, from /proc/self/statm. */
static size_t address_space(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    CHECK(f != NULL && fscanf(f, "%lu", &pages) == 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

TEST(enomem_under_rlimit_as_leaves_others_running)
{
    enum { EARLY = 8, MAX_LATE = 64 };
    int early[EARLY] = {0}, late[MAX_LATE] = {0};
    sp_ctx e[EARLY], l[MAX_LATE];
    for (int i = 0; i < EARLY; i++) {
        e[i] = create_ctx(count_rounds, &early[i]);
        CHECK(e[i] != NULL);
    }
    yield_ctx();                             /* all started, all suspended */

    if (test_tool())
        test_skip("the tool reserves more address space than any limit leaves");
    /* Room for a few more stacks and no more. */
    struct rlimit lim = {address_space() + 4 * STACK_CAPACITY, RLIM_INFINITY};
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    void *far = mmap(NULL, 64 * STACK_CAPACITY, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (far != MAP_FAILED)                  /* qemu-user accepts it, enforces nothing */
        test_skip("this environment does not enforce RLIMIT_AS");
    int n_late = 0;
    errno = 0;
    while (n_late < MAX_LATE && (l[n_late] = create_ctx(count_rounds, &late[n_late])) != NULL)
        n_late++;
    CHECK(n_late < MAX_LATE);
    CHECK_EQ(errno, ENOMEM);
    sp_ctx small = create_ctx_sized(count_rounds, &late[n_late], 16 * 1024);
    CHECK(small != NULL);                   /* a small stack still fits */

    for (int i = 0; i < 8; i++)
        yield_ctx();
    for (int i = 0; i < EARLY; i++) {
        CHECK_EQ(early[i], 4);
        destroy_ctx(e[i]);
    }
    for (int i = 0; i <= n_late; i++)
        CHECK_EQ(late[i], 4);
    for (int i = 0; i < n_late; i++)
        destroy_ctx(l[i]);
    destroy_ctx(small);
}

TEST(enomem_when_mappings_run_out_leaves_others_running)
{
    enum { EARLY = 8, MAX_PAGES = 1 << 17, EXTRA = 10000 };
    static void *pages[MAX_PAGES];
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
    if (test_tool())
        test_skip("the tool itself needs mappings: it dies when they run out");
    int early[EARLY] = {0}, late = 0;
    sp_ctx e[EARLY];
    for (int i = 0; i < EARLY; i++)
        CHECK((e[i] = create_ctx(count_rounds, &early[i])) != NULL);
    yield_ctx();                             /* all started, all suspended */

    /* Use up the mappings: single pages, readable and not in turn, so that
     * no two neighbours merge into one. */
    for (; n < MAX_PAGES; n++) {
        pages[n] = mmap(NULL, page, n % 2 ? PROT_READ : PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages[n] == MAP_FAILED)
            break;
    }
    CHECK(n < MAX_PAGES);
    /* Slots left in a chunk mapped before still come; then no more. */
    static sp_ctx spare[EXTRA];
    int n_spare = 0, ignored = 0;
    errno = 0;
    while (n_spare < EXTRA && (spare[n_spare] = create_ctx(count_rounds, &ignored)) != NULL)
        n_spare++;
    CHECK(n_spare < EXTRA);
    CHECK_EQ(errno, ENOMEM);
    while (n_spare > 0)
        destroy_ctx(spare[--n_spare]);

    for (int i = 0; i < 8; i++)              /* the others are unharmed */
        yield_ctx();
    for (int i = 0; i < EARLY; i++)
        CHECK_EQ(early[i], 4);

    for (size_t i = 0; i < 16 && n > 0; i++) /* room again: it works again */
        munmap(pages[--n], page);
    sp_ctx again = create_ctx(count_rounds, &late);
    CHECK(again != NULL);
    while (!is_ctx_finished(again))
        yield_ctx();
    CHECK_EQ(late, 4);

    while (n > 0)
        munmap(pages[--n], page);
    destroy_ctx(again);
    for (int i = 0; i < EARLY; i++)
        destroy_ctx(e[i]);
}
