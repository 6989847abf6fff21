/* process.c - Linux x86_64: what the target says about the running
 * process: the stack pointer in a signal's context, for the overflow
 * handler, and whether coroutines can work here at all.
 */
#define _GNU_SOURCE              /* REG_RSP */
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "../platform.h"

#define ARCH_SHSTK_STATUS 0x5005   /* arch_prctl: which shadow-stack features are on */
#define ARCH_SHSTK_SHSTK 1

void *platform_signal_sp(const void *ucontext)
{
    return (void *)((const ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RSP];
}

void *platform_signal_pc(const void *ucontext)
{
    return (void *)((const ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
}

uint64_t platform_ticks(void)
{
    return __builtin_ia32_rdtsc();
}

/* A switch jumps between stacks while the one shadow stack of the thread
 * stays where it was: the next 'ret' would not match it and the process
 * would die. Kernels without shadow stacks refuse the request (EINVAL). */
const char *platform_unsupported(void)
{
    unsigned long features = 0;
    if (syscall(SYS_arch_prctl, ARCH_SHSTK_STATUS, &features) == 0 && (features & ARCH_SHSTK_SHSTK))
        return "shadow stacks (Intel CET) are on in this process; coroutines cannot "
               "switch stacks under them";
    return NULL;
}
