/* bodies.c - coroutine bodies and drivers that several tests share. Apart
 * from fixtures.c because they need the whole library, which
 * platform_test, linking only a target's assembly, does not have.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#include "coroutine.h"
#include "test.h"

void count_rounds(void *arg)
{
    int *slot = arg;
    for (int i = 0; i < 3; i++) {
        ++*slot;
        yield_ctx();
    }
    ++*slot;
}

static struct {
    coroutine body;
    size_t size;
} in_thread;

static void *announce_and_run(void *unused)
{
    (void)unused;
    sp_ctx c = in_thread.size ? create_ctx_sized(in_thread.body, NULL, in_thread.size)
                              : create_ctx(in_thread.body, NULL);
    fprintf(stderr, "id %zu\n", get_ctx_id_of(c));
    switch_ctx(c);
    return NULL;
}

void run_coroutine_in_thread(coroutine body, size_t size)
{
    pthread_t t;
    in_thread.body = body;
    in_thread.size = size;
    pthread_create(&t, NULL, announce_and_run, NULL);
    pthread_join(t, NULL);
}
