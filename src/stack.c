/* stack.c - where coroutine stacks come from: mappings, guards, the pool.
 * See stack.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "sanitizer.h"
#include "stack.h"

#define WARM_MIN 16                    /* freed stacks a thread may always keep warm */
#define POOL_WINDOW_NS 1000000000      /* how often the pool looks at its use */
#define POOL_CLOCK_EVERY 64            /* takes and gives between looks at the clock */
#define FIRST_CHUNK 16                 /* slots in a class's first chunk; then doubling */
#define MAX_CHUNK_SLOTS 4096
#define MAX_CHUNK_BYTES ((size_t)16 << 30)
#define DEFAULT_MAX_MAP_COUNT 65530    /* Linux's vm.max_map_count */
#define GUARD_INSTALL 102              /* MADV_GUARD_INSTALL, Linux 6.13; older
                                          headers lack it, so it is spelled here */

ARRAY_DEFINE(stack_array, struct stack)

/* Stacks of one size class: the free ones that keep their memory (warm)
 * and those whose memory went back (cold), newest last; and where fresh
 * ones are carved from. */
struct size_class {
    size_t size;                     /* slot size, guard included */
    struct stack_array warm, cold;
    char *carve;                     /* next fresh slot in the newest chunk */
    size_t carve_left;               /* fresh slots left there */
    size_t next_chunk;               /* slots to ask for in the next chunk */
    uint64_t given;                  /* when it was last given a stack (use.gives) */
};
ARRAY_DEFINE(class_array, struct size_class)

struct chunk {
    char *base;
    size_t size;
};
ARRAY_DEFINE(chunk_array, struct chunk)

static __thread struct class_array classes;
static __thread struct chunk_array chunks;

/* How many stacks the thread uses, and used at most lately: the pool keeps
 * as many warm as would take it back to that peak. */
static __thread struct {
    size_t in_use, warm;             /* handed out now; free and warm now */
    size_t peak, last_peak;          /* most in use in this window, the last */
    int64_t window_end;              /* when this window closes */
    unsigned until_clock;            /* takes and gives before the next look */
    uint64_t gives;                  /* stacks given back, ever: the classes' clock */
} use;

size_t stack_page;                           /* set once, with the rest below */
static unsigned page_shift;
static bool guard_regions;                   /* every chunk slot gets a guard */
static size_t guard_budget;                  /* else: guarded stacks of their own */
static size_t guarded_now;                   /* ... in the process, now */
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

/* {=====================================================================
 * Setup, once per process
 * ====================================================================== */

/* The environment variable 'name' as a whole number from 0 to 'max', or
 * 'fallback' when it is unset. A bad value is said on stderr (this runs
 * once) and the fallback used. */
static size_t env_number(const char *name, size_t fallback, size_t max)
{
    const char *text = getenv(name);
    char *end;
    if (text == NULL)
        return fallback;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 || n > max) {
        fprintf(stderr, "coroutine: %s=%s is not a number from 0 to %zu; using %zu\n", name,
                text, max, fallback);
        return fallback;
    }
    return (size_t)n;
}

/* A number read from a file of /proc, or 'fallback'. */
static long proc_number(const char *path, long fallback)
{
    FILE *f = fopen(path, "r");
    long n = fallback;
    if (f != NULL) {
        if (fscanf(f, "%ld", &n) != 1 || n < 0)
            n = fallback;
        fclose(f);
    }
    return n;
}

static long mappings_in_use(void)
{
    char buf[4096];
    long lines = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return 0;
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;)
        for (size_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    fclose(f);
    return lines;
}

/* Does madvise(MADV_GUARD_INSTALL) work here? Asked by deed: an emulator
 * may accept the advice and ignore it, so a write() from the guarded page
 * must fail with EFAULT, as the kernel cannot read it either. */
static bool kernel_has_guard_regions(void)
{
    int fds[2];
    bool works = false;
    char *p = mmap(NULL, stack_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    if (madvise(p, stack_page, GUARD_INSTALL) == 0 && pipe(fds) == 0) {
        works = write(fds[1], p, 1) < 0 && errno == EFAULT;
        close(fds[0]);
        close(fds[1]);
    }
    munmap(p, stack_page);
    return works;
}

/* Without guard regions, each guarded stack costs two mappings. Guards may
 * use half of the mappings still free when the first coroutine is made,
 * leaving the other half to the program; COROUTINE_GUARDED_STACKS may ask
 * for fewer. */
static void set_guard_budget(void)
{
    long free_maps = proc_number("/proc/sys/vm/max_map_count", DEFAULT_MAX_MAP_COUNT) -
                     mappings_in_use();
    size_t most = free_maps > 0 ? (size_t)free_maps / 4 : 0;
    guard_budget = env_number("COROUTINE_GUARDED_STACKS", most, most);
}

/* pthread_once orders all of this before any thread's use of it.
 * COROUTINE_GUARD_REGIONS=0 turns guard regions off, to test the other
 * path on a kernel that has them. */
static void setup_process(void)
{
    stack_page = (size_t)sysconf(_SC_PAGESIZE);
    page_shift = (unsigned)__builtin_ctzl(stack_page);
    bool wanted = env_number("COROUTINE_GUARD_REGIONS", 1, 1) == 1;
    guard_regions = wanted && kernel_has_guard_regions();
    set_guard_budget();
}

/* }===================================================================== */

/* {=====================================================================
 * Sizes and chunks
 * ====================================================================== */

/* Round a page count up to its class: exact up to 8 pages, then four
 * classes per power of two (at most three significant bits), so that a
 * program asking for many sizes uses few classes and wastes at most a
 * quarter of address space, never memory. */
static size_t class_pages(size_t n)
{
    if (n <= 8)
        return n ? n : 1;
    size_t step = (size_t)1 << (63 - __builtin_clzl(n) - 2);
    return (n + step - 1) & ~(step - 1);
}

/* The slot for 'usable' bytes: its class, the room for the first frame on
 * top and the guard below. Shifts, not division. */
static int slot_size(size_t usable, size_t *size)
{
    size_t page = stack_page;
    size_t room = (STACK_TOP_ROOM + page - 1) & ~(page - 1);
    if (usable > (SIZE_MAX >> 2) - room - STACK_GUARD)
        return -1;
    size_t pages = class_pages((usable + page - 1) >> page_shift);
    if (pages > ((SIZE_MAX >> 2) >> page_shift))
        return -1;
    *size = (pages << page_shift) + room + STACK_GUARD;
    return 0;
}

static size_t max_chunk_slots(size_t size)
{
    size_t n = MAX_CHUNK_BYTES / size;
    return n < 1 ? 1 : n > MAX_CHUNK_SLOTS ? MAX_CHUNK_SLOTS : n;
}

/* A new chunk of slots for 'c': as many as planned, or half as many, and so
 * on, when the address space is tight (RLIMIT_AS). The count is capped so
 * that n * size cannot overflow. */
static int map_chunk(struct size_class *c)
{
    size_t most = max_chunk_slots(c->size);
    for (size_t n = c->next_chunk < most ? c->next_chunk : most; n > 0; n /= 2) {
        size_t bytes = n * c->size;
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
            continue;
        if (chunk_array_push(&chunks, (struct chunk){p, bytes}) != 0) {
            munmap(p, bytes);
            return -1;
        }
        san_memory_unused(p, bytes);
        c->carve = p;
        c->carve_left = n;
        c->next_chunk = 2 * n < most ? 2 * n : most;
        return 0;
    }
    return -1;
}

/* The next fresh slot of a chunk, with a guard region where the kernel
 * has them (they stay through MADV_DONTNEED: one system call per slot,
 * ever). */
static int carve(struct size_class *c, struct stack *s)
{
    if (c->carve_left == 0 && map_chunk(c) != 0)
        return -1;
    *s = (struct stack){.base = c->carve, .size = c->size};
    c->carve += c->size;
    c->carve_left--;
    if (guard_regions)
        s->guarded = madvise(s->base, STACK_GUARD, GUARD_INSTALL) == 0;
    return 0;
}

/* The class of 'size', found or made. Classes are few (see class_pages). */
static struct size_class *class_for(size_t size)
{
    size_t i = 0;
    while (i < classes.len && classes.items[i].size != size)
        i++;
    struct size_class c = {.size = size, .next_chunk = FIRST_CHUNK};
    if (i == classes.len && class_array_push(&classes, c) != 0)
        return NULL;
    return &classes.items[i];
}

/* The class for 'usable' bytes, or NULL. Most creates ask alike, so the
 * last answer is kept: this is on every create. */
static struct size_class *class_of(size_t usable)
{
    static __thread size_t last_usable, last;
    size_t size;
    struct size_class *c;
    if (usable == last_usable && last < classes.len)
        return &classes.items[last];
    if (slot_size(usable, &size) != 0 || (c = class_for(size)) == NULL)
        return NULL;
    last_usable = usable;
    last = (size_t)(c - classes.items);
    return c;
}

/* }===================================================================== */

/* {=====================================================================
 * Fallback for kernels without guard regions: a budget of stacks with a
 * PROT_NONE guard mapping of their own; past it, chunk slots and the
 * tripwire.
 * ====================================================================== */

static bool take_from_budget(void)
{
    if (__atomic_add_fetch(&guarded_now, 1, __ATOMIC_RELAXED) <= guard_budget)
        return true;
    __atomic_sub_fetch(&guarded_now, 1, __ATOMIC_RELAXED);
    return false;
}

static void give_to_budget(void)
{
    __atomic_sub_fetch(&guarded_now, 1, __ATOMIC_RELAXED);
}

/* One mapping for one stack, its guard made inaccessible: two mappings. */
static int map_alone(struct stack *s, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (mprotect(p, STACK_GUARD, PROT_NONE) != 0) {
        munmap(p, size);
        return -1;
    }
    *s = (struct stack){.base = p, .size = size, .guarded = true};
    return 0;
}

/* Without guard regions, a guarded stack is one with a mapping of its own
 * (chunk slots have none); with them, none has. */
static bool mapped_alone(const struct stack *s)
{
    return s->guarded && !guard_regions;
}

static void unmap_alone(const struct stack *s)
{
    munmap(s->base, s->size);
    give_to_budget();
}

/* }===================================================================== */

/* {=====================================================================
 * The pool
 * ====================================================================== */

/* A fresh stack of class 'c'. */
static int new_stack(struct size_class *c, struct stack *s)
{
    if (!guard_regions && take_from_budget()) {
        if (map_alone(s, c->size) == 0)
            return 0;
        give_to_budget();                   /* no mappings left: share a chunk */
    }
    return carve(c, s);
}

/* How many freed stacks may keep their memory: enough to go back to the
 * most the thread had in use at once in this window or the last, and
 * never fewer than WARM_MIN. */
static size_t warm_limit(void)
{
    size_t peak = use.peak > use.last_peak ? use.peak : use.last_peak;
    size_t spare = peak > use.in_use ? peak - use.in_use : 0;
    return spare > WARM_MIN ? spare : WARM_MIN;
}

static int compare_bases(const void *a, const void *b)
{
    const char *x = ((const struct stack *)a)->base, *y = ((const struct stack *)b)->base;
    return (x > y) - (x < y);
}

/* Stacks leave the warm set: their pages go back to the system. One with
 * its own mapping is unmapped, and its guard returns to the budget; a
 * chunk slot keeps its address range (and guard region) for its class,
 * and reads as zeros when used again. Neighbours in a chunk go back in
 * one call: guard regions stay through MADV_DONTNEED. */
static void cool(struct stack *list, size_t n)
{
    if (n > 1)
        qsort(list, n, sizeof *list, compare_bases);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && !mapped_alone(&list[i]) && !mapped_alone(&list[j]) &&
                        list[j - 1].base + list[j - 1].size == list[j].base;
             j++)
            ;
        if (mapped_alone(&list[i])) {
            unmap_alone(&list[i]);
            continue;
        }
        char *from = stack_bottom(&list[i]), *to = (char *)stack_top(&list[j - 1]);
        madvise(from, (size_t)(to - from), MADV_DONTNEED);
    }
    for (size_t i = 0; i < n; i++) {
        if (mapped_alone(&list[i]))
            continue;
        san_memory_unused(stack_bottom(&list[i]), list[i].size - STACK_GUARD);
        stack_array_push(&classes.items[list[i].sclass].cold, list[i]);
        /* no memory: the slot is lost until the thread exits */
    }
}

/* The class given a stack longest ago that has warm ones, or NULL. */
static struct size_class *least_recently_given(void)
{
    struct size_class *oldest = NULL;
    for (size_t k = 0; k < classes.len; k++) {
        struct size_class *c = &classes.items[k];
        if (c->warm.len > 0 && (oldest == NULL || c->given < oldest->given))
            oldest = c;
    }
    return oldest;
}

/* Cool warm stacks until at most 'limit' stay: first those of the class
 * given a stack longest ago, oldest first, so that a size still in use
 * keeps its warm ones. */
static void trim_to(size_t limit)
{
    struct stack_array out = {0};
    struct size_class *c;
    while (use.warm > limit && (c = least_recently_given()) != NULL) {
        struct stack_array *w = &c->warm;
        size_t n = use.warm - limit < w->len ? use.warm - limit : w->len;
        for (size_t i = 0; i < n; i++)
            if (stack_array_push(&out, w->items[i]) != 0)
                n = i;                       /* no memory: what is listed goes */
        memmove(w->items, w->items + n, (w->len - n) * sizeof *w->items);
        w->len -= n;
        use.warm -= n;
        if (n == 0)
            break;
    }
    cool(out.items, out.len);
    stack_array_free(&out);
}

static int64_t coarse_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Once a window has passed: the peak it saw becomes the last, and what
 * neither needs goes back. */
static void close_window(int64_t now)
{
    use.last_peak = use.peak;
    use.peak = use.in_use;
    use.window_end = now + POOL_WINDOW_NS;
    trim_to(warm_limit());
}

/* A stack was given back: now and then, see whether a window passed. */
static void look_at_clock(void)
{
    use.until_clock = POOL_CLOCK_EVERY;
    int64_t now = coarse_now();
    if (now >= use.window_end)
        close_window(now);
}

int64_t stack_idle(void)
{
    if (use.warm <= WARM_MIN)
        return -1;
    int64_t now = coarse_now();
    if (now >= use.window_end)
        close_window(now);
    return use.warm <= WARM_MIN ? -1 : use.window_end - now;
}

/* A stack of class 'c' that is not warm: cold, or new. */
static __attribute__((noinline)) int take_cold(struct size_class *c, struct stack *s)
{
    if (c == NULL)
        goto out_enomem;
    if (c->cold.len > 0)
        *s = c->cold.items[--c->cold.len];
    else if (new_stack(c, s) != 0)
        goto out_enomem;
    s->sclass = (unsigned)(c - classes.items);
    return 0;
out_enomem:
    errno = ENOMEM;
    return -1;
}

int stack_alloc(struct stack *s, size_t usable)
{
    struct size_class *c = class_of(usable);
    if (c != NULL && c->warm.len > 0) {      /* the newest: likely still cached */
        *s = c->warm.items[--c->warm.len];
        use.warm--;
    } else if (take_cold(c, s) != 0) {
        return -1;
    }
    if (++use.in_use > use.peak)
        use.peak = use.in_use;
    return 0;
}

/* Warm, when the warm set is full in place of the stack given back
 * longest ago; cold if memory for the list runs out. */
static __attribute__((noinline)) void give_back(struct stack *s)
{
    struct stack_array *warm = &classes.items[s->sclass].warm;
    size_t limit = warm_limit();
    if (use.warm >= limit)
        trim_to(limit - 1);
    if (stack_array_push(warm, *s) == 0)
        use.warm++;
    else
        cool(s, 1);
}

void stack_free(struct stack *s)
{
    if (s->base == NULL)
        return;
    struct size_class *c = &classes.items[s->sclass];
    struct stack_array *warm = &c->warm;
    use.in_use--;
    c->given = ++use.gives;
    if (use.warm < WARM_MIN && warm->len < warm->cap) {
        warm->items[warm->len++] = *s;
        use.warm++;
    } else {
        give_back(s);
    }
    *s = (struct stack){0};
    if (use.until_clock-- == 0)
        look_at_clock();
}

/* }===================================================================== */

/* {=====================================================================
 * Threads
 * ====================================================================== */

int stack_thread_init(void)
{
    pthread_once(&process_once, setup_process);
    return 0;
}

void stack_thread_exit(void)
{
    for (size_t i = 0; i < classes.len; i++) {
        struct stack_array *w = &classes.items[i].warm;
        for (size_t j = 0; j < w->len; j++)
            if (mapped_alone(&w->items[j]))
                unmap_alone(&w->items[j]);
        stack_array_free(w);
        stack_array_free(&classes.items[i].cold);       /* in chunks */
    }
    use = (__typeof__(use)){0};
    class_array_free(&classes);
    for (size_t i = 0; i < chunks.len; i++)
        munmap(chunks.items[i].base, chunks.items[i].size);
    chunk_array_free(&chunks);
}

/* }===================================================================== */
