/* The order in which contexts run: yield_ctx's rotation and switch_ctx. */
#include <string.h>

#include "coroutine.h"
#include "test.h"

/* Who ran, in order: one character per step. */
static char trail[512];
static size_t trail_len;

static void note(char c)
{
    if (trail_len + 1 < sizeof trail)
        trail[trail_len++] = c;
    trail[trail_len] = '\0';
}

/* Notes its letter, yields 'yields' times, notes it once more and returns. */
struct stepper {
    char letter;
    int yields;
};

static void step(void *arg)
{
    const struct stepper *s = arg;
    for (int i = 0; i < s->yields; i++) {
        note(s->letter);
        yield_ctx();
    }
    note(s->letter);
}

static bool all_finished(sp_ctx *c, int n)
{
    for (int i = 0; i < n; i++)
        if (!is_ctx_finished(c[i]))
            return false;
    return true;
}

static void run_from_main(sp_ctx *c, int n)
{
    while (!all_finished(c, n)) {
        yield_ctx();
        note('M');
    }
}

TEST(rotation_is_main_newest_to_oldest)
{
    struct stepper a = {'a', 1}, b = {'b', 3}, c = {'c', 2};
    sp_ctx ctx[] = {create_ctx(step, &a), create_ctx(step, &b), create_ctx(step, &c)};
    run_from_main(ctx, 3);
    /* a finishes in round 2, c in round 3, b in round 4; the others keep
     * their places each time. */
    CHECK_STR(trail, "cbaMcbaMcbMbM");
    for (int i = 0; i < 3; i++)
        destroy_ctx(ctx[i]);
}

static int order[64];
static int n_order;

static void record_id(void *arg)
{
    for (int i = 0; i < *(int *)arg; i++) {
        order[n_order++] = (int)get_ctx_id();
        yield_ctx();
    }
}

TEST(finishing_keeps_the_order_of_the_others)
{
    /* Five coroutines; the middle one stops after one round. */
    int rounds[5] = {3, 3, 1, 3, 3};
    sp_ctx c[5];
    size_t id[5];
    for (int i = 0; i < 5; i++) {
        c[i] = create_ctx(record_id, &rounds[i]);
        id[i] = get_ctx_id_of(c[i]);
    }
    run_from_main(c, 5);
    int expect[] = {4, 3, 2, 1, 0, 4, 3, 1, 0, 4, 3, 1, 0};
    CHECK_EQ(n_order, 13);
    for (int i = 0; i < 13; i++)
        CHECK_EQ(order[i], (int)id[expect[i]]);
    for (int i = 0; i < 5; i++)
        destroy_ctx(c[i]);
}

TEST(yield_with_nothing_to_run_returns)
{
    yield_ctx();                        /* before any coroutine exists */
    CHECK_EQ(get_ctx_id(), 0);
    CHECK(get_ctx_ptr() == NULL);
    struct stepper a = {'a', 0};
    sp_ctx c = create_ctx(step, &a);
    yield_ctx();
    CHECK(is_ctx_finished(c));
    yield_ctx();                        /* only main is left */
    note('M');
    CHECK_STR(trail, "aM");
    destroy_ctx(c);
}

/* Ping-pong with main through switch_ctx, 'n' times. */
static void ping(void *arg)
{
    for (int i = 0; i < *(int *)arg; i++) {
        note('p');
        switch_ctx(NULL);
    }
}

TEST(switch_to_a_target_and_to_main)
{
    int n = 3;
    struct stepper other = {'x', 5};
    sp_ctx x = create_ctx(step, &other);     /* after p in the rotation */
    sp_ctx p = create_ctx(ping, &n);
    for (int i = 0; i < n; i++) {
        switch_ctx(p);
        note('M');
    }
    CHECK_STR(trail, "pMpMpM");
    switch_ctx(p);                           /* its loop ends: it finishes */
    CHECK(is_ctx_finished(p));
    CHECK_STR(trail, "pMpMpMx");    /* and control went on to x */
    destroy_ctx(x);
    destroy_ctx(p);
}

static void switch_to_self(void *arg)
{
    (void)arg;
    note('s');
    switch_ctx(get_ctx_ptr());
    note('s');
}

TEST(switch_to_self_does_nothing)
{
    switch_ctx(NULL);                        /* main to main, nothing exists */
    sp_ctx s = create_ctx(switch_to_self, NULL);
    struct stepper other = {'x', 0};
    sp_ctx x = create_ctx(step, &other);
    switch_ctx(NULL);                        /* main to main */
    CHECK_EQ(trail_len, 0);
    switch_ctx(s);                           /* s finishes; main is next */
    CHECK_STR(trail, "ss");         /* s ran on, then finished */
    destroy_ctx(s);
    destroy_ctx(x);
}

static void after_switch(void *arg)
{
    (void)arg;
    note('b');
    yield_ctx();
    note('b');
}

TEST(rotation_goes_on_from_the_switch_target)
{
    /* main -> c -> b -> a -> main. Switching to b and yielding there goes
     * on to a, then main: c is passed over this time. */
    struct stepper sa = {'a', 1}, sc = {'c', 1};
    sp_ctx a = create_ctx(step, &sa);
    sp_ctx b = create_ctx(after_switch, NULL);
    sp_ctx c = create_ctx(step, &sc);
    switch_ctx(b);
    note('M');
    CHECK_STR(trail, "baM");
    sp_ctx all[] = {a, b, c};
    run_from_main(all, 3);
    destroy_ctx(a);
    destroy_ctx(b);
    destroy_ctx(c);
}

static size_t child_ids[4];
static size_t seen_ids[4];

static void child(void *arg)
{
    int k = *(int *)arg;
    seen_ids[k] = get_ctx_id();
    CHECK(get_ctx_ptr() != NULL);
    yield_ctx();
    note((char)('0' + k));
}

static int child_args[4] = {0, 1, 2, 3};

/* Makes three coroutines from inside a coroutine, then waits for them. */
static void parent(void *arg)
{
    sp_ctx kids[3];
    (void)arg;
    for (int k = 0; k < 3; k++) {
        kids[k] = create_ctx(child, &child_args[k]);
        CHECK(kids[k] != NULL);
        child_ids[k] = get_ctx_id_of(kids[k]);
    }
    while (!all_finished(kids, 3))
        yield_ctx();
    for (int k = 0; k < 3; k++)
        destroy_ctx(kids[k]);
    note('P');
}

TEST(coroutines_created_inside_coroutines)
{
    sp_ctx p = create_ctx(parent, NULL);
    size_t parent_id = get_ctx_id_of(p);
    while (!is_ctx_finished(p))
        yield_ctx();
    CHECK_STR(trail, "210P");
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(seen_ids[k], child_ids[k]);
        CHECK(child_ids[k] > parent_id);
        CHECK(k == 0 || child_ids[k] > child_ids[k - 1]);
    }
    destroy_ctx(p);
}

static void check_own_id(void *arg)
{
    size_t expected = *(size_t *)arg;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(get_ctx_id(), expected);
        CHECK_EQ(get_ctx_id_of(get_ctx_ptr()), expected);
        yield_ctx();
    }
}

TEST(ids_are_stable_and_unique)
{
    size_t ids[6];
    sp_ctx c[6];
    struct stepper quick = {'q', 0};
    for (int i = 0; i < 6; i++) {
        c[i] = i == 2 ? create_ctx(step, &quick) : create_ctx(check_own_id, &ids[i]);
        ids[i] = get_ctx_id_of(c[i]);
        CHECK(ids[i] != 0);
        for (int j = 0; j < i; j++)
            CHECK(ids[j] != ids[i]);
    }
    CHECK_EQ(get_ctx_id_of(NULL), 0);
    run_from_main(c, 6);         /* c[2] finishes first; ids must not move */
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(get_ctx_id_of(c[i]), ids[i]);
        destroy_ctx(c[i]);
    }
}
