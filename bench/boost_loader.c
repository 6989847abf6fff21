/* boost_loader.c - Boost.Context's workloads, loaded from boost.so beside
 * the benchmark when it was built (Boost's headers installed, a native
 * build).
 *
 * Boost.Context is a C++ library, and a program that has the C++ runtime
 * gets each coroutine's C++ exception state swapped on every switch (see
 * src/arrival.c). Loaded late, with dlopen, Boost brings
 * the runtime in without making the benchmark a C++ program: our switch is
 * measured as a C program gets it, Boost's as Boost's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct backend boost_context = {
    .name = "Boost.Context",
    .missing = "not built: apt-get install libboost-context-dev, natively",
};

__attribute__((constructor)) static void load_boost(void)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
    if (n <= 0)
        return;
    path[n] = '\0';
    strcpy(strrchr(path, '/') + 1, "boost.so");
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const struct backend *loaded = so ? dlsym(so, "boost_context_workloads") : NULL;
    if (loaded != NULL)
        boost_context = *loaded;
}
