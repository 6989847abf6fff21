/* The program tests/test_gdb.sh debugs: one coroutine of each state. */
#include "coroutine.h"

static volatile int sink;

__attribute__((noinline)) static void deep_wait(int depth)
{
    if (depth > 0) {
        deep_wait(depth - 1);
        sink++;
        return;
    }
    yield_ctx();
}

static void worker(void *arg)
{
    (void)arg;
    deep_wait(3);
}

static void quick(void *arg)
{
    (void)arg;
}

/* gdb stops here. */
__attribute__((noinline)) void stop_here(void)
{
    __asm__ volatile("");
}

int main(void)
{
    sp_ctx done = create_ctx(quick, NULL);      /* 1: finished */
    sp_ctx waiting = create_ctx(worker, NULL);  /* 2: suspended in deep_wait */
    sp_ctx idle = create_ctx(worker, NULL);     /* 3: not started */
    switch_ctx(done);
    switch_ctx(waiting);
    stop_here();
    destroy_ctx(done);
    destroy_ctx(waiting);
    destroy_ctx(idle);
    return 0;
}
