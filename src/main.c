/* main.c - the demo: three coroutines count to different limits, yielding
 * after each step, while main yields until all of them are done.
 *
 *     app                  print the interleaving
 *     app --trace FILE     and write who ran when to FILE, in Chrome's
 *                          trace-event format (open it in Perfetto)
 *     app --timeline FILE  the same, drawn as an SVG timeline
 *
 * Every line names the context that printed it, its handle, and the
 * address of a local variable: an address on that context's own stack, so
 * you can watch execution hop from stack to stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine.h"

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

static void count(void *arg)
{
    const struct counter *c = arg;
    for (int i = 1; i <= c->limit; i++) {
        say(c->name, i, c->limit);
        yield_ctx();
    }
    say("done, returning after", c->limit, c->limit);
}

int main(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[1], "--trace") == 0 || strcmp(argv[1], "--timeline") == 0)) {
        if (trace_ctx(argv[2]) != 0) {
            perror(argv[2]);
            return 1;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--trace FILE.json | --timeline FILE.svg]\n", argv[0]);
        return 2;
    }
    static const struct counter counters[] = {
        {"apples", 2}, {"pears", 3}, {"plums", 5},
    };
    enum { N = sizeof counters / sizeof counters[0] };
    sp_ctx ctx[N];

    for (int i = 0; i < N; i++) {
        ctx[i] = create_ctx(count, (void *)&counters[i]);
        if (ctx[i] == NULL) {
            perror("create_ctx");
            return 1;
        }
        printf("main created coroutine %zu (handle %p) counting %d %s\n",
               get_ctx_id_of(ctx[i]), (void *)ctx[i], counters[i].limit, counters[i].name);
    }

    for (int running = N; running > 0;) {
        say("main yields", 0, 0);
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
