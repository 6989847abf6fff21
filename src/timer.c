/* timer.c - the deadline heap: which waiting context times out first.
 *
 * A 4-ary heap in an array, as Go's timers are: a parent's children sit
 * at 4i+1 .. 4i+4, so the tree is half as deep as a binary one and a
 * sift-down reads one cache line of children. Adding and removing are
 * O(log n); each context remembers its index, so a wait that ends early
 * leaves the heap without a search.
 */
#define _GNU_SOURCE
#include "timer.h"

static bool earlier(const struct timer *a, const struct timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->order < b->order;
}

static void place(struct timer_heap *h, size_t i, struct timer t)
{
    h->items[i] = t;
    t.ctx->wait.timer = i;
}

static void sift_up(struct timer_heap *h, size_t i, struct timer t)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (!earlier(&t, &h->items[parent]))
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct timer_heap *h, size_t i, struct timer t)
{
    const struct timer *items = h->items;
    size_t n = h->len;
    for (;;) {
        size_t first = 4 * i + 1, best = first;
        if (first >= n)
            break;
        for (size_t c = first + 1; c < first + 4 && c < n; c++)
            if (earlier(&items[c], &items[best]))
                best = c;
        if (!earlier(&items[best], &t))
            break;
        place(h, i, items[best]);
        i = best;
    }
    place(h, i, t);
}

int timer_add(struct timer_heap *h, struct s_ctx *ctx, uint64_t order)
{
    struct timer t = {ctx->wait.deadline, order, ctx};
    if (timer_heap_push(h, t) != 0)
        return -1;
    sift_up(h, h->len - 1, t);
    return 0;
}

void timer_remove(struct timer_heap *h, struct s_ctx *ctx)
{
    size_t i = ctx->wait.timer;
    struct timer last = h->items[--h->len];
    ctx->wait.timer = NO_TIMER;
    if (last.ctx == ctx)
        return;
    if (i > 0 && earlier(&last, &h->items[(i - 1) / 4]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

struct s_ctx *timer_first(const struct timer_heap *h)
{
    return h->len ? h->items[0].ctx : NULL;
}
