/* boost.cpp - the workloads with Boost.Context's fcontext, the low-level
 * layer under boost::context::fiber: make_fcontext lays out a context on a
 * stack the caller provides, jump_fcontext switches to one. Stacks are
 * malloc'd, Boost's default size (stack_traits::default_size(): 128 KiB)
 * unless a size is given. There is no scheduler, so "yield" is a jump to
 * main and back. Built into boost.so, which boost_loader.c loads. */
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/stack_traits.hpp>
#include <cstdlib>
#include <vector>

extern "C" {
#include "bench.h"
}

using boost::context::detail::fcontext_t;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;

static size_t default_size()
{
    return boost::context::stack_traits::default_size();
}

static fcontext_t make(void *stack, size_t size, void (*fn)(transfer_t))
{
    return make_fcontext(static_cast<char *>(stack) + size, size, fn);
}

static void pong(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, nullptr);
}

static double switch_ns(long n)
{
    void *stack = std::malloc(default_size());
    transfer_t t = jump_fcontext(make(stack, default_size(), pong), nullptr);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        t = jump_fcontext(t.fctx, nullptr);
    double elapsed = now_ns() - t0;
    std::free(stack);
    return elapsed / (2.0 * n);
}

/* A ring: context i jumps to context i+1, and context 0 is main. A
 * context's handle changes each time it suspends, so whoever is resumed
 * records the handle of the one that jumped to it. */
static std::vector<fcontext_t> ring_handles;
static long ring_left;

static void ring_member(transfer_t t)
{
    size_t me = reinterpret_cast<size_t>(t.data), n = ring_handles.size();
    for (;;) {
        ring_handles[(me + n - 1) % n] = t.fctx;
        t = jump_fcontext(ring_handles[(me + 1) % n], reinterpret_cast<void *>((me + 1) % n));
    }
}

static double rotate_ns(int ring, long n)
{
    size_t size = default_size();
    std::vector<void *> stacks(ring);
    ring_handles.assign(ring + 1, nullptr);
    for (int i = 1; i <= ring; i++) {
        stacks[i - 1] = std::malloc(size);
        ring_handles[i] = make(stacks[i - 1], size, ring_member);
    }
    long rounds = n / (ring + 1);
    double t0 = 0;
    for (long r = -1; r < rounds; r++) {        /* round -1 starts them all */
        if (r == 0)
            t0 = now_ns();
        transfer_t t = jump_fcontext(ring_handles[1], reinterpret_cast<void *>(1));
        ring_handles[ring] = t.fctx;
    }
    double elapsed = now_ns() - t0;
    for (void *s : stacks)
        std::free(s);
    (void)ring_left;
    return elapsed / (rounds * (ring + 1.0));
}

static double yield_ns(long n)
{
    return rotate_ns(1, n);
}

/* Runs to its end: a context function must not return, so it ends by
 * jumping back for good. */
static void run_once(transfer_t t)
{
    jump_fcontext(t.fctx, nullptr);
}

static double lifecycle_ns(long n)
{
    size_t size = default_size();
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        void *stack = std::malloc(size);
        jump_fcontext(make(stack, size, run_once), nullptr);
        std::free(stack);
    }
    return (now_ns() - t0) / n;
}

static double lifecycle_reused_ns(long n)
{
    size_t size = default_size();
    void *stack = std::malloc(size);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        jump_fcontext(make(stack, size, run_once), nullptr);
    std::free(stack);
    return (now_ns() - t0) / n;
}

static fcontext_t back_to_main;

static void suspend(void *)
{
    back_to_main = jump_fcontext(back_to_main, nullptr).fctx;
}

static void hold(transfer_t t)
{
    back_to_main = t.fctx;
    hold_512_bytes(suspend, nullptr);
    jump_fcontext(back_to_main, nullptr);
}

static struct memory memory(long n, size_t stack_size)
{
    size_t size = stack_size ? stack_size : default_size();
    std::vector<void *> stacks;
    struct memory_usage before = memory_usage();
    for (long i = 0; i < n; i++) {
        void *stack = std::malloc(size);
        if (stack == nullptr)
            break;
        stacks.push_back(stack);
        back_to_main = jump_fcontext(make(stack, size, hold), nullptr).fctx;
    }
    struct memory m = per_coroutine(before, memory_usage(), stacks.size());
    for (void *s : stacks)
        std::free(s);
    return m;
}

extern "C" const struct backend boost_context_workloads = {
    "Boost.Context", nullptr, switch_ns, yield_ns, rotate_ns, lifecycle_ns,
    lifecycle_reused_ns, memory,
};
