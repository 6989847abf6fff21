/* model.c - a walk through the API checked against a model of it; see
 * model.h. */
#include <stdbool.h>
#include <stddef.h>

#include "coroutine.h"
#include "model.h"

enum { MAX_LIVE = 48, MAX_FINISHED = 64 };

/* The rotation, as the library must have it: ring[0] is main (NULL), then
 * newest to oldest; after ring[n - 1] comes main again. */
static struct {
    sp_ctx ring[MAX_LIVE + 1];
    size_t n;
    sp_ctx finished[MAX_FINISHED];   /* returned, not yet destroyed */
    size_t n_finished;
    sp_ctx running;                  /* NULL: main */
    sp_ctx expected;                 /* who must run after this switch */
    unsigned long ops;
    const struct model_source *source;
} model;

static size_t pick(size_t n)
{
    return model.source->choose(n);
}

static void fail(const char *what)
{
    model.source->fail(what, model.ops);
}

static size_t position(sp_ctx ctx)
{
    for (size_t i = 0; i < model.n; i++)
        if (model.ring[i] == ctx)
            return i;
    fail("the model lost a context");
    return 0;
}

static sp_ctx successor(sp_ctx ctx)
{
    return model.ring[(position(ctx) + 1) % model.n];
}

static void leave_ring(sp_ctx ctx)
{
    size_t i = position(ctx);
    for (; i + 1 < model.n; i++)
        model.ring[i] = model.ring[i + 1];
    model.n--;
}

/* Every context calls this as soon as it runs. */
static void arrive(void)
{
    sp_ctx me = get_ctx_ptr();
    if (me != model.expected)
        fail("the wrong context runs");
    model.running = me;
}

static void body(void *arg);

static void op_create(void)
{
    if (model.n > MAX_LIVE)
        return;
    sp_ctx c = create_ctx_sized(body, NULL, 64 * 1024);
    if (c == NULL)
        fail("create_ctx failed");
    for (size_t i = model.n; i > 1; i--)         /* newest: right after main */
        model.ring[i] = model.ring[i - 1];
    model.ring[1] = c;
    model.n++;
}

static void op_yield(void)
{
    model.expected = successor(model.running);
    yield_ctx();
    arrive();
}

static void op_switch(void)
{
    model.expected = model.ring[pick(model.n)];
    switch_ctx(model.expected);
    arrive();
}

/* Destroy a finished coroutine, or a suspended one (never the running one,
 * never main). */
static void op_destroy(void)
{
    size_t choices = model.n_finished + model.n - 1;
    if (choices == 0)
        return;
    size_t k = pick(choices);
    if (k < model.n_finished) {
        destroy_ctx(model.finished[k]);
        model.finished[k] = model.finished[--model.n_finished];
        return;
    }
    sp_ctx victim = model.ring[1 + (k - model.n_finished)];
    if (victim == model.running)
        return;
    destroy_ctx(victim);
    leave_ring(victim);
}

static void op_query(void)
{
    if (model.n_finished > 0 && !is_ctx_finished(model.finished[pick(model.n_finished)]))
        fail("a finished coroutine says it is not");
    if (model.n > 1 && is_ctx_finished(model.ring[1 + pick(model.n - 1)]))
        fail("a live coroutine says it is finished");
    if (get_ctx_ptr() != model.running)
        fail("get_ctx_ptr is not the running context");
}

/* One operation by whoever runs; true when a coroutine should return. */
static bool act(bool in_coroutine)
{
    model.ops++;
    if (model.source->done()) {                   /* done: back to main */
        if (in_coroutine) {
            model.expected = NULL;
            switch_ctx(NULL);
            arrive();
        }
        return false;
    }
    switch (pick(20)) {
    case 0: case 1: case 2:
        op_create();
        return false;
    case 3: case 4: case 5: case 6: case 7: case 8: case 9:
        op_yield();
        return false;
    case 10: case 11: case 12: case 13:
        op_switch();
        return false;
    case 14: case 15:
        op_destroy();
        return false;
    case 16:
        op_query();
        return false;
    default:
        return in_coroutine && model.n_finished < MAX_FINISHED;
    }
}

static void body(void *arg)
{
    (void)arg;
    arrive();
    while (!act(true))
        continue;
    /* returning: the library passes control on as a yield would */
    sp_ctx me = get_ctx_ptr();
    model.expected = successor(me);
    leave_ring(me);
    model.finished[model.n_finished++] = me;
}

void model_walk(const struct model_source *source)
{
    model.n = 1;                     /* main */
    model.n_finished = 0;
    model.running = model.expected = NULL;
    model.ops = 0;
    model.source = source;
    while (!source->done())
        act(false);
    if (get_ctx_ptr() != NULL)
        fail("the walk did not end in main");
    while (model.n > 1) {
        destroy_ctx(model.ring[1]);
        leave_ring(model.ring[1]);
    }
    while (model.n_finished > 0)
        destroy_ctx(model.finished[--model.n_finished]);
}

unsigned long model_operations(void)
{
    return model.ops;
}
