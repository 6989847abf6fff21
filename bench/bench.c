/* bench.c - compares this library with Boost.Context, glibc ucontext and a
 * bare register swap, all measured in the same run.
 *
 *     bench [--quick] [--rounds N] [--memory N]
 *     bench --instructions         only the instructions per switch
 *
 * Instructions per switch are counted under valgrind's callgrind, which
 * counts the same on a busy machine as on an idle one; a full run ends
 * with them when valgrind is installed.
 *
 * Timed workloads run in rounds; each round runs every workload on every
 * implementation once, in turn, so a noisy moment hits all of them alike.
 * The tables give the median and the range over the rounds, and the ratio
 * of our median to Boost's.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ROUNDS 64

static const struct backend *const backends[] = {&ours, &boost_context, &ucontext, &bare, &bare_fp};
enum { N_BACKENDS = sizeof backends / sizeof backends[0] };

/* A timed workload: how to run it on a backend, and how many operations. */
struct workload {
    const char *name;
    long ops;
    double (*run)(const struct backend *b, long n);
    double samples[N_BACKENDS][MAX_ROUNDS];
};

static double run_switch(const struct backend *b, long n) { return b->switch_ns ? b->switch_ns(n) : -1; }
static double run_yield(const struct backend *b, long n) { return b->yield_ns ? b->yield_ns(n) : -1; }
static double run_ring(const struct backend *b, int ring, long n) { return b->rotate_ns ? b->rotate_ns(ring, n) : -1; }
static double run_ring2(const struct backend *b, long n) { return run_ring(b, 2, n); }
static double run_ring100(const struct backend *b, long n) { return run_ring(b, 100, n); }
static double run_ring10k(const struct backend *b, long n) { return run_ring(b, 10000, n); }
static double run_life(const struct backend *b, long n) { return b->lifecycle_ns ? b->lifecycle_ns(n) : -1; }
static double run_life_reused(const struct backend *b, long n) { return b->lifecycle_reused_ns ? b->lifecycle_reused_ns(n) : -1; }

static struct workload workloads[] = {
    {"switch: ping-pong of two contexts", 2000000, run_switch, {{0}}},
    {"yield: main and one coroutine", 2000000, run_yield, {{0}}},
    {"rotation through 2 coroutines", 2000000, run_ring2, {{0}}},
    {"rotation through 100 coroutines", 2000000, run_ring100, {{0}}},
    {"rotation through 10,000 coroutines", 2000000, run_ring10k, {{0}}},
    {"create + run + destroy", 500000, run_life, {{0}}},
    {"create + run + destroy, one stack reused", 500000, run_life_reused, {{0}}},
};
enum { N_WORKLOADS = sizeof workloads / sizeof workloads[0] };

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats {
    double median, min, max;
};

static struct stats stats_of(const double *samples, int n)
{
    double sorted[MAX_ROUNDS];
    memcpy(sorted, samples, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare);
    return (struct stats){n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
                          sorted[0], sorted[n - 1]};
}

static void run_rounds(int rounds, long scale)
{
    for (int r = 0; r < rounds; r++) {
        fprintf(stderr, "round %d of %d\n", r + 1, rounds);
        for (int w = 0; w < N_WORKLOADS; w++)
            for (int b = 0; b < N_BACKENDS; b++) {
                long n = workloads[w].ops / scale;
                if (backends[b] == &ucontext)
                    n /= 10;                    /* ~50x slower per switch */
                if (n < 20000)                  /* a whole turn of the largest ring */
                    n = 20000;
                workloads[w].samples[b][r] = backends[b]->missing ? -1 : workloads[w].run(backends[b], n);
            }
    }
}

static void print_cell(double *samples, int rounds)
{
    if (samples[0] < 0) {
        printf(" - |");
        return;
    }
    struct stats s = stats_of(samples, rounds);
    printf(" %.1f (%.1f-%.1f) |", s.median, s.min, s.max);
}

/* Median of our samples over Boost's, or a negative number if either is missing. */
static double ratio(const struct workload *w, int rounds)
{
    if (w->samples[0][0] < 0 || w->samples[1][0] < 0)
        return -1;
    return stats_of(w->samples[0], rounds).median / stats_of(w->samples[1], rounds).median;
}

static void print_timings(int rounds)
{
    printf("\nNanoseconds per operation: median (min-max) of %d rounds\n\n", rounds);
    printf("| workload |");
    for (int b = 0; b < N_BACKENDS; b++)
        printf(" %s |", backends[b]->name);
    printf(" ours / Boost |\n|---|");
    for (int b = 0; b <= N_BACKENDS; b++)
        printf("---|");
    printf("\n");
    for (int w = 0; w < N_WORKLOADS; w++) {
        printf("| %s |", workloads[w].name);
        for (int b = 0; b < N_BACKENDS; b++)
            print_cell(workloads[w].samples[b], rounds);
        double q = ratio(&workloads[w], rounds);
        if (q < 0)
            printf(" - |\n");
        else
            printf(" %.2fx |\n", q);
    }
    for (int b = 0; b < N_BACKENDS; b++)
        if (backends[b]->missing)
            printf("\n%s: %s\n", backends[b]->name, backends[b]->missing);
}

/* One row of the memory table, measured in a child process so that no
 * pool or heap left by another row is counted, or hides a cost. Rows are
 * measured before any timed workload, from a parent that has made no
 * coroutine yet. */
struct memory_row {
    const char *name;
    const char *stack;
    const struct backend *backend;
    size_t stack_size;
    struct memory result;
    bool died;
};

static struct memory_row memory_rows[] = {
    {"ours, create_ctx", "4 MiB", &ours, 0, {0}, false},
    {"ours, create_ctx_sized", "4 KiB", &ours, 4096, {0}, false},
    {"Boost.Context", "128 KiB, malloc", &boost_context, 0, {0}, false},
    {"ucontext", "128 KiB, malloc", &ucontext, 0, {0}, false},
};
enum { N_MEMORY_ROWS = sizeof memory_rows / sizeof memory_rows[0] };

static void measure_memory_row(struct memory_row *row, long n)
{
    int fds[2];
    row->died = true;
    if (row->backend->missing || pipe(fds) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct memory m = row->backend->memory(n, row->stack_size);
        ssize_t unused = write(fds[1], &m, sizeof m);
        (void)unused;
        _exit(0);
    }
    close(fds[1]);
    row->died = read(fds[0], &row->result, sizeof row->result) != (ssize_t)sizeof row->result;
    close(fds[0]);
    waitpid(pid, NULL, 0);
}

static void print_memory(long n)
{
    printf("\nUp to %ld coroutines at once, each suspended holding 512 bytes of live stack\n\n", n);
    printf("| implementation | stack | created | RSS KiB each | page tables KiB each | "
           "both | mappings added |\n|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < N_MEMORY_ROWS; i++) {
        const struct memory_row *r = &memory_rows[i];
        const struct memory *m = &r->result;
        if (r->backend->missing)
            printf("| %s | %s | - | - | - | - | - |\n", r->name, r->stack);
        else if (r->died)
            printf("| %s | %s | (died) | | | | |\n", r->name, r->stack);
        else
            printf("| %s | %s | %ld | %.2f | %.2f | %.2f | %ld |\n", r->name, r->stack,
                   m->created, m->rss / 1024, m->page_tables / 1024,
                   (m->rss + m->page_tables) / 1024, m->mappings);
    }
}

/* ---- instructions per switch, counted by callgrind ---------------------- */

/* Run ourselves under callgrind for one workload ("switch", or "ring" with
 * a ring size) and return the total instruction count, or -1. */
static long callgrind_total(const char *self, const char *workload, const char *backend,
                            int ring, long n)
{
    char count[32], size[32], out[8192];
    int fds[2];
    snprintf(count, sizeof count, "%ld", n);
    snprintf(size, sizeof size, "%d", ring);
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        int null = open("/dev/null", O_WRONLY);  /* --run-only prints its timing */
        dup2(null, STDOUT_FILENO);
        close(fds[0]);
        execlp("valgrind", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               self, "--run-only", workload, backend, size, count, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t k;
    while ((k = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)k;
    out[len] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    const char *p = strstr(out, "Collected : ");
    return p ? atol(p + strlen("Collected : ")) : -1;
}

/* Instructions per switch (or per lifecycle): the difference between a run
 * of n and one of 2n, so that setup cancels out. */
static double per_switch(const char *self, const char *workload, const char *backend, int ring)
{
    const long n = 200000;
    long one = callgrind_total(self, workload, backend, ring, n);
    long two = callgrind_total(self, workload, backend, ring, 2 * n);
    if (one < 0 || two < 0)
        return -1;
    /* switch: n round trips are 2n switches; ring: n switches */
    return (two - one) / (strcmp(workload, "switch") == 0 ? 2.0 * n : (double)n);
}

static int print_instructions(const char *self)
{
    printf("\nInstructions per switch (callgrind; the difference between a run of n "
           "and one of 2n)\n\n| workload | implementation | instructions |\n|---|---|---|\n");
    for (int b = 0; b < N_BACKENDS; b++) {
        if (backends[b]->missing || !backends[b]->switch_ns)
            continue;
        double k = per_switch(self, "switch", backends[b]->name, 0);
        if (k < 0) {
            printf("\n(valgrind did not run: apt-get install valgrind)\n");
            return 1;
        }
        printf("| switch: ping-pong | %s | %.1f |\n", backends[b]->name, k);
    }
    int rings[] = {2, 100, 10000};
    for (int i = 0; i < 3; i++)
        printf("| yield: rotation through %d | ours | %.1f |\n", rings[i],
               per_switch(self, "ring", "ours", rings[i]));
    return 0;
}

/* One workload of one implementation, its time per operation on stdout. */
static int run_only(const char *workload, const char *name, int ring, long n)
{
    for (int b = 0; b < N_BACKENDS; b++) {
        const struct backend *x = backends[b];
        double ns;
        if (strcmp(x->name, name) != 0)
            continue;
        if (strcmp(workload, "switch") == 0 && x->switch_ns)
            ns = x->switch_ns(n);
        else if (strcmp(workload, "ring") == 0 && x->rotate_ns)
            ns = x->rotate_ns(ring, n);
        else if (strcmp(workload, "lifecycle") == 0 && x->lifecycle_ns)
            ns = x->lifecycle_ns(n);
        else
            return 1;
        printf("%.3f\n", ns);
        return 0;
    }
    return 1;
}

/* ---- what the trace costs while it is off -------------------------------- */

/* Time one workload of ours in 'program' (a process of its own), or -1. */
static double time_in(const char *program, const char *workload, long n)
{
    char command[4096];
    double ns = -1;
    snprintf(command, sizeof command, "'%s' --run-only %s ours 0 %ld", program, workload, n);
    FILE *p = popen(command, "r");
    if (p == NULL)
        return -1;
    if (fscanf(p, "%lf", &ns) != 1)
        ns = -1;
    return pclose(p) == 0 ? ns : -1;
}

/* Ours with tracing compiled in but off ('self') against a build without
 * it ('untraced'): time, rounds interleaved so that both see the same
 * machine, then instructions, which do not depend on the machine at all. */
static int print_trace_cost(const char *self, const char *untraced, int rounds, long scale)
{
    static const struct {
        const char *workload;
        long n;
    } rows[] = {{"switch", 10000000}, {"lifecycle", 1000000}};
    printf("\nWhat the trace costs while off: ours as built against ours built with "
           "-DCOROUTINE_NO_TRACE\n\n| workload | ns, trace off | ns, no trace | ratio |"
           " instructions, trace off | instructions, no trace |\n|---|---|---|---|---|---|\n");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double with[MAX_ROUNDS], without[MAX_ROUNDS];
        for (int i = 0; i < rounds; i++) {
            with[i] = time_in(self, rows[r].workload, rows[r].n / scale);
            without[i] = time_in(untraced, rows[r].workload, rows[r].n / scale);
            if (with[i] < 0 || without[i] < 0) {
                fprintf(stderr, "bench: %s did not run\n", with[i] < 0 ? self : untraced);
                return 1;
            }
        }
        double a = stats_of(with, rounds).median, b = stats_of(without, rounds).median;
        printf("| %s | %.1f | %.1f | %.3f |", rows[r].workload, a, b, a / b);
        double k = scale == 1 ? per_switch(self, rows[r].workload, "ours", 0) : -1;
        double u = scale == 1 ? per_switch(untraced, rows[r].workload, "ours", 0) : -1;
        if (k < 0 || u < 0)
            printf(" %s | |\n", scale == 1 ? "(no valgrind)" : "");
        else
            printf(" %.1f | %.1f |\n", k, u);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = 7;
    long scale = 1, memory_n = 1000000;
    const char *untraced = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            rounds = 1;
            scale = 1000;
            memory_n = 1000;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
            memory_n = atol(argv[++i]);
        } else if (strcmp(argv[i], "--instructions") == 0) {
            return print_instructions(argv[0]);
        } else if (strcmp(argv[i], "--trace-cost") == 0 && i + 1 < argc) {
            untraced = argv[++i];
        } else if (strcmp(argv[i], "--run-only") == 0 && i + 4 < argc) {
            return run_only(argv[i + 1], argv[i + 2], atoi(argv[i + 3]), atol(argv[i + 4]));
        } else {
            fprintf(stderr, "usage: bench [--quick] [--rounds N] [--memory N] [--instructions]"
                            " [--trace-cost UNTRACED_BENCH]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench: rounds must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    for (int i = 0; i < N_MEMORY_ROWS; i++) {
        fprintf(stderr, "memory: %s\n", memory_rows[i].name);
        measure_memory_row(&memory_rows[i], memory_n);
    }
    run_rounds(rounds, scale);
    print_timings(rounds);
    print_memory(memory_n);
    if (scale == 1)
        print_instructions(argv[0]);
    if (untraced != NULL)
        return print_trace_cost(argv[0], untraced, rounds, scale);
    return 0;
}
