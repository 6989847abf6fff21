/* The trace: one slice per stretch a context ran, in order, with the
 * right ids, and a mark for each create, finish, destroy and wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "coroutine_wait.h"
#include "test.h"

static void yield_twice(void *arg)
{
    (void)arg;
    yield_ctx();
    yield_ctx();
}

/* The slices' lanes (the context ids), in the order written. */
static size_t read_slices(const char *text, size_t *ids, double *ts, size_t max)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "\"ph\":\"X\"")) != NULL && n < max; p++) {
        const char *t = strstr(p, "\"ts\":"), *lane = strstr(p, "\"tid\":");
        CHECK(t != NULL && lane != NULL);
        ts[n] = strtod(t + 5, NULL);
        ids[n++] = strtoul(lane + 6, NULL, 10);
    }
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char text[1 << 16];
    CHECK(f != NULL);
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* What 'run' does, traced into a scratch file ending in 'suffix' (".svg":
 * the timeline); the file's text. */
static const char *trace_of(void (*run)(void), const char *suffix)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/coroutine-trace-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(trace_ctx(path), 0);
    run();
    CHECK_EQ(trace_ctx(NULL), 0);
    const char *text = slurp(path);
    unlink(path);
    return text;
}

static size_t traced_id;

static void run_one_yielding_twice(void)
{
    sp_ctx c = create_ctx(yield_twice, NULL);
    traced_id = get_ctx_id_of(c);
    while (!is_ctx_finished(c))
        yield_ctx();
    destroy_ctx(c);
}

TEST(the_trace_has_a_slice_per_stretch_in_order)
{
    const char *text = trace_of(run_one_yielding_twice, "");
    size_t id = traced_id, ids[16], expected[] = {0, id, 0, id, 0, id, 0};
    double ts[16];
    size_t n = read_slices(text, ids, ts, 16);
    CHECK_EQ(n, 7);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(ids[i], expected[i]);
        CHECK(i == 0 || ts[i] >= ts[i - 1]);
    }
    CHECK(strstr(text, "\"name\":\"created\"") != NULL);
    CHECK(strstr(text, "\"name\":\"finished\"") != NULL);
    CHECK(strstr(text, "\"name\":\"destroyed\"") != NULL);
    CHECK(strstr(text, "\"traceEvents\":[") == text + 1);
}

static void traced_by_environment(void *file)
{
    setenv("COROUTINE_TRACE", file, 1);
    sp_ctx c = create_ctx(yield_twice, NULL);   /* the first create starts it */
    while (!is_ctx_finished(c))
        yield_ctx();
    destroy_ctx(c);
    exit(0);                                     /* written at exit */
}

TEST(the_environment_can_turn_the_trace_on)
{
    char path[] = "/tmp/coroutine-trace-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct death d = run_in_child(traced_by_environment, path);
    CHECK(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0);
    const char *text = slurp(path);
    unlink(path);
    size_t ids[16];
    double ts[16];
    CHECK_EQ(read_slices(text, ids, ts, 16), 7);   /* main's from the first create on */
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

static sp_ctx a_ctx, b_ctx;

static void body_a(void *arg)
{
    (void)arg;
    switch_ctx(b_ctx);          /* a's turn would pass to main: out of turn */
}

static void body_b(void *arg)
{
    (void)arg;
    yield_ctx();                /* in turn: to a */
}

static void run_two_that_switch(void)
{
    a_ctx = create_ctx(body_a, NULL);
    b_ctx = create_ctx(body_b, NULL);       /* newest: main -> b -> a -> main */
    while (!is_ctx_finished(a_ctx) || !is_ctx_finished(b_ctx))
        yield_ctx();
    destroy_ctx(a_ctx);
    destroy_ctx(b_ctx);
}

TEST(the_timeline_draws_stretches_lanes_and_switches_out_of_turn)
{
    const char *svg = trace_of(run_two_that_switch, ".svg");
    CHECK(strncmp(svg, "<svg ", 5) == 0);
    CHECK(strstr(svg, "</svg>\n") == svg + strlen(svg) - 7);
    /* main, b, a, b (finishes), a (finishes), main */
    CHECK_EQ(count(svg, "rx='3'"), 6);
    CHECK_EQ(count(svg, "class='lane'>"), 3);
    CHECK_EQ(count(svg, "<path class='switch'"), 1);
    CHECK_EQ(count(svg, "class='made'"), 2);
    CHECK_EQ(count(svg, "class='done'"), 2);
}

/* A trace that cannot be written fails at once, and what runs meanwhile
 * is not recorded for the next one. */
TEST(a_failed_trace_leaves_nothing_for_the_next)
{
    char path[] = "/tmp/coroutine-trace-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    errno = 0;
    CHECK_EQ(trace_ctx("/nonexistent-directory/trace.json"), -1);
    CHECK_EQ(errno, ENOENT);
    sp_ctx before = create_ctx(yield_twice, NULL);
    while (!is_ctx_finished(before))
        yield_ctx();

    CHECK_EQ(trace_ctx(path), 0);
    sp_ctx during = create_ctx(yield_twice, NULL);
    while (!is_ctx_finished(during))
        yield_ctx();
    CHECK_EQ(trace_ctx(NULL), 0);

    char lane[64];
    const char *text = slurp(path);
    unlink(path);
    snprintf(lane, sizeof lane, "\"tid\":%zu,", get_ctx_id_of(during));
    CHECK(strstr(text, lane) != NULL);
    snprintf(lane, sizeof lane, "\"tid\":%zu,", get_ctx_id_of(before));
    CHECK(strstr(text, lane) == NULL);
    destroy_ctx(before);
    destroy_ctx(during);
}

static void nap(void *unused)
{
    (void)unused;
    co_sleep(co_now() + CO_MSEC);
}

static void run_one_napping(void)
{
    sp_ctx c = create_ctx(nap, NULL);
    traced_id = get_ctx_id_of(c);
    CHECK_EQ(co_join(c, CO_FOREVER), 0);
    destroy_ctx(c);
}

/* Is there a line (an event) in 'text' with both 'name' and 'id'? */
static bool has_event(const char *text, const char *name, size_t id)
{
    char want[64];
    snprintf(want, sizeof want, "\"args\":{\"id\":%zu}", id);
    for (const char *line = text; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
        char one[512];
        size_t len = strcspn(line, "\n");
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), line);
        if (strstr(one, name) && strstr(one, want))
            return true;
    }
    return false;
}

/* A wait is a mark: "waits" when the coroutine leaves the rotation,
 * "woken" when it rejoins, with its id; in the timeline, a square each. */
TEST(the_trace_and_the_timeline_show_waits)
{
    const char *text = trace_of(run_one_napping, "");
    CHECK(has_event(text, "\"name\":\"waits\"", traced_id));
    CHECK(has_event(text, "\"name\":\"woken\"", traced_id));
    const char *svg = trace_of(run_one_napping, ".svg");
    CHECK(count(svg, "class='waits'") >= 2);    /* the napper, and main in co_join */
    CHECK(count(svg, "class='woken'") >= 2);
}
