// cxx_exceptions.cpp - in a C++ program, each coroutine has its own
// exceptions being handled: 'throw;' and std::current_exception() inside a
// catch block see that coroutine's exception, even when others throw and
// catch while it is suspended inside the block.
//
// Prints "N passed, N failed" as its last line, like the suite.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "coroutine.h"

static int passed, failed;

static void check(bool ok, const char *what, int who)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        std::printf("FAIL %s (coroutine %d)\n", what, who);
    }
}

// Throws its number, and inside the catch block yields, then rethrows with
// 'throw;' and asks std::current_exception(), twice around more yields.
static void catch_across_yields(void *arg)
{
    int mine = *static_cast<int *>(arg);
    try {
        throw mine;
    } catch (int) {
        yield_ctx();
        std::exception_ptr current = std::current_exception();
        try {
            std::rethrow_exception(current);
        } catch (int seen) {
            check(seen == mine, "std::current_exception() after a yield", mine);
        }
        yield_ctx();
        try {
            throw;
        } catch (int seen) {
            check(seen == mine, "throw; after two yields", mine);
        }
    }
    check(std::current_exception() == nullptr, "no exception once the block is left", mine);
}

// Main holds one of its own across the switches.
static void main_keeps_its_own()
{
    int values[] = {1, 2, 3};
    sp_ctx c[3];
    try {
        throw std::runtime_error("main's");
    } catch (const std::exception &) {
        for (int i = 0; i < 3; i++)
            c[i] = create_ctx(catch_across_yields, &values[i]);
        for (int done = 0; done < 3;) {
            yield_ctx();
            done = 0;
            for (int i = 0; i < 3; i++)
                done += is_ctx_finished(c[i]);
        }
        try {
            throw;
        } catch (const std::runtime_error &e) {
            check(std::string(e.what()) == "main's", "main's own exception after switches", 0);
        } catch (...) {
            check(false, "main's own exception after switches", 0);
        }
    }
    for (int i = 0; i < 3; i++)
        destroy_ctx(c[i]);
    check(std::uncaught_exceptions() == 0, "no uncaught exceptions at the end", 0);
}

int main()
{
    main_keeps_its_own();
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
