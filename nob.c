/* nob.c - the build script. Bootstrap once with `cc -o nob nob.c`.
 *
 *   ./nob          build build/libcoroutine.a, the demo build/app and the
 *                  examples in build/examples
 *   ./nob example NAME   build and run examples/NAME.c
 *   ./nob seeds NAME [N] run examples/NAME.c under seeds 1 to N (1000) and
 *                  a virtual clock until one fails; replay it and draw it
 *   ./nob docs     regenerate docs/how-it-works.md and docs/timeline.svg
 *                  from the demo's own output
 *   ./nob test     build and run the test suite with gcc and clang, at -O0
 *                  and -O2 (and again on the fallback path of kernels
 *                  without guard regions, and on the shared library), under
 *                  AddressSanitizer with UBSan, and (the tests with threads)
 *                  under ThreadSanitizer, and under valgrind; a C++ program's
 *                  exceptions; an install used as a user would; the gdb
 *                  commands in tools/gdb; the fuzzer,
 *                  over its corpus and for a while (a minute in CI); then for
 *                  aarch64 and riscv64 under qemu. The last line sums it
 *                  up: N passed, N failed
 *   ./nob bench    build and run the benchmarks, and the library built
 *                  without the trace to weigh what it costs while off
 *                  (arguments go to them; --quick for a fast smoke run)
 *   ./nob bench servers [--quick]   the example servers against
 *                  redis-server, nginx and a bare epoll loop; waiting's cost
 *   ./nob bench chan [--quick]      channels against Go's
 *   ./nob bench spawn [--quick]     skynet against Go's, and a burst
 *   ./nob fuzz N   fuzz the API for N seconds (libFuzzer, clang)
 *   ./nob deps     print which file of src/ uses which, from nm of the
 *                  objects, and fail if the graph has a cycle
 *   ./nob install [--prefix DIR] [--destdir DIR]
 *                  install the static and shared libraries, the header, the
 *                  pkg-config file, the man pages, the gdb commands and the
 *                  docs (prefix /usr/local by default); ./nob uninstall with
 *                  the same options removes them
 *
 * The target folder src/<os>_<arch>/ is picked here, once, for the machine
 * nob runs on (x86_64, aarch64 or riscv64), so that no source file has to
 * ask which machine it is on.
 */
#include "nob.h"

#include <ctype.h>
#include <dirent.h>
#include <time.h>

#if defined(__linux__) && defined(__x86_64__)
#define HOST_TARGET "linux_x86_64"
#elif defined(__linux__) && defined(__aarch64__)
#define HOST_TARGET "linux_aarch64"
#elif defined(__linux__) && defined(__riscv) && __riscv_xlen == 64
#define HOST_TARGET "linux_riscv64"
#else
#error "no target folder under src/ for this machine yet"
#endif

#define SRC "src"
#define TESTS "tests"
#define BENCH "bench"
#define EXAMPLES "examples"
#define BOOST_HEADER "/usr/include/boost/context/detail/fcontext.hpp"

static const char *warnings[] = {"-Wall", "-Wextra", "-Wpedantic"};
static const char *public_headers[] = {SRC "/coroutine.h", SRC "/coroutine_wait.h",
                                       SRC "/coroutine_chan.h"};
/* Where the headers are: a change to any of them rebuilds everything. */
static const char *header_dirs[] = {SRC, EXAMPLES, TESTS, BENCH};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One way of building everything: a compiler, flags and a folder. */
typedef struct {
    const char *name;       /* shown in the summary */
    const char *cc;
    const char *opt;        /* -O0, -O2 */
    bool werror;
    const char *target;     /* folder under src/ and tests/ */
    const char *dir;        /* where its outputs go */
    const char *ar;         /* the archiver that knows the target */
    const char *emulator;   /* runs its programs, or NULL: run them directly */
    const char *sysroot;    /* the emulator's libraries */
    const char *sanitize;   /* -fsanitize=..., or NULL */
    const char *only;       /* run only the tests whose names contain one of
                               these words */
    bool valgrind;          /* run the programs under valgrind's memcheck */
    const char *extra;      /* one more flag for C, or NULL */
    bool fallback;          /* run with COROUTINE_GUARD_REGIONS=0: stacks
                               guarded the way kernels before 6.13 allow */
    bool shared;            /* link the tests with the shared library */
} Config;

/* Targets tested under emulation, and the Debian packages that bring them. */
typedef struct {
    const char *target;
    const char *triplet;
    const char *emulator;
    const char *packages;
} Cross;

static const Cross crosses[] = {
    {"linux_aarch64", "aarch64-linux-gnu", "qemu-aarch64", "gcc-aarch64-linux-gnu qemu-user"},
    {"linux_riscv64", "riscv64-linux-gnu", "qemu-riscv64", "gcc-riscv64-linux-gnu qemu-user"},
};

typedef struct {
    int passed;
    int failed;
    int skipped;
    const char *failures[64];       /* what failed, repeated at the end */
} Tally;

/* Count one failure and remember what it was, so the last lines of a long
 * run say what failed even when only its tail is kept. */
static void fail(Tally *t, const char *what)
{
    if ((size_t)t->failed < COUNT(t->failures))
        t->failures[t->failed] = what;
    t->failed++;
}

/* Count a check that passed or failed. */
static void tally(Tally *t, bool ok, const char *what)
{
    if (ok)
        t->passed++;
    else
        fail(t, what);
}

static bool is_asm(const char *path)
{
    size_t n = strlen(path);
    return n > 2 && strcmp(path + n - 2, ".s") == 0;
}

/* Flags for compiling 'source' (NULL: for linking a mix of sources). */
static void add_cflags(Nob_Cmd *cmd, const Config *c, const char *source)
{
    nob_cmd_append(cmd, c->cc, "-g", c->opt, "-I" SRC);
    if (source == NULL || !is_asm(source))
        nob_cmd_push(cmd, "-std=c11");
    for (size_t i = 0; i < COUNT(warnings); i++)
        nob_cmd_push(cmd, warnings[i]);
    if (c->werror)
        nob_cmd_push(cmd, "-Werror");
    if (c->extra && (source == NULL || !is_asm(source)))
        nob_cmd_push(cmd, c->extra);
    if (source == NULL || !is_asm(source))      /* big frames touch each page: see README */
        nob_cmd_push(cmd, "-fstack-clash-protection");
    if (c->sanitize && (source == NULL || !is_asm(source)))  /* UBSan stops at its first report */
        nob_cmd_append(cmd, nob_fmt("-fsanitize=%s", c->sanitize),
                       "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer");
}

static const char *lib_path(const Config *c)
{
    return nob_fmt("%s/libcoroutine.a", c->dir);
}

/* The portable core, one file a job (see the README's file table). */
static const char *core_sources[] = {
    SRC "/coroutine.c", SRC "/switch.c", SRC "/context.c", SRC "/stack.c",
    SRC "/overflow.c", SRC "/arrival.c", SRC "/seed.c", SRC "/trace.c", SRC "/trace_write.c",
    SRC "/inspect.c", SRC "/symbols.c", SRC "/threads.c", SRC "/dump.c", SRC "/stall.c", SRC "/account.c", SRC "/timer.c", SRC "/wait.c", SRC "/poller.c", SRC "/io.c", SRC "/net.c",
    SRC "/poller_epoll.c", SRC "/chan.c", SRC "/sync.c",
    SRC "/mbox.c", SRC "/inbox.c", SRC "/offload.c",
};

/* What a target folder provides (platform.h). */
static const char *target_platform(const Config *c)
{
    return nob_fmt(SRC "/%s/platform.c", c->target);
}

static const char *target_asm(const Config *c)
{
    return nob_fmt(SRC "/%s/asm.s", c->target);
}

/* The library's sources: the portable core, then the target's files. */
static size_t lib_sources(const Config *c, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < COUNT(core_sources); i++)
        out[n++] = core_sources[i];
    out[n++] = nob_fmt(SRC "/%s/process.c", c->target);
    out[n++] = target_platform(c);
    out[n++] = target_asm(c);
    return n;
}

static const char *object_for(const Config *c, const char *source)
{
    const char *base = strrchr(source, '/') + 1;
    return nob_fmt("%s/%.*s.o", c->dir, (int)(strrchr(base, '.') - base), base);
}

static size_t list_files(const char *dir, const char *prefix, const char *suffix,
                         const char **out, size_t max);

/* Does 'out' need rebuilding from 'srcs' plus every header? The headers
 * are listed from their folders, so a new one cannot be forgotten. */
static bool stale(const char *out, const char **srcs, size_t n)
{
    const char *inputs[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k < COUNT(inputs); i++)
        inputs[k++] = srcs[i];
    for (size_t i = 0; i < COUNT(header_dirs); i++)
        k += list_files(header_dirs[i], "", ".h", inputs + k, COUNT(inputs) - k);
    return nob_needs_rebuild(out, inputs, k);
}

/* Compile the library's objects and archive them. */
static bool build_library(const Config *c)
{
    const char *srcs[32], *objs[32];
    size_t n = lib_sources(c, srcs);
    Nob_Cmd cmds[32] = {0};
    size_t todo = 0;
    if (!nob_mkdir_p(c->dir))
        return false;
    for (size_t i = 0; i < n; i++) {
        objs[i] = object_for(c, srcs[i]);
        if (!stale(objs[i], &srcs[i], 1))
            continue;
        add_cflags(&cmds[todo], c, srcs[i]);
        nob_cmd_append(&cmds[todo], "-c", srcs[i], "-o", objs[i]);
        todo++;
    }
    bool ok = nob_cmds_run_parallel(cmds, todo, 2);
    for (size_t i = 0; i < todo; i++)
        nob_cmd_free(&cmds[i]);
    if (!ok)
        return false;
    if (!nob_needs_rebuild(lib_path(c), objs, n))
        return true;
    Nob_Cmd ar = {0};
    unlink(lib_path(c));
    nob_cmd_append(&ar, c->ar, "rcs", lib_path(c));
    for (size_t i = 0; i < n; i++)
        nob_cmd_push(&ar, objs[i]);
    ok = nob_cmd_run(&ar);
    nob_cmd_free(&ar);
    return ok;
}

/* Link 'srcs' (and 'extra' objects or libraries) into 'out'. */
static bool build_program(const Config *c, const char *out, const char **srcs, size_t n,
                          const char **extra, size_t n_extra)
{
    const char *inputs[64];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        inputs[k++] = srcs[i];
    for (size_t i = 0; i < n_extra; i++)
        inputs[k++] = extra[i];
    if (!stale(out, inputs, k))
        return true;
    Nob_Cmd cmd = {0};
    add_cflags(&cmd, c, NULL);
    nob_cmd_append(&cmd, "-I" TESTS, "-o", out);
    for (size_t i = 0; i < k; i++)
        nob_cmd_push(&cmd, inputs[i]);
    nob_cmd_append(&cmd, "-pthread", "-lm");
    bool ok = nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    return ok;
}

static bool build_demo(const Config *c)
{
    const char *srcs[] = {SRC "/main.c"};
    const char *libs[] = {lib_path(c)};
    return build_program(c, nob_fmt("%s/app", c->dir), srcs, 1, libs, 1);
}

/* Files in 'dir' whose names start with 'prefix' and end with 'suffix'. */
static size_t list_files(const char *dir, const char *prefix, const char *suffix,
                         const char **out, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < max;) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && len > slen &&
            strcmp(e->d_name + len - slen, suffix) == 0)
            out[n++] = nob_fmt("%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

/* {=====================================================================
 * The shared library
 * ====================================================================== */

/* A part of the version, from coroutine.h, where it is written once. */
static int header_version(const char *part)
{
    FILE *f = fopen(SRC "/coroutine.h", "r");
    char line[256], name[64];
    int value = -1;
    snprintf(name, sizeof name, "#define COROUTINE_VERSION_%s %%d", part);
    while (f != NULL && value < 0 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, name, &value) != 1)
            value = -1;
    if (f != NULL)
        fclose(f);
    return value;
}

static const char *version(void)
{
    return nob_fmt("%d.%d.%d", header_version("MAJOR"), header_version("MINOR"),
                   header_version("PATCH"));
}

/* libcoroutine.so.MAJOR: what programs record, and find at run time. */
static const char *so_name(void)
{
    return nob_fmt("libcoroutine.so.%d", header_version("MAJOR"));
}

static const char *so_path(const Config *c)
{
    return nob_fmt("%s/libcoroutine.so.%s", c->dir, version());
}

/* What keeps the shared library's control-flow marks (see test_notes):
 * every object must carry them, and the linker drops a mark as soon as one
 * input lacks it. Not SHSTK, which a switch cannot honour. On aarch64,
 * atomics inline too, not calls to libgcc's helpers, whose objects lack
 * the BTI mark. */
static void add_control_flow_flags(Nob_Cmd *cmd, const Config *c)
{
    if (strcmp(c->target, "linux_x86_64") == 0)
        nob_cmd_push(cmd, "-fcf-protection=branch");
    if (strcmp(c->target, "linux_aarch64") == 0)
        nob_cmd_append(cmd, "-mbranch-protection=bti", "-mno-outline-atomics");
}

/* Position-independent objects in <dir>/pic, linked into <dir>/
 * libcoroutine.so.X.Y.Z exporting only what src/coroutine.map lists, with
 * the two symbolic links beside it. Thread-local variables use the
 * initial-exec model, as in a program: the general model would call
 * __tls_get_addr on every switch. No startup files: the library needs none,
 * and Debian's lack the IBT mark. */
static bool build_shared(const Config *c)
{
    const char *srcs[32], *objs[32], *out = so_path(c);
    size_t n = lib_sources(c, srcs);
    bool ok = nob_mkdir_p(nob_fmt("%s/pic", c->dir));
    for (size_t i = 0; ok && i < n; i++) {
        const char *base = strrchr(srcs[i], '/') + 1;
        objs[i] = nob_fmt("%s/pic/%.*s.o", c->dir, (int)(strrchr(base, '.') - base), base);
        if (!stale(objs[i], &srcs[i], 1))
            continue;
        Nob_Cmd cmd = {0};
        add_cflags(&cmd, c, srcs[i]);
        nob_cmd_push(&cmd, "-fPIC");
        if (!is_asm(srcs[i]))
            nob_cmd_push(&cmd, "-ftls-model=initial-exec");
        if (!is_asm(srcs[i]))
            add_control_flow_flags(&cmd, c);
        nob_cmd_append(&cmd, "-c", srcs[i], "-o", objs[i]);
        ok = nob_cmd_run(&cmd);
        nob_cmd_free(&cmd);
    }
    if (!ok)
        return false;
    const char *map = SRC "/coroutine.map";
    if (nob_needs_rebuild(out, objs, n) || nob_needs_rebuild(out, &map, 1)) {
        Nob_Cmd cmd = {0};
        nob_cmd_append(&cmd, c->cc, "-shared", "-nostartfiles", "-g",
                       nob_fmt("-Wl,-soname,%s", so_name()),
                       "-Wl,--version-script=" SRC "/coroutine.map", "-Wl,-z,noexecstack",
                       "-o", out);
        for (size_t i = 0; i < n; i++)
            nob_cmd_push(&cmd, objs[i]);
        nob_cmd_append(&cmd, "-pthread");
        ok = nob_cmd_run(&cmd);
        nob_cmd_free(&cmd);
    }
    const char *major = nob_fmt("%s/%s", c->dir, so_name()), *dev = nob_fmt("%s/libcoroutine.so", c->dir);
    unlink(major);
    unlink(dev);
    return ok && symlink(strrchr(out, '/') + 1, major) == 0 && symlink(so_name(), dev) == 0;
}

/* }===================================================================== */

/* The suite is two programs. 'tests' links the whole library. 'platform_test'
 * links only the target's platform.c and asm.s, with a stand-in scheduler,
 * so it can watch every entry into C that the assembly makes. */
static bool build_tests(const Config *c)
{
    const char *target_dir = nob_fmt(TESTS "/%s", c->target);
    const char *srcs[48];
    size_t n = 0;
    srcs[n++] = TESTS "/runner.c";
    srcs[n++] = TESTS "/fixtures.c";
    srcs[n++] = TESTS "/bodies.c";
    srcs[n++] = TESTS "/model.c";
    srcs[n++] = TESTS "/chan_walk.c";
    n += list_files(TESTS, "test_", ".c", srcs + n, 32);
    size_t first_target = n;
    n += list_files(target_dir, "test_", ".s", srcs + n, 8);
    const char *libs[] = {c->shared ? so_path(c) : lib_path(c), "-Wl,-rpath,$ORIGIN"};
    if ((c->shared && !build_shared(c)) ||
        !build_program(c, nob_fmt("%s/tests", c->dir), srcs, n, libs, c->shared ? 2 : 1))
        return false;

    const char *psrcs[16];
    size_t pn = 0;
    psrcs[pn++] = TESTS "/runner.c";
    psrcs[pn++] = TESTS "/fixtures.c";
    psrcs[pn++] = TESTS "/platform_test.c";
    psrcs[pn++] = nob_fmt("%s/probes.s", target_dir);
    for (size_t i = first_target; i < n; i++)
        psrcs[pn++] = srcs[i];
    const char *pobjs[] = {object_for(c, target_platform(c)), object_for(c, target_asm(c))};
    return build_program(c, nob_fmt("%s/platform_test", c->dir), psrcs, pn, pobjs, 2);
}

/* The public header must stand alone in strict C99 and in C++. */
static bool check_header(const Config *c)
{
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, c->cc, "-std=c99", "-fsyntax-only", "-Werror", "-I" SRC);
    for (size_t i = 0; i < COUNT(warnings); i++)
        nob_cmd_push(&cmd, warnings[i]);
    nob_cmd_append(&cmd, TESTS "/header_check.c");
    bool ok = nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    const char *cxx = strcmp(c->cc, "clang") == 0 ? "clang++" : "g++";
    nob_cmd_append(&cmd, cxx, "-x", "c++", "-std=c++11", "-fsyntax-only", "-Werror",
                   "-Wall", "-Wextra", "-Wpedantic", "-I" SRC, TESTS "/header_check.c");
    ok &= nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    return ok;
}

/* Start a command line that runs 'program' of 'c', under its emulator if
 * it has one. */
static void run_program(Nob_Cmd *cmd, const Config *c, const char *program)
{
    if (c->fallback)
        nob_cmd_append(cmd, "env", "COROUTINE_GUARD_REGIONS=0");
    if (c->emulator != NULL)       /* the tests may ask what runs them */
        nob_cmd_append(cmd, c->emulator, "-L", c->sysroot, "-E",
                       nob_fmt("TEST_EMULATOR=%s", c->emulator));
    if (c->valgrind)            /* any error memcheck finds fails the run */
        nob_cmd_append(cmd, "valgrind", "-q", "--error-exitcode=99");
    nob_cmd_append(cmd, nob_fmt("%s/%s", c->dir, program));
}

/* Run 'cmd' and add its closing "N passed, N failed[, N skipped]" to 't',
 * printed with 'label'. A run that dies before printing it counts as one
 * failure. */
static void tally_run(const char *label, Nob_Cmd *cmd, Tally *t)
{
    Nob_Output out = {0};
    int passed = 0, failed = 0, skipped = 0;
    bool ok = nob_cmd_run_capture(cmd, &out);
    const char *last = NULL;
    for (const char *p = out.data; (p = strstr(p, " passed, ")) != NULL; p++)
        last = p;
    while (last && last > out.data && last[-1] != '\n')
        last--;
    if (last == NULL || sscanf(last, "%d passed, %d failed", &passed, &failed) != 2) {
        fprintf(stderr, "nob: %s printed no summary\n", label);
        fail(t, nob_fmt("%s: printed no summary", label));
    } else if (!ok && failed == 0) {
        fail(t, nob_fmt("%s: exit status not 0", label));    /* despite a clean summary */
    }
    if (last != NULL)
        sscanf(last, "%*d passed, %*d failed, %d skipped", &skipped);
    printf("%s: %d passed, %d failed, %d skipped\n", label, passed, failed, skipped);
    int named = 0;
    for (const char *p = out.data; p != NULL && (p = strstr(p, "FAIL ")) != NULL; p++)
        if ((p == out.data || p[-1] == '\n') && named++ < failed)
            fail(t, nob_fmt("%s: %.*s", label, (int)strcspn(p, "\n"), p));
    for (; named < failed; named++)
        fail(t, nob_fmt("%s: a failure it did not name", label));
    t->passed += passed;
    t->skipped += skipped;
    free(out.data);
}

/* Run a test program ("tests", or "tests NAME..." for the tests whose
 * names contain one of the NAMEs). */
static void run_suite(const Config *c, const char *program, Tally *t)
{
    Nob_Cmd cmd = {0};
    size_t len = strcspn(program, " ");
    run_program(&cmd, c, nob_fmt("%.*s", (int)len, program));
    for (const char *p = program + len; *p != '\0'; p += len) {
        p += strspn(p, " ");
        len = strcspn(p, " ");
        if (len > 0)
            nob_cmd_push(&cmd, nob_fmt("%.*s", (int)len, p));
    }
    tally_run(nob_fmt("%s: %s", c->name, program), &cmd, t);
    nob_cmd_free(&cmd);
}

/* The gdb commands in tools/gdb, on a program built with 'c'. */
static void test_gdb(const Config *c, Tally *t)
{
    const char *srcs[] = {TESTS "/gdb_target.c"};
    const char *libs[] = {lib_path(c)};
    const char *program = nob_fmt("%s/gdb_target", c->dir);
    if (!nob_have_program("gdb")) {
        fprintf(stderr, "nob: gdb not found; install it (apt-get install gdb)\n");
        fail(t, "gdb not found");
        return;
    }
    if (!build_program(c, program, srcs, 1, libs, 1)) {
        fail(t, nob_fmt("%s: build %s", c->name, program));
        return;
    }
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, "sh", TESTS "/test_gdb.sh", program);
    tally_run(nob_fmt("%s: gdb", c->name), &cmd, t);
    nob_cmd_free(&cmd);
}

/* A C++ program: each coroutine keeps its own caught exceptions. Built
 * with the C++ compiler that goes with c->cc, natively. */
static void test_cxx(const Config *c, Tally *t)
{
    const char *cxx = strcmp(c->cc, "clang") == 0 ? "clang++" : "g++";
    const char *program = nob_fmt("%s/cxx_exceptions", c->dir);
    const char *inputs[] = {TESTS "/cxx_exceptions.cpp", lib_path(c)};
    Nob_Cmd cmd = {0};
    if (stale(program, inputs, COUNT(inputs))) {
        nob_cmd_append(&cmd, cxx, "-std=c++17", "-g", c->opt, "-Wall", "-Wextra", "-Wpedantic",
                       "-Werror", "-fstack-clash-protection", "-I" SRC, "-o", program, inputs[0],
                       inputs[1], "-pthread");
        if (c->sanitize)
            nob_cmd_append(&cmd, nob_fmt("-fsanitize=%s", c->sanitize),
                           "-fno-sanitize-recover=undefined");
        bool ok = nob_cmd_run(&cmd);
        nob_cmd_free(&cmd);
        if (!ok) {
            fail(t, nob_fmt("%s: build %s", c->name, program));
            return;
        }
    }
    run_program(&cmd, c, "cxx_exceptions");
    tally_run(nob_fmt("%s: cxx_exceptions", c->name), &cmd, t);
    nob_cmd_free(&cmd);
}

static bool build_all(const Config *c)
{
    return build_library(c) && build_demo(c);
}

static const Config default_config = {
    .name = "default", .cc = "cc", .opt = "-O2", .target = HOST_TARGET, .dir = "build", .ar = "ar",
};

/* examples/NAME.c, each a program of its own: build/examples/NAME. */
static size_t list_examples(const char **names, size_t max)
{
    const char *files[32];
    size_t n = list_files(EXAMPLES, "", ".c", files, max < 32 ? max : 32);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(files[i], '/') + 1;
        names[i] = nob_fmt("%.*s", (int)(strlen(base) - 2), base);
    }
    return n;
}

static bool build_example(const Config *c, const char *name)
{
    const char *srcs[] = {nob_fmt(EXAMPLES "/%s.c", name)};
    const char *libs[] = {lib_path(c)};
    return nob_mkdir_p(nob_fmt("%s/examples", c->dir)) &&
           build_program(c, nob_fmt("%s/examples/%s", c->dir, name), srcs, 1, libs, 1);
}

static int cmd_build(void)
{
    const char *names[32];
    size_t n = list_examples(names, 32);
    bool ok = build_all(&default_config);
    for (size_t i = 0; ok && i < n; i++)
        ok = build_example(&default_config, names[i]);
    return ok ? 0 : 1;
}

/* {=====================================================================
 * docs/how-it-works.md: the template with the demo's real output in it.
 * ====================================================================== */

#define DOC_TEMPLATE "docs/how-it-works.md.in"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *text = nob_xrealloc(NULL, 1 << 20);
    size_t len = fread(text, 1, (1 << 20) - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* The block of 'frames' output whose title line contains 'title': its
 * lines up to the next blank line, without their two-space indent; NULL
 * (said on stderr) when the demo no longer prints it. */
static const char *frame_block(const char *out, const char *title)
{
    const char *start = strstr(out, title);
    if (start == NULL) {
        fprintf(stderr, "nob docs: the demo no longer prints \"%s\"\n", title);
        return NULL;
    }
    while (start > out && start[-1] != '\n')
        start--;
    const char *end = strstr(start, "\n\n");
    size_t len = end ? (size_t)(end - start) : strlen(start);
    char *block = nob_xrealloc(NULL, len + 1), *w = block;
    for (const char *p = start; p < start + len; p++) {
        if ((p == start || p[-1] == '\n') && p[0] == ' ' && p[1] == ' ')
            p += 2;
        *w++ = *p;
    }
    *w = '\0';
    return block;
}

/* The interleaving: the demo's lines that are not frames. */
static const char *demo_lines(const char *out)
{
    char *lines = nob_xrealloc(NULL, strlen(out) + 1), *w = lines;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "main created", 12) == 0 || strncmp(p, "[ctx", 4) == 0) {
            memcpy(w, p, len);
            w += len;
        }
        p += len;
    }
    if (w > lines && w[-1] == '\n')
        w--;
    *w = '\0';
    return lines;
}

/* Write 'text' with each @NAME@ replaced. */
static void fill(FILE *f, const char *text, const char **names, const char **values, size_t n)
{
    for (const char *p = text; *p;) {
        size_t i = 0;
        while (i < n && strncmp(p, names[i], strlen(names[i])) != 0)
            i++;
        if (i < n) {
            fputs(values[i], f);
            p += strlen(names[i]);
        } else {
            fputc(*p++, f);
        }
    }
}

/* Generate how-it-works.md and timeline.svg into 'dir'. */
static bool generate_docs(const char *dir)
{
    Nob_Cmd cmd = {0};
    Nob_Output out = {0};
    if (cmd_build() != 0 || !nob_mkdir_p(dir))
        return false;
    nob_cmd_append(&cmd, "build/app", "--frames");
    bool ok = nob_cmd_run_capture(&cmd, &out);
    nob_cmd_free(&cmd);
    nob_cmd_append(&cmd, "build/app", "--timeline", nob_fmt("%s/timeline.svg", dir));
    ok = ok && nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    char *template = read_file(DOC_TEMPLATE);
    FILE *f = fopen(nob_fmt("%s/how-it-works.md", dir), "w");
    if (!ok || template == NULL || f == NULL)
        return false;
    const char *names[] = {"@FRAME_FIRST@", "@FRAME_YIELDED@", "@FRAME_RESTORE@", "@DEMO@"};
    const char *values[] = {
        frame_block(out.data, "the first frame create_ctx laid out"),
        frame_block(out.data, "the frame it left on its stack"),
        frame_block(out.data, "the frame _asm_restore_ctx loads"),
        demo_lines(out.data),
    };
    for (size_t i = 0; i < COUNT(values); i++)
        ok = ok && values[i] != NULL;
    if (ok)
        fill(f, template, names, values, COUNT(names));
    return fclose(f) == 0 && ok;
}

/* Addresses change from run to run; the rest must not. */
static void mask_addresses(char *text)
{
    char *w = text;
    for (const char *p = text; *p;) {
        if (p[0] == '0' && p[1] == 'x') {
            *w++ = '0', *w++ = 'x';
            for (p += 2; isxdigit((unsigned char)*p); p++)
                continue;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
}

static int cmd_docs(void)
{
    return generate_docs("docs") ? 0 : 1;
}

/* docs/how-it-works.md must be what ./nob docs makes now, addresses aside. */
static void test_docs(Tally *t)
{
    char *fresh = generate_docs("build/docs") ? read_file("build/docs/how-it-works.md") : NULL;
    char *kept = read_file("docs/how-it-works.md");
    bool ok = fresh != NULL && kept != NULL;
    if (ok) {
        mask_addresses(fresh);
        mask_addresses(kept);
        ok = strcmp(fresh, kept) == 0;
    }
    printf("docs: how-it-works.md matches what ./nob docs makes: %s\n",
           ok ? "ok" : "FAILED (run ./nob docs)");
    tally(t, ok, "docs: how-it-works.md");
    free(fresh);
    free(kept);
}

/* }===================================================================== */

/* {=====================================================================
 * ./nob deps: the dependency graph of src/, read from the objects with nm
 * ====================================================================== */

#define MAX_OBJECTS 32
#define MAX_NODES (2 * MAX_OBJECTS)      /* the include graph's: sources and headers */

/* The names 'nm' lists for 'object' with 'flags', one per line. */
static char *nm_names(const char *flags, const char *object)
{
    FILE *p = popen(nob_fmt("nm %s '%s' 2>/dev/null | awk '{ print $NF }'", flags, object), "r");
    char *text = nob_xrealloc(NULL, 1 << 16);
    size_t len = p ? fread(text + 1, 1, (1 << 16) - 3, p) : 0;
    text[0] = '\n';                     /* every name between newlines */
    text[len + 1] = '\0';
    if (p)
        pclose(p);
    return text;
}

static bool lists(const char *names, const char *name)
{
    return strstr(names, nob_fmt("\n%s\n", name)) != NULL;
}

/* Depth-first: true when a path from 'i' comes back to a file on the
 * current path, which it prints. */
static bool has_cycle(size_t i, bool edge[][MAX_NODES], size_t n, int *state,
                      const char **names)
{
    state[i] = 1;
    for (size_t j = 0; j < n; j++) {
        if (!edge[i][j])
            continue;
        if (state[j] == 1 || (state[j] == 0 && has_cycle(j, edge, n, state, names))) {
            fprintf(stderr, "nob deps: %s -> %s closes a cycle\n", names[i], names[j]);
            return true;
        }
    }
    state[i] = 2;
    return false;
}

/* Whether the graph of 'n' nodes has a cycle, said with 'what' ("the
 * graph of src/"); the first cycle found is printed. */
static bool acyclic(const char *label, const char *what, bool edge[][MAX_NODES], size_t n,
                    const char **names)
{
    int state[MAX_NODES] = {0};
    bool cycle = false;
    for (size_t i = 0; i < n && !cycle; i++)
        cycle = state[i] == 0 && has_cycle(i, edge, n, state, names);
    printf("%s: %s has %s\n", label, what, cycle ? "a CYCLE" : "no cycle");
    return !cycle;
}

/* Print who depends on whom among the library's objects of 'c' ("a -> b":
 * a uses a function or variable that b defines), and say whether the
 * graph has a cycle. */
static bool check_deps(const Config *c)
{
    const char *srcs[MAX_OBJECTS], *names[MAX_OBJECTS];
    char *defined[MAX_OBJECTS], *used[MAX_OBJECTS];
    static bool edge[MAX_NODES][MAX_NODES];
    memset(edge, 0, sizeof edge);
    size_t n = lib_sources(c, srcs);
    if (!build_library(c))
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *object = object_for(c, srcs[i]);
        names[i] = srcs[i] + strlen(SRC "/");
        defined[i] = nm_names("-g --defined-only", object);
        used[i] = nm_names("-u", object);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%-26s ->", names[i]);
        for (size_t j = 0; j < n; j++) {
            for (const char *u = used[i] + 1; j != i && !edge[i][j] && *u; u = strchr(u, '\n') + 1)
                edge[i][j] = lists(defined[j], nob_fmt("%.*s", (int)strcspn(u, "\n"), u));
            if (edge[i][j])
                printf(" %s", names[j]);
        }
        printf("\n");
    }
    return acyclic("deps", "the graph of src/", edge, n, names);
}

/* The include graph of src/: each foo.c and its foo.h are one node
 * "foo", the three public headers are left out; "a -> b" when a file of
 * a includes b's header. Says whether it has a cycle. */
static bool check_includes(void)
{
    const char *files[MAX_NODES], *names[MAX_NODES];
    size_t nf = list_files(SRC, "", ".c", files, MAX_OBJECTS);
    nf += list_files(SRC, "", ".h", files + nf, MAX_OBJECTS);
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *base = files[i] + strlen(SRC "/");
        const char *name = nob_fmt("%.*s", (int)(strrchr(base, '.') - base), base);
        if (strncmp(name, "coroutine", 9) == 0 && strstr(base, ".h"))
            continue;                               /* the public headers */
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(names[j], name) == 0;
        if (!seen)
            names[n++] = name;
    }
    static bool edge[MAX_NODES][MAX_NODES];
    memset(edge, 0, sizeof edge);
    for (size_t i = 0; i < nf; i++) {
        const char *base = files[i] + strlen(SRC "/");
        size_t from = n;
        for (size_t j = 0; j < n; j++)
            if (strncmp(base, names[j], strlen(names[j])) == 0 && base[strlen(names[j])] == '.')
                from = j;
        char *text = read_file(files[i]);
        for (const char *p = text; from < n && (p = strstr(p, "#include \"")) != NULL; p++) {
            const char *h = p + strlen("#include \"");
            if (strncmp(h, "coroutine", 9) == 0)
                continue;                           /* a public header */
            for (size_t j = 0; j < n; j++)
                if (j != from && strncmp(h, names[j], strlen(names[j])) == 0 &&
                    strncmp(h + strlen(names[j]), ".h\"", 3) == 0)
                    edge[from][j] = true;
        }
        free(text);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%-14s includes", names[i]);
        for (size_t j = 0; j < n; j++)
            if (edge[i][j])
                printf(" %s", names[j]);
        printf("\n");
    }
    return acyclic("includes", "the include graph of src/", edge, n, names);
}

static void test_deps(Tally *t)
{
    tally(t, check_deps(&default_config), "deps");
    tally(t, check_includes(), "includes");
}

/* A program that calls only coroutine.h, linked with the static library,
 * must carry none of the runtime: no epoll, eventfd or signalfd. */
static void test_core_alone(Tally *t)
{
    const char *out = "build/core_only";
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, "cc", "-I" SRC, "-o", out, TESTS "/core_only.c", lib_path(&default_config),
                   "-pthread");
    bool ok = nob_cmd_run(&cmd);
    char *names = ok ? nm_names("", out) : NULL;
    const char *runtime[] = {"epoll_create1", "epoll_pwait2", "epoll_wait", "eventfd", "signalfd"};
    for (size_t i = 0; ok && i < COUNT(runtime); i++)
        if (strstr(names, runtime[i]) != NULL) {
            fprintf(stderr, "nob: a program that uses only coroutine.h links %s\n", runtime[i]);
            ok = false;
        }
    free(names);
    printf("core alone: %s\n", ok ? "no runtime linked" : "FAILED");
    tally(t, ok, "core alone");
}

/* }===================================================================== */

/* {=====================================================================
 * Installing: ./nob install [--prefix DIR] [--destdir DIR], and uninstall
 * ====================================================================== */

/* One file to install: 'from' in the tree (or, for a link, the text of the
 * link), 'to' under the prefix. */
typedef struct {
    const char *from;
    const char *to;
    bool link;
    bool executable;
} Install_Item;

#define MAX_INSTALL 128
#define MAN_DIR "build/man"
#define PC_FILE "build/coroutine.pc"

/* Everything ./nob install puts under 'prefix'. The example servers'
 * headers go with them. */
static size_t install_plan(const char *prefix, Install_Item *items)
{
    size_t n = 0;
    const char *so = nob_fmt("libcoroutine.so.%s", version());
    items[n++] = (Install_Item){"build/libcoroutine.a", "lib/libcoroutine.a", false, false};
    items[n++] = (Install_Item){nob_fmt("build/%s", so), nob_fmt("lib/%s", so), false, true};
    items[n++] = (Install_Item){so, nob_fmt("lib/%s", so_name()), true, false};
    items[n++] = (Install_Item){so_name(), "lib/libcoroutine.so", true, false};
    for (size_t i = 0; i < COUNT(public_headers); i++)
        items[n++] = (Install_Item){public_headers[i],
                                    nob_fmt("include/%s", strrchr(public_headers[i], '/') + 1),
                                    false, false};
    items[n++] = (Install_Item){PC_FILE, "lib/pkgconfig/coroutine.pc", false, false};
    items[n++] = (Install_Item){"tools/gdb/coroutines.py",
                                nob_fmt("share/gdb/auto-load%s/lib/%s-gdb.py", prefix, so), false,
                                false};
    const char *files[MAX_INSTALL];
    size_t k = list_files(MAN_DIR, "", ".3", files, MAX_INSTALL);
    for (size_t i = 0; i < k && n < MAX_INSTALL; i++)
        items[n++] = (Install_Item){files[i], nob_fmt("share/man/man3/%s",
                                                      strrchr(files[i], '/') + 1), false, false};
    const char *docs[] = {"README.md", "docs/how-it-works.md", "docs/performance.md",
                          "docs/timeline.svg"};
    for (size_t i = 0; i < COUNT(docs); i++)
        items[n++] = (Install_Item){docs[i], nob_fmt("share/doc/coroutine/%s",
                                                     strrchr(docs[i], '/') ? strrchr(docs[i], '/') + 1
                                                                           : docs[i]), false, false};
    k = list_files(EXAMPLES, "", ".c", files, MAX_INSTALL);
    k += list_files(EXAMPLES, "", ".h", files + k, MAX_INSTALL - k);
    k += list_files(EXAMPLES, "", ".expected", files + k, MAX_INSTALL - k);
    for (size_t i = 0; i < k && n < MAX_INSTALL; i++)
        items[n++] = (Install_Item){files[i], nob_fmt("share/doc/coroutine/%s", files[i]), false,
                                    false};
    return n;
}

/* Does the dynamic loader look in 'prefix'/lib by itself (after ldconfig)? */
static bool system_prefix(const char *prefix)
{
    return strcmp(prefix, "/usr") == 0 || strcmp(prefix, "/usr/local") == 0;
}

/* The pkg-config file, for 'prefix'. Elsewhere than the system's
 * prefixes, programs also record where the shared library is, so that
 * they run without LD_LIBRARY_PATH. */
static bool write_pc(const char *prefix)
{
    FILE *f = fopen(PC_FILE, "w");
    if (f == NULL)
        return false;
    fprintf(f, "prefix=%s\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\n"
               "includedir=${prefix}/include\n\n"
               "Name: coroutine\n"
               "Description: User-space coroutines for Linux, the switch in hand-written assembly\n"
               "Version: %s\n"
               "Cflags: -I${includedir}\n"
               "Libs: -L${libdir} %s-lcoroutine\n"
               "Libs.private: -pthread\n",
            prefix, version(), system_prefix(prefix) ? "" : "-Wl,-rpath,${libdir} ");
    return fclose(f) == 0;
}

/* The manual pages, from the header, by tools/manpages.c. */
static bool write_man_pages(void)
{
    Nob_Cmd cmd = {0};
    time_t now = time(NULL);
    char date[16];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    nob_cmd_append(&cmd, "cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                   "-o", "build/manpages", "tools/manpages.c");
    bool ok = nob_mkdir_p(MAN_DIR) && nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    for (size_t i = 0; i < COUNT(public_headers); i++) {
        nob_cmd_append(&cmd, "build/manpages", public_headers[i], MAN_DIR, version(), date);
        ok = ok && nob_cmd_run(&cmd);
        nob_cmd_free(&cmd);
    }
    return ok;
}

static bool copy_file(const char *from, const char *to, bool executable)
{
    FILE *in = fopen(from, "rb"), *out = NULL;
    char buf[1 << 16];
    bool ok = in != NULL;
    unlink(to);                 /* a running program may map the old one */
    if (ok)
        ok = (out = fopen(to, "wb")) != NULL;
    for (size_t n; ok && (n = fread(buf, 1, sizeof buf, in)) > 0;)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = false;
    return ok && chmod(to, executable ? 0755 : 0644) == 0;
}

static const char *parent_of(const char *path)
{
    return nob_fmt("%.*s", (int)(strrchr(path, '/') - path), path);
}

/* An absolute path, as the installed files must name it. */
static const char *absolute(const char *path)
{
    char cwd[4096];
    if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
        return path;
    return nob_fmt("%s/%s", cwd, path);
}

static bool install_to(const char *prefix, const char *destdir)
{
    Install_Item items[MAX_INSTALL];
    if (cmd_build() != 0 || !build_shared(&default_config) || !write_man_pages() ||
        !write_pc(prefix))
        return false;
    size_t n = install_plan(prefix, items);
    for (size_t i = 0; i < n; i++) {
        const char *to = nob_fmt("%s%s/%s", destdir, prefix, items[i].to);
        bool ok = nob_mkdir_p(parent_of(to));
        if (ok && items[i].link) {
            unlink(to);
            ok = symlink(items[i].from, to) == 0;
        } else if (ok) {
            ok = copy_file(items[i].from, to, items[i].executable);
        }
        printf("[install] %s\n", to);
        if (!ok) {
            fprintf(stderr, "nob: cannot install %s: %s\n", to, strerror(errno));
            return false;
        }
    }
    if (*destdir == '\0' && system_prefix(prefix) && geteuid() == 0) {
        Nob_Cmd cmd = {0};                  /* the loader's cache, for the new soname */
        nob_cmd_append(&cmd, "ldconfig");
        nob_cmd_run(&cmd);
        nob_cmd_free(&cmd);
    }
    return true;
}

/* Remove what install_to put there, then the folders it made, as far up
 * as they are empty; the prefix itself stays. */
static bool uninstall_from(const char *prefix, const char *destdir)
{
    Install_Item items[MAX_INSTALL];
    const char *root = nob_fmt("%s%s", destdir, prefix);
    size_t n = install_plan(prefix, items);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const char *to = nob_fmt("%s/%s", root, items[i].to);
        if (unlink(to) != 0 && errno != ENOENT) {
            fprintf(stderr, "nob: cannot remove %s: %s\n", to, strerror(errno));
            ok = false;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (const char *dir = parent_of(nob_fmt("%s/%s", root, items[i].to));
             strlen(dir) > strlen(root) && rmdir(dir) == 0; dir = parent_of(dir))
            continue;
    return ok;
}

/* --prefix DIR (default /usr/local) and --destdir DIR (or $DESTDIR). */
static bool install_options(int argc, char **argv, const char **prefix, const char **destdir)
{
    *prefix = "/usr/local";
    *destdir = getenv("DESTDIR") ? getenv("DESTDIR") : "";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            *prefix = absolute(argv[++i]);
        } else if (strcmp(argv[i], "--destdir") == 0 && i + 1 < argc) {
            *destdir = absolute(argv[++i]);
        } else {
            fprintf(stderr, "usage: ./nob install|uninstall [--prefix DIR] [--destdir DIR]\n");
            return false;
        }
    }
    while (strlen(*prefix) > 1 && (*prefix)[strlen(*prefix) - 1] == '/')
        *prefix = nob_fmt("%.*s", (int)strlen(*prefix) - 1, *prefix);
    return true;
}

static int cmd_install(int argc, char **argv, bool install)
{
    const char *prefix, *destdir;
    if (!install_options(argc, argv, &prefix, &destdir))
        return 2;
    return (install ? install_to(prefix, destdir) : uninstall_from(prefix, destdir)) ? 0 : 1;
}

/* Install into a scratch prefix, let tests/test_install.sh use it as a
 * user would, uninstall, and check that nothing is left. */
static void test_install(Tally *t)
{
    const char *prefix = absolute("build/install-test/usr");
    Nob_Cmd cmd = {0};
    Nob_Output out = {0};
    nob_cmd_append(&cmd, "rm", "-rf", "build/install-test");
    bool ok = nob_cmd_run(&cmd) && nob_mkdir_p(prefix) && install_to(prefix, "");
    nob_cmd_free(&cmd);
    if (!ok) {
        printf("install: FAILED\n");
        fail(t, "install");
        return;
    }
    nob_cmd_append(&cmd, "sh", TESTS "/test_install.sh", prefix, version());
    tally_run("install", &cmd, t);
    nob_cmd_free(&cmd);
    nob_cmd_append(&cmd, "find", prefix, "-mindepth", "1");
    ok = uninstall_from(prefix, "") && nob_cmd_run_capture(&cmd, &out) && out.len == 0;
    nob_cmd_free(&cmd);
    printf("uninstall: leaves %s empty: %s\n", prefix, ok ? "ok" : "FAILED");
    tally(t, ok, "uninstall");
    free(out.data);
}

/* }===================================================================== */

/* ./nob example NAME: build and run examples/NAME.c. */
static int cmd_example(int argc, char **argv)
{
    if (argc < 1) {
        const char *names[32];
        size_t n = list_examples(names, 32);
        fprintf(stderr, "usage: ./nob example NAME, one of:");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", names[i]);
        fprintf(stderr, "\n");
        return 2;
    }
    if (cmd_build() != 0 || !build_example(&default_config, argv[0]))
        return 1;
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, nob_fmt("build/examples/%s", argv[0]));
    return nob_cmd_run(&cmd) ? 0 : 1;
}

/* ./nob seeds NAME [N]: run build/examples/NAME under a virtual clock
 * and seeds 1 to N (1000) until one fails; replay that seed to show the
 * failure again, and draw its run in build/seed-S.svg. */
static int cmd_seeds(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: ./nob seeds EXAMPLE [N]\n");
        return 1;
    }
    long most = argc > 1 ? atol(argv[1]) : 1000;
    if (cmd_build() != 0 || !build_example(&default_config, argv[0]))
        return 1;
    const char *program = nob_fmt("build/examples/%s", argv[0]);
    setenv("COROUTINE_VIRTUAL_TIME", "1", 1);
    for (long seed = 1; seed <= most; seed++) {
        setenv("COROUTINE_SEED", nob_fmt("%ld", seed), 1);
        pid_t pid = fork();
        if (pid == 0) {                   /* quietly: only the failure is shown */
            freopen("/dev/null", "w", stdout);
            execl(program, program, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
            return 1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        Nob_Cmd cmd = {0};
        printf("seeds: %s fails under seed %ld; again, drawn in build/seed-%ld.svg:\n", argv[0],
               seed, seed);
        setenv("COROUTINE_TRACE", nob_fmt("build/seed-%ld.svg", seed), 1);
        nob_cmd_append(&cmd, program);
        bool again = nob_cmd_run(&cmd);
        unsetenv("COROUTINE_TRACE");
        printf("seeds: replayed, it %s\n", again ? "passed (not replayable!)" : "failed again");
        return again ? 1 : 0;
    }
    printf("seeds: %s passed under seeds 1 to %ld\n", argv[0], most);
    return 0;
}

/* Every example must print exactly what examples/NAME.expected says. The
 * servers have none: they run until stopped, and tests/test_servers.sh
 * drives them with real clients. */
static void test_examples(Tally *t)
{
    const char *names[32];
    size_t n = list_examples(names, 32);
    for (size_t i = 0; i < n; i++) {
        if (!nob_file_exists(nob_fmt(EXAMPLES "/%s.expected", names[i])))
            continue;
        Nob_Cmd cmd = {0};
        Nob_Output out = {0};
        nob_cmd_append(&cmd, nob_fmt("build/examples/%s", names[i]));
        bool ok = build_example(&default_config, names[i]) && nob_cmd_run_capture(&cmd, &out);
        FILE *f = fopen(nob_fmt(EXAMPLES "/%s.expected", names[i]), "r");
        char expected[1 << 16];
        size_t len = f ? fread(expected, 1, sizeof expected - 1, f) : 0;
        expected[len] = '\0';
        if (f)
            fclose(f);
        ok = ok && f != NULL && out.data != NULL && strcmp(out.data, expected) == 0;
        printf("example %s: output as in %s/%s.expected: %s\n", names[i], EXAMPLES, names[i],
               ok ? "ok" : "FAILED");
        tally(t, ok, nob_fmt("example %s", names[i]));
        nob_cmd_free(&cmd);
        free(out.data);
    }
}

/* Boost.Context's workloads in <dir>/bench/boost.so, when its headers are
 * installed and the build is native; bench/boost_loader.c loads it, so
 * that the benchmark stays a C program (see there why). */
static bool build_boost(const Config *c, const char *dir)
{
    const char *out = nob_fmt("%s/boost.so", dir);
    const char *srcs[] = {BENCH "/boost.cpp"};
    if (c->emulator != NULL || !nob_file_exists(BOOST_HEADER) || !stale(out, srcs, 1))
        return true;
    Nob_Cmd cmd = {0};                  /* bench.h's helpers come from the program */
    nob_cmd_append(&cmd, "c++", "-O2", "-g", "-std=c++11", "-Wall", "-Wextra", "-Werror",
                   "-fPIC", "-shared", "-I" SRC, "-o", out, srcs[0], "-lboost_context");
    bool ok = nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    return ok;
}

/* The benchmark: our workloads and the same ones on Boost.Context (from
 * boost.so, when built), glibc ucontext and a bare register swap. It goes
 * to <dir>/bench/bench. */
static bool build_bench(const Config *c)
{
    const char *dir = nob_fmt("%s/bench", c->dir);
    const char *srcs[32];
    size_t n = list_files(BENCH, "", ".c", srcs, 24);
    n += list_files(nob_fmt(BENCH "/%s", c->target), "", ".c", srcs + n, 4);
    n += list_files(nob_fmt(BENCH "/%s", c->target), "", ".s", srcs + n, 4);
    if (!build_all(c) || !nob_mkdir_p(dir) || !build_boost(c, dir))
        return false;
    const char *program = nob_fmt("%s/bench", dir);
    srcs[n++] = lib_path(c);
    if (!stale(program, srcs, n))
        return true;
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, c->cc, "-O2", "-g", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                   "-I" SRC, "-o", program);
    for (size_t i = 0; i < n; i++)
        nob_cmd_push(&cmd, srcs[i]);
    nob_cmd_append(&cmd, "-pthread", "-ldl", "-rdynamic");    /* -rdynamic: for boost.so */
    bool ok = nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    return ok;
}

/* The library without the trace, for the benchmark to weigh what the trace
 * costs while it is off. */
static const Config untraced_config = {
    .name = "untraced", .cc = "cc", .opt = "-O2", .target = HOST_TARGET, .dir = "build/untraced",
    .ar = "ar", .extra = "-DCOROUTINE_NO_TRACE",
};
#define UNTRACED_BENCH "build/untraced/bench/bench"

/* Built without the trace, asking for one must fail, not write nothing. */
static void test_untraced(Tally *t)
{
    const char *file = "build/untraced/trace.json";
    Nob_Cmd cmd = {0};
    remove(file);
    nob_cmd_append(&cmd, "build/untraced/app", "--trace", file);
    bool ok = build_bench(&untraced_config) && !nob_cmd_run(&cmd) && !nob_file_exists(file);
    nob_cmd_free(&cmd);
    printf("untraced: the demo refuses --trace: %s\n", ok ? "ok" : "FAILED");
    tally(t, ok, "untraced: --trace refused");
}

/* The benchmarks must build and run; under test their numbers mean nothing.
 * Natively, the comparison with the untraced build runs too. */
static void smoke_bench(const Config *c, Tally *t)
{
    Nob_Cmd cmd = {0};
    bool native = c->emulator == NULL;
    run_program(&cmd, c, "bench/bench");
    nob_cmd_push(&cmd, "--quick");
    if (native)
        nob_cmd_append(&cmd, "--trace-cost", UNTRACED_BENCH);
    bool ok = build_bench(c) && (!native || build_bench(&untraced_config)) && nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    printf("%s: bench --quick: %s\n", c->name, ok ? "ran" : "FAILED");
    tally(t, ok, nob_fmt("%s: bench --quick", c->name));
}

/* Run a benchmark script on build/, with --quick if asked. */
static bool run_bench_script(const char *script, const char *quick)
{
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, "bash", script, "build");
    if (quick != NULL)
        nob_cmd_push(&cmd, quick);
    bool ok = nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    return ok;
}

/* ./nob bench servers [--quick]: bench/servers/run.sh on the examples,
 * with bench/servers/resp_epoll.c and bench/servers/timers.c. */
static bool bench_servers(const char *quick)
{
    const char *srcs[] = {BENCH "/servers/timers.c"}, *bare[] = {BENCH "/servers/resp_epoll.c"};
    const char *libs[] = {lib_path(&default_config)};
    if (cmd_build() != 0 || !nob_mkdir_p("build/bench") ||
        !build_program(&default_config, "build/bench/timers", srcs, 1, libs, 1) ||
        !build_program(&default_config, "build/bench/resp_epoll", bare, 1, NULL, 0))
        return false;
    return run_bench_script(BENCH "/servers/run.sh", quick);
}

/* ./nob bench chan|spawn [--quick]: bench/NAME/run.sh on the program
 * built from bench/NAME/PROGRAM.c, ours against Go's. */
static bool bench_against_go(const char *name, const char *program, const char *quick)
{
    const char *srcs[] = {nob_fmt(BENCH "/%s/%s.c", name, program)};
    const char *libs[] = {lib_path(&default_config)};
    if (!build_library(&default_config) || !nob_mkdir_p("build/bench") ||
        !build_program(&default_config, nob_fmt("build/bench/%s", program), srcs, 1, libs, 1))
        return false;
    return run_bench_script(nob_fmt(BENCH "/%s/run.sh", name), quick);
}

static bool bench_chan(const char *quick)
{
    return bench_against_go("chan", "chan", quick);
}

static bool bench_spawn(const char *quick)
{
    return bench_against_go("spawn", "skynet", quick);
}

static int cmd_bench(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "servers") == 0)
        return bench_servers(argc > 1 ? argv[1] : NULL) ? 0 : 1;
    if (argc > 0 && strcmp(argv[0], "chan") == 0)
        return bench_chan(argc > 1 ? argv[1] : NULL) ? 0 : 1;
    if (argc > 0 && strcmp(argv[0], "spawn") == 0)
        return bench_spawn(argc > 1 ? argv[1] : NULL) ? 0 : 1;
    if (!build_bench(&default_config) || !build_bench(&untraced_config))
        return 1;
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, "build/bench/bench", "--trace-cost", UNTRACED_BENCH);
    for (int i = 0; i < argc; i++)
        nob_cmd_push(&cmd, argv[i]);
    return nob_cmd_run(&cmd) ? 0 : 1;
}

/* The libFuzzer target, with ASan and UBSan, built from the sources. */
static const Config fuzz_config = {
    .name = "fuzz", .cc = "clang", .opt = "-O1", .werror = true, .target = HOST_TARGET,
    .dir = "build/fuzz", .ar = "ar", .sanitize = "fuzzer,address,undefined",
};

/* The fuzzers: fuzz_ops over the library's calls, the example servers'
 * parsers, and fuzz_chan over channel operations, each with its corpus in
 * tests/fuzz/. */
static const struct {
    const char *name;
    const char *corpus;
} fuzzers[] = {
    {"fuzz_ops", TESTS "/fuzz/corpus"},
    {"fuzz_resp", TESTS "/fuzz/corpus_resp"},
    {"fuzz_http", TESTS "/fuzz/corpus_http"},
    {"fuzz_chan", TESTS "/fuzz/corpus_chan"},
};

static bool build_fuzzer(size_t which)
{
    const char *srcs[40];
    size_t n = lib_sources(&fuzz_config, srcs);
    srcs[n++] = TESTS "/model.c";
    srcs[n++] = TESTS "/chan_walk.c";
    srcs[n++] = nob_fmt(TESTS "/fuzz/%s.c", fuzzers[which].name);
    return nob_mkdir_p(fuzz_config.dir) &&
           build_program(&fuzz_config, nob_fmt("build/fuzz/%s", fuzzers[which].name), srcs, n,
                         NULL, 0);
}

/* Replay the corpus, then fuzz for 'seconds', new inputs going to a
 * scratch corpus and crashing ones to build/fuzz/crash-*. */
static bool run_fuzzer(size_t which, int seconds)
{
    Nob_Cmd cmd = {0};
    const char *program = nob_fmt("build/fuzz/%s", fuzzers[which].name);
    const char *scratch = nob_fmt("build/fuzz/corpus_%s", fuzzers[which].name);
    nob_cmd_append(&cmd, program, "-runs=0", fuzzers[which].corpus);
    bool ok = nob_mkdir_p(scratch) && nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    nob_cmd_append(&cmd, program, nob_fmt("-max_total_time=%d", seconds),
                   "-artifact_prefix=build/fuzz/", "-print_final_stats=1", scratch,
                   fuzzers[which].corpus);
    ok = ok && nob_cmd_run(&cmd);
    nob_cmd_free(&cmd);
    return ok;
}

/* Every fuzzer, 'seconds' each. */
static bool fuzz_all(int seconds)
{
    bool ok = true;
    for (size_t i = 0; i < COUNT(fuzzers); i++)
        ok = ok && build_fuzzer(i) && run_fuzzer(i, seconds);
    return ok;
}

/* Build and run the suite for one configuration: all of it, or the tests
 * named by c->only. */
static bool test_config(const Config *c, bool header, Tally *t)
{
    if (!build_all(c) || !build_tests(c) || (header && !check_header(c))) {
        fprintf(stderr, "nob: build failed for %s\n", c->name);
        fail(t, nob_fmt("%s: build", c->name));
        return false;
    }
    if (c->only == NULL && c->sanitize == NULL)   /* its stand-in core tells no sanitizer */
        run_suite(c, "platform_test", t);
    run_suite(c, c->only ? nob_fmt("tests %s", c->only) : "tests", t);
    if (c->only == NULL && c->emulator == NULL)
        test_cxx(c, t);
    return true;
}

/* The suite of a configuration already built, once more on the fallback
 * path of kernels without guard regions. */
static void test_fallback(const Config *c, Tally *t)
{
    Config fallback = *c;
    fallback.name = nob_fmt("%s-fallback", c->name);
    fallback.fallback = true;
    run_suite(&fallback, "tests", t);
}

/* The native suite with gcc and clang at -O0 and -O2. */
static void test_native(Tally *t)
{
    static const char *compilers[] = {"gcc", "clang"};
    static const char *opts[] = {"-O0", "-O2"};
    for (size_t i = 0; i < COUNT(compilers); i++) {
        if (!nob_have_program(compilers[i])) {
            fprintf(stderr, "nob: %s not found; install it (apt-get install %s)\n",
                    compilers[i], compilers[i]);
            fail(t, nob_fmt("%s not found", compilers[i]));
            continue;
        }
        for (size_t j = 0; j < COUNT(opts); j++) {
            Config c = {
                .name = nob_fmt("%s%s", compilers[i], opts[j]), .cc = compilers[i],
                .opt = opts[j], .werror = true, .target = HOST_TARGET,
                .dir = nob_fmt("build/test/%s%s", compilers[i], opts[j]), .ar = "ar",
            };
            bool built = test_config(&c, true, t);
            if (j == 1 && built)
                test_fallback(&c, t);
            if (i == 0 && j == 1) {             /* the suite on the shared library */
                Config shared = c;
                shared.name = "gcc-O2-shared";
                shared.dir = "build/test/gcc-O2-shared";
                shared.shared = true;
                test_config(&shared, false, t);
            }
            if (i == 0 && j == 0)
                test_gdb(&c, t);
        }
        /* under AddressSanitizer with UBSan; under ThreadSanitizer, the
         * tests that use threads */
        Config asan = {
            .name = nob_fmt("%s-asan-ubsan", compilers[i]), .cc = compilers[i], .opt = "-O1",
            .werror = true, .target = HOST_TARGET, .ar = "ar", .sanitize = "address,undefined",
            .dir = nob_fmt("build/test/%s-asan-ubsan", compilers[i]),
        };
        if (test_config(&asan, false, t))
            test_fallback(&asan, t);
        Config tsan = {
            .name = nob_fmt("%s-tsan", compilers[i]), .cc = compilers[i], .opt = "-O1",
            .werror = true, .target = HOST_TARGET, .ar = "ar", .sanitize = "thread",
            .only = "thread offload", .dir = nob_fmt("build/test/%s-tsan", compilers[i]),
        };
        test_config(&tsan, false, t);
    }
}

/* The gcc -O0 build once more, under valgrind's memcheck. */
static void test_valgrind(Tally *t)
{
    if (!nob_have_program("valgrind")) {
        fprintf(stderr, "nob: valgrind not found; install it (apt-get install valgrind)\n");
        fail(t, "valgrind not found");
        return;
    }
    Config c = {
        .name = "gcc-O0-valgrind", .cc = "gcc", .opt = "-O0", .werror = true,
        .target = HOST_TARGET, .dir = "build/test/gcc-O0", .ar = "ar", .valgrind = true,
    };
    test_config(&c, false, t);
}

/* The assembly's object must be marked for the control-flow enforcement it
 * supports (IBT, BTI) and not for what it does not (SHSTK). A program is
 * marked only if all its objects are; Debian 12's own startup files are
 * not, so the object is what can be checked. */
static void test_notes(const Config *c, const char *file, const char *want, const char *refuse,
                       Tally *t)
{
    Nob_Cmd cmd = {0};
    Nob_Output out = {0};
    bool ok = build_all(c);
    if (ok) {
        nob_cmd_append(&cmd, "readelf", "-n", nob_fmt("%s/%s", c->dir, file));
        ok = nob_cmd_run_capture(&cmd, &out) && strstr(out.data, want) != NULL &&
             (refuse == NULL || strstr(out.data, refuse) == NULL);
    }
    printf("%s: %s marked %s%s%s: %s\n", c->name, file, want, refuse ? ", not " : "",
           refuse ? refuse : "", ok ? "ok" : "FAILED");
    tally(t, ok, nob_fmt("%s: %s marked %s", c->name, file, want));
    nob_cmd_free(&cmd);
    free(out.data);
}

/* The suite and the benchmarks of each other target, under qemu. Without
 * its tools a target is skipped, except in CI, where that is a failure. */
static void test_emulated(Tally *t)
{
    for (size_t i = 0; i < COUNT(crosses); i++) {
        const Cross *x = &crosses[i];
        const char *cc = nob_fmt("%s-gcc", x->triplet);
        if (!nob_have_program(cc) || !nob_have_program(x->emulator)) {
            bool ci = getenv("CI") != NULL;
            fprintf(stderr, "nob: %s %s: %s or %s not found (apt-get install %s)\n",
                    x->target, ci ? "FAILED" : "skipped", cc, x->emulator, x->packages);
            if (ci)
                fail(t, nob_fmt("%s: no %s or %s", x->target, cc, x->emulator));
            continue;
        }
        Config c = {
            .name = nob_fmt("%s-O2", x->target), .cc = cc, .opt = "-O2", .werror = true,
            .target = x->target, .dir = nob_fmt("build/test/%s-O2", x->target),
            .ar = nob_fmt("%s-ar", x->triplet), .emulator = x->emulator,
            .sysroot = nob_fmt("/usr/%s", x->triplet),
            .shared = true,                     /* this target's shared library, under test */
        };
        test_config(&c, false, t);
        smoke_bench(&c, t);
        if (strcmp(x->target, "linux_aarch64") == 0) {
            Config bti = c;
            bti.name = "linux_aarch64-bti";
            bti.dir = "build/test/linux_aarch64-bti";
            bti.extra = "-mbranch-protection=bti";
            test_notes(&bti, "asm.o", "BTI", NULL, t);
            test_notes(&c, strrchr(so_path(&c), '/') + 1, "BTI", NULL, t);
        }
    }
}

/* Fuzz for a while: half a minute each in CI, less on a developer's
 * machine. */
static void test_fuzz(Tally *t)
{
    int seconds = getenv("CI") ? 30 : 5;
    bool ok = fuzz_all(seconds);
    printf("fuzz: the API, channels, RESP and HTTP parsers, corpus and %d seconds each: %s\n",
           seconds,
           ok ? "ok" : "FAILED");
    tally(t, ok, "fuzz");
}

static int cmd_fuzz(int argc, char **argv)
{
    int seconds = argc > 0 ? atoi(argv[0]) : 60;
    return fuzz_all(seconds > 0 ? seconds : 60) ? 0 : 1;
}

/* The example servers under real clients (tests/test_servers.sh), built
 * as the examples are, with tests/server_clients.c beside them. */
static void test_servers(Tally *t)
{
    const char *needed[] = {"redis-cli", "redis-benchmark", "redis-server", "curl"};
    for (size_t i = 0; i < COUNT(needed); i++)
        if (!nob_have_program(needed[i])) {
            fprintf(stderr,
                    "nob: %s not found; install it (apt-get install redis-server redis-tools curl)\n",
                    needed[i]);
            fail(t, nob_fmt("%s not found", needed[i]));
            return;
        }
    const char *srcs[] = {TESTS "/server_clients.c"};
    const char *libs[] = {lib_path(&default_config)};
    if (!build_program(&default_config, "build/server_clients", srcs, 1, libs, 1)) {
        fail(t, "build server_clients");
        return;
    }
    Nob_Cmd cmd = {0};
    nob_cmd_append(&cmd, "bash", TESTS "/test_servers.sh", "build");
    tally_run("servers", &cmd, t);
    nob_cmd_free(&cmd);
}

static int cmd_test(void)
{
    Tally t = {0};
    if (cmd_build() != 0)
        fail(&t, "build");
    test_native(&t);
    test_examples(&t);
    test_servers(&t);
    test_deps(&t);
    test_core_alone(&t);
    test_install(&t);
    test_docs(&t);
    Config cet = {
        .name = "cet", .cc = "gcc", .opt = "-O2", .werror = true, .target = HOST_TARGET,
        .dir = "build/test/cet", .ar = "ar", .extra = "-fcf-protection=full",
    };
    if (strcmp(HOST_TARGET, "linux_x86_64") == 0)      /* IBT is x86's */
        test_notes(&cet, "asm.o", "IBT", "SHSTK", &t);
    test_valgrind(&t);
    test_fuzz(&t);
    smoke_bench(&default_config, &t);
    bool servers = bench_servers("--quick");
    printf("bench servers --quick: %s\n", servers ? "ran" : "FAILED");
    tally(&t, servers, "bench servers --quick");
    bool chan = bench_chan("--quick");
    printf("bench chan --quick: %s\n", chan ? "ran" : "FAILED");
    tally(&t, chan, "bench chan --quick");
    bool spawn = bench_spawn("--quick");
    printf("bench spawn --quick: %s\n", spawn ? "ran" : "FAILED");
    tally(&t, spawn, "bench spawn --quick");
    test_untraced(&t);
    test_emulated(&t);
    if (t.failed > 0)
        printf("failed:\n");
    for (int i = 0; i < t.failed && (size_t)i < COUNT(t.failures); i++)
        printf("  %s\n", t.failures[i]);
    printf("%d passed, %d failed", t.passed, t.failed);
    if (t.skipped > 0)
        printf(", %d skipped", t.skipped);
    printf("\n");
    return t.failed == 0 ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ./nob [test|bench [ARGS...]|bench servers|chan [--quick]|fuzz [SECONDS]|\n"
               "              example NAME|docs|deps|\n"
               "              install|uninstall [--prefix DIR] [--destdir DIR]|help]\n");
}

int main(int argc, char **argv)
{
    nob_rebuild_self(argc, argv, "nob.c", "nob.h");
    if (argc < 2)
        return cmd_build();
    if (strcmp(argv[1], "test") == 0)
        return cmd_test();
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    if (strcmp(argv[1], "fuzz") == 0)
        return cmd_fuzz(argc - 2, argv + 2);
    if (strcmp(argv[1], "example") == 0)
        return cmd_example(argc - 2, argv + 2);
    if (strcmp(argv[1], "seeds") == 0)
        return cmd_seeds(argc - 2, argv + 2);
    if (strcmp(argv[1], "docs") == 0)
        return cmd_docs();
    if (strcmp(argv[1], "deps") == 0)
        return check_deps(&default_config) & check_includes() ? 0 : 1;
    if (strcmp(argv[1], "install") == 0 || strcmp(argv[1], "uninstall") == 0)
        return cmd_install(argc - 2, argv + 2, strcmp(argv[1], "install") == 0);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "nob: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
