/* The program tests/test_gdb.sh debugs: one coroutine of each state,
 * and four waiting for different things. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include <stdlib.h>

#include "coroutine_chan.h"

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

static co_chan *never_sent;

static void chan_receiver(void *arg)
{
    int v;
    (void)arg;
    co_chan_recv(never_sent, &v, CO_FOREVER);
}

static void block_an_hour(void *arg)
{
    (void)arg;
    sleep(3600);                  /* the process ends first */
}

static void offloader(void *arg)
{
    (void)arg;
    co_offload(block_an_hour, malloc(1), free, CO_FOREVER);
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
    never_sent = co_chan_create(sizeof(int), 0);
    sp_ctx receiving = create_ctx(chan_receiver, NULL);   /* 4: waits on a channel */
    sp_ctx offloading = create_ctx(offloader, NULL);      /* 5: waits for a worker */
    switch_ctx(receiving);
    switch_ctx(offloading);
    sp_ctx done = create_ctx(quick, NULL);      /* 6: finished */
    sp_ctx waiting = create_ctx(worker, NULL);  /* 7: suspended in deep_wait */
    sp_ctx idle = create_ctx(worker, NULL);     /* 8: not started */
    switch_ctx(done);
    switch_ctx(waiting);
    stop_here();
    destroy_ctx(receiving);
    destroy_ctx(offloading);
    co_chan_destroy(never_sent);
    destroy_ctx(done);
    destroy_ctx(waiting);
    destroy_ctx(idle);
    destroy_ctx(reading);
    destroy_ctx(sleeping);
    return 0;
}
