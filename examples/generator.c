/* generator.c - a coroutine that hands out values one at a time.
 *
 * The generator computes the next Fibonacci number only when asked: it
 * leaves the value in a slot and switches back to whoever asked. Its loop
 * variables live on its own stack between calls, which is the point: no
 * state machine, just a loop that stops in the middle.
 */
#include <stdio.h>

#include "coroutine.h"

struct generator {
    sp_ctx ctx;
    sp_ctx asker;           /* who to hand the value to */
    unsigned long value;
};

static void fibonacci(void *arg)
{
    struct generator *g = (struct generator *)arg;   /* C++ wants the cast */
    unsigned long a = 0, b = 1;
    for (;;) {
        g->value = a;
        switch_ctx(g->asker);           /* hand it over; resume when asked */
        unsigned long next = a + b;
        a = b;
        b = next;
    }
}

/* Ask the generator for its next value. */
static unsigned long next_value(struct generator *g)
{
    g->asker = get_ctx_ptr();
    switch_ctx(g->ctx);
    return g->value;
}

int main(void)
{
    struct generator g = {NULL, NULL, 0};
    g.ctx = create_ctx(fibonacci, &g);
    for (int i = 0; i < 10; i++)
        printf("fibonacci %d = %lu\n", i, next_value(&g));
    destroy_ctx(g.ctx);                 /* suspended forever: just free it */
    printf("done\n");
    return 0;
}
