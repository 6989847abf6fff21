/* coroutine.c - the round-robin scheduler and a coroutine's life.
 *
 * The portable core: it decides which context runs next, and makes,
 * finishes and destroys coroutines. How a context is saved and resumed is
 * the target's business (platform.h); this file never looks inside a
 * frame. The memory behind handles is context.c's, stacks are stack.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "arrival.h"
#include "context.h"
#include "dump.h"
#include "threads.h"
#include "overflow.h"
#include "seed.h"
#include "stall.h"
#include "trace.h"

/* Ids are handed to threads in blocks, so taking one is not an atomic
 * operation on a line that every thread writes. */
#define ID_BLOCK 1024
static size_t last_id;                       /* ids are never reused */
static __thread size_t next_id, ids_left;

static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;
static const char *unsupported;              /* platform_unsupported(), once */

/* {=====================================================================
 * Threads
 * ====================================================================== */

static size_t new_id(void)
{
    if (ids_left == 0) {
        next_id = __atomic_fetch_add(&last_id, ID_BLOCK, __ATOMIC_RELAXED) + 1;
        ids_left = ID_BLOCK;
    }
    ids_left--;
    return next_id++;
}

static void free_ctx_stack(struct s_ctx *ctx);

/* The thread is exiting: every coroutine it still has is destroyed, its
 * spare contexts go to the process, its stacks to the system. A thread
 * that exits from inside a coroutine (pthread_exit, a cancellation) cannot
 * be cleaned up: the stack it was on is gone from under it. */
static void thread_exit(void *unused)
{
    (void)unused;
    if (ctx_current != &main_ctx)
        ctx_misuse("coroutine %zu: the thread exited inside it (pthread_exit or cancellation); "
               "a coroutine must return from its function",
               ctx_current->id);
    const struct ctx_hooks *hooks = ctx_hooks_set();
    if (hooks != NULL)                       /* the runtime lets go of every wait */
        hooks->thread_exit();
    for (size_t i = 0; i < g_ctx.len; i++) {
        struct s_ctx *ctx = g_ctx.items[i];
        if (ctx->state == CTX_LIVE)
            free_ctx_stack(ctx);
        ctx_retire(ctx);
    }
    ctx_array_free(&g_ctx);
    ctx_hand_over_spares();
    threads_leave();
    stack_thread_exit();
    overflow_thread_exit();
    main_ctx.switch_key = 0;                 /* switch_ctx(NULL) finds nothing to go to */
    ctx_current = NULL;
    ctx_made.ctx = ctx_woken.ctx = NULL;
}

/* Once per process: the thread-exit key, and whether coroutines can work
 * here at all, said once on stderr if not. */
static void init_process(void)
{
    pthread_key_create(&thread_exit_key, thread_exit);
    unsupported = platform_unsupported();
    if (unsupported != NULL)
        fprintf(stderr, "coroutine: %s\n", unsupported);
    arrival_setup();
    trace_from_environment();
    dump_from_environment();
    stall_from_environment();
    account_from_environment();
}

/* }===================================================================== */

/* {=====================================================================
 * Lifecycle
 * ====================================================================== */

/* Set up this thread's main context on its first create_ctx. */
static int init_thread(void)
{
    if (ctx_current != NULL)
        return 0;
    pthread_once(&thread_exit_once, init_process);
    if (unsupported != NULL) {
        errno = ENOTSUP;
        return -1;
    }
    if (stack_thread_init() != 0 || overflow_thread_init() != 0)
        return -1;
    dump_thread_start();
    threads_join();
    pthread_setspecific(thread_exit_key, &main_ctx);   /* non-NULL: run it */
    seed_thread_init(ctx_this_thread());
    main_ctx = (struct s_ctx){
        .next = &main_ctx,
        .prev = &main_ctx,
        .state = CTX_LIVE,
        .thread = ctx_thread_serial,
        .wait = WAIT_IDLE,
    };
    main_ctx.switch_key = ctx_switch_key_of(&main_ctx);
    san_main_made(&main_ctx.san);
    ctx_current = &main_ctx;
    return 0;
}

/* Where a coroutine's first frame goes: below the top by a multiple of 128
 * bytes that changes with the id (within STACK_TOP_ROOM, so every id has
 * the same usable size). Stacks of one size all start on the same page
 * offset, and two coroutines switching back and forth would otherwise save
 * and load their frames at the same offset too, which the processor
 * mistakes for a dependence between them (4K aliasing) and stalls on. */
static void *colored_top(const struct s_ctx *ctx)
{
    return (char *)stack_top(&ctx->stack) - ctx->id % 16 * 128;
}

/* The context of a new coroutine of this thread, on its new stack. */
static void start_ctx(struct s_ctx *ctx, coroutine fn, void *arg)
{
    const char *bottom = stack_bottom(&ctx->stack);
    ctx->id = new_id();
    ctx->fn = fn;
    san_stack_made(&ctx->san, bottom, (size_t)((char *)stack_top(&ctx->stack) - bottom));
    ctx->sp = ctx->start_sp = platform_setup_stack(colored_top(ctx), fn, arg, coroutine_finish);
    ctx->state = CTX_LIVE;
    ctx->switch_key = ctx_switch_key_of(ctx);
    ctx->floor = bottom;
    ctx->tripwire = ctx->stack.guarded || san_under_valgrind() ? NULL : bottom;
    ctx->cxx_eh[0] = ctx->cxx_eh[1] = NULL;
    ctx->name[0] = '\0';
    if (account_on)                          /* else nothing was counted in it */
        ctx->account = (struct ctx_account){0};
    ctx->wait = WAIT_IDLE;
    ctx->detached = false;
    ctx->index = g_ctx.len - 1;
    ctx_join_rotation(ctx);
    ctx_made = (struct ctx_first){ctx, ctx_current};
}

/* Both creates, once the arguments are known to be good; 'stack_size' 0
 * means STACK_CAPACITY, known once the thread is set up; 'caller' is
 * where create_ctx was called from, for the dump. */
static sp_ctx create(coroutine fn, void *arg, size_t stack_size, const void *caller)
{
    if (init_thread() != 0)
        return NULL;
    struct s_ctx *ctx = ctx_new();
    if (ctx == NULL)
        goto out_enomem;
    if (stack_alloc(&ctx->stack, stack_size ? stack_size : STACK_CAPACITY_PAGES * stack_page) != 0)
        goto out_unused_ctx;
    if (ctx_array_push(&g_ctx, ctx) != 0)
        goto out_free_stack;
    start_ctx(ctx, fn, arg);
    ctx->made_at = caller;
    if (tracing())
        trace_event(TRACE_CREATED, ctx->id);
    return ctx->handle;

out_free_stack:
    stack_free(&ctx->stack);
out_unused_ctx:
    ctx_unused(ctx);
out_enomem:
    errno = ENOMEM;
    return NULL;
}

sp_ctx create_ctx(coroutine fn, void *arg)
{
    if (fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return create(fn, arg, 0, __builtin_return_address(0));
}

sp_ctx create_ctx_sized(coroutine fn, void *arg, size_t stack_size)
{
    if (fn == NULL || stack_size == 0) {
        errno = EINVAL;
        return NULL;
    }
    return create(fn, arg, stack_size, __builtin_return_address(0));
}

/* A suspended coroutine's stack goes back; it never runs again. */
static void free_ctx_stack(struct s_ctx *ctx)
{
    if (ctx->next != NULL)                   /* not waiting */
        ctx_leave_rotation(ctx);
    san_stack_gone(&ctx->san, ctx->sp);
    stack_free(&ctx->stack);
}

void destroy_ctx(sp_ctx handle)
{
    if (handle == NULL)
        ctx_misuse("destroy_ctx: cannot destroy the main context");
    struct s_ctx *ctx = ctx_of(handle, "destroy_ctx");
    if (ctx == ctx_current)
        ctx_misuse("destroy_ctx: cannot destroy running coroutine %zu", ctx->id);
    const struct ctx_hooks *hooks = ctx_hooks_set();
    if (hooks != NULL && ctx->state == CTX_LIVE)    /* a finished one was told as it finished */
        hooks->ended(ctx);
    if (ctx->state == CTX_LIVE)
        free_ctx_stack(ctx);
    if (tracing())
        trace_event(TRACE_DESTROYED, ctx->id);
    ctx_forget(ctx);
}

void detach_ctx(sp_ctx handle)
{
    if (handle == NULL)
        ctx_misuse("detach_ctx: cannot detach the main context");
    struct s_ctx *ctx = ctx_of(handle, "detach_ctx");
    if (ctx->wait.joiners.first != NULL)
        ctx_misuse("detach_ctx: coroutine %zu has a co_join waiting for it", ctx->id);
    if (ctx->state == CTX_FINISHED)
        destroy_ctx(handle);
    else
        ctx->detached = true;
}

/* The function returned (we are called from _asm_ctx_entry). Leave the
 * rotation and pass control on as a yield would; the stack we are standing
 * on is released from the next context's stack, by finish_ctx_inner
 * (switch.c). */
SAN_SWITCH_POINT void coroutine_finish(void)
{
    struct s_ctx *self = ctx_current;
    if (self->wait.joiners.first != NULL)   /* queued by the runtime: they rejoin before us */
        ctx_hooks_set()->ended(self);       /* nothing else of a wait outlives a return */
    struct s_ctx *next = ctx_after_leaving(self, &ctx_woken);
    if (!ctx_stack_ok(self, __builtin_frame_address(0)))
        overflow_report(self, __builtin_frame_address(0));
    if (tracing())                   /* before the sanitizers hear of the switch */
        trace_event(TRACE_FINISHED, self->id);
    self->state = CTX_FINISHED;
    self->switch_key = 0;
    ctx_leave_rotation(self);
    ctx_current = next;
    san_switch_out(&self->san, &next->san, true);
    _asm_finish_ctx(next->sp, self);
}

/* }===================================================================== */

/* {=====================================================================
 * Status
 * ====================================================================== */

bool is_ctx_finished(sp_ctx handle)
{
    if (handle == NULL)
        return false;
    return ctx_of(handle, "is_ctx_finished")->state == CTX_FINISHED;
}

size_t get_ctx_id(void)
{
    return ctx_current ? ctx_current->id : 0;
}

size_t get_ctx_id_of(sp_ctx handle)
{
    if (handle == NULL)
        return 0;
    return ctx_of(handle, "get_ctx_id_of")->id;
}

/* The context of 'handle', main for NULL (set up if need be), or NULL if
 * this thread cannot have coroutines. */
static struct s_ctx *named(sp_ctx handle, const char *caller)
{
    if (handle != NULL)
        return ctx_of(handle, caller);
    return init_thread() == 0 ? &main_ctx : NULL;
}

void set_ctx_name(sp_ctx handle, const char *name)
{
    struct s_ctx *ctx = named(handle, "set_ctx_name");
    if (ctx == NULL)
        return;
    size_t n = name != NULL ? strnlen(name, sizeof ctx->name - 1) : 0;
    memcpy(ctx->name, name != NULL ? name : "", n);
    ctx->name[n] = '\0';
}

const char *get_ctx_name(sp_ctx handle)
{
    struct s_ctx *ctx = named(handle, "get_ctx_name");
    return ctx != NULL && ctx->name[0] != '\0' ? ctx->name : NULL;
}

sp_ctx get_ctx_ptr(void)
{
    return ctx_current == NULL || ctx_current == &main_ctx ? NULL : ctx_current->handle;
}

/* }===================================================================== */
