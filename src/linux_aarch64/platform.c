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
_Static_assert(offsetof(struct frame, x20) == 0x48, "frame: x20");
_Static_assert(offsetof(struct frame, x21) == 0x50, "frame: x21");
_Static_assert(offsetof(struct frame, x22) == 0x58, "frame: x22");
_Static_assert(offsetof(struct frame, x23) == 0x60, "frame: x23");
_Static_assert(offsetof(struct frame, x24) == 0x68, "frame: x24");
_Static_assert(offsetof(struct frame, x25) == 0x70, "frame: x25");
_Static_assert(offsetof(struct frame, x26) == 0x78, "frame: x26");
_Static_assert(offsetof(struct frame, x27) == 0x80, "frame: x27");
_Static_assert(offsetof(struct frame, x28) == 0x88, "frame: x28");
_Static_assert(offsetof(struct frame, x29) == 0x90, "frame: x29");
_Static_assert(offsetof(struct frame, x30) == 0x98, "frame: x30");
_Static_assert(offsetof(struct frame, fpcr) == 0xa0, "frame: fpcr");
_Static_assert(offsetof(struct frame, unused) == 0xa8, "frame: padding");
_Static_assert(sizeof(struct frame) == 0xb0, "frame: size");

const struct platform_slot platform_frame[] = {
    {offsetof(struct frame, d), 8, "d8", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 8, 8, "d9", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 16, 8, "d10", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 24, 8, "d11", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 32, 8, "d12", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 40, 8, "d13", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 48, 8, "d14", "callee-saved, floating point"},
    {offsetof(struct frame, d) + 56, 8, "d15", "callee-saved, floating point"},
    PLATFORM_SLOT(x19, "callee-saved; first run: the function"),
    PLATFORM_SLOT(x20, "callee-saved; first run: the argument"),
    PLATFORM_SLOT(x21, "callee-saved; first run: the finalizer"),
    PLATFORM_SLOT(x22, "callee-saved"), PLATFORM_SLOT(x23, "callee-saved"), PLATFORM_SLOT(x24, "callee-saved"),
    PLATFORM_SLOT(x25, "callee-saved"), PLATFORM_SLOT(x26, "callee-saved"), PLATFORM_SLOT(x27, "callee-saved"),
    PLATFORM_SLOT(x28, "callee-saved"),
    PLATFORM_SLOT(x29, "frame pointer"),
    PLATFORM_SLOT(x30, "where it resumes"),
    PLATFORM_SLOT(fpcr, "rounding mode and traps"),
    PLATFORM_END,
};

/* The frame sits right under the 16-aligned top, so _asm_ctx_start runs
 * with sp == top. A new coroutine starts with the FPCR of the code that
 * created it, as a new thread starts with its parent's. */
void *platform_setup_stack(void *top, coroutine fn, void *arg, finalizer finish)
{
    struct frame *f = PLATFORM_FIRST_FRAME(top);
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
