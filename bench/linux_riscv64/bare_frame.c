/* A first frame for bare.s: the registers it loads, then bare_entry, which
 * then runs with sp at the aligned top. */
#include <stdint.h>
#include <string.h>

void bare_entry(void);

void *bare_make(void *top, void (*fn)(void *), void *arg, int with_fp)
{
    uint64_t *sp = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15) - 26;
    memset(sp, 0, 26 * sizeof *sp);
    sp[13] = (uintptr_t)fn;                  /* s1 */
    sp[14] = (uintptr_t)arg;                 /* s2 */
    sp[24] = (uintptr_t)bare_entry;          /* ra */
    if (with_fp)
        __asm__ volatile("frrm %0" : "=r"(sp[25]));
    return sp;
}
