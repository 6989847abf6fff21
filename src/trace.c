/* trace.c - who ran when, written in Chrome's trace-event format.
 *
 * While tracing is on, every arrival in a context is recorded through the
 * hook that asm.s calls in _asm_restore_ctx (see platform.h), so a switch
 * pays nothing when tracing is off: the hook is then NULL, or only the
 * sanitizer's. Creates, finishes and destroys are recorded by the core.
 * The events are written when tracing stops or the process exits: one
 * slice per stretch a context ran, in a lane of its own, and an instant
 * for each create, finish and destroy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "coroutine.h"
#include "trace.h"

struct event {
    unsigned long long ns;   /* CLOCK_MONOTONIC */
    int kind;                /* enum trace_kind */
    int thread;              /* gettid() */
    size_t id;               /* the context's id, 0 for main */
};
ARRAY_DEFINE(event_array, struct event)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct event_array events;            /* under 'lock' */
static char *path;                           /* where to write; NULL: off */
static bool at_exit_registered;

bool trace_on;

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

void trace_event(int kind, size_t id)
{
    struct event e = {now_ns(), kind, (int)gettid(), id};
    pthread_mutex_lock(&lock);
    if (path != NULL)
        event_array_push(&events, e);         /* out of memory: one event less */
    pthread_mutex_unlock(&lock);
}

static const char *kind_name(int kind)
{
    static const char *names[] = {"arrived", "created", "finished", "destroyed"};
    return names[kind];
}

/* Microseconds since the first event, as the format wants them. */
static double us(const struct event *e)
{
    return (double)(e->ns - events.items[0].ns) / 1000.0;
}

static void write_context_name(FILE *f, size_t id, int thread)
{
    fprintf(f, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%zu,"
               "\"args\":{\"name\":\"%s %zu\"}},\n",
            thread, id, id ? "coroutine" : "main", id);
}

/* A slice from each arrival to the next arrival on the same thread; the
 * last stretch ends with the last event of that thread. */
static void write_slices(FILE *f)
{
    for (size_t i = 0; i < events.len; i++) {
        const struct event *e = &events.items[i];
        if (e->kind != TRACE_ARRIVED)
            continue;
        const struct event *end = NULL;
        for (size_t j = i + 1; j < events.len; j++)
            if (events.items[j].thread == e->thread) {
                end = &events.items[j];
                if (end->kind == TRACE_ARRIVED)
                    break;
            }
        double dur = end ? us(end) - us(e) : 0;
        fprintf(f, "{\"ph\":\"X\",\"name\":\"%s %zu\",\"cat\":\"run\",\"ts\":%.3f,"
                   "\"dur\":%.3f,\"pid\":%d,\"tid\":%zu,\"args\":{\"id\":%zu}},\n",
                e->id ? "coroutine" : "main", e->id, us(e), dur, e->thread, e->id, e->id);
    }
}

static void write_instants(FILE *f)
{
    for (size_t i = 0; i < events.len; i++) {
        const struct event *e = &events.items[i];
        if (e->kind != TRACE_ARRIVED)
            fprintf(f, "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"%s\",\"ts\":%.3f,\"pid\":%d,"
                       "\"tid\":%zu,\"args\":{\"id\":%zu}},\n",
                    kind_name(e->kind), us(e), e->thread, e->id, e->id);
    }
}

/* Write the events gathered so far to 'path' and forget them. */
static int write_trace(void)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs("{\"traceEvents\":[\n", f);
    if (events.len > 0) {
        for (size_t i = 0; i < events.len; i++) {       /* name each lane once */
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = events.items[j].id == events.items[i].id &&
                       events.items[j].thread == events.items[i].thread;
            if (!seen)
                write_context_name(f, events.items[i].id, events.items[i].thread);
        }
        write_slices(f);
        write_instants(f);
    }
    fputs("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"args\":{\"name\":\"end\"}}\n]}\n", f);
    event_array_free(&events);
    return fclose(f) == 0 ? 0 : -1;
}

static void stop_at_exit(void)
{
    trace_ctx(NULL);
}

/* Begin when the environment asks, before the first coroutine exists. */
void trace_from_environment(void)
{
    const char *file = getenv("COROUTINE_TRACE");
    if (file != NULL && *file != '\0' && path == NULL)
        trace_ctx(file);
}

int trace_ctx(const char *file)
{
    int result = 0;
    pthread_mutex_lock(&lock);
    if (path != NULL) {                      /* stop: write what we have */
        __atomic_store_n(&trace_on, false, __ATOMIC_RELAXED);
        trace_hook_changed();
        result = write_trace();
        free(path);
        path = NULL;
    }
    if (file != NULL && result == 0) {
        path = strdup(file);
        if (path == NULL) {
            errno = ENOMEM;
            result = -1;
        } else {
            if (!at_exit_registered)
                at_exit_registered = atexit(stop_at_exit) == 0;
            __atomic_store_n(&trace_on, true, __ATOMIC_RELAXED);
            trace_hook_changed();
            pthread_mutex_unlock(&lock);
            trace_event(TRACE_ARRIVED, get_ctx_id());   /* whoever runs now */
            return 0;
        }
    }
    pthread_mutex_unlock(&lock);
    return result;
}
