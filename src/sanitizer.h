/* sanitizer.h - telling AddressSanitizer (with LeakSanitizer),
 * ThreadSanitizer and valgrind that stacks are switched, created and freed.
 *
 * Each is detected on its own: the sanitizers from the compiler's macros,
 * valgrind from the presence of its header (its requests cost a few
 * instructions and do nothing outside valgrind). Without them every hook
 * below is empty and compiles to nothing. The core calls them at these
 * points; the order matters:
 *
 *   san_stack_made     a coroutine got a stack (new or from the pool)
 *   san_switch_out     before a switch, on the stack being left
 *   san_switched_in    after it, on the stack that was resumed (asm.s
 *                      calls it through 'ctx_arrival_hook')
 *   san_stack_gone     the stack went back to the pool
 */
#ifndef COROUTINE_SANITIZER_H
#define COROUTINE_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAN_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define SAN_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SAN_ASAN)
#define SAN_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(SAN_TSAN)
#define SAN_TSAN 1
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#define SAN_VALGRIND 1
#endif
#endif

#ifdef SAN_ASAN
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif
#ifdef SAN_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#ifdef SAN_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#endif

/* ThreadSanitizer keeps a call stack per fiber, pushed and popped as
 * instrumented functions enter and return. A function that switches fibers
 * (__tsan_switch_to_fiber) and then returns would pop the wrong one, so the
 * functions that do must not be instrumented at all. */
#if defined(SAN_TSAN) && defined(__clang__)
#define SAN_SWITCH_POINT __attribute__((disable_sanitizer_instrumentation))
#elif defined(SAN_TSAN)
#define SAN_SWITCH_POINT __attribute__((no_sanitize_thread))
#else
#define SAN_SWITCH_POINT
#endif

/* True when san_switched_in must run on every arrival in a context. */
#ifdef SAN_ASAN
#define SAN_HEARS_ARRIVALS true
#else
#define SAN_HEARS_ARRIVALS false
#endif

/* For code that reads stacks it does not own on purpose (measuring how
 * deep they went): neither ASan nor memcheck should call that an error. */
#ifdef SAN_ASAN
#define SAN_READS_ANY_STACK __attribute__((no_sanitize_address))
#else
#define SAN_READS_ANY_STACK
#endif

static inline bool san_under_valgrind(void);

static inline void san_quiet(bool quiet)
{
#ifdef SAN_VALGRIND
    if (quiet && san_under_valgrind())
        VALGRIND_DISABLE_ERROR_REPORTING;
    else if (san_under_valgrind())
        VALGRIND_ENABLE_ERROR_REPORTING;
#endif
    (void)quiet;
}

/* True under valgrind, asked once: a valgrind request costs a few
 * nanoseconds even outside valgrind, too much for every create. Its
 * memcheck takes the words below a stack pointer for gone, so the overflow
 * check of unguarded stacks, which reads the bottom of the stack at each
 * switch, is left off there. */
#ifdef SAN_VALGRIND
__attribute__((noinline, cold, unused))
static int san_ask_valgrind(void)
{
    return RUNNING_ON_VALGRIND ? 1 : 0;
}
#endif

static inline bool san_under_valgrind(void)
{
#ifdef SAN_VALGRIND
    static int known = -1;          /* the same answer in every thread */
    int under = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (under < 0) {
        under = san_ask_valgrind();
        __atomic_store_n(&known, under, __ATOMIC_RELAXED);
    }
    return under;
#else
    return false;
#endif
}

/* Valgrind's requests are inline assembly that clobbers all memory: kept
 * out of line, they cannot slow the code around them when not taken. */
#ifdef SAN_VALGRIND
__attribute__((noinline, cold, unused))
static unsigned san_valgrind_register(const void *bottom, size_t size)
{
    /* a pooled stack: memcheck still has the frames popped off it marked
     * inaccessible */
    VALGRIND_MAKE_MEM_UNDEFINED(bottom, size);
    (void)bottom, (void)size;       /* a target valgrind lacks: no requests */
    return VALGRIND_STACK_REGISTER(bottom, (const char *)bottom + size);
}

__attribute__((noinline, cold, unused))
static void san_valgrind_deregister(unsigned id)
{
    VALGRIND_STACK_DEREGISTER(id);
    (void)id;
}

__attribute__((noinline, cold, unused))
static void san_valgrind_noaccess(const void *p, size_t n)
{
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
    (void)p, (void)n;
}
#endif

/* Memory of the library's that no code may touch now: chunk slots not
 * handed out yet, stacks given back. Memcheck then skips it when it scans
 * for leaks at exit, which over chunks of gigabytes would take minutes;
 * san_stack_made makes a stack accessible again. */
static inline void san_memory_unused(const void *p, size_t n)
{
#ifdef SAN_VALGRIND
    if (san_under_valgrind())
        san_valgrind_noaccess(p, n);
#endif
    (void)p, (void)n;
}

/* What each tool needs to know about one context. */
struct san_ctx {
#ifdef SAN_ASAN
    void *fake_stack;          /* ASan's frames for use-after-return */
    const void *bottom;        /* its stack, for ASan */
    size_t size;
#endif
#ifdef SAN_TSAN
    void *fiber;               /* TSan's context for it */
#endif
#ifdef SAN_VALGRIND
    unsigned stack_id;         /* valgrind's id for the registered stack */
#endif
    char unused;               /* C wants a member even when no tool is on */
};

/* The thread's main context: its stack is the thread's. */
static inline void san_main_made(struct san_ctx *main)
{
#ifdef SAN_ASAN
    pthread_attr_t attr;
    void *bottom = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &bottom, &size);
        pthread_attr_destroy(&attr);
    }
    main->fake_stack = NULL;
    main->bottom = bottom;
    main->size = size;
#endif
#ifdef SAN_TSAN
    main->fiber = __tsan_get_current_fiber();   /* the thread itself */
#endif
    (void)main;
}

/* A coroutine's stack is [bottom, bottom + size). */
static inline void san_stack_made(struct san_ctx *c, const void *bottom, size_t size)
{
#ifdef SAN_ASAN
    c->fake_stack = NULL;
    c->bottom = bottom;
    c->size = size;
    /* memory reached only from a suspended stack is not a leak */
    __lsan_register_root_region(bottom, size);
#endif
#ifdef SAN_TSAN
    c->fiber = __tsan_create_fiber(0);
#endif
#ifdef SAN_VALGRIND
    if (san_under_valgrind())
        c->stack_id = san_valgrind_register(bottom, size);
#endif
    (void)c, (void)bottom, (void)size;
}

/* Its stack went back to the pool; the context will not run again, and
 * it is not the one running. A suspended one leaves frames from 'used' up
 * to the top, whose redzones ASan must forget before the stack is reused
 * (NULL: none left). */
static inline void san_stack_gone(struct san_ctx *c, const void *used)
{
#ifdef SAN_ASAN
    __lsan_unregister_root_region(c->bottom, c->size);
    if (used != NULL)
        __asan_unpoison_memory_region(used, (size_t)((const char *)c->bottom + c->size -
                                                     (const char *)used));
#endif
#ifdef SAN_TSAN
    __tsan_destroy_fiber(c->fiber);
#endif
#ifdef SAN_VALGRIND
    if (san_under_valgrind())
        san_valgrind_deregister(c->stack_id);
#endif
    (void)c, (void)used;
}

/* About to leave 'from' for 'to'; 'dying' when 'from' will never resume.
 * Only from a SAN_SWITCH_POINT function, which returns to assembly that
 * switches at once. */
SAN_SWITCH_POINT
static inline void san_switch_out(struct san_ctx *from, struct san_ctx *to, bool dying)
{
#ifdef SAN_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &from->fake_stack, to->bottom, to->size);
#endif
#ifdef SAN_TSAN
    __tsan_switch_to_fiber(to->fiber, 0);
#endif
    (void)from, (void)to, (void)dying;
}

/* Arrived in 'self'. */
static inline void san_switched_in(struct san_ctx *self)
{
#ifdef SAN_ASAN
    __sanitizer_finish_switch_fiber(self->fake_stack, NULL, NULL);
#endif
    (void)self;
}

#endif
