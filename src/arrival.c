/* arrival.c - what runs on every arrival in a context, when anybody needs
 * it: the sanitizer, the C++ runtime, the trace.
 *
 * asm.s calls 'ctx_arrival_hook', when it is not NULL, in _asm_restore_ctx,
 * on the new stack, with 'current' already the context arrived in (see
 * platform.h). Nobody listening, the hook is NULL and a switch pays one
 * compare for all of this.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <string.h>

#include "arrival.h"
#include "context.h"

void (*ctx_arrival_hook)(void);              /* see platform.h */
static void (*listener)(void);               /* the trace's, while it records */
static bool counting;                        /* the stall watcher's, while it watches */
static void (*accountant)(void);             /* account.c's, once it counts */
__thread unsigned long arrival_count;

/* The C++ runtime keeps the exceptions being handled ('catch' blocks not
 * yet left, for 'throw;' and std::current_exception) in one block per
 * thread, which every context of the thread would share. So on arrival,
 * the block is saved into the context that had it and loaded from the one
 * arriving. The runtime is asked for only if the program has it: a C
 * program pays nothing, and the library needs no libstdc++. The block
 * starts with two words, in libstdc++ and libc++abi alike: the caught
 * exceptions and the count of uncaught ones. */
extern void *__cxa_get_globals(void) __attribute__((weak));
static bool cxx_runtime;
static __thread struct s_ctx *cxx_eh_holder;  /* whose state the block holds */

static void cxx_swap_exceptions(void)
{
    struct s_ctx *holder = cxx_eh_holder ? cxx_eh_holder : &main_ctx;
    if (holder == ctx_current)
        return;
    void **block = __cxa_get_globals();
    memcpy(holder->cxx_eh, block, sizeof holder->cxx_eh);
    memcpy(block, ctx_current->cxx_eh, sizeof ctx_current->cxx_eh);
    cxx_eh_holder = ctx_current;
}

/* The sanitizer must hear first, before anything else runs on this
 * stack. */
static void arrived(void)
{
    void (*also)(void) = __atomic_load_n(&listener, __ATOMIC_RELAXED);
    san_switched_in(&ctx_current->san);
    if (counting)
        arrival_count++;
    if (accountant != NULL)
        accountant();
    if (cxx_runtime)
        cxx_swap_exceptions();
    if (also != NULL)
        also();
}

static void update_hook(void)
{
    bool needed = SAN_HEARS_ARRIVALS || cxx_runtime || counting || accountant != NULL ||
                  __atomic_load_n(&listener, __ATOMIC_RELAXED) != NULL;
    __atomic_store_n(&ctx_arrival_hook, needed ? arrived : NULL, __ATOMIC_RELAXED);
}

void arrival_setup(void)
{
    cxx_runtime = __cxa_get_globals != NULL;
    update_hook();
}

void arrival_set_listener(void (*fn)(void))
{
    __atomic_store_n(&listener, fn, __ATOMIC_RELAXED);
    update_hook();
}

void arrival_count_on(void)
{
    counting = true;
    update_hook();
}

void arrival_set_accountant(void (*fn)(void))
{
    accountant = fn;
    update_hook();
}
