/* platform.h - what each target folder src/<os>_<arch>/ provides.
 *
 * The portable core decides who runs; a target decides how a stack frame
 * looks and how registers are saved and restored. A target implements the
 * functions below in its asm.s, platform.c and process.c. A suspended
 * context is nothing but a stack pointer 'sp': the saved registers and the
 * address to resume at lie in a frame at 'sp', in a layout only the target
 * knows. Stacks grow down on every target.
 */
#ifndef COROUTINE_PLATFORM_H
#define COROUTINE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "coroutine.h"
#include "internal.h"

/* What runs on a coroutine's stack after its function returns: the core's
 * coroutine_finish, which never returns. */
typedef void (*finalizer)(void);

/* ---- platform.c ------------------------------------------------------- */

/* Lay out a first frame below 'top' (any alignment) so that restoring the
 * returned sp calls fn(arg) and then finish(), each entered as by a normal
 * call. The control words (FPU rounding mode and the like) are the caller's. */
HIDDEN void *platform_setup_stack(void *top, coroutine fn, void *arg, finalizer finish);

/* The saved frame, slot by slot from its lowest address, as the target's
 * 'struct frame' (checked against asm.s) lays it out: 'offset' from the
 * saved sp, a name, what it is for. The list ends with a slot whose name
 * is NULL and whose offset is the frame's size. get_ctx_frame and gdb's
 * commands (tools/gdb) read the frame through it. */
struct platform_slot {
    unsigned offset;
    unsigned size;                 /* 8, or 4 or 2 for packed words */
    const char *name;
    const char *meaning;
};
HIDDEN extern const struct platform_slot platform_frame[];

/* For platform.c: a slot described by its own field of 'struct frame', and
 * the list's end. */
#define PLATFORM_SLOT(field, meaning)                                          \
    {offsetof(struct frame, field), sizeof(((struct frame *)0)->field), #field, meaning}
#define PLATFORM_END {sizeof(struct frame), 0, NULL, NULL}

/* For platform.c: where the first frame goes, right under 'top' aligned
 * down to 16 bytes, which every target's ABI wants of a stack at a call. */
#define PLATFORM_FIRST_FRAME(top) ((struct frame *)((uintptr_t)(top) & ~(uintptr_t)15) - 1)

/* ---- process.c -------------------------------------------------------- */

/* The stack pointer saved in a signal handler's 'ucontext_t *'. */
HIDDEN void *platform_signal_sp(const void *ucontext);

/* The address of the instruction it was interrupted at. */
HIDDEN void *platform_signal_pc(const void *ucontext);

/* A counter that runs at a constant rate, read in a few cycles without
 * the kernel (the TSC, cntvct_el0, rdtime): for time accounting. */
HIDDEN uint64_t platform_ticks(void);

/* Why coroutines cannot work in this process (say, hardware shadow stacks
 * are on), or NULL. Asked once. */
HIDDEN const char *platform_unsupported(void);

/* ---- asm.s: entered from C -------------------------------------------- */

/* The entry trampoline: where a new context's first frame resumes. It
 * calls the function with its argument, then the finalizer. */
HIDDEN void _asm_ctx_start(void);

/* Move onto the stack at 'sp', call finish_ctx_inner(dead) there (so the
 * dead coroutine's stack can be released while nothing runs on it), then
 * resume the frame at 'sp'. */
HIDDEN NORETURN void _asm_finish_ctx(void *sp, sp_ctx dead);

/* yield_ctx and switch_ctx themselves (declared in coroutine.h) are also in
 * asm.s: they save the frame and call into the core below. All three end
 * in _asm_restore_ctx, the resume path every context arrives through; it
 * calls ctx_arrival_hook there, on the new stack, when that is not NULL.
 * It is reached by a jump, not a call, with the sp to resume where the
 * core returned it (x86_64: rax; aarch64: x0; riscv64: a0) and, on
 * x86_64, the x87 control word in force in ecx, so that it is loaded only
 * when the frame's differs. */

/* ---- the core, called from asm.s --------------------------------------- */

/* switch.c. The current context was saved at 'sp'. Return the sp to
 * resume. */
HIDDEN void *yield_ctx_inner(void *sp);
HIDDEN void *switch_ctx_inner(void *sp, sp_ctx target);

/* switch.c. Runs on the next context's stack once 'dead' has been left for
 * good. */
HIDDEN void finish_ctx_inner(sp_ctx dead);

/* arrival.c. NULL, or what asm.s calls on every arrival in a context (for
 * a sanitizer, the C++ runtime or the trace). */
HIDDEN extern void (*ctx_arrival_hook)(void);

/* coroutine.c. Where a coroutine goes when its function returns (the
 * 'finish' above): passed in the first frame, never called by name, so
 * the target depends on coroutine.c only through that pointer. */
HIDDEN NORETURN void coroutine_finish(void);

#endif
