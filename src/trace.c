/* trace.c - recording who ran when.
 *
 * While tracing is on, every arrival in a context is recorded through the
 * hook that asm.s calls in _asm_restore_ctx (arrival.c listens for us), so
 * a switch pays nothing when tracing is off: the hook is then NULL, or only
 * the sanitizer's. Creates, finishes and destroys are recorded by the
 * core. The events are written when tracing stops or the process exits,
 * by trace_write.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arrival.h"
#include "array.h"
#include "context.h"
#include "timer.h"
#include "trace.h"

ARRAY_DEFINE(event_array, struct event)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct event_array events;            /* under 'lock' */
static char *path;                           /* where to write; NULL: off */
static FILE *out;                            /* open on it since tracing began */

bool trace_on;
unsigned trace_session;

/* A thread whose clock is virtual is named by its serial number, not by
 * the kernel's id, so that a replayed run writes the same trace. */
void trace_event(int kind, size_t id)
{
    bool replayable = timer_virtual();
    struct event e = {(unsigned long long)co_now(), kind,
                      replayable ? (int)ctx_this_thread() : (int)gettid(), id};
    pthread_mutex_lock(&lock);
    if (path != NULL)
        event_array_push(&events, e);         /* out of memory: one event less */
    pthread_mutex_unlock(&lock);
}

/* The context that ran before on this thread, while tracing: it is still
 * valid when the next one arrives (only something that runs after it can
 * destroy it, and context memory is never freed). A live one whose
 * successor in the rotation is not the one arriving must have called
 * switch_ctx: the timeline draws those. */
static __thread struct {
    struct s_ctx *ctx;
    unsigned session;
} previous;

/* What arrival.c calls on every arrival while tracing. */
static void trace_arrival(void)
{
    unsigned session = __atomic_load_n(&trace_session, __ATOMIC_RELAXED);
    struct s_ctx *before = previous.session == session ? previous.ctx : NULL;
    bool out_of_turn = before != NULL && before->state == CTX_LIVE && before->next != ctx_current;
    trace_event(out_of_turn ? TRACE_SWITCHED_TO : TRACE_ARRIVED, ctx_current->id);
    previous.ctx = ctx_current;
    previous.session = session;
}

/* A destructor rather than atexit(): in the shared library, atexit would
 * need the startup files, which would take the library's IBT mark away. */
__attribute__((destructor)) static void stop_at_exit(void)
{
    trace_ctx(NULL);
}

/* Begin when the environment asks, before the first coroutine exists. A
 * file that cannot be written is said once on stderr. */
void trace_from_environment(void)
{
    const char *file = getenv("COROUTINE_TRACE");
    if (file != NULL && *file != '\0' && path == NULL && trace_ctx(file) != 0)
        fprintf(stderr, "coroutine: COROUTINE_TRACE=%s: %s; not tracing\n", file,
                strerror(errno));
}

/* Stop: write what was recorded. 0, or -1 with errno set. */
static int stop_tracing(void)
{
    __atomic_store_n(&trace_on, false, __ATOMIC_RELAXED);
    __atomic_and_fetch(&seed_long_wakes, (unsigned char)~SEED_LONG_TRACE, __ATOMIC_RELAXED);
    arrival_set_listener(NULL);
    size_t n = strlen(path);
    int result = trace_write(out, events.items, events.len, n >= 4 && strcmp(path + n - 4, ".svg") == 0);
    event_array_free(&events);
    free(path);
    path = NULL;
    out = NULL;
    return result;
}

/* Start: the file is created now, so that a path that cannot be written
 * fails here, and nothing is recorded for it. */
static int start_tracing(const char *file)
{
    out = fopen(file, "w");
    if (out == NULL)
        return -1;
    path = strdup(file);
    if (path == NULL) {
        fclose(out);
        out = NULL;
        errno = ENOMEM;
        return -1;
    }
    __atomic_add_fetch(&trace_session, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&trace_on, true, __ATOMIC_RELAXED);
    __atomic_or_fetch(&seed_long_wakes, SEED_LONG_TRACE, __ATOMIC_RELAXED);
    arrival_set_listener(trace_arrival);
    return 0;
}

int trace_ctx(const char *file)
{
    int result = 0;
#ifdef COROUTINE_NO_TRACE
    if (file != NULL) {          /* nothing would be recorded: say so */
        errno = ENOSYS;
        return -1;
    }
#endif
    pthread_mutex_lock(&lock);
    if (path != NULL)
        result = stop_tracing();
    if (file != NULL && result == 0 && start_tracing(file) == 0) {
        pthread_mutex_unlock(&lock);
        trace_event(TRACE_ARRIVED, ctx_current ? ctx_current->id : 0);   /* whoever runs now */
        return 0;
    }
    result = file != NULL || result != 0 ? -1 : 0;
    pthread_mutex_unlock(&lock);
    return result;
}
