/* core_only.c - a program that uses only coroutine.h: ./nob test links it
 * with the static library and checks that none of the runtime came along. */
#include "coroutine.h"

static void body(void *arg)
{
    (void)arg;
    yield_ctx();
}

int main(void)
{
    sp_ctx c = create_ctx(body, 0);
    yield_ctx();
    yield_ctx();
    destroy_ctx(c);
    return 0;
}
