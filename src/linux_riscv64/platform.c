/* platform.c - Linux riscv64: the first frame of a new coroutine.
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
    uint64_t fs[12];       /* fs0-fs11 */
    uint64_t s0;           /* frame pointer: 0 ends the chain */
    uint64_t s1;           /* first run: the coroutine function */
    uint64_t s2;           /* first run: the argument */
    uint64_t s3;           /* first run: the finalizer */
    uint64_t s4, s5, s6, s7, s8, s9, s10, s11;
    uint64_t ra;           /* where the context resumes */
    uint64_t frm;          /* rounding mode */
};

/* asm.s stores and loads at these offsets; keep the two in step. */
_Static_assert(offsetof(struct frame, fs) == 0x00, "frame: fs0");
_Static_assert(offsetof(struct frame, s0) == 0x60, "frame: s0");
_Static_assert(offsetof(struct frame, s1) == 0x68, "frame: s1");
_Static_assert(offsetof(struct frame, s2) == 0x70, "frame: s2");
_Static_assert(offsetof(struct frame, s3) == 0x78, "frame: s3");
_Static_assert(offsetof(struct frame, s4) == 0x80, "frame: s4");
_Static_assert(offsetof(struct frame, s5) == 0x88, "frame: s5");
_Static_assert(offsetof(struct frame, s6) == 0x90, "frame: s6");
_Static_assert(offsetof(struct frame, s7) == 0x98, "frame: s7");
_Static_assert(offsetof(struct frame, s8) == 0xa0, "frame: s8");
_Static_assert(offsetof(struct frame, s9) == 0xa8, "frame: s9");
_Static_assert(offsetof(struct frame, s10) == 0xb0, "frame: s10");
_Static_assert(offsetof(struct frame, s11) == 0xb8, "frame: s11");
_Static_assert(offsetof(struct frame, ra) == 0xc0, "frame: ra");
_Static_assert(offsetof(struct frame, frm) == 0xc8, "frame: frm");
_Static_assert(sizeof(struct frame) == 0xd0, "frame: size");

const struct platform_slot platform_frame[] = {
    {offsetof(struct frame, fs), 8, "fs0..fs11", "callee-saved, floating point (12 words)"},
    PLATFORM_SLOT(s0, "callee-saved, frame pointer"),
    PLATFORM_SLOT(s1, "callee-saved; first run: the function"),
    PLATFORM_SLOT(s2, "callee-saved; first run: the argument"),
    PLATFORM_SLOT(s3, "callee-saved; first run: the finalizer"),
    PLATFORM_SLOT(s4, "callee-saved"), PLATFORM_SLOT(s5, "callee-saved"), PLATFORM_SLOT(s6, "callee-saved"),
    PLATFORM_SLOT(s7, "callee-saved"), PLATFORM_SLOT(s8, "callee-saved"), PLATFORM_SLOT(s9, "callee-saved"),
    PLATFORM_SLOT(s10, "callee-saved"), PLATFORM_SLOT(s11, "callee-saved"),
    PLATFORM_SLOT(ra, "where it resumes"),
    PLATFORM_SLOT(frm, "rounding mode"),
    PLATFORM_END,
};

/* The frame sits right under the 16-aligned top, so _asm_ctx_start runs
 * with sp == top. A new coroutine starts with the rounding mode of the
 * code that created it, as a new thread starts with its parent's. */
void *platform_setup_stack(void *top, coroutine fn, void *arg, finalizer finish)
{
    struct frame *f = PLATFORM_FIRST_FRAME(top);
    uint64_t frm;

    __asm__ volatile("frrm %0" : "=r"(frm));
    *f = (struct frame){
        .s1 = (uintptr_t)fn,
        .s2 = (uintptr_t)arg,
        .s3 = (uintptr_t)finish,
        .ra = (uintptr_t)_asm_ctx_start,
        .frm = frm,
    };
    return f;
}
