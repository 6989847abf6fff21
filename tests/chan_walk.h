/* chan_walk.h - a random walk over channels (tests/chan_walk.c).
 *
 * Producers send numbered messages into three channels (unbuffered,
 * capacity 1, capacity 4), by send or select, with random deadlines;
 * consumers receive by recv or select, with random deadlines and
 * defaults; main cancels and destroys waiting coroutines at random, and
 * closes everything at the end. What must hold: no message arrives twice,
 * each consumer sees each producer's messages on a channel in order, and
 * every message sent arrived, but for those whose producer was destroyed
 * in the middle of sending.
 */
#ifndef CHAN_WALK_H
#define CHAN_WALK_H

#include <stddef.h>
#include <stdint.h>

/* Walk 'ops' steps, taking the choices from the 'n' 'bytes' first, then
 * from a generator seeded with 'seed'. NULL if everything held, else what
 * did not; '*total' is how many messages arrived. */
const char *chan_walk(uint64_t seed, const uint8_t *bytes, size_t n, long ops, long *total);

#endif
