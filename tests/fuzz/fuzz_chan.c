/* fuzz_chan.c - libFuzzer over channel operations: the random walk of
 * tests/chan_walk.c, every choice of which (send or select, which
 * channel, which deadline, whom to cancel or destroy) taken from the
 * input, checked for conservation after each run. */
#include <stdio.h>
#include <stdlib.h>

#include "../chan_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    long total;
    const char *failure = chan_walk(0x9E3779B97F4A7C15ULL, data, len, 2000, &total);
    if (failure != NULL) {
        fprintf(stderr, "fuzz_chan: %s\n", failure);
        abort();
    }
    return 0;
}
