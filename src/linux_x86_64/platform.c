/* platform.c - Linux x86_64: the first frame of a new coroutine.
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
    uint32_t mxcsr;        /* SSE control/status register */
    uint16_t x87_cw;       /* x87 control word */
    uint16_t unused;
    uint64_t r15;
    uint64_t r14;          /* first run: the finalizer */
    uint64_t r13;          /* first run: the argument */
    uint64_t r12;          /* first run: the coroutine function */
    uint64_t rbx;
    uint64_t rbp;
    uint64_t rip;          /* return address: where the context resumes */
};

/* asm.s pushes and pops at these offsets; keep the two in step. */
_Static_assert(offsetof(struct frame, mxcsr) == 0x00, "frame: mxcsr");
_Static_assert(offsetof(struct frame, x87_cw) == 0x04, "frame: x87_cw");
_Static_assert(offsetof(struct frame, r15) == 0x08, "frame: r15");
_Static_assert(offsetof(struct frame, r14) == 0x10, "frame: r14");
_Static_assert(offsetof(struct frame, r13) == 0x18, "frame: r13");
_Static_assert(offsetof(struct frame, r12) == 0x20, "frame: r12");
_Static_assert(offsetof(struct frame, rbx) == 0x28, "frame: rbx");
_Static_assert(offsetof(struct frame, rbp) == 0x30, "frame: rbp");
_Static_assert(offsetof(struct frame, rip) == 0x38, "frame: rip");
_Static_assert(sizeof(struct frame) == 0x40, "frame: size");

const struct platform_slot platform_frame[] = {
    PLATFORM_SLOT(mxcsr, "SSE rounding mode and exception masks"),
    PLATFORM_SLOT(x87_cw, "x87 rounding and precision"),
    PLATFORM_SLOT(r15, "callee-saved"),
    PLATFORM_SLOT(r14, "callee-saved; first run: the finalizer"),
    PLATFORM_SLOT(r13, "callee-saved; first run: the argument"),
    PLATFORM_SLOT(r12, "callee-saved; first run: the function"),
    PLATFORM_SLOT(rbx, "callee-saved"),
    PLATFORM_SLOT(rbp, "callee-saved, frame pointer"),
    PLATFORM_SLOT(rip, "where it resumes"),
    PLATFORM_END,
};

/* The frame sits right under the 16-aligned top, so _asm_ctx_start runs
 * with rsp == top: aligned for the calls it makes. A new coroutine starts
 * with the control words of the code that created it, as a new thread
 * starts with those of its parent. */
void *platform_setup_stack(void *top, coroutine fn, void *arg, finalizer finish)
{
    struct frame *f = PLATFORM_FIRST_FRAME(top);

    *f = (struct frame){
        .r12 = (uintptr_t)fn,
        .r13 = (uintptr_t)arg,
        .r14 = (uintptr_t)finish,
        .rip = (uintptr_t)_asm_ctx_start,
    };
    __asm__ volatile("stmxcsr %0" : "=m"(f->mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(f->x87_cw));
    return f;
}
