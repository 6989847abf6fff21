/* fuzz_ops.c - a libFuzzer target: the walk of tests/model.c with every
 * choice taken from the fuzzer's input. A difference from the model aborts,
 * and ASan and UBSan watch the rest, so the fuzzer keeps any input that
 * breaks the library. Crashing inputs belong in tests/fuzz/corpus, which
 * ./nob test replays. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

static const uint8_t *input;
static size_t left;

static size_t choose(size_t n)
{
    if (left == 0)
        return 0;
    left--;
    return *input++ % n;
}

static bool done(void)
{
    return left == 0;
}

static void fail(const char *what, unsigned long ops)
{
    fprintf(stderr, "model: %s, after %lu operations\n", what, ops);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct model_source from_input = {choose, done, fail};
    input = data;
    left = size;
    model_walk(&from_input);
    return 0;
}
