/* overdraft.c - an ordering bug that the default order hides and a seed
 * finds (coroutine_wait.h, SEEDS).
 *
 * Two coroutines each withdraw 60 from an account of 100. Each checks the
 * balance, writes a line to an audit channel, then takes the money. The
 * channel has room, so the send never waits, and in the default order
 * nothing runs between the check and the take: one withdrawal goes
 * through, the other is refused, the balance ends at 40. But a correct
 * program must not count on that: under a seed, a call that may wait
 * sometimes yields, and then both pass the check. Run it under seeds:
 *
 *     ./nob seeds overdraft 1000
 */
#include <stdio.h>

#include "coroutine_chan.h"

static int balance = 100;
static co_chan *audit;

static void withdraw(void *arg)
{
    int amount = *(int *)arg;
    if (balance >= amount) {
        co_chan_send(audit, &amount, CO_FOREVER);   /* the bug: a wait point between */
        balance -= amount;                          /* the check and the act */
    }
}

int main(void)
{
    int amount = 60;
    audit = co_chan_create(sizeof(int), 8);
    sp_ctx a = create_ctx(withdraw, &amount), b = create_ctx(withdraw, &amount);
    join_ctx(a, CO_FOREVER);
    join_ctx(b, CO_FOREVER);
    destroy_ctx(a);
    destroy_ctx(b);
    co_chan_destroy(audit);
    printf("balance: %d\n", balance);
    return balance < 0;                             /* overdrawn: the bug */
}
