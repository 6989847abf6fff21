/* context.h - a context, its handle, and each thread's scheduler state:
 * what the core's files share (as Lua's lstate.h), so that none of them
 * has to call back into another for it.
 */
#ifndef COROUTINE_CONTEXT_H
#define COROUTINE_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "coroutine.h"
#include "internal.h"
#include "platform.h"
#include "sanitizer.h"
#include "seed.h"
#include "stack.h"

/* A context's life. Unusual bit patterns rather than 0, 1, 2, so that a
 * wild pointer is unlikely to pass for a context. */
enum ctx_state {
    CTX_LIVE = 0x4c495645,       /* suspended, waiting or running */
    CTX_FINISHED = 0x46494e49,   /* its function returned; stack released */
    CTX_DEAD = 0x44454144,       /* destroyed: its memory waits to be reused */
};

/* A queue of waiting contexts' places (struct waiter, wait.h), in the
 * order they came: a channel's senders, a coroutine's joiners. */
struct waitq {
    struct waiter *first, *last;
};

/* What a context out of the rotation waits for. The core only holds it:
 * wait.c reads and writes it (and gdb shows it). Several at once: a
 * queue or a descriptor or another context, and a deadline. */
struct wait {
    int64_t deadline;        /* CO_FOREVER, or when the wait times out */
    size_t timer;            /* its entry in the deadline heap, or NO_TIMER */
    struct s_ctx *joining;   /* the context it waits to finish, or NULL */
    struct waitq joiners;    /* those waiting for this one to finish */
    struct waiter *nodes;    /* its places in wait queues (joins, channels, locks) */
    struct waiter *places;   /* a big select's places, on the heap, or NULL */
    struct work *work;       /* offloaded work, from co_offload's start to its end */
    void (*undo)(void *);    /* gives back what a waker handed it (a permit, a */
    void *undo_arg;          /*   mutex) if it is destroyed before it runs */
    const char *why;         /* what it waits for, for the dump, or NULL: see */
    const void *on;          /*   dump.c; and the object it waits on */
    int fd;                  /* the descriptor it waits on, or -1 */
    int result;              /* how the last wait ended: 0 or an errno */
    int fired;               /* the node whose queue ended the wait, or -1 */
    uint8_t what;            /* CO_READABLE or CO_WRITABLE */
    bool waiting;            /* out of the rotation until woken */
    bool extra;              /* a deadline, descriptor or other thread is in it:
                                more to undo than queue places */
    bool outside;            /* another thread ends it (a mailbox, offloaded work) */
    bool cancelled;          /* cancel_ctx(): every wait ends at once */
};
#define NO_TIMER SIZE_MAX
#define CTX_NAME_MAX 32          /* a name's bytes, its terminating zero included */
#define WAIT_IDLE ((struct wait){.timer = NO_TIMER, .fd = -1, .fired = -1})

/* Where a context's time went (account.c), in ticks of platform_ticks(),
 * once accounting is on. */
struct ctx_account {
    uint64_t running, waiting, waiting_io;
    uint64_t runs;                   /* arrivals */
    uint64_t since;                  /* its first count, or 0 */
    uint64_t left;                   /* when it last left, until it runs again */
    bool left_waiting, left_io;      /* it left to wait; on a descriptor */
};

/* The rotation is a circular list through 'next', in the order
 *
 *     main -> newest -> ... -> oldest -> main
 *
 * holding exactly the live contexts that can run, so choosing who runs
 * next never needs a search: a context that waits (coroutine_wait.h) is
 * simply not linked in, and has 'next' NULL.
 *
 * A handle is the context's address with a generation in its top 16 bits
 * (user addresses fit in 48), counted up each time the memory is reused.
 * The memory of a context is never given back to malloc, so a stale handle
 * always reads a context whose 'handle' differs from it: using one is
 * reported, however many creates came between, and never reads freed
 * memory.
 */
struct s_ctx {
    /* what every switch reads, together at the start */
    void *sp;                /* saved stack pointer while suspended */
    struct s_ctx *next;      /* runs after this one on yield_ctx */
    const char *floor;       /* the stack pointer stays above this; main: NULL */
    const char *tripwire;    /* an unguarded stack's tripwire; else NULL */
    uintptr_t switch_key;    /* ctx_switch_key_of() while it can run; else 0 */
    /* the rest */
    void *start_sp;          /* 'sp' as made: equal to it until it first runs */
    struct s_ctx *prev;
    sp_ctx handle;           /* the handle that names this memory now */
    uint32_t state;          /* enum ctx_state */
    bool detached;           /* destroyed as it finishes (detach_ctx) */
    uint64_t thread;         /* serial number of the thread it belongs to */
    uintptr_t first_here;    /* the first generation this thread handed out
                                from this memory: older handles were
                                another thread's */
    size_t id;               /* 0 for main, else unique in the process */
    size_t index;            /* where it sits in 'g_ctx' */
    coroutine fn;            /* its function, for people with debuggers */
    struct stack stack;      /* empty for main and once finished */
    void *cxx_eh[2];         /* the C++ runtime's caught exceptions, while
                                another context runs (arrival.c) */
    struct san_ctx san;      /* what sanitizers need; nothing without them */
    char name[CTX_NAME_MAX]; /* set_ctx_name(), "" for none */
    const void *made_at;     /* the caller of create_ctx, for the dump */
    struct ctx_account account; /* where its time went, once counted */
    struct wait wait;
};

#define HANDLE_SHIFT 48
#define HANDLE_ADDRESS (((uintptr_t)1 << HANDLE_SHIFT) - 1)

static inline struct s_ctx *ctx_at(sp_ctx handle)
{
    return (struct s_ctx *)((uintptr_t)handle & HANDLE_ADDRESS);
}

ARRAY_DEFINE(ctx_array, struct s_ctx *)


/* Each thread's scheduler state, defined in context.c. 'current' is NULL
 * until the thread's first create_ctx; until then the thread is in main
 * and nothing else exists. 'g_ctx' lists the coroutines not yet
 * destroyed: thread exit destroys them, and gdb's 'info coroutines'
 * (tools/gdb) reads it. */
HIDDEN extern __thread struct s_ctx main_ctx CORE_TLS;  /* the implicit main context */
HIDDEN extern __thread struct s_ctx *ctx_current CORE_TLS;  /* the running context */
HIDDEN extern __thread struct ctx_array g_ctx;
HIDDEN extern __thread uint64_t ctx_thread_serial CORE_TLS; /* never reused, unlike &main_ctx */

/* The coroutine made last and the context woken last, each with who
 * made or woke it: either may run first when that one leaves the
 * rotation (ctx_after_leaving). 'ctx' is NULL once used or passed over. */
struct ctx_first {
    struct s_ctx *ctx, *by;
};
HIDDEN extern __thread struct ctx_first ctx_made CORE_TLS, ctx_woken CORE_TLS;
HIDDEN extern __thread unsigned ctx_firsts CORE_TLS;  /* how many went first in a row */

/* Then the next in the rotation runs, whatever went first: so a coroutine
 * that makes one coroutine after another and waits for each does not keep
 * the rotation from the others (Go lets a goroutine run next inherit the
 * time slice of the one that readied it, for the same reason). */
#define CTX_FIRSTS_MAX 64

/* A context joins the rotation right after main (as the newest), or when
 * main waits, right after the running context, its creator. */
static inline void ctx_join_after(struct s_ctx *ctx, struct s_ctx *prev)
{
    ctx->prev = prev;
    ctx->next = prev->next;
    prev->next->prev = ctx;
    prev->next = ctx;
}

static inline void ctx_join_rotation(struct s_ctx *ctx)
{
    ctx_join_after(ctx, main_ctx.next != NULL ? &main_ctx : ctx_current);
}

static inline void ctx_leave_rotation(struct s_ctx *ctx)
{
    ctx->prev->next = ctx->next;
    ctx->next->prev = ctx->prev;
    ctx->next = ctx->prev = NULL;
}

/* What 'switch_key' holds while 'ctx' can run: its handle (NULL for
 * main) mixed with this thread's main; 0 while it waits or is gone. */
static inline uintptr_t ctx_switch_key_of(const struct s_ctx *ctx)
{
    return (uintptr_t)ctx->handle ^ (uintptr_t)&main_ctx;
}

/* A context that waited runs again: just before the running one, at the
 * end of the turn; or, under a seed (seed.h), as likely right after it. */
static inline void ctx_rejoin_rotation(struct s_ctx *ctx, bool soon)
{
    ctx_join_after(ctx, soon ? ctx_current : ctx_current->prev);
    ctx->switch_key = ctx_switch_key_of(ctx);
    ctx_woken = (struct ctx_first){ctx, ctx_current};
}

/* Who runs when 'self' leaves the rotation: a context it made or woke,
 * if that may go first, moved into self's place so that the turn goes on
 * from there; else the next in the rotation. One that waits ('slot' is
 * ctx_made) lets the newest coroutine it made go first if that has not
 * run yet; one that finished (ctx_woken) lets the last context it woke
 * go first. So a coroutine that makes others and waits for them runs
 * them at once, and one that answers the coroutine that made it and
 * returns hands it the processor, as Go runs a new or readied goroutine
 * next: a tree of coroutines is walked depth first, and few of them (and
 * their stacks) exist at a time. Never more than one per wait or end, so
 * the rest of the rotation still runs every turn; a program that only
 * yields sees the rotation alone. */
static inline struct s_ctx *ctx_after_leaving(struct s_ctx *self, struct ctx_first *slot)
{
    struct s_ctx *first = slot->ctx;
    if (first == NULL) {
        ctx_firsts = 0;
        return self->next;
    }
    slot->ctx = NULL;
    if (slot->by != self || first->next == NULL || first == self ||
        (slot == &ctx_made && first->sp != first->start_sp) || ++ctx_firsts > CTX_FIRSTS_MAX ||
        (seeded() && seed_below(2))) {
        ctx_firsts = 0;                  /* not its own, waits or is gone, ran, or the */
        return self->next;               /* others' turn */
    }
    if (self->next != first) {
        ctx_leave_rotation(first);
        ctx_join_after(first, self);
    }
    return first;
}

/* The running context 'self' leaves the rotation (to wait, or to rest)
 * and the next one runs; it comes back when something rejoins it. */
static inline void ctx_leave_and_run(struct s_ctx *self)
{
    struct s_ctx *next = ctx_after_leaving(self, &ctx_made);
    ctx_leave_rotation(self);
    self->switch_key = 0;
    switch_ctx(next == &main_ctx ? NULL : next->handle);
}

/* Checked as a coroutine switches away: its stack pointer must be inside
 * its stack (a frame may have jumped the guard and not touched it), and on
 * an unguarded stack (see stack.h) the tripwire must be intact. Main's
 * floor is NULL. */
SAN_SWITCH_POINT static inline bool ctx_stack_ok(const struct s_ctx *self, const void *sp)
{
    const char *w = self->tripwire;
    return (const char *)sp >= self->floor &&
           (w == NULL || ((const char *)sp >= w + STACK_TRIPWIRE && tripwire_intact(w)));
}

/* What the layer above the core (the waiting runtime) asks to be told,
 * set by it at its first use: the core calls no file above it by name,
 * so a program that only switches links none. 'ended' runs when a
 * coroutine finishes or is destroyed (its waits and its joiners),
 * 'thread_exit' before the thread's coroutines go. One pointer, read
 * atomically, as any thread may set it while others read it. */
struct ctx_hooks {
    void (*ended)(struct s_ctx *ctx);
    void (*thread_exit)(void);
};
HIDDEN extern const struct ctx_hooks *ctx_hooks;

/* The hooks, or NULL while nothing above the core was used. */
static inline const struct ctx_hooks *ctx_hooks_set(void)
{
    return __atomic_load_n(&ctx_hooks, __ATOMIC_ACQUIRE);
}

/* Memory for a new context, with the generation its handle will carry;
 * NULL when there is none. */
HIDDEN struct s_ctx *ctx_new(void);

/* Its handle stops working now; the memory waits to be reused. */
HIDDEN void ctx_retire(struct s_ctx *ctx);

/* Out of 'g_ctx', then retired: destroyed, or a detached one finished. */
HIDDEN void ctx_forget(struct s_ctx *ctx);

/* The memory was never handed out: back it goes, generation unchanged. */
HIDDEN void ctx_unused(struct s_ctx *ctx);

/* The thread exits: its spare contexts go to the process. */
HIDDEN void ctx_hand_over_spares(void);

/* Abort naming the misuse of 'handle' by 'caller' (the public call): a
 * handle destroyed, or another thread's. */
HIDDEN __attribute__((noreturn, cold)) void ctx_misused(sp_ctx handle, const char *caller);

/* The context of a handle of this thread that was not destroyed, or
 * abort naming the misuse. Inline: every call that takes a handle asks. */
static inline struct s_ctx *ctx_of(sp_ctx handle, const char *caller)
{
    struct s_ctx *ctx = ctx_at(handle);
    if (ctx->handle != handle || ctx->thread != ctx_thread_serial)
        ctx_misused(handle, caller);
    return ctx;
}

/* This thread's serial number, given at its first asking. */
HIDDEN uint64_t ctx_this_thread(void);

/* Report a broken contract on one line of stderr and abort. */
HIDDEN __attribute__((noreturn, format(printf, 1, 2))) void ctx_misuse(const char *fmt, ...);

#endif
