/* stack.c - guarded stacks and the stack-overflow report. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stack.h"

/* Big enough for the handler below and any handler it forwards to. */
#define ALT_STACK_SIZE (64 * 1024)

/* The guard is wider than a page because stacks lie next to each other: a
 * function with a big frame (a 16 KiB buffer, say) moves the stack pointer
 * past a one-page guard in one step and would write into the neighbouring
 * stack without a fault. It costs address space only, no memory and no
 * extra mapping. */
#define GUARD_SIZE (64 * 1024)

static size_t page_size(void)
{
    static size_t page;     /* racy but idempotent: every thread stores the same */
    if (page == 0)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static size_t guard_size(void)
{
    size_t page = page_size();
    return GUARD_SIZE > page ? GUARD_SIZE / page * page : page;
}

/* =====================================================================
 * Mapping
 * ===================================================================== */

/* Every failure is ENOMEM: to the caller they all mean "no room for
 * another stack" (address space, RLIMIT_AS or the mapping count). */
int stack_alloc(struct stack *s, size_t usable)
{
    size_t page = page_size(), guard = guard_size();
    if (usable > SIZE_MAX - page - guard) {
        errno = ENOMEM;
        return -1;
    }
    size_t size = (usable + page - 1) / page * page + guard;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        goto out_enomem;
    if (mprotect(p, guard, PROT_NONE) != 0)  /* splits the mapping in two */
        goto out_unmap;
    s->base = p;
    s->size = size;
    return 0;

out_unmap:
    munmap(p, size);
out_enomem:
    errno = ENOMEM;
    return -1;
}

void stack_free(struct stack *s)
{
    if (s->base != NULL)
        munmap(s->base, s->size);
    s->base = NULL;
    s->size = 0;
}

/* =====================================================================
 * Overflow report
 * ===================================================================== */

static struct sigaction previous_action;     /* what SIGSEGV did before us */
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static __thread void *alt_stack;             /* ours, if we gave one */

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

/* One line on stderr, then abort: the coroutine cannot be saved. */
static void report_overflow(size_t id, const void *addr, const struct stack *s)
{
    char line[160], *p = line;
    p = put_str(p, "coroutine ");
    p = put_uint(p, id, 10);
    p = put_str(p, ": stack overflow (fault at ");
    p = put_ptr(p, addr);
    p = put_str(p, ", stack ");
    p = put_ptr(p, s->base + guard_size());
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

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    const struct stack *s;
    size_t id;
    const char *addr = info->si_addr;
    if (stack_of_running_ctx(&s, &id) && addr >= s->base && addr < s->base + guard_size())
        report_overflow(id, addr, s);
    forward(sig, info, uctx);
}

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  /* the faulting stack is full */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_action);
}

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

void stack_thread_exit(void)
{
    if (alt_stack == NULL)
        return;
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);                /* before the memory goes */
    munmap(alt_stack, ALT_STACK_SIZE);
    alt_stack = NULL;
}
