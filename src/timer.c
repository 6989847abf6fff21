/* timer.c - time: the clock (co_now), real or virtual, and the deadline
 * heap, which waiting context times out first.
 *
 * A 4-ary heap in an array, as Go's timers are: a parent's children sit
 * at 4i+1 .. 4i+4, so the tree is half as deep as a binary one and a
 * sift-down compares four neighbours. Adding and taking the first are
 * O(log n) and touch only the array, which matters when 10,000 sleepers
 * wake ten times a second: a heap that kept each context's index current
 * would write into a context (a cache miss) at every level it moved.
 *
 * So a wait that ends early (its descriptor was ready, it was cancelled)
 * does not leave the heap: its entry goes stale, recognised because the
 * context's wait.timer no longer holds the entry's 'order', and is dropped
 * when it reaches the top. When stale entries outnumber live ones, the
 * heap is rebuilt without them, so it never holds more than twice what
 * waits. A context's memory is never freed (context.h), so reading a
 * stale entry's context is always safe.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coroutine_wait.h"
#include "timer.h"

/* Each thread's clock: the system's, or virtual (coroutine_wait.h) once
 * COROUTINE_VIRTUAL_TIME=1 or co_clock_virtual() said so. Asked at the
 * thread's first reading. */
enum { CLOCK_UNASKED, CLOCK_REAL, CLOCK_VIRTUAL };
static __thread struct {
    int kind;
    int64_t now;                 /* while virtual */
} clock_of_thread;

int64_t timer_real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * CO_SEC + ts.tv_nsec;
}

void timer_go_virtual(void)
{
    clock_of_thread.kind = CLOCK_VIRTUAL;
    clock_of_thread.now = TIMER_VIRTUAL_START;
}

static void decide_clock(void)
{
    const char *v = getenv("COROUTINE_VIRTUAL_TIME");
    if (v != NULL && strcmp(v, "1") == 0)
        timer_go_virtual();
    else
        clock_of_thread.kind = CLOCK_REAL;
}

bool timer_virtual(void)
{
    if (clock_of_thread.kind == CLOCK_UNASKED)
        decide_clock();
    return clock_of_thread.kind == CLOCK_VIRTUAL;
}

void timer_pass(int64_t to)
{
    if (to > clock_of_thread.now)
        clock_of_thread.now = to;
}

/* The clock every deadline is read on. */
int64_t co_now(void)
{
    if (clock_of_thread.kind != CLOCK_REAL && timer_virtual())
        return clock_of_thread.now;
    return timer_real_now();
}

static bool earlier(const struct timer *a, const struct timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->order < b->order;
}

static bool live(const struct timer *e)
{
    return e->ctx->wait.timer == e->order;
}

static void sift_up(struct timer *items, size_t i, struct timer e)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (!earlier(&e, &items[parent]))
            break;
        items[i] = items[parent];
        i = parent;
    }
    items[i] = e;
}

static void sift_down(struct timer *items, size_t n, size_t i, struct timer e)
{
    for (;;) {
        size_t first = 4 * i + 1, best = first;
        if (first >= n)
            break;
        for (size_t c = first + 1; c < first + 4 && c < n; c++)
            if (earlier(&items[c], &items[best]))
                best = c;
        if (!earlier(&items[best], &e))
            break;
        items[i] = items[best];
        i = best;
    }
    items[i] = e;
}

static void pop(struct timers *t)
{
    struct timer last = t->heap.items[--t->heap.len];
    if (t->heap.len > 0)
        sift_down(t->heap.items, t->heap.len, 0, last);
}

/* Keep the live entries and heap them again, bottom up: O(n). */
static void compact(struct timers *t)
{
    struct timer *items = t->heap.items;
    size_t n = 0;
    for (size_t i = 0; i < t->heap.len; i++)
        if (live(&items[i]))
            items[n++] = items[i];
    t->heap.len = n;
    t->stale = 0;
    for (size_t i = n / 4 + 1; i-- > 0;)
        if (i < n)
            sift_down(items, n, i, items[i]);
}

int timer_add(struct timers *t, struct s_ctx *ctx)
{
    struct timer e = {ctx->wait.deadline, ++t->serial, ctx};
    if (timer_array_push(&t->heap, e) != 0)
        return -1;
    sift_up(t->heap.items, t->heap.len - 1, e);
    ctx->wait.timer = e.order;
    return 0;
}

void timer_remove(struct timers *t, struct s_ctx *ctx)
{
    ctx->wait.timer = NO_TIMER;
    if (++t->stale > 64 && t->stale * 2 > t->heap.len)
        compact(t);
}

struct s_ctx *timer_first(struct timers *t, int64_t now, bool *due)
{
    while (t->heap.len > 0 && !live(&t->heap.items[0])) {
        pop(t);
        t->stale--;
    }
    if (t->heap.len == 0)
        return NULL;
    struct timer first = t->heap.items[0];
    *due = first.deadline <= now;
    if (*due) {
        pop(t);
        first.ctx->wait.timer = NO_TIMER;
    }
    return first.ctx;
}

void timer_free(struct timers *t)
{
    timer_array_free(&t->heap);
    *t = (struct timers){0};
}
