/* coroutine.h - cooperative user-space coroutines for Linux.
 *
 * MODEL
 * Every thread starts in its implicit main context (id 0). create_ctx()
 * makes a coroutine: a function, its argument and a stack of its own. Nothing
 * runs until some context gives up the processor with yield_ctx() (the next
 * coroutine in the rotation runs) or switch_ctx(ctx) (exactly 'ctx' runs).
 * There is no preemption: a coroutine runs until it yields, switches or
 * returns from its function.
 *
 * The rotation used by yield_ctx() is the order of creation, newest first:
 *
 *     main -> newest -> ... -> oldest -> main -> newest -> ...
 *
 * A coroutine created later joins right after main (while main waits,
 * right after the coroutine that created it). One that finishes leaves
 * the rotation; the others keep their order.
 *
 * Who runs when a context stops without yielding (coroutine_wait.h): a
 * context that waits lets the newest coroutine it created run first if
 * that has not run yet; a coroutine that finishes lets the context it
 * last woke run first. That one takes the place of the one that stopped,
 * and the rotation goes on from there; otherwise the next in the
 * rotation runs. So a coroutine that creates others and waits for them
 * runs them at once, and a tree of coroutines is walked depth first,
 * with few of them (and their stacks) alive at a time, as Go runs a new
 * or readied goroutine next. It is at most one context per stop, so
 * every context in the rotation still runs once a turn. O(1).
 *
 * STATES
 *     suspended  created and not yet started, or inside yield_ctx() or
 *                switch_ctx(); it is in the rotation.
 *     running    the one context of this thread executing now.
 *     waiting    out of the rotation until what it waits for happens
 *                (coroutine_wait.h): a deadline, a descriptor, another
 *                coroutine. yield_ctx() passes it by.
 *     finished   its function returned. Its stack is already released; the
 *                handle stays valid for is_ctx_finished() until
 *                destroy_ctx(), or, if detached, it is destroyed at once.
 *     destroyed  destroy_ctx() freed it, or its thread exited. The handle
 *                is stale: passing it to any call is misuse, and aborts.
 *
 * EXAMPLE
 *     static void count(void *arg) {
 *         for (int i = 0; i < *(int *)arg; i++) {
 *             printf("coroutine %zu: %d\n", get_ctx_id(), i);
 *             yield_ctx();
 *         }
 *     }
 *     int main(void) {
 *         int n = 3;
 *         sp_ctx c = create_ctx(count, &n);
 *         while (!is_ctx_finished(c))
 *             yield_ctx();
 *         destroy_ctx(c);
 *     }
 *
 * CAVEATS
 * - Stacks do not grow. Each has STACK_CAPACITY bytes unless created with
 *   create_ctx_sized(); memory is committed only as pages are touched, and
 *   a finished coroutine's stack is reused by the next. The pool of freed
 *   stacks is bounded: 16 keep their memory, the rest only address space.
 * - Below every stack lies a 64 KiB guard. Overflowing into it prints
 *   "coroutine N: stack overflow at ..." and aborts, before anything else
 *   is written. On Linux before 6.13 (no guard regions), only a budget of
 *   stacks get a guard (half the free mappings, or fewer with
 *   COROUTINE_GUARDED_STACKS); the others' overflow is reported when the
 *   coroutine next switches, possibly after it wrote into another stack.
 *   A frame larger than the guard jumps over it unless the code was built
 *   with -fstack-clash-protection: build coroutine code with it. Without
 *   it, such a frame is reported only if it faults or the coroutine
 *   switches while below its stack. Every switch checks the stack pointer
 *   of the coroutine it leaves. This uses a SIGSEGV handler, installed at
 *   the first create and run on a per-thread alternate signal stack;
 *   faults that are not overflows go on to the handler installed before
 *   it. Other signal handlers run on the coroutine's stack unless
 *   installed with SA_ONSTACK: leave room.
 * - Environment: COROUTINE_GUARDED_STACKS (above), COROUTINE_GUARD_REGIONS=0
 *   (use the path of older kernels), COROUTINE_TRACE (see trace_ctx). A
 *   bad value is said once on stderr and the default used.
 * - Built with AddressSanitizer, ThreadSanitizer or valgrind's headers,
 *   the library tells them of every stack and switch by itself.
 * - State is per thread: each thread has its own main context and
 *   rotation, and a coroutine only ever runs on the thread that created it.
 *   When a thread exits, the coroutines it still has are destroyed: their
 *   stacks are freed without running them, so whatever they hold (memory,
 *   locks, descriptors) is not released by them.
 * - The floating-point control words (rounding mode, exception masks) are
 *   part of each context. A new coroutine starts with its creator's.
 * - A coroutine's stack ends at its entry trampoline: nothing may unwind
 *   past it. A C++ exception must not leave the coroutine's function. In a
 *   program with the C++ runtime, each coroutine has its own exceptions
 *   being handled ('throw;' and std::current_exception() in a catch block
 *   held across a switch see the coroutine's own).
 *
 * ERRORS
 * Two channels. When the system refuses (out of memory, out of mappings) or
 * an argument is invalid, a function returns NULL and sets errno; nothing
 * made before is harmed. When the caller breaks the contract (switching to a
 * finished or destroyed coroutine, destroying the running one, using a
 * coroutine of another thread, live or exited, or ending a thread inside a
 * coroutine with pthread_exit() or a cancellation), the library prints one
 * line naming the misuse and the coroutine to stderr, then calls abort().
 * A destroyed handle is recognised however many coroutines were made
 * since; a pointer that was never a handle is not.
 *
 * NAMES
 * One rule for every header of the library. What acts on a coroutine is
 * verb_ctx: create_ctx, yield_ctx, cancel_ctx, join_ctx (and is_ctx_...,
 * get_ctx_... for questions). A call that stands in for a system call is
 * co_ and its name: co_read, co_accept. An object's calls are
 * co_<object>_<verb>: co_chan_send, co_mutex_lock. Anything else is co_
 * and what it does: co_now, co_sleep, co_select, co_offload.
 */
#ifndef COROUTINE_H
#define COROUTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version. MAJOR changes when a program built against an
 * older version could break (a call removed or changed); MINOR when calls
 * are added; PATCH for fixes. The shared library's soname carries MAJOR. */
#define COROUTINE_VERSION_MAJOR 1
#define COROUTINE_VERSION_MINOR 0
#define COROUTINE_VERSION_PATCH 0
#define COROUTINE_VERSION "1.0.0"

/* A coroutine handle. The structure is private. */
typedef struct s_ctx *sp_ctx;

/* The function a coroutine runs. */
typedef void (*coroutine)(void *arg);

/* Default stack size: 1024 pages, reserved, committed only when touched. */
#define STACK_CAPACITY_PAGES 1024
#define STACK_CAPACITY (STACK_CAPACITY_PAGES * (size_t)sysconf(_SC_PAGESIZE))

/* ==== Lifecycle ========================================================= */

/* Make a suspended coroutine that will run fn(arg) with a stack of
 * STACK_CAPACITY bytes. May be called from main or from a coroutine.
 * Returns the handle, or NULL with errno set:
 *   EINVAL  'fn' is NULL
 *   ENOMEM  no memory, address space or mappings for the stack
 *   ENOTSUP coroutines cannot work in this process: hardware shadow stacks
 *           (Intel CET) are on; the first create also says so on stderr */
sp_ctx create_ctx(coroutine fn, void *arg);

/* As create_ctx, with a stack of at least 'stack_size' usable bytes. They
 * lie below the first frame, for every id; the size is rounded up to a size
 * class (whole pages, at most three significant bits in their count).
 * Returns as create_ctx, with these errors too:
 *   EINVAL  'stack_size' is 0
 *   ENOMEM  'stack_size' is too large to map */
sp_ctx create_ctx_sized(coroutine fn, void *arg, size_t stack_size);

/* Free a finished or suspended coroutine of this thread; a suspended one
 * never runs again. The handle is invalid afterwards.
 * Aborts: 'ctx' is NULL (main), is running, was already destroyed, or
 * belongs to another thread. */
void destroy_ctx(sp_ctx ctx);

/* Let 'ctx' be destroyed by itself when it finishes, at once if it has
 * finished: for coroutines nobody waits for, such as a server's
 * connections. The handle stays good while the coroutine lives (for
 * cancel_ctx, say) and is stale once it finished.
 * Aborts: as destroy_ctx, or a join_ctx waits for it. */
void detach_ctx(sp_ctx ctx);

/* ==== Switching ========================================================= */

/* Suspend the running context and resume the next one in the rotation.
 * Returns when this context is resumed; at once if nothing else can run. */
void yield_ctx(void);

/* Suspend the running context and resume 'ctx' (NULL: main). Switching to
 * the running context does nothing. After 'ctx' yields, the rotation goes on
 * from 'ctx'.
 * Aborts: 'ctx' is finished, waiting, destroyed, or belongs to another
 * thread. */
void switch_ctx(sp_ctx ctx);

/* ==== Status ============================================================ */

/* Whether the coroutine has finished.
 * Returns true once its function has returned; false for NULL (main).
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
bool is_ctx_finished(sp_ctx ctx);

/* The running context's id.
 * Returns 0 in main, else an id unique in the process and fixed for the
 * coroutine's life. */
size_t get_ctx_id(void);

/* The id of 'ctx'.
 * Returns it, as get_ctx_id would in 'ctx'; 0 for NULL (main).
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
size_t get_ctx_id_of(sp_ctx ctx);

/* The running coroutine's handle.
 * Returns it, or NULL in main. */
sp_ctx get_ctx_ptr(void);

/* Name 'ctx' (NULL: main) for people reading about it: the dump
 * (dump_ctx), overflow and stall reports, the deadlock report, gdb's info
 * coroutines. 'name' is copied, cut to 31 bytes; NULL or "" takes the
 * name away. A coroutine made later in the same memory has none.
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
void set_ctx_name(sp_ctx ctx, const char *name);

/* The name of 'ctx' (NULL: main).
 * Returns it (valid until the next set_ctx_name of 'ctx', or its
 * destroy), or NULL if it has none.
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
const char *get_ctx_name(sp_ctx ctx);

/* How many bytes of its stack 'ctx' has used at the deepest so far: a
 * high-water mark, to size stacks with. A stack reused from the pool
 * counts what earlier coroutines left on it, so the figure can be higher
 * than this one's own use, never lower. Costs a system call and a scan:
 * for tuning, not for every switch.
 * Returns the bytes, or 0 for NULL (main) and once finished.
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
size_t get_ctx_stack_used(sp_ctx ctx);

/* ==== Looking inside ===================================================== */

/* One slot of a suspended context's saved frame, as get_ctx_frame reads
 * it from memory. */
struct ctx_slot {
    const void *address;   /* where the slot is, on the context's stack */
    unsigned long value;   /* what is there now */
    const char *name;      /* the register or field it holds: "rip", "x19" */
    const char *meaning;   /* what it is for: "where it resumes", ... */
    const char *points_to; /* the library routine 'value' is the address of
                              ("_asm_ctx_start", "coroutine_finish"), or NULL */
};

/* The most slots a saved frame has, on any target. */
#define CTX_FRAME_MAX 24

/* The saved frame of a suspended coroutine, slot by slot. Fills 'slots'
 * (room for 'max') with the frame that 'ctx' left on its stack when it was
 * suspended, or that create_ctx laid out if it has not run yet, lowest
 * address first; the values are read from memory.
 * Returns the number of slots in the frame (at most CTX_FRAME_MAX), 0 for
 * the running context, main (NULL) or a finished one.
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
size_t get_ctx_frame(sp_ctx ctx, struct ctx_slot *slots, size_t max);

/* Write to 'fd' what every context of this thread is doing: for main and
 * each coroutine, one block:
 *
 *     coroutine 7 "conn 10.0.0.7:51234": waiting
 *           reading descriptor 9, until +4998.113 ms
 *           made at accept_loop+0x8c (server)
 *           backtrace (scanned):
 *           #0 wait_park+0x6f (server)
 *           #1 wait_fd+0x1a2 (server)
 *           #2 co_read+0x47 (server)
 *           #3 serve+0x3b (server)
 *
 * after a first line "thread TID (serial N): COUNT coroutines". States:
 * running, runnable, waiting, finished. A wait says what it waits for
 * (sleeping; reading or writing descriptor N; receiving on, sending on
 * channel ADDRESS; locking mutex, waiting on condition, acquiring
 * semaphore, waiting for wait group ADDRESS; receiving from mailbox;
 * joining coroutine N; offloaded work) and, with a deadline, how far off
 * it is. The backtrace is read from the stack, not unwound: it needs no
 * frame pointers, names functions from the program's symbol table (no
 * -rdynamic), and may show a frame left over from an earlier call.
 * With COROUTINE_DUMP_SIGNAL set to a signal's name (SIGQUIT, or QUIT) or
 * number, that signal makes every thread that has coroutines write its
 * dump to stderr, and the program goes on. Safe from a signal handler
 * and at any moment: a dump only reads. */
void dump_ctx(int fd);

/* Watch for stalls: whenever one context (a coroutine, or main) of a
 * thread that has coroutines runs 'ms' milliseconds or more without a
 * switch, and the thread is not asleep waiting for events, say on stderr
 *
 *     coroutine: stall: coroutine 12 "conn 10.0.0.7:51234" of thread 4127
 *     has run 52 ms without a switch; where it runs now:
 *           at checksum+0x4c (server)
 *           #0 handle+0x91 (server)
 *
 * (one line; the instruction it runs; then a backtrace scanned as
 * dump_ctx's), and again each time
 * the same stall doubles in length. COROUTINE_STALL_MS=ms in the
 * environment does the same from the start; 0 stops watching. A watcher
 * thread looks every ms/4. Before the first call a switch pays nothing;
 * while watching, it calls the arrival hook and counts (53 instructions
 * a switch_ctx become 77). The backtrace is written by
 * the stalled thread on SIGURG, unless the program handles SIGURG. */
void watch_ctx_stalls(unsigned ms);

/* Where a context's time went, in nanoseconds, since accounting began
 * (or it was made, if later): */
struct ctx_stats {
    int64_t running;       /* it ran */
    int64_t runnable;      /* it could have run, others did */
    int64_t waiting;       /* from each wait's start until it ran again */
    int64_t waiting_io;    /* ... of that, waiting on descriptors */
    uint64_t runs;         /* times it was switched to */
};

/* Fill 'stats' for 'ctx' (NULL: main). Accounting begins at the first
 * call in the process (which reports zeros), or at the start with
 * COROUTINE_STATS=1: until then nothing is counted and nothing is paid;
 * from then on a switch reads the processor's tick counter once.
 * Returns 0, or -1 with errno EINVAL for a NULL 'stats'.
 * Aborts: 'ctx' was destroyed or belongs to another thread. */
int get_ctx_stats(sp_ctx ctx, struct ctx_stats *stats);

/* ==== Tracing =========================================================== */

/* Record who runs when, in every thread. The record is written to 'path'
 * when tracing stops (trace_ctx(NULL)) or the process exits: Chrome's
 * trace-event format, which Perfetto and chrome://tracing open, with one
 * lane per context and a slice for each stretch it ran, and marks for
 * each create, finish and destroy; or, for a name ending in .svg, a
 * timeline picture of the same. The file is created at once; a trace
 * already running is written first. Setting COROUTINE_TRACE=path in the
 * environment starts it at the first create_ctx (a path that cannot be
 * written is said once on stderr). While it is off, a switch pays nothing
 * for it.
 * Returns 0, or -1 with errno set, and then nothing is recorded: what
 * fopen() said of 'path', what writing the previous trace failed with,
 * ENOMEM, or ENOSYS in a library built with -DCOROUTINE_NO_TRACE. */
int trace_ctx(const char *path);

#ifdef __cplusplus
}
#endif

#endif
