/* producer_consumer.c - two coroutines share a small buffer.
 *
 * The producer yields when the buffer is full, the consumer when it is
 * empty. With cooperative scheduling there is no lock: nothing else can run
 * between a check of the buffer and the change that follows it.
 */
#include <stdio.h>

#include "coroutine.h"

enum { CAPACITY = 3, ITEMS = 8 };

static int buffer[CAPACITY];
static int count, produced, consumed;

static void producer(void *arg)
{
    (void)arg;
    while (produced < ITEMS) {
        if (count == CAPACITY) {
            printf("producer: buffer full, yielding\n");
            yield_ctx();
            continue;
        }
        buffer[count++] = ++produced;
        printf("producer: put %d (%d in buffer)\n", produced, count);
    }
    printf("producer: done\n");
}

static void consumer(void *arg)
{
    (void)arg;
    while (consumed < ITEMS) {
        if (count == 0) {
            printf("  consumer: buffer empty, yielding\n");
            yield_ctx();
            continue;
        }
        int item = buffer[0];
        for (int i = 1; i < count; i++)  /* first in, first out */
            buffer[i - 1] = buffer[i];
        count--;
        consumed++;
        printf("  consumer: took %d\n", item);
    }
    printf("  consumer: done\n");
}

int main(void)
{
    sp_ctx c = create_ctx(consumer, NULL);
    sp_ctx p = create_ctx(producer, NULL);  /* newest: runs first */
    while (!is_ctx_finished(p) || !is_ctx_finished(c))
        yield_ctx();
    printf("main: %d produced, %d consumed\n", produced, consumed);
    destroy_ctx(p);
    destroy_ctx(c);
    return 0;
}
