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
 * wild pointer is unlikely to pass for a context. */
enum ctx_state {
    CTX_LIVE = 0x4c495645,       /* suspended or running: in the rotation */
    CTX_FINISHED = 0x46494e49,   /* its function returned; stack released */
    CTX_DEAD = 0x44454144,       /* destroyed: its memory waits to be reused */
};

/* The rotation is a circular list through 'next', in the order
 *
 *     main -> newest -> ... -> oldest -> main
 *
 * holding exactly the live contexts, so choosing who runs next never needs
 * a search, and a context that cannot run is simply not linked in.
 *
 * A handle is the context's address with a generation in its top 16 bits
 * (user addresses fit in 48), counted up each time the memory is reused.
 * The memory of a context is never given back to malloc, so a stale handle
 * always reads a context whose 'handle' differs from it: using one is
 * reported, however many creates came between, and never reads freed
 * memory.
 */
struct s_ctx {
    void *sp;                /* saved stack pointer while suspended */
    struct s_ctx *next;      /* runs after this one on yield_ctx */
    struct s_ctx *prev;
    uintptr_t switch_key;    /* while live: handle ^ its thread's main; else 0 */
    sp_ctx handle;           /* the handle that names this memory now */
    uint32_t state;          /* enum ctx_state */
    uint64_t thread;         /* serial number of that thread */
    uintptr_t first_here;    /* the first generation this thread handed out
                                from this memory: older handles were
                                another thread's */
    const char *floor;       /* the stack pointer stays above this; main: NULL */
    const char *tripwire;    /* an unguarded stack's tripwire; else NULL */
    size_t id;               /* 0 for main, else unique in the process */
    size_t index;            /* where it sits in 'g_ctx' */
    coroutine fn;            /* its function, for people with debuggers */
    struct stack stack;      /* empty for main and once finished */
    void *cxx_eh[2];         /* the C++ runtime's caught exceptions, while
                                another context runs */
    struct san_ctx san;      /* what sanitizers need; nothing without them */
};

#define HANDLE_SHIFT 48
#define HANDLE_ADDRESS (((uintptr_t)1 << HANDLE_SHIFT) - 1)

static inline struct s_ctx *ctx_at(sp_ctx handle)
{
    return (struct s_ctx *)((uintptr_t)handle & HANDLE_ADDRESS);
}

ARRAY_DEFINE(ctx_array, struct s_ctx *)

/* Per thread: 'current' is NULL until the thread's first create_ctx; until
 * then the thread is in main and nothing else exists. 'g_ctx' lists the
 * coroutines not yet destroyed: thread exit destroys them, and gdb's
 * 'info coroutines' (tools/gdb) reads it. */
static __thread struct s_ctx main_ctx;       /* the implicit main context */
static __thread struct s_ctx *current;       /* the running context */
static __thread struct ctx_array g_ctx;
static __thread uint64_t thread_serial;      /* never reused, unlike &main_ctx */
static uint64_t last_thread_serial;

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

/* Checked as a coroutine switches away: its stack pointer must be inside
 * its stack (a frame may have jumped the guard and not touched it), and on
 * an unguarded stack (see stack.h) the tripwire must be intact. Main's
 * floor is NULL. */
SAN_SWITCH_POINT static inline bool stack_ok(const struct s_ctx *self, const void *sp)
{
    const char *w = self->tripwire;
    return (const char *)sp >= self->floor &&
           (w == NULL || ((const char *)sp >= w + STACK_TRIPWIRE && tripwire_intact(w)));
}

/* }===================================================================== */

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
        ctx->thread = thread_serial;
        ctx->first_here = (uintptr_t)ctx->handle >> HANDLE_SHIFT;
    }
    return ctx;
}

/* Memory for a context, with the generation its handle will carry. */
static struct s_ctx *new_ctx(void)
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
    ctx->thread = thread_serial;
    ctx->first_here = 0;
    return ctx;
}

/* Its handle stops working now; the memory waits in the queue. */
static void retire_ctx(struct s_ctx *ctx)
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

/* The memory was never handed out: back it goes, generation unchanged. */
static void unused_ctx(struct s_ctx *ctx)
{
    ctx->state = CTX_DEAD;
    ctx->switch_key = 0;
    enqueue(&spares, ctx);
}

/* }===================================================================== */

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
    if (current != &main_ctx)
        misuse("coroutine %zu: the thread exited inside it (pthread_exit or cancellation); "
               "a coroutine must return from its function",
               current->id);
    for (size_t i = 0; i < g_ctx.len; i++) {
        struct s_ctx *ctx = g_ctx.items[i];
        if (ctx->state == CTX_LIVE)
            free_ctx_stack(ctx);
        retire_ctx(ctx);
    }
    ctx_array_free(&g_ctx);
    pthread_mutex_lock(&shared_lock);
    while (spares.count > 0)
        enqueue(&shared_spares, dequeue(&spares));
    pthread_mutex_unlock(&shared_lock);
    stack_thread_exit();
    main_ctx.switch_key = 0;
    current = NULL;
}

static void cxx_runtime_found(void);

/* Once per process: the thread-exit key, and whether coroutines can work
 * here at all, said once on stderr if not. */
static void init_process(void)
{
    pthread_key_create(&thread_exit_key, thread_exit);
    unsupported = platform_unsupported();
    if (unsupported != NULL)
        fprintf(stderr, "coroutine: %s\n", unsupported);
    cxx_runtime_found();
    trace_hook_changed();
    trace_from_environment();
}

/* }===================================================================== */

/* {=====================================================================
 * Arrivals: what asm.s calls on every arrival in a context, when a
 * sanitizer, the C++ runtime or the trace needs to hear of it.
 * ====================================================================== */

/* The C++ runtime keeps the exceptions being handled ('catch' blocks not
 * yet left, for 'throw;' and std::current_exception) in one block per
 * thread, which every context of the thread would share. So on arrival,
 * the block is saved into the context that had it and loaded from the one
 * arriving. The runtime is asked for only if the program has it: a C
 * program pays nothing, and the library needs no libstdc++. The block
 * starts with two words, in libstdc++ and libc++abi alike: the caught
 * exceptions and the count of uncaught ones. */
extern void *__cxa_get_globals(void) __attribute__((weak));
static bool cxx_runtime;
static __thread struct s_ctx *cxx_eh_holder;  /* whose state the block holds */

static void cxx_runtime_found(void)
{
    cxx_runtime = __cxa_get_globals != NULL;
}

static void cxx_swap_exceptions(void)
{
    struct s_ctx *holder = cxx_eh_holder ? cxx_eh_holder : &main_ctx;
    if (holder == current)
        return;
    void **block = __cxa_get_globals();
    memcpy(holder->cxx_eh, block, sizeof holder->cxx_eh);
    memcpy(block, current->cxx_eh, sizeof current->cxx_eh);
    cxx_eh_holder = current;
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

/* 'current' is already the context arrived in. The sanitizer must hear
 * first, before anything else runs on this stack. */
static void arrived(void)
{
    san_switched_in(&current->san);
    if (cxx_runtime)
        cxx_swap_exceptions();
    if (tracing())
        trace_arrival();
}

/* Called once per process, and when tracing starts or stops. */
void trace_hook_changed(void)
{
    bool needed = SAN_HEARS_ARRIVALS || cxx_runtime || tracing();
    __atomic_store_n(&ctx_arrival_hook, needed ? arrived : NULL, __ATOMIC_RELAXED);
}

/* }===================================================================== */

/* {=====================================================================
 * Lifecycle
 * ====================================================================== */

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
    if (thread_serial == 0)
        thread_serial = __atomic_add_fetch(&last_thread_serial, 1, __ATOMIC_RELAXED);
    main_ctx = (struct s_ctx){
        .next = &main_ctx,
        .prev = &main_ctx,
        .state = CTX_LIVE,
        .thread = thread_serial,
    };
    san_main_made(&main_ctx.san);
    current = &main_ctx;
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
    ctx->sp = platform_setup_stack(colored_top(ctx), fn, arg, coroutine_finish);
    ctx->state = CTX_LIVE;
    ctx->thread = thread_serial;
    ctx->switch_key = (uintptr_t)ctx->handle ^ (uintptr_t)&main_ctx;
    ctx->floor = bottom;
    ctx->tripwire = ctx->stack.guarded || san_under_valgrind() ? NULL : bottom;
    ctx->cxx_eh[0] = ctx->cxx_eh[1] = NULL;
    ctx->index = g_ctx.len - 1;
    join_rotation(ctx);
}

/* Both creates, once the arguments are known to be good; 'stack_size' 0
 * means STACK_CAPACITY (1024 pages), known once the thread is set up. */
static sp_ctx create(coroutine fn, void *arg, size_t stack_size)
{
    if (init_thread() != 0)
        return NULL;
    struct s_ctx *ctx = new_ctx();
    if (ctx == NULL)
        goto out_enomem;
    if (stack_alloc(&ctx->stack, stack_size ? stack_size : 1024 * stack_page) != 0)
        goto out_unused_ctx;
    if (ctx_array_push(&g_ctx, ctx) != 0)
        goto out_free_stack;
    start_ctx(ctx, fn, arg);
    if (tracing())
        trace_event(TRACE_CREATED, ctx->id);
    return ctx->handle;

out_free_stack:
    stack_free(&ctx->stack);
out_unused_ctx:
    unused_ctx(ctx);
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
    if (ctx->thread != thread_serial || generation < ctx->first_here)
        misuse("%s: coroutine %p%s belongs to another thread", caller, (void *)handle, id);
    misuse("%s: coroutine %p%s was destroyed", caller, (void *)handle, id);
}

/* The context of a handle of this thread that was not destroyed, or
 * abort naming the misuse. */
static struct s_ctx *ctx_of(sp_ctx handle, const char *caller)
{
    struct s_ctx *ctx = ctx_at(handle);
    if (ctx->handle != handle)
        stale_handle(handle, ctx, caller);
    if (ctx->thread != thread_serial)
        misuse("%s: coroutine %zu belongs to another thread", caller, ctx->id);
    return ctx;
}

/* A suspended coroutine's stack goes back; it never runs again. */
static void free_ctx_stack(struct s_ctx *ctx)
{
    leave_rotation(ctx);
    san_stack_gone(&ctx->san, ctx->sp);
    stack_free(&ctx->stack);
}

void destroy_ctx(sp_ctx handle)
{
    if (handle == NULL)
        misuse("destroy_ctx: cannot destroy the main context");
    struct s_ctx *ctx = ctx_of(handle, "destroy_ctx");
    if (ctx == current)
        misuse("destroy_ctx: cannot destroy running coroutine %zu", ctx->id);
    if (ctx->state == CTX_LIVE)
        free_ctx_stack(ctx);
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
    self->switch_key = 0;
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
static void *bad_switch_target(void *sp, sp_ctx target)
{
    (void)sp;
    struct s_ctx *ctx = ctx_of(target, "switch_ctx");
    misuse("switch_ctx: cannot switch to finished coroutine %zu", ctx->id);
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

/* One compare validates the target: its 'switch_key' is the handle mixed
 * with this thread's main context only while it is live, in this thread,
 * under this very handle. The branches are laid out so that loading the
 * target's sp, which the switch waits for, depends on nothing but the
 * argument. */
SAN_SWITCH_POINT void *switch_ctx_inner(void *sp, sp_ctx target)
{
    struct s_ctx *self = current, *to = &main_ctx;
    if (target != NULL) {
        to = ctx_at(target);
        if (to->switch_key != ((uintptr_t)target ^ (uintptr_t)&main_ctx))
            return bad_switch_target(sp, target);
    }
    if (self == NULL)                /* main to main: nothing else exists */
        return sp;
    if (!stack_ok(self, sp))
        return overflowed(sp, self);
    self->sp = sp;
    current = to;
    san_switch_out(&self->san, &to->san, false);
    return to->sp;
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
    return current ? current->id : 0;
}

size_t get_ctx_id_of(sp_ctx handle)
{
    if (handle == NULL)
        return 0;
    return ctx_of(handle, "get_ctx_id_of")->id;
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

size_t get_ctx_frame(sp_ctx handle, struct ctx_slot *slots, size_t max)
{
    if (handle == NULL)
        return 0;
    struct s_ctx *ctx = ctx_of(handle, "get_ctx_frame");
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

size_t get_ctx_stack_used(sp_ctx handle)
{
    if (handle == NULL)
        return 0;
    struct s_ctx *ctx = ctx_of(handle, "get_ctx_stack_used");
    return ctx->stack.base != NULL ? stack_used(&ctx->stack) : 0;
}

sp_ctx get_ctx_ptr(void)
{
    return current == NULL || current == &main_ctx ? NULL : current->handle;
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
