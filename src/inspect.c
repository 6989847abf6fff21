/* inspect.c - looking inside, for learners and tuning: a suspended
 * context's saved frame, slot by slot (from the target's description of
 * it, platform_frame), and how deep a stack has been used.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "context.h"

/* Untouched pages are not resident and read as zero, so the deepest use is
 * the lowest word that is not zero, on a resident page: mincore finds those
 * without reading the rest. A pooled stack keeps what earlier coroutines
 * left on it until its memory is given back, so it may say more. */
SAN_READS_ANY_STACK static size_t deepest_use(const struct stack *s)
{
    enum { BATCH = 4096 };
    unsigned char resident[BATCH];
    const char *bottom = stack_bottom(s), *top = stack_top(s);
    size_t page = stack_page;
    for (const char *p = bottom; p < top; p += BATCH * page) {
        size_t pages = (size_t)(top - p) / page < BATCH ? (size_t)(top - p) / page : BATCH;
        if (mincore((void *)p, pages * page, resident) != 0)
            return 0;
        for (size_t i = 0; i < pages; i++) {
            if (!(resident[i] & 1))
                continue;
            const uint64_t *w = (const uint64_t *)(p + i * page);
            for (size_t k = 0; k < page / sizeof *w; k++)
                if (w[k] != 0)
                    return (size_t)(top - (const char *)&w[k]);
        }
    }
    return 0;
}

static size_t stack_used(const struct stack *s)
{
    san_quiet(true);
    size_t used = deepest_use(s);
    san_quiet(false);
    return used;
}


/* The routines of ours a frame can point at, named for someone reading it:
 * they are hidden, so no symbol table would tell. */
static const char *routine_at(unsigned long value)
{
    if (value == (unsigned long)(uintptr_t)_asm_ctx_start)
        return "_asm_ctx_start";
    if (value == (unsigned long)(uintptr_t)coroutine_finish)
        return "coroutine_finish";
    return NULL;
}

/* A slot's value, read at its own size: the control words are packed. */
static unsigned long slot_value(const char *at, unsigned size)
{
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    if (size == 8)
        return memcpy(&v64, at, 8), (unsigned long)v64;
    if (size == 4)
        return memcpy(&v32, at, 4), v32;
    return memcpy(&v16, at, 2), v16;
}

size_t get_ctx_frame(sp_ctx handle, struct ctx_slot *slots, size_t max)
{
    if (handle == NULL)
        return 0;
    struct s_ctx *ctx = ctx_of(handle, "get_ctx_frame");
    if (ctx == ctx_current || ctx->state != CTX_LIVE)
        return 0;
    size_t n = 0;
    for (; platform_frame[n].name != NULL; n++)
        if (n < max) {
            const char *at = (const char *)ctx->sp + platform_frame[n].offset;
            unsigned long value = slot_value(at, platform_frame[n].size);
            slots[n] = (struct ctx_slot){at, value, platform_frame[n].name,
                                         platform_frame[n].meaning, routine_at(value)};
        }
    return n;
}

size_t get_ctx_stack_used(sp_ctx handle)
{
    if (handle == NULL)
        return 0;
    struct s_ctx *ctx = ctx_of(handle, "get_ctx_stack_used");
    return ctx->stack.base != NULL ? stack_used(&ctx->stack) : 0;
}
