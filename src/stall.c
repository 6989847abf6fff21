/* stall.c - the stall detector: a watcher thread that notices when a
 * thread's running context (a coroutine, or main) has gone longer than a
 * threshold without a switch, and names it on stderr with a backtrace of
 * where it runs. Go and Seastar do as much; here, without a debugger.
 *
 * Each thread with coroutines counts its arrivals (arrival.c: the switch
 * path pays the hook and one increment while watching, nothing before).
 * Every quarter of the threshold the watcher reads each thread's count: a
 * count that has not moved, in a thread that is not asleep in its poller
 * (threads_idle), is a stall. One report per stall, then one each time
 * it doubles in length. The backtrace is written by the stalled thread
 * itself, on a signal (SIGURG, which nothing uses by default; if the
 * program handles SIGURG itself, reports come without backtraces).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arrival.h"
#include "coroutine.h"
#include "dump.h"
#include "threads.h"

#define STALL_SIGNAL SIGURG

static unsigned threshold_ms;             /* 0: not watching */
static pthread_once_t watcher_once = PTHREAD_ONCE_INIT;
static bool backtraces;                   /* our handler is on STALL_SIGNAL */

/* What the watcher saw of each thread. */
static struct {
    pthread_t thread;
    unsigned long count;
    int64_t since, reported;              /* ms: the count last moved; last report */
} seen[THREADS_MAX];

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* On the stalled thread: where it runs. */
static void on_stall_signal(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig;
    (void)info;
    int saved = errno;
    dump_backtrace_here(STDERR_FILENO, platform_signal_pc(ucontext), platform_signal_sp(ucontext));
    errno = saved;
}

static void report(int i, int64_t ms)
{
    struct s_ctx *ctx = __atomic_load_n(threads[i].running, __ATOMIC_RELAXED);
    char line[256];
    int n;
    if (ctx == NULL || ctx->id == 0)
        n = snprintf(line, sizeof line, "coroutine: stall: main%s%s%s of thread %d has run %lld ms "
                     "without a switch%s\n", ctx && ctx->name[0] ? " \"" : "", ctx ? ctx->name : "",
                     ctx && ctx->name[0] ? "\"" : "", threads[i].tid, (long long)ms,
                     backtraces ? "; where it runs now:" : "");
    else
        n = snprintf(line, sizeof line, "coroutine: stall: coroutine %zu%s%s%s of thread %d has run "
                     "%lld ms without a switch%s\n", ctx->id, ctx->name[0] ? " \"" : "", ctx->name,
                     ctx->name[0] ? "\"" : "", threads[i].tid, (long long)ms,
                     backtraces ? "; where it runs now:" : "");
    ssize_t unused = write(STDERR_FILENO, line, n > 0 && (size_t)n < sizeof line ? (size_t)n : 0);
    (void)unused;
    if (backtraces)
        pthread_kill(threads[i].thread, STALL_SIGNAL);
}

static void look(int i, int64_t now, unsigned threshold)
{
    if (!__atomic_load_n(&threads[i].used, __ATOMIC_ACQUIRE))
        return;
    unsigned long count = __atomic_load_n(threads[i].arrivals, __ATOMIC_RELAXED);
    bool idle = __atomic_load_n(threads[i].idle, __ATOMIC_RELAXED);
    if (!pthread_equal(seen[i].thread, threads[i].thread) || count != seen[i].count || idle) {
        seen[i].thread = threads[i].thread;
        seen[i].count = count;
        seen[i].since = now;
        seen[i].reported = 0;
        return;
    }
    int64_t ms = now - seen[i].since;
    if (ms >= threshold && ms >= 2 * seen[i].reported) {
        report(i, ms);
        seen[i].reported = ms;
    }
}

static void *watch(void *unused)
{
    (void)unused;
    for (;;) {
        unsigned threshold = __atomic_load_n(&threshold_ms, __ATOMIC_RELAXED);
        unsigned step = threshold >= 8 ? threshold / 4 : threshold ? 2 : 100;
        struct timespec nap = {step / 1000, (long)(step % 1000) * 1000000};
        nanosleep(&nap, NULL);
        if (threshold == 0)
            continue;
        int64_t now = now_ms();
        for (int i = 0; i < THREADS_MAX; i++)
            look(i, now, threshold);
    }
    return NULL;
}

static void start_watching(void)
{
    struct sigaction old;
    if (sigaction(STALL_SIGNAL, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
        struct sigaction sa = {.sa_sigaction = on_stall_signal,
                               .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK};
        sigemptyset(&sa.sa_mask);
        backtraces = sigaction(STALL_SIGNAL, &sa, NULL) == 0;
    }
    arrival_count_on();
    pthread_t th;
    pthread_attr_t attr;
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);   /* signals are for the program's threads */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, watch, NULL) != 0)
        fprintf(stderr, "coroutine: cannot start the stall watcher: %s\n", strerror(errno));
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
}

void watch_ctx_stalls(unsigned ms)
{
    __atomic_store_n(&threshold_ms, ms, __ATOMIC_RELAXED);
    if (ms > 0)
        pthread_once(&watcher_once, start_watching);
}

void stall_from_environment(void)
{
    const char *text = getenv("COROUTINE_STALL_MS");
    char *end;
    if (text == NULL || *text == '\0')
        return;
    unsigned long ms = strtoul(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || ms == 0 || ms > 3600000) {
        fprintf(stderr, "coroutine: COROUTINE_STALL_MS=%s is not a number of milliseconds from 1 "
                        "to 3600000; not watching\n", text);
        return;
    }
    watch_ctx_stalls((unsigned)ms);
}
