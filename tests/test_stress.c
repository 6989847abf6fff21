/* A million random operations, checked against the model in model.c.
 * The seed is printed; TEST_SEED=N runs the same walk again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model.h"
#include "test.h"

static uint64_t seed, state;
static unsigned long goal;

static size_t choose(size_t n)
{
    uint64_t x = state;              /* xorshift64*: small and reproducible */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state = x;
    return (size_t)(x * 0x2545F4914F6CDD1Du % n);
}

static bool done(void)
{
    return model_operations() >= goal;
}

static void fail(const char *what, unsigned long ops)
{
    test_fail(__FILE__, __LINE__, "%s, after %lu operations (TEST_SEED=%" PRIu64 ")", what, ops,
              seed);
}

TEST(a_million_random_operations_follow_the_model)
{
    static const struct model_source random_walk = {choose, done, fail};
    const char *given = getenv("TEST_SEED");
    seed = given ? strtoull(given, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
    state = seed | 1;
    goal = test_tool() && strcmp(test_tool(), "valgrind") == 0 ? 100000 : 1000000;
    printf("     seed %" PRIu64 " (TEST_SEED=%" PRIu64 " repeats it)\n", seed, seed);
    model_walk(&random_walk);
    CHECK(model_operations() >= goal);
}
