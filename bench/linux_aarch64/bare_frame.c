/* A first frame for bare.s: the registers it loads, then bare_entry, which
 * then runs with sp at the aligned top. */
#include <stdint.h>
#include <string.h>

void bare_entry(void);

void *bare_make(void *top, void (*fn)(void *), void *arg, int with_fp)
{
    uint64_t *sp = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15) - 22;
    memset(sp, 0, 22 * sizeof *sp);
    sp[8] = (uintptr_t)fn;                   /* x19 */
    sp[9] = (uintptr_t)arg;                  /* x20 */
    sp[19] = (uintptr_t)bare_entry;          /* x30 */
    if (with_fp)
        __asm__ volatile("mrs %0, fpcr" : "=r"(sp[20]));
    return sp;
}
