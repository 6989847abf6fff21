/* The program tests/test_gdb.sh debugs: one coroutine of each state,
 * and two waiting for different things. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "coroutine_wait.h"

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

static int pipe_fds[2];

static void reader(void *arg)
{
    char byte;
    (void)arg;
    co_read(pipe_fds[0], &byte, 1, co_now() + 3600 * CO_SEC);
}

static void sleeper(void *arg)
{
    (void)arg;
    co_sleep(CO_FOREVER);
}

/* gdb stops here. */
__attribute__((noinline)) void stop_here(void)
{
    __asm__ volatile("");
}

int main(void)
{
    if (pipe2(pipe_fds, O_NONBLOCK) != 0)
        return 1;
    sp_ctx reading = create_ctx(reader, NULL);  /* 1: waits for the pipe, an hour */
    sp_ctx sleeping = create_ctx(sleeper, NULL);/* 2: sleeps for ever */
    switch_ctx(reading);                        /* its wait makes the poller: 3 */
    switch_ctx(sleeping);
    sp_ctx done = create_ctx(quick, NULL);      /* 4: finished */
    sp_ctx waiting = create_ctx(worker, NULL);  /* 5: suspended in deep_wait */
    sp_ctx idle = create_ctx(worker, NULL);     /* 6: not started */
    switch_ctx(done);
    switch_ctx(waiting);
    stop_here();
    destroy_ctx(done);
    destroy_ctx(waiting);
    destroy_ctx(idle);
    destroy_ctx(reading);
    destroy_ctx(sleeping);
    return 0;
}
