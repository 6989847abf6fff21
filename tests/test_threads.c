/* Each thread has its own main context and rotation. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>

#include "coroutine.h"
#include "test.h"

enum { THREADS = 4, PER_THREAD = 20, ROUNDS = 50 };

struct worker {
    pthread_t thread;
    size_t ids[PER_THREAD];
    int steps[PER_THREAD];
    int errors;
};

struct job {
    struct worker *w;
    int k;
};

static void work(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < ROUNDS; i++) {
        /* Rotation is newest first, so everyone newer has had one more
         * step by now, everyone older one fewer, in this thread only. */
        for (int k = 0; k < PER_THREAD; k++) {
            int expected = k > j->k ? i + 1 : i;
            j->w->errors += j->w->steps[k] != expected;
        }
        j->w->errors += get_ctx_id() != j->w->ids[j->k];
        j->w->steps[j->k]++;
        yield_ctx();
    }
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct job jobs[PER_THREAD];
    sp_ctx c[PER_THREAD];
    w->errors += get_ctx_id() != 0 || get_ctx_ptr() != NULL;
    for (int k = 0; k < PER_THREAD; k++) {
        jobs[k] = (struct job){w, k};
        c[k] = create_ctx(work, &jobs[k]);
        w->ids[k] = get_ctx_id_of(c[k]);
    }
    for (int done = 0; done < PER_THREAD;) {
        yield_ctx();
        done = 0;
        for (int k = 0; k < PER_THREAD; k++)
            done += is_ctx_finished(c[k]);
    }
    for (int k = 0; k < PER_THREAD; k++)
        destroy_ctx(c[k]);
    return NULL;
}

TEST(threads_each_have_their_own_coroutines)
{
    static struct worker w[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&w[t].thread, NULL, run_worker, &w[t]) == 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(w[t].thread, NULL);
    for (int t = 0; t < THREADS; t++) {
        CHECK_EQ(w[t].errors, 0);
        for (int k = 0; k < PER_THREAD; k++) {
            CHECK_EQ(w[t].steps[k], ROUNDS);
            for (int u = 0; u <= t; u++)      /* ids unique across threads */
                for (int m = 0; m < (u == t ? k : PER_THREAD); m++)
                    CHECK(w[u].ids[m] != w[t].ids[k]);
        }
    }
}

TEST(main_thread_and_others_at_once)
{
    /* Coroutines in main, while threads run theirs. */
    static struct worker w[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&w[t].thread, NULL, run_worker, &w[t]) == 0);
    struct worker mine = {0};
    run_worker(&mine);
    for (int t = 0; t < 2; t++)
        pthread_join(w[t].thread, NULL);
    CHECK_EQ(mine.errors, 0);
    CHECK_EQ(w[0].errors, 0);
    CHECK_EQ(w[1].errors, 0);
}

/* Two threads, each in a coroutine of its own, bump one int without a
 * lock: a real race, which ThreadSanitizer must still see. Both coroutines
 * stay alive until both have written, so that TSan compares two live
 * fibers rather than one and the recycled identity of a finished one. */
static int racy;
static pthread_barrier_t both_wrote;

static void race_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        racy++;
        yield_ctx();
    }
    pthread_barrier_wait(&both_wrote);
}

static void *race_thread(void *arg)
{
    sp_ctx c = create_ctx(race_body, arg);
    while (!is_ctx_finished(c))
        yield_ctx();
    destroy_ctx(c);
    return NULL;
}

static void plant_race(void *unused)
{
    pthread_t a, b;
    (void)unused;
    pthread_barrier_init(&both_wrote, NULL, 2);
    pthread_create(&a, NULL, race_thread, NULL);
    pthread_create(&b, NULL, race_thread, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

TEST(a_race_between_coroutines_of_two_threads_is_found)
{
    if (test_sanitizer == NULL || strcmp(test_sanitizer, "ThreadSanitizer") != 0)
        test_skip("needs a build with ThreadSanitizer");
    struct death d = run_in_child(plant_race, NULL);
    CHECK(strstr(d.message, "ThreadSanitizer: data race") != NULL);
    CHECK(strstr(d.message, "race_body") != NULL);
}

/* A thread that exits leaves nothing behind: its coroutines, suspended or
 * finished, are destroyed with it, their stacks and mappings given back. */
static void wait_forever(void *touched)
{
    volatile char page[2048];
    page[0] = *(char *)touched;
    page[sizeof page - 1] = page[0];
    for (;;)
        switch_ctx(NULL);
}

static void *leave_100_suspended(void *with_coroutines)
{
    static char one = 1;
    for (int i = 0; with_coroutines && i < 100; i++) {
        sp_ctx c = create_ctx(wait_forever, &one);
        if (c == NULL)
            return (void *)1;
        switch_ctx(c);
    }
    return NULL;
}

static void run_thread(bool with_coroutines)
{
    pthread_t t;
    void *failed = NULL;
    CHECK(pthread_create(&t, NULL, leave_100_suspended, with_coroutines ? &t : NULL) == 0);
    CHECK(pthread_join(t, &failed) == 0);
    CHECK(failed == NULL);
}

/* What 100 threads, one after the other, add to the mappings and the
 * resident memory. */
static void growth_of_100_threads(bool with_coroutines, size_t *maps, size_t *rss)
{
    size_t maps_before = count_mappings(), rss_before = resident_bytes();
    for (int i = 0; i < 100; i++)
        run_thread(with_coroutines);
    *maps = count_mappings() - maps_before;
    size_t after = resident_bytes();
    *rss = after > rss_before ? after - rss_before : 0;
}

/* Threads alone are the yardstick: an emulator keeps memory of its own
 * for each thread that ran. */
TEST(threads_exiting_with_suspended_coroutines_give_everything_back)
{
    size_t maps_alone, rss_alone, maps, rss;
    run_thread(true);                       /* the thread stack cache, arenas */
    growth_of_100_threads(false, &maps_alone, &rss_alone);
    growth_of_100_threads(true, &maps, &rss);
    if (test_tool())
        test_skip("the tool's own mappings and memory would be counted");
    CHECK(maps <= maps_alone + 2);
    if (!memory_is_given_back())
        test_skip("memory given back stays resident in this environment");
    if (rss >= rss_alone + 2 * 1024 * 1024)    /* 10,000 stacks were touched */
        test_fail(__FILE__, __LINE__, "resident memory grew by %zu KiB, %zu KiB without "
                  "coroutines", rss / 1024, rss_alone / 1024);
}
