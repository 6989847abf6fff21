/* switch.c - choosing who runs next: the core's entry points that asm.s
 * calls (platform.h). yield_ctx and switch_ctx save the running context's
 * frame at 'sp' and ask here for the sp to resume; a finished coroutine's
 * stack is given back here, from the next context's stack.
 */
#define _GNU_SOURCE
#include "context.h"
#include "overflow.h"
#include "trace.h"

__attribute__((noinline, cold))
static void *overflowed(void *sp, const struct s_ctx *self)
{
    overflow_report(self, sp);
}

/* The misuse paths of the switch functions end in tail calls that return
 * 'void *', so that the compiler does not realign the stack (a call needs
 * that) on the path every switch takes. */
__attribute__((noinline, cold))
static void *bad_switch_target(void *sp, sp_ctx target)
{
    if (target == NULL && ctx_current == NULL)
        return sp;                   /* main to main: nothing else exists yet */
    if (target == NULL)
        ctx_misuse("switch_ctx: cannot switch to main: it is waiting (cancel_ctx(NULL) wakes it)");
    struct s_ctx *ctx = ctx_of(target, "switch_ctx");
    if (ctx->state == CTX_LIVE && ctx->next == NULL)    /* out of the rotation */
        ctx_misuse("switch_ctx: cannot switch to coroutine %zu: it is waiting (cancel_ctx wakes it)",
               ctx->id);
    ctx_misuse("switch_ctx: cannot switch to finished coroutine %zu", ctx->id);
}

SAN_SWITCH_POINT void *yield_ctx_inner(void *sp)
{
    struct s_ctx *self = ctx_current;
    if (self == NULL)                /* no coroutine was ever made here */
        return sp;
    if (!ctx_stack_ok(self, sp))
        return overflowed(sp, self);
    self->sp = sp;
    ctx_current = self->next;
    san_switch_out(&self->san, &ctx_current->san, false);
    return ctx_current->sp;
}

/* One compare validates the target, main included: its 'switch_key' is
 * the handle (NULL for main) mixed with this thread's main context only
 * while it can run, in this thread, under this very handle. The branches
 * are laid out so that loading the target's sp, which the switch waits
 * for, depends on nothing but the argument. */
SAN_SWITCH_POINT void *switch_ctx_inner(void *sp, sp_ctx target)
{
    struct s_ctx *self = ctx_current, *to = target != NULL ? ctx_at(target) : &main_ctx;
    if (to->switch_key != ((uintptr_t)target ^ (uintptr_t)&main_ctx))
        return bad_switch_target(sp, target);  /* and main to main before any create */
    if (!ctx_stack_ok(self, sp))
        return overflowed(sp, self);
    self->sp = sp;
    ctx_current = to;
    san_switch_out(&self->san, &to->san, false);
    return to->sp;
}

/* Runs on the next context's stack, once 'dead' has been left for good
 * (coroutine_finish, in coroutine.c, went there). */
void finish_ctx_inner(sp_ctx dead)
{
    san_stack_gone(&dead->san, NULL);      /* its frames all returned */
    stack_free(&dead->stack);
    if (dead->detached) {
        if (tracing())
            trace_event(TRACE_DESTROYED, dead->id);
        ctx_forget(dead);
    }
}
