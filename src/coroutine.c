/* coroutine.c - contexts and the round-robin scheduler.
 *
 * The portable core: it decides which context runs next and owns their
 * memory. How a context is saved and resumed is the target's business
 * (platform.h); this file never looks inside a frame.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "coroutine.h"
#include "platform.h"
#include "sanitizer.h"
#include "stack.h"
#include "trace.h"

/* A context's life. Unusual bit patterns rather than 0, 1, 2, so that a
 * stale or wild handle is unlikely to pass for a valid one. */
enum ctx_state {
    CTX_LIVE = 0x4c495645,       /* suspended or running: in the rotation */
    CTX_FINISHED = 0x46494e49,   /* its function returned; stack released */
    CTX_DEAD = 0x44454144,       /* destroyed: waiting in the spare queue */
};

/* The rotation is a circular list through 'next', in the order
 *
 *     main -> newest -> ... -> oldest -> main
 *
 * holding exactly the live contexts, so choosing who runs next never needs
 * a search, and a context that cannot run is simply not linked in.
 */
struct s_ctx {
    void *sp;                /* saved stack pointer while suspended */
    struct s_ctx *next;      /* runs after this one on yield_ctx */
    struct s_ctx *prev;
    uint32_t state;          /* enum ctx_state */
    struct s_ctx *owner;     /* main context of the thread it belongs to */
    struct s_ctx *live_in;   /* 'owner' while live, NULL once finished */
    const char *watch;       /* unguarded stack: its tripwire; else NULL */
    size_t id;               /* 0 for main, else unique in the process */
    size_t index;            /* where it sits in 'g_ctx' */
    coroutine fn;            /* its function, for people with debuggers */
    struct stack stack;      /* empty for main and once finished */
    struct san_ctx san;      /* what sanitizers need; nothing without them */
};

ARRAY_DEFINE(ctx_array, struct s_ctx *)

/* Per thread: 'current' is NULL until the thread's first create_ctx; until
 * then the thread is in main and nothing else exists. */
static __thread struct s_ctx main_ctx;       /* the implicit main context */
static __thread struct s_ctx *current;       /* the running context */
static __thread struct ctx_array g_ctx;      /* coroutines not yet destroyed */

/* Destroyed contexts wait in a queue, oldest first, before they are used
 * again, so a handle used after destroy_ctx still finds CTX_DEAD through
 * the next SPARE_MIN creates. Past SPARE_MAX the oldest go back to malloc. */
#define SPARE_MIN 64
#define SPARE_MAX 1024
static __thread struct s_ctx *spare_oldest;  /* linked through 'next' */
static __thread struct s_ctx *spare_newest;
static __thread size_t spare_count;

/* Ids are handed to threads in blocks, so taking one is not an atomic
 * operation on a line that every thread writes. */
#define ID_BLOCK 1024
static size_t last_id;                       /* ids are never reused */
static __thread size_t next_id, ids_left;

static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;
static const char *unsupported;              /* platform_unsupported(), once */

void (*ctx_arrival_hook)(void);              /* see platform.h */

/* Report a broken contract and stop: going on would resume freed or
 * foreign memory. */
__attribute__((noreturn, format(printf, 1, 2)))
static void misuse(const char *fmt, ...)
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
 * Rotation
 * ====================================================================== */

/* A new coroutine goes right after main: it is the newest. */
static void join_rotation(struct s_ctx *ctx)
{
    ctx->prev = &main_ctx;
    ctx->next = main_ctx.next;
    main_ctx.next->prev = ctx;
    main_ctx.next = ctx;
}

static void leave_rotation(struct s_ctx *ctx)
{
    ctx->prev->next = ctx->next;
    ctx->next->prev = ctx->prev;
    ctx->next = ctx->prev = NULL;
}

/* }===================================================================== */

/* {=====================================================================
 * Stack checks
 * ====================================================================== */

__attribute__((noinline, cold))
static void *overflowed(void *sp, const struct s_ctx *self)
{
    stack_overflow(self->id, sp, &self->stack);
}

/* An unguarded stack (see stack.h) that overflowed is caught here, as its
 * coroutine switches away: its stack pointer is below the tripwire, or it
 * went there and wrote it. A guarded stack faults first; main has none. */
SAN_SWITCH_POINT static inline bool stack_ok(const struct s_ctx *self, const void *sp)
{
    const char *w = self->watch;
    return w == NULL || ((const char *)sp >= w + STACK_TRIPWIRE && tripwire_intact(w));
}

/* }===================================================================== */

/* {=====================================================================
 * Lifecycle
 * ====================================================================== */

static struct s_ctx *take_spare(void)
{
    struct s_ctx *ctx = spare_oldest;
    spare_oldest = ctx->next;
    if (--spare_count == 0)
        spare_newest = NULL;
    return ctx;
}

static struct s_ctx *new_ctx(void)
{
    return spare_count > SPARE_MIN ? take_spare() : malloc(sizeof(struct s_ctx));
}

static void retire_ctx(struct s_ctx *ctx)
{
    ctx->state = CTX_DEAD;
    ctx->live_in = NULL;
    ctx->next = NULL;
    if (spare_newest != NULL)
        spare_newest->next = ctx;
    else
        spare_oldest = ctx;
    spare_newest = ctx;
    if (++spare_count > SPARE_MAX)
        free(take_spare());
}

static size_t new_id(void)
{
    if (ids_left == 0) {
        next_id = __atomic_fetch_add(&last_id, ID_BLOCK, __ATOMIC_RELAXED) + 1;
        ids_left = ID_BLOCK;
    }
    ids_left--;
    return next_id++;
}

static void thread_exit(void *unused)
{
    (void)unused;
    while (spare_count > 0)
        free(take_spare());
    ctx_array_free(&g_ctx);
    stack_thread_exit();
}

/* Once per process: the thread-exit key, and whether coroutines can work
 * here at all, said once on stderr if not. */
static void init_process(void)
{
    pthread_key_create(&thread_exit_key, thread_exit);
    unsupported = platform_unsupported();
    if (unsupported != NULL)
        fprintf(stderr, "coroutine: %s\n", unsupported);
    trace_hook_changed();
    trace_from_environment();
}

/* The context that ran before on this thread, while tracing: it is still
 * valid when the next one arrives (only something that runs after it can
 * destroy it). A live one whose successor in the rotation is not the one
 * arriving must have called switch_ctx: the timeline draws those. */
static __thread struct {
    struct s_ctx *ctx;
    unsigned session;
} previous;

static void trace_arrival(void)
{
    unsigned session = __atomic_load_n(&trace_session, __ATOMIC_RELAXED);
    struct s_ctx *before = previous.session == session ? previous.ctx : NULL;
    bool out_of_turn = before != NULL && before->state == CTX_LIVE && before->next != current;
    trace_event(out_of_turn ? TRACE_SWITCHED_TO : TRACE_ARRIVED, current->id);
    previous.ctx = current;
    previous.session = session;
}

/* Runs on every arrival in a context, from asm.s, when a sanitizer or the
 * trace needs to hear of it; 'current' is already the context arrived in.
 * The sanitizer must hear first, before anything else runs on this stack. */
static void arrived(void)
{
    san_switched_in(&current->san);
    if (tracing())
        trace_arrival();
}

/* Called once per process, and when tracing starts or stops. */
void trace_hook_changed(void)
{
    __atomic_store_n(&ctx_arrival_hook, SAN_HEARS_ARRIVALS || tracing() ? arrived : NULL,
                     __ATOMIC_RELAXED);
}

/* Set up this thread's main context on its first create_ctx. */
static int init_thread(void)
{
    if (current != NULL)
        return 0;
    pthread_once(&thread_exit_once, init_process);
    if (unsupported != NULL) {
        errno = ENOTSUP;
        return -1;
    }
    if (stack_thread_init() != 0)
        return -1;
    pthread_setspecific(thread_exit_key, &main_ctx);   /* non-NULL: run it */
    main_ctx = (struct s_ctx){
        .next = &main_ctx,
        .prev = &main_ctx,
        .state = CTX_LIVE,
        .owner = &main_ctx,
        .live_in = &main_ctx,
    };
    san_main_made(&main_ctx.san);
    current = &main_ctx;
    return 0;
}

/* Where a coroutine's first frame goes: below the top by a multiple of 128
 * bytes that changes with the id. Stacks of one size all start on the same
 * page offset, and two coroutines switching back and forth would otherwise
 * save and load their frames at the same offset too, which the processor
 * mistakes for a dependence between them (4K aliasing) and stalls on. */
static void *colored_top(const struct s_ctx *ctx)
{
    return (char *)stack_top(&ctx->stack) - ctx->id % 16 * 128;
}

/* Both creates, once the arguments are known to be good; 'stack_size' 0
 * means STACK_CAPACITY, known once the thread is set up. */
static sp_ctx create(coroutine fn, void *arg, size_t stack_size)
{
    if (init_thread() != 0)
        return NULL;
    struct s_ctx *ctx = new_ctx();
    if (ctx == NULL)
        goto out_enomem;
    ctx->stack = (struct stack){0};
    if (stack_alloc(&ctx->stack, stack_size ? stack_size : 1024 * stack_page) != 0)
        goto out_free_ctx;
    if (ctx_array_push(&g_ctx, ctx) != 0)
        goto out_free_stack;

    ctx->id = new_id();
    ctx->fn = fn;
    san_stack_made(&ctx->san, stack_bottom(&ctx->stack),
                   (size_t)((char *)stack_top(&ctx->stack) - stack_bottom(&ctx->stack)));
    ctx->sp = platform_setup_stack(colored_top(ctx), fn, arg, coroutine_finish);
    ctx->state = CTX_LIVE;
    ctx->owner = ctx->live_in = &main_ctx;
    ctx->watch = ctx->stack.guarded || san_under_valgrind() ? NULL : stack_bottom(&ctx->stack);
    ctx->index = g_ctx.len - 1;
    join_rotation(ctx);
    if (tracing())
        trace_event(TRACE_CREATED, ctx->id);
    return ctx;

out_free_stack:
    stack_free(&ctx->stack);
out_free_ctx:
    retire_ctx(ctx);
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
    return create(fn, arg, 0);
}

sp_ctx create_ctx_sized(coroutine fn, void *arg, size_t stack_size)
{
    if (fn == NULL || stack_size == 0) {
        errno = EINVAL;
        return NULL;
    }
    return create(fn, arg, stack_size);
}

/* Abort unless 'ctx' is a handle of this thread that was not destroyed. */
static void check_handle(const struct s_ctx *ctx, const char *caller)
{
    if (ctx->state != CTX_LIVE && ctx->state != CTX_FINISHED)
        misuse("%s: coroutine %p was destroyed", caller, (const void *)ctx);
    if (ctx->owner != &main_ctx)
        misuse("%s: coroutine %zu belongs to another thread", caller, ctx->id);
}

void destroy_ctx(sp_ctx ctx)
{
    if (ctx == NULL)
        misuse("destroy_ctx: cannot destroy the main context");
    check_handle(ctx, "destroy_ctx");
    if (ctx == current)
        misuse("destroy_ctx: cannot destroy running coroutine %zu", ctx->id);
    if (ctx->state == CTX_LIVE) {            /* suspended: it never runs again */
        leave_rotation(ctx);
        san_stack_gone(&ctx->san, ctx->sp);
        stack_free(&ctx->stack);
    }
    ctx_array_remove(&g_ctx, ctx->index);
    if (ctx->index < g_ctx.len)              /* the last one moved into its place */
        g_ctx.items[ctx->index]->index = ctx->index;
    if (tracing())
        trace_event(TRACE_DESTROYED, ctx->id);
    retire_ctx(ctx);
}

/* The function returned (we are called from _asm_ctx_entry). Leave the
 * rotation and pass control on as a yield would; the stack we are standing
 * on is released from the next context's stack, by finish_ctx_inner. */
SAN_SWITCH_POINT void coroutine_finish(void)
{
    struct s_ctx *self = current, *next = self->next;
    if (!stack_ok(self, __builtin_frame_address(0)))
        overflowed(__builtin_frame_address(0), self);
    if (tracing())                   /* before the sanitizers hear of the switch */
        trace_event(TRACE_FINISHED, self->id);
    self->state = CTX_FINISHED;
    self->live_in = NULL;
    leave_rotation(self);
    current = next;
    san_switch_out(&self->san, &next->san, true);
    _asm_finish_ctx(next->sp, self);
}

void finish_ctx_inner(sp_ctx dead)
{
    san_stack_gone(&dead->san, NULL);      /* its frames all returned */
    stack_free(&dead->stack);
}

/* }===================================================================== */

/* {=====================================================================
 * Switching: called from yield_ctx and switch_ctx in asm.s, after they
 * saved the running context's frame at 'sp'.
 * ====================================================================== */

/* The misuse paths of the switch functions end in tail calls that return
 * 'void *', so that the compiler does not realign the stack (a call needs
 * that) on the path every switch takes. */
__attribute__((noinline, cold))
static void *bad_switch_target(void *sp, const struct s_ctx *target)
{
    (void)sp;
    check_handle(target, "switch_ctx");
    misuse("switch_ctx: cannot switch to finished coroutine %zu", target->id);
}

SAN_SWITCH_POINT void *yield_ctx_inner(void *sp)
{
    struct s_ctx *self = current;
    if (self == NULL)                /* no coroutine was ever made here */
        return sp;
    if (!stack_ok(self, sp))
        return overflowed(sp, self);
    self->sp = sp;
    current = self->next;
    san_switch_out(&self->san, &current->san, false);
    return current->sp;
}

/* One compare validates the target: 'live_in' is this thread's main
 * context only for a live coroutine of this thread. The branches are laid
 * out so that loading the target's sp, which the switch waits for, depends
 * on nothing but the argument. */
SAN_SWITCH_POINT void *switch_ctx_inner(void *sp, sp_ctx target)
{
    struct s_ctx *self = current;
    if (target == NULL)
        target = &main_ctx;
    else if (target->live_in != &main_ctx)
        return bad_switch_target(sp, target);
    if (self == NULL)                /* main to main: nothing else exists */
        return sp;
    if (!stack_ok(self, sp))
        return overflowed(sp, self);
    self->sp = sp;
    current = target;
    san_switch_out(&self->san, &target->san, false);
    return target->sp;
}

/* }===================================================================== */

/* {=====================================================================
 * Status
 * ====================================================================== */

bool is_ctx_finished(sp_ctx ctx)
{
    if (ctx == NULL)
        return false;
    check_handle(ctx, "is_ctx_finished");
    return ctx->state == CTX_FINISHED;
}

size_t get_ctx_id(void)
{
    return current ? current->id : 0;
}

size_t get_ctx_id_of(sp_ctx ctx)
{
    if (ctx == NULL)
        return 0;
    check_handle(ctx, "get_ctx_id_of");
    return ctx->id;
}

/* The routines of ours a frame can point at, named for someone reading it:
 * they are hidden, so no symbol table would tell. */
static const char *routine_at(unsigned long value)
{
    if (value == (unsigned long)(uintptr_t)_asm_ctx_start)
        return "_asm_ctx_start";
    if (value == (unsigned long)(uintptr_t)coroutine_finish)
        return "coroutine_finish";
    return NULL;
}

/* A slot's value, read at its own size: the control words are packed. */
static unsigned long slot_value(const char *at, unsigned size)
{
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    if (size == 8)
        return memcpy(&v64, at, 8), (unsigned long)v64;
    if (size == 4)
        return memcpy(&v32, at, 4), v32;
    return memcpy(&v16, at, 2), v16;
}

size_t get_ctx_frame(sp_ctx ctx, struct ctx_slot *slots, size_t max)
{
    if (ctx == NULL)
        return 0;
    check_handle(ctx, "get_ctx_frame");
    if (ctx == current || ctx->state != CTX_LIVE)
        return 0;
    size_t n = 0;
    for (; platform_frame[n].name != NULL; n++)
        if (n < max) {
            const char *at = (const char *)ctx->sp + platform_frame[n].offset;
            unsigned long value = slot_value(at, platform_frame[n].size);
            slots[n] = (struct ctx_slot){at, value, platform_frame[n].name,
                                         platform_frame[n].meaning, routine_at(value)};
        }
    return n;
}

size_t get_ctx_stack_used(sp_ctx ctx)
{
    if (ctx == NULL)
        return 0;
    check_handle(ctx, "get_ctx_stack_used");
    return ctx->stack.base != NULL ? stack_used(&ctx->stack) : 0;
}

sp_ctx get_ctx_ptr(void)
{
    return current == &main_ctx ? NULL : current;
}

bool stack_of_running_ctx(const struct stack **s, size_t *id)
{
    if (current == NULL || current == &main_ctx)
        return false;
    *s = &current->stack;
    *id = current->id;
    return true;
}

/* }===================================================================== */
