/* platform.c - Linux aarch64: the first frame of a new coroutine.
 *
 * asm.s saves and restores frames; this file writes the very first one, so
 * that the ordinary restore path starts a coroutine like any other resume.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>

#include "../platform.h"

/* The saved frame drawn at the top of asm.s, lowest address first. */
struct frame {
    uint64_t d[8];         /* d8-d15 */
    uint64_t x19;          /* first run: the coroutine function */
    uint64_t x20;          /* first run: the argument */
    uint64_t x21;          /* first run: the finalizer */
    uint64_t x22, x23, x24, x25, x26, x27, x28;
    uint64_t x29;          /* frame pointer: 0 ends the chain */
    uint64_t x30;          /* where the context resumes */
    uint64_t fpcr;
    uint64_t unused;
};

/* asm.s stores and loads at these offsets; keep the two in step. */
_Static_assert(offsetof(struct frame, d) == 0x00, "frame: d8");
_Static_assert(offsetof(struct frame, x19) == 0x40, "frame: x19");
_Static_assert(offsetof(struct frame, x21) == 0x50, "frame: x21");
_Static_assert(offsetof(struct frame, x29) == 0x90, "frame: x29");
_Static_assert(offsetof(struct frame, x30) == 0x98, "frame: x30");
_Static_assert(offsetof(struct frame, fpcr) == 0xa0, "frame: fpcr");
_Static_assert(sizeof(struct frame) == 0xb0, "frame: size");

#define SLOT(field, meaning) \
    {offsetof(struct frame, field), sizeof(((struct frame *)0)->field), #field, meaning}

const struct platform_slot platform_frame[] = {
    {offsetof(struct frame, d), 8, "d8", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 8, 8, "d9", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 16, 8, "d10", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 24, 8, "d11", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 32, 8, "d12", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 40, 8, "d13", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 48, 8, "d14", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 56, 8, "d15", "callee-saved, floating point"},
    SLOT(x19, "callee-saved; first run: the function"),
    SLOT(x20, "callee-saved; first run: the argument"),
    SLOT(x21, "callee-saved; first run: the finalizer"),
    SLOT(x22, "callee-saved"), SLOT(x23, "callee-saved"), SLOT(x24, "callee-saved"),
    SLOT(x25, "callee-saved"), SLOT(x26, "callee-saved"), SLOT(x27, "callee-saved"),
    SLOT(x28, "callee-saved"),
    SLOT(x29, "frame pointer"),
    SLOT(x30, "where it resumes"),
    SLOT(fpcr, "rounding mode and traps"),
    {0, 0, NULL, NULL},
};

/* The frame sits right under the 16-aligned top, so _asm_ctx_start runs
 * with sp == top. A new coroutine starts with the FPCR of the code that
 * created it, as a new thread starts with its parent's. */
void *platform_setup_stack(void *top, coroutine fn, void *arg, finalizer finish)
{
    uintptr_t aligned_top = (uintptr_t)top & ~(uintptr_t)15;
    struct frame *f = (struct frame *)aligned_top - 1;
    uint64_t fpcr;

    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    *f = (struct frame){
        .x19 = (uintptr_t)fn,
        .x20 = (uintptr_t)arg,
        .x21 = (uintptr_t)finish,
        .x30 = (uintptr_t)_asm_ctx_start,
        .fpcr = fpcr,
    };
    return f;
}
