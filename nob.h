/* nob.h - a tiny build helper: commands as argument lists, run and waited for.
 *
 * A build script is an ordinary C program (nob.c) that includes this file.
 * It only needs a C compiler to bootstrap: `cc -o nob nob.c`. After that the
 * binary notices when nob.c or nob.h changed and rebuilds itself.
 *
 * Everything here is static: the header is meant for exactly one translation
 * unit, the build script.
 */
#ifndef NOB_H
#define NOB_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* A command line under construction: argv, kept NULL-terminated. */
typedef struct {
    const char **items;
    size_t count;
    size_t capacity;
} Nob_Cmd;

/* Output captured from a command, NUL-terminated. */
typedef struct {
    char *data;
    size_t len;
} Nob_Output;

static void *nob_xrealloc(void *p, size_t size)
{
    p = realloc(p, size);
    if (p == NULL) {
        fprintf(stderr, "nob: out of memory\n");
        exit(1);
    }
    return p;
}

static void nob_cmd_push(Nob_Cmd *cmd, const char *arg)
{
    if (cmd->count + 2 > cmd->capacity) {    /* room for 'arg' and the NULL */
        cmd->capacity = cmd->capacity ? cmd->capacity * 2 : 16;
        cmd->items = nob_xrealloc(cmd->items, cmd->capacity * sizeof *cmd->items);
    }
    cmd->items[cmd->count++] = arg;
    cmd->items[cmd->count] = NULL;
}

/* Append arguments; the list ends with NULL. */
static void nob_cmd_append_(Nob_Cmd *cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    for (const char *arg; (arg = va_arg(ap, const char *)) != NULL;)
        nob_cmd_push(cmd, arg);
    va_end(ap);
}
#define nob_cmd_append(cmd, ...) nob_cmd_append_((cmd), __VA_ARGS__, (const char *)NULL)

static void nob_cmd_free(Nob_Cmd *cmd)
{
    free(cmd->items);
    *cmd = (Nob_Cmd){0};
}

/* printf into a fresh heap string; a build script never frees these. */
static const char *nob_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        fprintf(stderr, "nob: out of memory\n");
        exit(1);
    }
    va_end(ap);
    return s;
}

static void nob_cmd_echo(const Nob_Cmd *cmd)
{
    fputs("[nob]", stdout);
    for (size_t i = 0; i < cmd->count; i++)
        printf(" %s", cmd->items[i]);
    putchar('\n');
    fflush(stdout);
}

/* Start a command without waiting. If 'out_fd' >= 0 it becomes the child's
 * stdout and stderr. Returns the pid, or -1. */
static pid_t nob_cmd_start(const Nob_Cmd *cmd, int out_fd)
{
    if (cmd->count == 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "nob: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (out_fd >= 0) {
            dup2(out_fd, STDOUT_FILENO);
            dup2(out_fd, STDERR_FILENO);
            close(out_fd);
        }
        execvp(cmd->items[0], (char *const *)cmd->items);
        fprintf(stderr, "nob: cannot run %s: %s\n", cmd->items[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Wait for 'pid'; true when it exited with status 0. */
static bool nob_wait(pid_t pid, const char *what)
{
    int status;
    if (pid < 0)
        return false;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        fprintf(stderr, "nob: %s killed by signal %d\n", what, WTERMSIG(status));
    else
        fprintf(stderr, "nob: %s exited with status %d\n", what, WEXITSTATUS(status));
    return false;
}

/* Echo, run and wait for a command. */
static bool nob_cmd_run(const Nob_Cmd *cmd)
{
    nob_cmd_echo(cmd);
    return nob_wait(nob_cmd_start(cmd, -1), cmd->items[0]);
}

/* Run a command, copying its output to our stdout as it comes and keeping it
 * in 'out' so the caller can read results from it. */
static bool nob_cmd_run_capture(const Nob_Cmd *cmd, Nob_Output *out)
{
    int fds[2];
    nob_cmd_echo(cmd);
    if (pipe(fds) < 0)
        return false;
    pid_t pid = nob_cmd_start(cmd, fds[1]);
    close(fds[1]);
    size_t cap = 4096;
    out->data = nob_xrealloc(NULL, cap);
    out->len = 0;
    for (;;) {
        if (out->len + 1024 + 1 > cap)
            out->data = nob_xrealloc(out->data, cap *= 2);
        ssize_t n = read(fds[0], out->data + out->len, 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        fwrite(out->data + out->len, 1, (size_t)n, stdout);
        fflush(stdout);
        out->len += (size_t)n;
    }
    out->data[out->len] = '\0';
    close(fds[0]);
    return nob_wait(pid, cmd->items[0]);
}

/* Run several commands at once, at most 'jobs' at a time; true if all pass. */
static bool nob_cmds_run_parallel(Nob_Cmd *cmds, size_t n, size_t jobs)
{
    pid_t *pids = nob_xrealloc(NULL, (n ? n : 1) * sizeof *pids);
    bool ok = true;
    size_t started = 0, done = 0;
    while (done < n) {
        while (started < n && started - done < jobs) {
            nob_cmd_echo(&cmds[started]);
            pids[started] = nob_cmd_start(&cmds[started], -1);
            started++;
        }
        ok &= nob_wait(pids[done], cmds[done].items[0]);
        done++;
    }
    free(pids);
    return ok;
}

static bool nob_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* True when 'output' is missing or older than any of 'inputs'. A missing
 * input also counts as a reason to rebuild, so its error shows up. */
static bool nob_needs_rebuild(const char *output, const char **inputs, size_t n)
{
    struct stat out, in;
    if (stat(output, &out) < 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (stat(inputs[i], &in) < 0)
            return true;
        if (in.st_mtim.tv_sec > out.st_mtim.tv_sec ||
            (in.st_mtim.tv_sec == out.st_mtim.tv_sec && in.st_mtim.tv_nsec > out.st_mtim.tv_nsec))
            return true;
    }
    return false;
}

/* Create 'path' and its parents, like mkdir -p. */
static bool nob_mkdir_p(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return false;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "nob: mkdir %s: %s\n", buf, strerror(errno));
                return false;
            }
            *p = c;
            if (c == '\0')
                return true;
        }
    }
}

/* Is 'prog' on the PATH? */
static bool nob_have_program(const char *prog)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return false;
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *full = nob_fmt("%.*s/%s", (int)len, p, prog);
        if (access(full, X_OK) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

/* Rebuild the build script itself when its sources are newer than the binary
 * that is running, then run the new binary with the same arguments. */
static void nob_rebuild_self(int argc, char **argv, const char *source, const char *header)
{
    (void)argc;
    const char *binary = argv[0];
    const char *inputs[] = {source, header};
    if (!nob_needs_rebuild(binary, inputs, 2))
        return;
    Nob_Cmd cmd = {0};
    const char *old = nob_fmt("%s.old", binary);
    if (rename(binary, old) < 0) {
        fprintf(stderr, "nob: cannot move %s aside: %s\n", binary, strerror(errno));
        exit(1);
    }
    nob_cmd_append(&cmd, "cc", "-o", binary, source);
    if (!nob_cmd_run(&cmd)) {
        rename(old, binary);     /* keep a working nob around */
        exit(1);
    }
    unlink(old);
    execv(binary, argv);
    fprintf(stderr, "nob: cannot re-run %s: %s\n", binary, strerror(errno));
    exit(1);
}

#endif /* NOB_H */
