/* chan.c - channels and select (coroutine_chan.h).
 *
 * A channel is a ring buffer of elements and two wait queues, senders and
 * receivers (wait.h). At most one queue is non-empty at a time, except
 * while a select waits on both ends of the same channel. An element never
 * waits in two places: a send goes straight to a waiting receiver's
 * memory if there is one, else into the ring, else the sender waits with
 * a pointer to its element, and a receiver that comes takes it from
 * there. So a message costs one copy and, if someone waited, one wake.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine_chan.h"
#include "wait.h"

#define CHAN_MAGIC 0x4348414eu         /* "CHAN": a handle that is one */

struct co_chan {
    uint32_t magic;
    bool closed;
    bool seeded;                       /* made under a seed: calls pass a wait point */
    bool unusual;                      /* closed or seeded: calls take the long way */
    uint64_t thread;                   /* ctx_this_thread() of its maker */
    size_t size, cap;                  /* element bytes, ring slots */
    size_t head, count;                /* the oldest element, how many */
    struct waitq senders, receivers;
    unsigned char *ring;               /* cap * size bytes */
};

__attribute__((noreturn, cold, noinline)) static void not_ours(co_chan *ch, const char *call)
{
    if (ch == NULL || ch->magic != CHAN_MAGIC)
        ctx_misuse("%s: %p is not a channel (destroyed, or never made)", call, (void *)ch);
    ctx_misuse("%s: coroutine %zu: the channel belongs to another thread", call,
           ctx_current ? ctx_current->id : 0);
}

/* The caller's channel, or abort naming the misuse. A thread's serial is
 * set before it can have made a channel, so it is read, not asked for. */
static inline co_chan *own(co_chan *ch, const char *call)
{
    if (ch == NULL || ch->magic != CHAN_MAGIC || ch->thread != ctx_thread_serial)
        not_ours(ch, call);
    return ch;
}

/* An element's copy: most are a word or two, and a call to memcpy for
 * those would cost more than the copy. */
static inline void copy(void *to, const void *from, size_t size)
{
    if (size == 8)
        memcpy(to, from, 8);
    else if (size == 4)
        memcpy(to, from, 4);
    else
        memcpy(to, from, size);
}

co_chan *co_chan_create(size_t size, size_t capacity)
{
    if (size == 0 || (capacity != 0 && size > SIZE_MAX / capacity)) {
        errno = EINVAL;
        return NULL;
    }
    co_chan *ch = calloc(1, sizeof *ch);
    if (ch == NULL || (capacity > 0 && (ch->ring = malloc(size * capacity)) == NULL)) {
        free(ch);
        errno = ENOMEM;
        return NULL;
    }
    ch->magic = CHAN_MAGIC;
    ch->thread = ctx_this_thread();
    ch->seeded = ch->unusual = seeded();
    ch->size = size;
    ch->cap = capacity;
    return ch;
}

/* {=====================================================================
 * The ring
 * ====================================================================== */

static void ring_put(co_chan *ch, const void *item)
{
    size_t slot = ch->head + ch->count;       /* no division: it is slow */
    copy(ch->ring + (slot >= ch->cap ? slot - ch->cap : slot) * ch->size, item, ch->size);
    ch->count++;
}

static void ring_take(co_chan *ch, void *item)
{
    copy(item, ch->ring + ch->head * ch->size, ch->size);
    ch->head = ch->head + 1 == ch->cap ? 0 : ch->head + 1;
    ch->count--;
}

/* }===================================================================== */

/* {=====================================================================
 * The two halves of a message, without waiting: true if done
 * ====================================================================== */

static bool can_send(const co_chan *ch)
{
    return ch->closed || ch->receivers.first != NULL || ch->count < ch->cap;
}

static bool can_recv(const co_chan *ch)
{
    return ch->closed || ch->count > 0 || ch->senders.first != NULL;
}

/* Send now on an open channel, as can_send() allows. */
static inline void send_open(co_chan *ch, const void *item)
{
    struct waiter *r = ch->receivers.first;
    if (r != NULL) {
        copy(r->item, item, ch->size);
        waitq_wake(r, 0);
    } else {
        ring_put(ch, item);
    }
}

/* Send now, as can_send() allows: 0, or EPIPE. */
static inline int send_now(co_chan *ch, const void *item)
{
    if (ch->closed)
        return EPIPE;
    send_open(ch, item);
    return 0;
}

/* Receive now, as can_recv() allows: 0, or EPIPE. A waiting sender's
 * element goes into the ring behind the one taken, so order is kept. */
static inline int recv_now(co_chan *ch, void *item)
{
    struct waiter *s = ch->senders.first;
    if (ch->count > 0) {
        ring_take(ch, item);
        if (s != NULL) {
            ring_put(ch, s->item);
            waitq_wake(s, 0);
        }
        return 0;
    }
    if (s != NULL) {
        copy(item, s->item, ch->size);
        waitq_wake(s, 0);
        return 0;
    }
    return EPIPE;                      /* closed and drained */
}

/* }===================================================================== */

/* A send or receive that must wait, apart so that the calls that need
 * not wait keep a small frame: the place in the queue lives in this one. */
static __attribute__((noinline)) int wait_to_send(co_chan *ch, const void *item, int64_t deadline)
{
    return wait_fail(wait_in(&ch->senders, (void *)item, deadline, "sending on channel", ch));
}

static __attribute__((noinline)) int wait_to_recv(co_chan *ch, void *item, int64_t deadline)
{
    return wait_fail(wait_in(&ch->receivers, item, deadline, "receiving on channel", ch));
}

static inline int send_checked(co_chan *ch, const void *item, int64_t deadline)
{
    if (!can_send(ch))
        return wait_to_send(ch, item, deadline);
    return wait_fail(send_now(ch, item));
}

static inline int recv_checked(co_chan *ch, void *item, int64_t deadline)
{
    if (!can_recv(ch))
        return wait_to_recv(ch, item, deadline);
    return wait_fail(recv_now(ch, item));
}

/* A channel closed or made under a seed: each call first passes a wait
 * point (wait.h) if seeded, then checks everything. Apart, so that the
 * common case below checks one flag where it would check 'closed'. */
static __attribute__((noinline)) int send_unusual(co_chan *ch, const void *item, int64_t deadline)
{
    if (ch->seeded)
        wait_point();
    return send_checked(ch, item, deadline);
}

static __attribute__((noinline)) int recv_unusual(co_chan *ch, void *item, int64_t deadline)
{
    if (ch->seeded)
        wait_point();
    return recv_checked(ch, item, deadline);
}

int co_chan_send(co_chan *ch, const void *item, int64_t deadline)
{
    own(ch, "co_chan_send");
    if (item == NULL)
        return wait_fail(EINVAL);
    if (ch->unusual)
        return send_unusual(ch, item, deadline);
    if (ch->receivers.first == NULL && ch->count == ch->cap)
        return wait_to_send(ch, item, deadline);
    send_open(ch, item);
    return 0;
}

int co_chan_recv(co_chan *ch, void *item, int64_t deadline)
{
    own(ch, "co_chan_recv");
    if (item == NULL)
        return wait_fail(EINVAL);
    if (ch->unusual)
        return recv_unusual(ch, item, deadline);
    if (ch->count == 0 && ch->senders.first == NULL)
        return wait_to_recv(ch, item, deadline);
    return wait_fail(recv_now(ch, item));
}

void co_chan_close(co_chan *ch)
{
    own(ch, "co_chan_close");
    if (ch->closed)
        ctx_misuse("co_chan_close: coroutine %zu: the channel is closed already",
               ctx_current ? ctx_current->id : 0);
    ch->closed = ch->unusual = true;
    while (ch->senders.first != NULL)
        waitq_wake(ch->senders.first, EPIPE);
    while (ch->receivers.first != NULL)      /* the ring is empty: they wait */
        waitq_wake(ch->receivers.first, EPIPE);
}

void co_chan_destroy(co_chan *ch)
{
    if (ch == NULL)
        return;
    own(ch, "co_chan_destroy");
    if (ch->senders.first != NULL || ch->receivers.first != NULL)
        ctx_misuse("co_chan_destroy: coroutine %zu: coroutine %zu still waits on the channel",
               ctx_current ? ctx_current->id : 0,
               (ch->senders.first ? ch->senders.first : ch->receivers.first)->ctx->id);
    ch->magic = 0;
    free(ch->ring);
    free(ch);
}

/* {=====================================================================
 * Select
 * ====================================================================== */

/* A per-thread xorshift: which of the ready cases goes. */
static __thread uint64_t select_seed;

static uint32_t pick(uint32_t n)
{
    if (seeded())
        return seed_below(n);
    uint64_t x = select_seed ? select_seed : 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&x;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    select_seed = x;
    return (uint32_t)((x >> 32) * n >> 32);
}

/* A case with no channel is never ready, as a nil channel in Go. */
static bool ready(const struct co_case *c)
{
    if (c->chan == NULL)
        return false;
    return c->op == CO_SEND ? can_send(c->chan) : can_recv(c->chan);
}

/* The index of a random ready case (reservoir sampling), or -1. */
static int pick_ready(struct co_case *cases, int n)
{
    int chosen = -1;
    uint32_t seen = 0;
    for (int i = 0; i < n; i++)
        if (ready(&cases[i]) && pick(++seen) == 0)
            chosen = i;
    return chosen;
}

static int complete(struct co_case *c, int i)
{
    c->err = c->op == CO_SEND ? send_now(c->chan, c->item) : recv_now(c->chan, c->item);
    return i;
}

/* Every case goes into its channel's queue; the first to fire wins, and
 * ending the wait takes the others out. The places live on this stack,
 * or for many cases on the heap, where wait.c frees them should the
 * coroutine be destroyed while it waits. */
static int wait_for_one(struct co_case *cases, int n, int64_t deadline)
{
    struct waiter few[8], *places = n <= 8 ? few : malloc((size_t)n * sizeof *places);
    if (places == NULL)
        return wait_fail(ENOMEM);
    int err = wait_begin(deadline);
    if (err == 0) {
        wait_why("selecting over channels", cases);
        if (places != few)
            ctx_current->wait.places = places;
        for (int i = 0; i < n; i++) {
            co_chan *ch = cases[i].chan;
            places[i] = (struct waiter){.ctx = ctx_current, .item = cases[i].item, .index = i};
            if (ch != NULL)
                waitq_push(cases[i].op == CO_SEND ? &ch->senders : &ch->receivers, &places[i]);
        }
        err = wait_park();
    }
    int fired = err == 0 || err == EPIPE ? ctx_current->wait.fired : -1;
    if (places != few) {
        free(places);
        ctx_current->wait.places = NULL;
    }
    if (fired < 0)
        return wait_fail(err);             /* the deadline, or a cancel */
    cases[fired].err = err;                /* 0, or EPIPE: closed */
    return fired;
}

int co_select(struct co_case *cases, int n, int64_t deadline)
{
    if (n < 1 || cases == NULL) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if ((cases[i].op != CO_SEND && cases[i].op != CO_RECV) || cases[i].item == NULL) {
            errno = EINVAL;
            return -1;
        }
        if (cases[i].chan != NULL)
            own(cases[i].chan, "co_select");
        cases[i].err = 0;
    }
    wait_point();
    int i = pick_ready(cases, n);
    if (i >= 0)
        return complete(&cases[i], i);
    return wait_for_one(cases, n, deadline);
}

/* }===================================================================== */
