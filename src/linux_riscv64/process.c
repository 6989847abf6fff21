/* process.c - Linux riscv64: what the target says about the running
 * process: the stack pointer in a signal's context, for the overflow
 * handler, and whether coroutines can work here at all.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "../platform.h"

void *platform_signal_sp(const void *ucontext)
{
    return (void *)((const ucontext_t *)ucontext)->uc_mcontext.__gregs[REG_SP];
}

void *platform_signal_pc(const void *ucontext)
{
    return (void *)((const ucontext_t *)ucontext)->uc_mcontext.__gregs[REG_PC];
}

uint64_t platform_ticks(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

/* Nothing here prevents switching stacks yet (no shadow stacks in use by
 * Linux on this target). */
const char *platform_unsupported(void)
{
    return NULL;
}
