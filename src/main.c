/* main.c - the demo: three coroutines count to different limits, yielding
 * after each step, while main yields until all of them are done.
 *
 *     app                  print the interleaving
 *     app --trace FILE     and write who ran when to FILE, in Chrome's
 *                          trace-event format (open it in Perfetto)
 *     app --timeline FILE  the same, drawn as an SVG timeline
 *     app --frames         and show the saved frames, read from the stacks:
 *                          the first one of a new coroutine, the one a
 *                          coroutine leaves when it yields, the one a
 *                          switch is about to load
 *     app --dump           and, after the first round, what each context is
 *                          doing (dump_ctx): its name, state and backtrace
 *     app --seed N ...     the coroutines sleep a millisecond of virtual
 *                          time instead of yielding, and seed N decides
 *                          who runs first when they wake together: each
 *                          seed an interleaving of its own, replayed
 *                          exactly (any option above may follow)
 *
 * Every line names the context that printed it, its handle, and the
 * address of a local variable: an address on that context's own stack, so
 * you can watch execution hop from stack to stack.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine_wait.h"

struct counter {
    const char *name;
    int limit;
};

/* Print one line about the running context. */
static void say(const char *what, int n, int of)
{
    int here;  /* its address shows which stack we are on */
    char who[40] = "main";
    sp_ctx self = get_ctx_ptr();
    if (self != NULL)
        snprintf(who, sizeof who, "handle %p", (void *)self);
    printf("[ctx %zu | %-21s | stack %p] %s", get_ctx_id(), who, (void *)&here, what);
    if (of > 0)
        printf(" %d of %d", n, of);
    putchar('\n');
}

static const struct counter counters[] = {
    {"apples", 2}, {"pears", 3}, {"plums", 5},
};
static bool show_frames, show_dump;
static bool seeded;                          /* --seed: see pause_here */

static void count(void *arg);

/* Print the saved frame of 'ctx', slot by slot, as it is in memory. */
static void print_frame(const char *title, sp_ctx ctx)
{
    struct ctx_slot slot[CTX_FRAME_MAX];
    size_t n = get_ctx_frame(ctx, slot, CTX_FRAME_MAX);
    if (!show_frames || n == 0)
        return;
    printf("\n  %s (coroutine %zu)\n", title, get_ctx_id_of(ctx));
    printf("    %-14s  %-6s  %-10s  %-18s  %s\n", "address", "offset", "slot", "value", "what it is");
    for (size_t i = 0; i < n; i++) {
        const char *known = slot[i].points_to;
        if (slot[i].value == (unsigned long)(uintptr_t)count)
            known = "count";
        char counter[32];
        for (size_t k = 0; k < sizeof counters / sizeof counters[0]; k++)
            if (slot[i].value == (unsigned long)(uintptr_t)&counters[k]) {
                snprintf(counter, sizeof counter, "&counters[%zu]", k);
                known = counter;
            }
        printf("    %-14p  +0x%02lx   %-10s  %#-18lx  %s%s%s\n", slot[i].address,
               (unsigned long)((const char *)slot[i].address - (const char *)slot[0].address),
               slot[i].name, slot[i].value, slot[i].meaning, known ? " = " : "",
               known ? known : "");
    }
    printf("\n");
}

/* Give up the processor: yield; or, under --seed, sleep a millisecond
 * of virtual time, so that the counters wake together and the seed says
 * which runs first. */
static void pause_here(void)
{
    if (seeded)
        co_sleep(co_now() + CO_MSEC);
    else
        yield_ctx();
}

static void count(void *arg)
{
    const struct counter *c = arg;
    for (int i = 1; i <= c->limit; i++) {
        say(c->name, i, c->limit);
        pause_here();
    }
    say("done, returning after", c->limit, c->limit);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--seed") == 0) {
        seeded = true;                       /* a virtual clock, so that the run replays */
        co_clock_virtual();
        co_seed(strtoull(argv[2], NULL, 10));
        argc -= 2;
        argv += 2;
    }
    if (argc == 2 && strcmp(argv[1], "--frames") == 0) {
        show_frames = true;
    } else if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
        show_dump = true;
    } else if (argc == 3 && (strcmp(argv[1], "--trace") == 0 || strcmp(argv[1], "--timeline") == 0)) {
        if (trace_ctx(argv[2]) != 0) {
            perror(argv[2]);
            return 1;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--seed N] [--frames | --dump | --trace FILE.json | --timeline FILE.svg]\n",
                argv[0]);
        return 2;
    }
    enum { N = sizeof counters / sizeof counters[0] };
    sp_ctx ctx[N];

    for (int i = 0; i < N; i++) {
        ctx[i] = create_ctx(count, (void *)&counters[i]);
        if (ctx[i] == NULL) {
            perror("create_ctx");
            return 1;
        }
        set_ctx_name(ctx[i], counters[i].name);
        printf("main created coroutine %zu (handle %p) counting %d %s\n",
               get_ctx_id_of(ctx[i]), (void *)ctx[i], counters[i].limit, counters[i].name);
    }
    print_frame("the first frame create_ctx laid out for it, at the top of its stack", ctx[0]);

    for (int running = N, round = 0; running > 0; round++) {
        if (round == 1) {
            print_frame("the frame it left on its stack when it yielded", ctx[0]);
            print_frame("the frame _asm_restore_ctx loads when main yields now", ctx[N - 1]);
            if (show_dump) {
                printf("\n");
                fflush(stdout);
                dump_ctx(1);                 /* what each context is doing, as on a signal */
                printf("\n");
            }
        }
        say(seeded ? "main waits" : "main yields", 0, 0);
        if (seeded)
            join_ctx(ctx[round % N], CO_FOREVER);
        else
            yield_ctx();
        running = 0;
        for (int i = 0; i < N; i++)
            running += !is_ctx_finished(ctx[i]);
    }
    say("all coroutines finished", 0, 0);

    for (int i = 0; i < N; i++)
        destroy_ctx(ctx[i]);
    if (trace_ctx(NULL) != 0) {              /* write it now, and say if it failed */
        perror("trace");
        return 1;
    }
    return 0;
}
