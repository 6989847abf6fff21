/* stack.c - mapping, pooling and watching coroutine stacks. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "array.h"
#include "sanitizer.h"
#include "stack.h"

#define ALT_STACK_SIZE (64 * 1024)     /* for the handler and any it forwards to */
#define HOT_STACKS 16                  /* pooled stacks per size that keep their memory */
#define FIRST_CHUNK 16                 /* slots in a size's first chunk; then doubling */
#define MAX_CHUNK_SLOTS 4096
#define MAX_CHUNK_BYTES ((size_t)16 << 30)
#define DEFAULT_MAX_MAP_COUNT 65530    /* Linux's vm.max_map_count */

ARRAY_DEFINE(stack_array, struct stack)

/* Stacks of one size: the free ones, and where fresh unguarded ones come
 * from. 'warm' is itself a stack, so the most recently freed stack, whose
 * memory is still in the caches, is reused first; past HOT_STACKS the
 * oldest warm one gives its memory back and turns cold. Cold ones keep
 * their mapping, and their guard if they had one. */
struct size_class {
    size_t size;                     /* slot size, guard included */
    struct stack_array warm;         /* memory kept, most recently freed last */
    struct stack_array cold_guarded; /* memory given back */
    struct stack_array cold_open;    /* the same, unguarded */
    char *carve;                     /* next fresh slot in the newest chunk */
    size_t carve_left;               /* fresh slots left there */
    size_t next_chunk;               /* slots to ask for in the next chunk */
};
ARRAY_DEFINE(class_array, struct size_class)

struct chunk {
    char *base;
    size_t size;
};
ARRAY_DEFINE(chunk_array, struct chunk)

static __thread struct class_array classes;
static __thread struct stack just_freed;     /* one stack in front of the pools */
static __thread struct chunk_array chunks;
static __thread void *alt_stack;             /* ours, if we gave one */

static size_t guarded_now;                   /* in the process, pooled included */
static size_t guard_budget;
static pthread_once_t budget_once = PTHREAD_ONCE_INIT;

static struct sigaction previous_action;     /* what SIGSEGV did before us */
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

/* {=====================================================================
 * Guard budget
 * ====================================================================== */

/* Guards may use half of the mapping limit, two mappings each, leaving the
 * other half to the program. COROUTINE_GUARDED_STACKS sets another number. */
static void set_guard_budget(void)
{
    const char *env = getenv("COROUTINE_GUARDED_STACKS");
    long max_maps = DEFAULT_MAX_MAP_COUNT;
    if (env != NULL) {
        guard_budget = strtoul(env, NULL, 10);
        return;
    }
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld", &max_maps) != 1 || max_maps < 0)
            max_maps = DEFAULT_MAX_MAP_COUNT;
        fclose(f);
    }
    guard_budget = (size_t)max_maps / 4;
}

static bool take_guard(void)
{
    pthread_once(&budget_once, set_guard_budget);
    if (__atomic_add_fetch(&guarded_now, 1, __ATOMIC_RELAXED) <= guard_budget)
        return true;
    __atomic_sub_fetch(&guarded_now, 1, __ATOMIC_RELAXED);
    return false;
}

static void give_guard(void)
{
    __atomic_sub_fetch(&guarded_now, 1, __ATOMIC_RELAXED);
}

/* }===================================================================== */

/* {=====================================================================
 * Mapping
 * ====================================================================== */

size_t stack_page;       /* set once, by the first stack_thread_init */

/* The slot for 'usable' bytes: whole pages, plus the guard. Pages are a
 * power of two, so rounding is a mask, not a (slow) division. */
static int slot_size(size_t usable, size_t *size)
{
    size_t page = stack_page;
    if (usable > SIZE_MAX - page - STACK_GUARD)
        return -1;
    *size = ((usable + page - 1) & ~(page - 1)) + STACK_GUARD;
    return 0;
}

/* One mapping for one stack, its guard made inaccessible: two mappings. */
static int map_guarded(struct stack *s, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (mprotect(p, STACK_GUARD, PROT_NONE) != 0) {
        munmap(p, size);
        return -1;
    }
    *s = (struct stack){p, size, true};
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
        c->carve = p;
        c->carve_left = n;
        c->next_chunk = 2 * n < most ? 2 * n : most;
        return 0;
    }
    return -1;
}

/* An unguarded stack: the next fresh slot of a chunk, no system call. */
static int carve(struct size_class *c, struct stack *s)
{
    if (c->carve_left == 0 && map_chunk(c) != 0)
        return -1;
    *s = (struct stack){c->carve, c->size, false};
    c->carve += c->size;
    c->carve_left--;
    return 0;
}

/* }===================================================================== */

/* {=====================================================================
 * Pool
 * ====================================================================== */

/* The class of 'size'. Programs use a handful of sizes, and the last one
 * asked for is tried first. */
static struct size_class *class_of(size_t size)
{
    static __thread size_t last;
    if (last < classes.len && classes.items[last].size == size)
        return &classes.items[last];
    for (last = 0; last < classes.len; last++)
        if (classes.items[last].size == size)
            return &classes.items[last];
    struct size_class c = {.size = size, .next_chunk = FIRST_CHUNK};
    if (class_array_push(&classes, c) != 0)
        return NULL;
    return &classes.items[last];
}

static bool pop(struct stack_array *a, struct stack *s)
{
    if (a->len == 0)
        return false;
    *s = a->items[--a->len];
    return true;
}

/* The pages go; the mapping stays, and reads as zeros when used again. */
static void give_memory_back(const struct stack *s)
{
    madvise(stack_bottom(s), s->size - STACK_GUARD, MADV_DONTNEED);
}

static void unmap_guarded(const struct stack *s)
{
    munmap(s->base, s->size);
    give_guard();
}

/* The guard budget is spent. Free stacks do not need their guards: unmap
 * a cold one of another size, so a live stack can have a guard instead. */
static bool take_guard_from_pool(void)
{
    struct stack s;
    for (size_t i = 0; i < classes.len; i++)
        if (pop(&classes.items[i].cold_guarded, &s)) {
            unmap_guarded(&s);
            return take_guard();
        }
    return false;
}

/* A new stack of the class: guarded while the budget allows. */
static int new_stack(struct size_class *c, struct stack *s)
{
    if (take_guard() || take_guard_from_pool()) {
        if (map_guarded(s, c->size) == 0)
            return 0;
        give_guard();                       /* no mappings left: go unguarded */
    }
    return pop(&c->cold_open, s) || carve(c, s) == 0 ? 0 : -1;
}

int stack_alloc(struct stack *s, size_t usable)
{
    size_t size;
    struct size_class *c;
    if (slot_size(usable, &size) != 0)
        goto out_enomem;
    if (just_freed.size == size) {
        *s = just_freed;                    /* the hottest stack there is */
        just_freed = (struct stack){0};
        return 0;
    }
    if ((c = class_of(size)) != NULL &&
        (pop(&c->warm, s) || pop(&c->cold_guarded, s) || new_stack(c, s) == 0))
        return 0;
out_enomem:
    errno = ENOMEM;
    return -1;
}

/* Cool the oldest warm stack down to make room for a newly freed one. */
static void cool_oldest(struct size_class *c)
{
    struct stack oldest = c->warm.items[0];
    memmove(&c->warm.items[0], &c->warm.items[1], --c->warm.len * sizeof oldest);
    give_memory_back(&oldest);
    struct stack_array *cold = oldest.guarded ? &c->cold_guarded : &c->cold_open;
    if (stack_array_push(cold, oldest) == 0)
        return;
    if (oldest.guarded)                     /* no room to keep it */
        unmap_guarded(&oldest);
}

/* Put 's' in the pool of its size. */
static void pool(struct stack *s)
{
    struct size_class *c = class_of(s->size);
    if (c != NULL && c->warm.len == HOT_STACKS)
        cool_oldest(c);
    if (c == NULL || stack_array_push(&c->warm, *s) != 0) {
        give_memory_back(s);                /* out of memory: drop it */
        if (s->guarded)
            unmap_guarded(s);
    }
    *s = (struct stack){0};
}

/* A coroutine that finishes and a create that follows, the most common
 * pattern, meet in 'just_freed' and never touch the pools. */
void stack_free(struct stack *s)
{
    if (s->base == NULL)
        return;
    struct stack older = just_freed;
    just_freed = *s;
    *s = older;
    if (s->base != NULL)
        pool(s);
}

/* Untouched pages are not resident and read as zero, so the deepest use is
 * the lowest word that is not zero, on a resident page: mincore finds those
 * without reading the rest. A pooled stack keeps what earlier coroutines
 * left on it until its memory is given back, so it may say more. */
SAN_READS_ANY_STACK static size_t deepest_word(const struct stack *s)
{
    enum { BATCH = 4096 };
    unsigned char resident[BATCH];
    const char *bottom = stack_bottom(s), *top = stack_top(s);
    size_t page = stack_page;
    for (const char *p = bottom; p < top; p += BATCH * page) {
        size_t pages = (size_t)(top - p) / page < BATCH ? (size_t)(top - p) / page : BATCH;
        if (mincore((void *)p, pages * page, resident) != 0)
            return 0;
        for (size_t i = 0; i < pages; i++) {
            if (!(resident[i] & 1))
                continue;
            const uint64_t *w = (const uint64_t *)(p + i * page);
            for (size_t k = 0; k < page / sizeof *w; k++)
                if (w[k] != 0)
                    return (size_t)(top - (const char *)&w[k]);
        }
    }
    return 0;
}

size_t stack_used(const struct stack *s)
{
    san_quiet(true);
    size_t used = deepest_word(s);
    san_quiet(false);
    return used;
}

/* }===================================================================== */

/* {=====================================================================
 * Overflow report
 * ====================================================================== */

/* Append 'v' in base 'base' to 'p'; snprintf is not async-signal-safe. */
static char *put_uint(char *p, uintptr_t v, unsigned base)
{
    char digits[2 * sizeof v + 1];
    int n = 0;
    do
        digits[n++] = "0123456789abcdef"[v % base];
    while ((v /= base) != 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_ptr(char *p, const void *ptr)
{
    return put_uint(put_str(p, "0x"), (uintptr_t)ptr, 16);
}

void stack_overflow(size_t id, const void *where, const struct stack *s)
{
    char line[160], *p = line;
    p = put_str(p, "coroutine ");
    p = put_uint(p, id, 10);
    p = put_str(p, ": stack overflow at ");
    p = put_ptr(p, where);
    p = put_str(p, " (stack ");
    p = put_ptr(p, stack_bottom(s));
    p = put_str(p, "-");
    p = put_ptr(p, stack_top(s));
    p = put_str(p, ")\n");
    ssize_t unused = write(STDERR_FILENO, line, (size_t)(p - line));
    (void)unused;
    abort();
}

/* Not ours: hand the fault to whoever had SIGSEGV before. For the default
 * action, restore it and return; the faulting instruction runs again and
 * the process dies as it would have without us. */
static void forward(int sig, siginfo_t *info, void *uctx)
{
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(sig, info, uctx);
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(sig);
    } else {
        signal(sig, SIG_DFL);
        if (info->si_code <= 0)    /* sent with kill(): nothing will re-fault */
            raise(sig);
    }
}

/* An overflow either faults in the guard, or, past the guard budget or
 * with a frame bigger than the guard, somewhere below the stack while the
 * stack pointer is below it too. */
static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    const struct stack *s;
    size_t id;
    const char *addr = info->si_addr, *sp = platform_signal_sp(uctx);
    if (stack_of_running_ctx(&s, &id) &&
        ((addr >= s->base && addr < stack_bottom(s)) || sp < stack_bottom(s)))
        stack_overflow(id, addr, s);
    forward(sig, info, uctx);
}

/* Once per process: pthread_once orders it before every thread's use. */
static void install_handler(void)
{
    struct sigaction sa;
    stack_page = (size_t)sysconf(_SC_PAGESIZE);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  /* the faulting stack is full */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_action);
}

/* }===================================================================== */

/* {=====================================================================
 * Threads
 * ====================================================================== */

int stack_thread_init(void)
{
    stack_t ss;
    pthread_once(&handler_once, install_handler);
    if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE))
        return 0;                           /* the thread has one already */
    void *p = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        goto out_enomem;
    ss = (stack_t){.ss_sp = p, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0)
        goto out_unmap;
    alt_stack = p;
    return 0;

out_unmap:
    munmap(p, ALT_STACK_SIZE);
out_enomem:
    errno = ENOMEM;
    return -1;
}

static void unmap_guarded_in(struct stack_array *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->items[i].guarded)
            unmap_guarded(&a->items[i]);
    stack_array_free(a);
}

void stack_thread_exit(void)
{
    if (just_freed.guarded)
        unmap_guarded(&just_freed);
    just_freed = (struct stack){0};
    for (size_t i = 0; i < classes.len; i++) {
        unmap_guarded_in(&classes.items[i].warm);
        unmap_guarded_in(&classes.items[i].cold_guarded);
        stack_array_free(&classes.items[i].cold_open);   /* in chunks */
    }
    class_array_free(&classes);
    for (size_t i = 0; i < chunks.len; i++)
        munmap(chunks.items[i].base, chunks.items[i].size);
    chunk_array_free(&chunks);
    if (alt_stack != NULL) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);            /* before the memory goes */
        munmap(alt_stack, ALT_STACK_SIZE);
        alt_stack = NULL;
    }
}

/* }===================================================================== */
