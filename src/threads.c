/* threads.c - the list of threads that have coroutines, so that a dump
 * signal can be passed to each (dump.c) and the stall watcher can look at
 * each (stall.c). A fixed array, read without a lock: a thread's entry is
 * published with its 'used' flag last, and what it points at lives as
 * long as the thread. */
#define _GNU_SOURCE
#include <unistd.h>

#include "arrival.h"
#include "threads.h"

struct thread_view threads[THREADS_MAX];
__thread bool threads_idle;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int mine = -1;

int threads_join(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < THREADS_MAX && mine < 0; i++)
        if (!__atomic_load_n(&threads[i].used, __ATOMIC_ACQUIRE)) {
            threads[i] = (struct thread_view){pthread_self(), (int)gettid(), false,
                                              &arrival_count, &ctx_current, &threads_idle};
            __atomic_store_n(&threads[i].used, true, __ATOMIC_RELEASE);
            mine = i;
        }
    pthread_mutex_unlock(&lock);
    return mine;
}

void threads_leave(void)
{
    if (mine < 0)
        return;
    pthread_mutex_lock(&lock);
    __atomic_store_n(&threads[mine].used, false, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    mine = -1;
}

int threads_mine(void)
{
    return mine;
}
