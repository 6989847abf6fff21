/* ping_pong.c - two coroutines hand control to each other by name.
 *
 * switch_ctx(ctx) runs exactly 'ctx' next, unlike yield_ctx, which runs
 * whoever is next in the rotation. Here ping and pong name each other, and
 * main only starts the rally and waits for it to end.
 */
#include <stdio.h>

#include "coroutine.h"

enum { ROUNDS = 3 };

static sp_ctx ping_ctx, pong_ctx;

static void ping(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ROUNDS; i++) {
        printf("ping %d\n", i);
        switch_ctx(pong_ctx);           /* straight to pong */
    }
    printf("ping: done\n");             /* returning passes control on */
}

static void pong(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ROUNDS; i++) {
        printf("  pong %d\n", i);
        switch_ctx(ping_ctx);           /* straight back to ping */
    }
    printf("  pong: done\n");
}

int main(void)
{
    ping_ctx = create_ctx(ping, NULL);
    pong_ctx = create_ctx(pong, NULL);
    switch_ctx(ping_ctx);               /* serve */
    while (!is_ctx_finished(ping_ctx) || !is_ctx_finished(pong_ctx))
        yield_ctx();
    printf("main: both finished\n");
    destroy_ctx(ping_ctx);
    destroy_ctx(pong_ctx);
    return 0;
}
