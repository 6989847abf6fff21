/* Compiled, not run, as strict C99 and as C++: the public header must
 * stand alone and declare the API with the documented types. */
#include "coroutine.h"

static void body(void *arg)
{
    (void)arg;
}

int main(void)
{
    coroutine fn = body;
    sp_ctx (*create)(coroutine, void *) = create_ctx;
    sp_ctx (*create_sized)(coroutine, void *, size_t) = create_ctx_sized;
    void (*destroy)(sp_ctx) = destroy_ctx;
    bool (*finished)(sp_ctx) = is_ctx_finished;
    void (*switcher)(sp_ctx) = switch_ctx;
    void (*yielder)(void) = yield_ctx;
    size_t (*id)(void) = get_ctx_id;
    size_t (*id_of)(sp_ctx) = get_ctx_id_of;
    sp_ctx (*self)(void) = get_ctx_ptr;
    size_t (*used)(sp_ctx) = get_ctx_stack_used;
    int (*trace)(const char *) = trace_ctx;
    size_t (*frame)(sp_ctx, struct ctx_slot *, size_t) = get_ctx_frame;
    struct ctx_slot slots[CTX_FRAME_MAX];
    size_t capacity = STACK_CAPACITY + STACK_CAPACITY_PAGES + COROUTINE_VERSION_MAJOR;
    const char *version = COROUTINE_VERSION;
    (void)fn, (void)create, (void)create_sized, (void)destroy, (void)finished;
    (void)switcher, (void)yielder, (void)id, (void)id_of, (void)self, (void)used,
        (void)trace, (void)frame, (void)slots, (void)version;
    return capacity == 0;
}
