/* overflow.c - naming a stack overflow: the SIGSEGV handler, the
 * alternate signal stack it runs on, and the one-line report.
 *
 * A guard faults when an overflow touches it (stack.h). The fault arrives
 * on the stack that is full, so the handler runs on a per-thread
 * alternate stack; it reads the running context (context.h) and, if the
 * fault is in its guard or its stack pointer is below its stack, reports
 * it. Any other fault goes on to the handler installed before ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "context.h"
#include "overflow.h"

#define ALT_STACK_SIZE (64 * 1024)     /* for the handler and any it forwards to */

static struct sigaction previous_action;     /* what SIGSEGV did before us */
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static __thread void *alt_stack;             /* ours, if we gave one */

/* {=====================================================================
 * The report
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

void overflow_report(const struct s_ctx *ctx, const void *where)
{
    const struct stack *s = &ctx->stack;
    char line[200], *p = line;
    p = put_str(p, "coroutine ");
    p = put_uint(p, ctx->id, 10);
    if (ctx->name[0] != '\0') {             /* set_ctx_name: 31 bytes at most */
        p = put_str(p, " \"");
        p = put_str(p, ctx->name);
        p = put_str(p, "\"");
    }
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
    const struct s_ctx *running = ctx_current;
    const char *addr = info->si_addr, *sp = platform_signal_sp(uctx);
    if (running != NULL && running != &main_ctx) {
        const struct stack *s = &running->stack;
        if ((addr >= s->base && addr < stack_bottom(s)) || sp < stack_bottom(s))
            overflow_report(running, addr);
    }
    forward(sig, info, uctx);
}

/* }===================================================================== */


/* {=====================================================================
 * Threads
 * ====================================================================== */

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  /* the faulting stack is full */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_action);
}

int overflow_thread_init(void)
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

void overflow_thread_exit(void)
{
    if (alt_stack != NULL) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);            /* before the memory goes */
        munmap(alt_stack, ALT_STACK_SIZE);
        alt_stack = NULL;
    }
}

/* }===================================================================== */
