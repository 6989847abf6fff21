/* dump.c - what every coroutine of a thread is doing, without a debugger:
 * dump_ctx(), and the same on a signal (COROUTINE_DUMP_SIGNAL).
 *
 * For each context: its id and name, its state, what it waits for and
 * until when, where it was made, and a backtrace read from its stack.
 * The backtrace scans the stack from the saved stack pointer up for words
 * that are return addresses (in a loaded object's code, right after a
 * call), so it needs neither frame pointers nor unwind tables, and names
 * them from the symbol tables (symbols.c); a word left over from an
 * earlier call can show up as a frame, so it is marked as scanned.
 *
 * A dump only reads: a context's wait, its name, its stack between its
 * saved stack pointer and its top, never past them. So it can be taken
 * from a signal handler at any moment, even while a switch is half done
 * (then a context may show the state it is leaving). It writes with
 * write(2), a line at a time, and lets no two threads' blocks mix.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "context.h"
#include "symbols.h"
#include "threads.h"
#include "timer.h"

#define MAX_FRAMES 16
#define MAIN_SCAN (256 * 1024)         /* main's stack, read at most this far up */

static __thread const char *main_low, *main_top;   /* this thread's own stack */

static unsigned round_sent;               /* dump rounds forwarded so far */
static __thread unsigned round_done;      /* the last this thread answered */
static int writing;                       /* one thread's block at a time */

/* {=====================================================================
 * Writing
 * ====================================================================== */

struct out {
    int fd;
    char line[512];
};

static __attribute__((format(printf, 2, 3))) void say(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->line, sizeof o->line, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof o->line ? (size_t)n : sizeof o->line - 1;
    for (size_t done = 0; done < len;) {
        ssize_t w = write(o->fd, o->line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += (size_t)w;
    }
}

/* }===================================================================== */

/* {=====================================================================
 * One context
 * ====================================================================== */

static const char *state_of(const struct s_ctx *ctx)
{
    if (ctx == ctx_current)
        return "running";
    if (ctx->state == CTX_FINISHED)
        return "finished";
    return ctx->wait.waiting ? "waiting" : "runnable";
}

/* What it waits for, as one line's end. */
static void say_wait(struct out *o, const struct s_ctx *ctx)
{
    const struct wait *w = &ctx->wait;
    char until[48] = "";
    if (w->deadline != CO_FOREVER && w->timer != NO_TIMER)
        snprintf(until, sizeof until, ", until %+.3f ms", (double)(w->deadline - co_now()) / 1e6);
    if (w->joining != NULL)
        say(o, "      joining coroutine %zu%s\n", w->joining->id, until);
    else if (w->fd >= 0)
        say(o, "      %s %d%s\n", w->why ? w->why : "waiting for descriptor", w->fd, until);
    else if (w->on != NULL)
        say(o, "      %s %p%s\n", w->why ? w->why : "waiting on", w->on, until);
    else
        say(o, "      %s%s\n", w->why ? w->why : "waiting", until);
}

/* Return addresses found scanning [from, to), a word at a time. */
SAN_READS_ANY_STACK static void say_backtrace(struct out *o, const char *from, const char *to)
{
    char name[160];
    int frames = 0;
    from = (const char *)(((uintptr_t)from + 7) & ~(uintptr_t)7);
    for (const char *p = from; p + 8 <= to && frames < MAX_FRAMES; p += 8) {
        uintptr_t word;
        memcpy(&word, p, sizeof word);
        if (!symbols_return_address(word))
            continue;
        symbols_name(word, name, sizeof name);
        say(o, "      #%d %s\n", frames++, name);
    }
    if (frames == 0)
        say(o, "      (no return address found on its stack)\n");
}

static void say_ctx(struct out *o, const struct s_ctx *ctx, const char *sp_now)
{
    char made[160];
    if (ctx == &main_ctx)
        say(o, "  main%s%s%s: %s\n", ctx->name[0] ? " \"" : "", ctx->name, ctx->name[0] ? "\"" : "",
            state_of(ctx));
    else
        say(o, "  coroutine %zu%s%s%s: %s\n", ctx->id, ctx->name[0] ? " \"" : "", ctx->name,
            ctx->name[0] ? "\"" : "", state_of(ctx));
    if (ctx->state == CTX_FINISHED)
        return;
    if (ctx->wait.waiting)
        say_wait(o, ctx);
    if (account_on) {
        struct ctx_stats st;
        account_read(ctx, &st);
        say(o, "      ran %.3f ms in %llu runs, runnable %.3f ms, waited %.3f ms (%.3f on descriptors)\n",
            (double)st.running / 1e6, (unsigned long long)st.runs, (double)st.runnable / 1e6,
            (double)st.waiting / 1e6, (double)st.waiting_io / 1e6);
    }
    if (ctx != &main_ctx && ctx->made_at != NULL) {
        symbols_name((uintptr_t)ctx->made_at, made, sizeof made);
        say(o, "      made at %s\n", made);
    }
    const char *sp = ctx == ctx_current ? sp_now : (const char *)ctx->sp;
    const char *low = ctx == &main_ctx ? main_low : stack_bottom(&ctx->stack);
    const char *top = ctx == &main_ctx ? main_top : (const char *)stack_top(&ctx->stack);
    if (sp == NULL || low == NULL || sp < low || sp >= top)
        return;                           /* on another stack (a signal's), or mid-switch */
    if (top - sp > MAIN_SCAN)
        top = sp + MAIN_SCAN;
    say(o, "      backtrace (scanned):\n");
    san_quiet(true);                      /* valgrind: stale words are read on purpose */
    say_backtrace(o, sp, top);
    san_quiet(false);
}

/* }===================================================================== */

/* The dump, the running context's stack read from 'sp_now'. */
static void dump_from(int fd, const char *sp_now)
{
    struct out o = {.fd = fd};
    while (__atomic_exchange_n(&writing, 1, __ATOMIC_ACQUIRE))
        ;                                 /* another thread's block first */
    if (ctx_current == NULL) {
        say(&o, "thread %d: no coroutines\n", (int)gettid());
    } else {
        say(&o, "thread %d (serial %llu): %zu coroutines\n", (int)gettid(),
            (unsigned long long)ctx_thread_serial, g_ctx.len);
        say_ctx(&o, &main_ctx, sp_now);
        for (size_t i = 0; i < g_ctx.len; i++)
            say_ctx(&o, g_ctx.items[i], sp_now);
    }
    __atomic_store_n(&writing, 0, __ATOMIC_RELEASE);
}

void dump_ctx(int fd)
{
    dump_from(fd, __builtin_frame_address(0));
}

/* {=====================================================================
 * Threads, and the signal
 * ====================================================================== */

/* The dump signal: this thread's dump, then, if it came from outside,
 * every other thread's, each by its own hand. */
static void on_dump_signal(int sig, siginfo_t *info, void *ucontext)
{
    (void)info;
    int saved = errno;
    unsigned sent = __atomic_load_n(&round_sent, __ATOMIC_ACQUIRE);
    bool forwarded = sent != round_done;
    round_done = sent;
    dump_from(STDERR_FILENO, platform_signal_sp(ucontext));   /* the handler may be elsewhere */
    if (!forwarded) {
        sent = __atomic_add_fetch(&round_sent, 1, __ATOMIC_ACQ_REL);
        round_done = sent;
        for (int i = 0; i < THREADS_MAX; i++)
            if (__atomic_load_n(&threads[i].used, __ATOMIC_ACQUIRE) && i != threads_mine())
                pthread_kill(threads[i].thread, sig);
    }
    errno = saved;
}

static int signal_named(const char *text)
{
    if (strncmp(text, "SIG", 3) == 0)
        text += 3;
    for (int s = 1; s < NSIG; s++) {
        const char *abbrev = sigabbrev_np(s);
        if (abbrev != NULL && strcmp(abbrev, text) == 0)
            return s;
    }
    char *end;
    long n = strtol(text, &end, 10);
    return *text && !*end && n > 0 && n < NSIG ? (int)n : 0;
}

void dump_from_environment(void)
{
    const char *text = getenv("COROUTINE_DUMP_SIGNAL");
    if (text == NULL || *text == '\0')
        return;
    int sig = signal_named(text);
    if (sig == 0 || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV) {
        fprintf(stderr, "coroutine: COROUTINE_DUMP_SIGNAL=%s is not a signal that can be caught "
                        "(SIGSEGV is the overflow report's); no dump on a signal\n", text);
        return;
    }
    struct sigaction sa = {.sa_sigaction = on_dump_signal,
                           .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

void dump_thread_start(void)
{
    pthread_attr_t attr;
    void *low;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &low, &size) == 0) {
            main_low = low;
            main_top = (const char *)low + size;
        }
        pthread_attr_destroy(&attr);
    }
}

/* Where the running context of this thread runs now, from 'sp' up: for
 * the stall watcher's signal. */
void dump_backtrace_here(int fd, const void *pc, const void *sp)
{
    struct out o = {.fd = fd};
    char name[160];
    symbols_name((uintptr_t)pc, name, sizeof name);
    say(&o, "      at %s\n", name);
    struct s_ctx *ctx = ctx_current;
    bool main = ctx == NULL || ctx == &main_ctx;
    const char *low = main ? main_low : stack_bottom(&ctx->stack);
    const char *top = main ? main_top : (const char *)stack_top(&ctx->stack);
    const char *from = sp;
    if (low == NULL || from < low || from >= top)
        return;
    if (top - from > MAIN_SCAN)
        top = from + MAIN_SCAN;
    san_quiet(true);
    say_backtrace(&o, from, top);
    san_quiet(false);
}

/* }===================================================================== */
