/* A first frame for bare.s: the registers it pops, then bare_entry, which
 * then runs with rsp at the aligned top, as a call needs. */
#include <stdint.h>
#include <string.h>

void bare_entry(void);

void *bare_make(void *top, void (*fn)(void *), void *arg, int with_fp)
{
    uint64_t *sp = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15) - 7;
    uint64_t frame[7] = {0, 0, (uintptr_t)arg, (uintptr_t)fn, 0, 0, (uintptr_t)bare_entry};
    memcpy(sp, frame, sizeof frame);          /* r15 r14 r13 r12 rbx rbp rip */
    if (with_fp) {
        sp--;                                  /* MXCSR and x87 CW of a fresh FPU */
        *sp = 0x1f80 | (uint64_t)0x037f << 32;
    }
    return sp;
}
