/* context.c - the memory behind handles, and each thread's scheduler
 * state. See context.h.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "context.h"

__thread struct s_ctx main_ctx CORE_TLS;
__thread struct s_ctx *ctx_current CORE_TLS;
__thread struct ctx_array g_ctx;
__thread uint64_t ctx_thread_serial CORE_TLS;
__thread struct ctx_first ctx_made CORE_TLS, ctx_woken CORE_TLS;
__thread unsigned ctx_firsts CORE_TLS;
static uint64_t last_thread_serial;
const struct ctx_hooks *ctx_hooks;

uint64_t ctx_this_thread(void)
{
    if (ctx_thread_serial == 0)
        ctx_thread_serial = __atomic_add_fetch(&last_thread_serial, 1, __ATOMIC_RELAXED);
    return ctx_thread_serial;
}

/* Destroyed contexts wait in a queue, oldest first, before their memory is
 * used again, so that generations wrap as late as possible. A thread that
 * exits hands its queue to the process, where threads that run short take
 * from; memory moves between threads only then, so a stale handle is
 * always named rightly as this thread's or another's. A context whose
 * generation would wrap is never used again. */
#define SPARE_MIN 64
struct ctx_queue {
    struct s_ctx *oldest;    /* linked through 'next' */
    struct s_ctx *newest;
    size_t count;
};
static __thread struct ctx_queue spares;
static struct ctx_queue shared_spares;       /* under 'shared_lock' */
static struct ctx_queue worn_out;            /* every generation used */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Report a broken contract and stop: going on would resume freed or
 * foreign memory. */
void ctx_misuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("coroutine: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* {=====================================================================
 * Context memory
 * ====================================================================== */

static void enqueue(struct ctx_queue *q, struct s_ctx *ctx)
{
    ctx->next = NULL;
    if (q->newest != NULL)
        q->newest->next = ctx;
    else
        q->oldest = ctx;
    q->newest = ctx;
    __atomic_store_n(&q->count, q->count + 1, __ATOMIC_RELAXED);   /* see take_shared_spare */
}

static struct s_ctx *dequeue(struct ctx_queue *q)
{
    struct s_ctx *ctx = q->oldest;
    q->oldest = ctx->next;
    __atomic_store_n(&q->count, q->count - 1, __ATOMIC_RELAXED);
    if (q->count == 0)
        q->newest = NULL;
    return ctx;
}

/* Memory that served a thread that exited: from now on, its older
 * handles are named as another thread's. */
static struct s_ctx *take_shared_spare(void)
{
    struct s_ctx *ctx = NULL;
    if (__atomic_load_n(&shared_spares.count, __ATOMIC_RELAXED) <= SPARE_MIN)
        return NULL;                      /* a glance, to skip the lock */
    pthread_mutex_lock(&shared_lock);
    if (shared_spares.count > SPARE_MIN)
        ctx = dequeue(&shared_spares);
    pthread_mutex_unlock(&shared_lock);
    if (ctx != NULL) {
        ctx->thread = ctx_thread_serial;
        ctx->first_here = (uintptr_t)ctx->handle >> HANDLE_SHIFT;
    }
    return ctx;
}

struct s_ctx *ctx_new(void)
{
    struct s_ctx *ctx = spares.count > SPARE_MIN ? dequeue(&spares) : take_shared_spare();
    if (ctx != NULL)
        return ctx;
    ctx = malloc(sizeof *ctx);
    if (ctx == NULL || ((uintptr_t)ctx & ~HANDLE_ADDRESS) != 0) {
        free(ctx);                        /* no room for a generation */
        return NULL;
    }
    ctx->handle = (sp_ctx)ctx;            /* generation 0 */
    ctx->thread = ctx_thread_serial;
    ctx->first_here = 0;
    ctx->account = (struct ctx_account){0};   /* counted only once accounting is on */
    return ctx;
}

void ctx_retire(struct s_ctx *ctx)
{
    uintptr_t generation = ((uintptr_t)ctx->handle >> HANDLE_SHIFT) + 1;
    ctx->state = CTX_DEAD;
    ctx->switch_key = 0;
    ctx->handle = (sp_ctx)((uintptr_t)ctx | generation << HANDLE_SHIFT);
    if (generation == UINT16_MAX) {       /* the next would wrap to an old one */
        pthread_mutex_lock(&shared_lock);
        enqueue(&worn_out, ctx);
        pthread_mutex_unlock(&shared_lock);
        return;
    }
    enqueue(&spares, ctx);
}

void ctx_unused(struct s_ctx *ctx)
{
    ctx->state = CTX_DEAD;
    ctx->switch_key = 0;
    enqueue(&spares, ctx);
}

void ctx_hand_over_spares(void)
{
    pthread_mutex_lock(&shared_lock);
    while (spares.count > 0)
        enqueue(&shared_spares, dequeue(&spares));
    pthread_mutex_unlock(&shared_lock);
}

/* }===================================================================== */

/* {=====================================================================
 * Handles
 * ====================================================================== */

/* Abort: 'handle' no longer names a coroutine. Its memory tells whose it
 * was: another thread's if the memory serves another thread now, or
 * served one before this thread took it; and its id while not yet reused
 * (the generation just past the handle's). A handle of a thread that
 * exited was destroyed with it, and is named as another thread's. */
__attribute__((noreturn, cold))
static void stale_handle(sp_ctx handle, const struct s_ctx *ctx, const char *caller)
{
    uintptr_t generation = (uintptr_t)handle >> HANDLE_SHIFT;
    bool unused_since = ((uintptr_t)ctx->handle >> HANDLE_SHIFT) == generation + 1;
    char id[40] = "";
    if (unused_since)
        snprintf(id, sizeof id, " (id %zu)", ctx->id);
    if (ctx->thread != ctx_thread_serial || generation < ctx->first_here)
        ctx_misuse("%s: coroutine %p%s belongs to another thread", caller, (void *)handle, id);
    ctx_misuse("%s: coroutine %p%s was destroyed", caller, (void *)handle, id);
}

void ctx_misused(sp_ctx handle, const char *caller)
{
    struct s_ctx *ctx = ctx_at(handle);
    if (ctx->handle != handle)
        stale_handle(handle, ctx, caller);
    ctx_misuse("%s: coroutine %zu belongs to another thread", caller, ctx->id);
}

/* }===================================================================== */

void ctx_forget(struct s_ctx *ctx)
{
    ctx_array_remove(&g_ctx, ctx->index);
    if (ctx->index < g_ctx.len)              /* the last one moved into its place */
        g_ctx.items[ctx->index]->index = ctx->index;
    ctx_retire(ctx);
}
