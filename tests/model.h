/* model.h - a walk through the API, checked against a model of it.
 *
 * Whoever runs (main or a coroutine) has the source choose the next
 * operation: create (from main or from inside a coroutine), yield, switch
 * to a live context (main and itself included), destroy a suspended or
 * finished coroutine, return from its function, or ask about a coroutine.
 * The model knows the rotation, so it says who must run next, and each
 * context checks, as soon as it runs, that it is that one; it also knows
 * what is_ctx_finished must say. Any difference goes to source->fail.
 *
 * Used by tests/test_stress.c (random choices) and tests/fuzz (choices
 * from the fuzzer's input).
 */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>
#include <stddef.h>

struct model_source {
    size_t (*choose)(size_t n);                     /* a number below n */
    bool (*done)(void);                             /* walk long enough? */
    void (*fail)(const char *what, unsigned long ops);  /* must not return */
};

/* Walk until source->done(), back in main; then destroy everything. */
void model_walk(const struct model_source *source);

/* Operations so far in the current or last walk. */
unsigned long model_operations(void);

#endif
