/* boost_missing.c - stands in for boost.cpp where Boost.Context's headers
 * are not installed, so the rest of the benchmark still runs. */
#include "bench.h"

const struct backend boost_context = {
    .name = "Boost.Context",
    .missing = "not installed: apt-get install libboost-context-dev",
};
