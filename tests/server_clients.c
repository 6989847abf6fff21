/* server_clients.c - the clients tests/test_servers.sh sets on the example
 * servers: many at once, and the rude ones (reset mid-request, a byte at
 * a time, half-closed, garbage). Written with the library's own waiting
 * calls, a coroutine per connection.
 *
 *     server_clients echo-load PORT CONNECTIONS BYTES
 *     server_clients echo-faults|resp-faults|http-faults PORT
 *     server_clients resp-as-redis PORT REDIS_PORT
 *
 * Prints one line per check, then "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "coroutine_wait.h"

#define DEADLINE (co_now() + 60 * CO_SEC)

static int port, passed, failed;

static void report(bool ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    passed += ok;
    failed += !ok;
}

static int dial(void)
{
    int fd = co_dial("127.0.0.1", port, DEADLINE);
    if (fd < 0)
        perror("dial");
    return fd;
}

/* Read exactly 'n' bytes; false on end of file or error first. */
static bool read_exactly(int fd, char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = co_read(fd, buf + got, n - got, DEADLINE);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* Everything until the peer closes, at most 'max' bytes; the count. */
static size_t read_to_end(int fd, char *buf, size_t max)
{
    size_t got = 0;
    ssize_t k;
    while (got < max && (k = co_read(fd, buf + got, max - got, DEADLINE)) > 0)
        got += (size_t)k;
    return got;
}

static void reset(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    co_close(fd);
}

/* {=====================================================================
 * Echo
 * ====================================================================== */

struct load {
    size_t bytes;
    int id;
    bool ok;
};

static void pattern(char *buf, size_t n, size_t offset, int id)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)((offset + i) * 31 + (size_t)id);
}

static void echo_one(void *arg)
{
    struct load *l = arg;
    char out[16384], in[16384], want[16384];
    int fd = dial();
    l->ok = fd >= 0;
    for (size_t done = 0; l->ok && done < l->bytes; done += sizeof out) {
        size_t n = l->bytes - done < sizeof out ? l->bytes - done : sizeof out;
        pattern(out, n, done, l->id);
        memcpy(want, out, n);
        l->ok = co_write(fd, out, n, DEADLINE) == (ssize_t)n && read_exactly(fd, in, n) &&
                memcmp(in, want, n) == 0;
    }
    if (fd >= 0)
        co_close(fd);
}

static void echo_load(int connections, size_t bytes)
{
    struct load *loads = calloc((size_t)connections, sizeof *loads);
    sp_ctx *c = calloc((size_t)connections, sizeof *c);
    for (int i = 0; i < connections; i++) {
        loads[i] = (struct load){bytes, i, false};
        c[i] = create_ctx_sized(echo_one, &loads[i], 128 * 1024);
    }
    int good = 0;
    for (int i = 0; i < connections; i++) {
        co_join(c[i], CO_FOREVER);
        destroy_ctx(c[i]);
        good += loads[i].ok;
    }
    char what[128];
    snprintf(what, sizeof what, "%d connections at once each echo %zu bytes, every byte checked (%d good)",
             connections, bytes, good);
    report(good == connections, what);
    free(loads);
    free(c);
}

static void echo_faults(void)
{
    char buf[256];
    int fd = dial();
    report(co_write(fd, "partial", 7, DEADLINE) == 7, "echo: a client resets mid-stream");
    reset(fd);

    fd = dial();
    bool ok = true;
    for (int i = 0; i < 100 && ok; i++) {
        char b = (char)('a' + i % 26), back;
        ok = co_write(fd, &b, 1, DEADLINE) == 1 && read_exactly(fd, &back, 1) && back == b;
    }
    report(ok, "echo: 100 bytes sent one at a time come back one at a time");
    co_close(fd);

    fd = dial();
    ok = co_write(fd, "half-closed", 11, DEADLINE) == 11 && shutdown(fd, SHUT_WR) == 0;
    size_t n = read_to_end(fd, buf, sizeof buf);
    report(ok && n == 11 && memcmp(buf, "half-closed", 11) == 0,
           "echo: a half-closed client gets its bytes back, then end of file");
    co_close(fd);

    enum { MANY = 16 << 20 };
    char *out = malloc(MANY), *back = malloc(MANY);
    pattern(out, MANY, 0, 7);
    fd = dial();
    ok = co_write(fd, out, MANY, DEADLINE) == MANY && read_exactly(fd, back, MANY) &&
         memcmp(out, back, MANY) == 0;
    report(ok, "echo: 16 MiB all sent before any is read back");
    co_close(fd);
    free(out);
    free(back);
}

/* }===================================================================== */

/* {=====================================================================
 * Request-answer servers: send, then expect exactly an answer
 * ====================================================================== */

/* Send 'request' (whole, or 'drip': a byte at a time), then read 'n'
 * bytes and compare with 'answer'; if 'closes', the server must close
 * after it. */
static bool exchange(const char *request, size_t len, bool drip, const char *answer, bool closes)
{
    int fd = dial();
    size_t n = strlen(answer);
    char *got = malloc(n + 65536);
    bool ok = fd >= 0 && got != NULL;
    for (size_t i = 0; ok && i < len; i += drip ? 1 : len)
        ok = co_write(fd, request + i, drip ? 1 : len, DEADLINE) == (ssize_t)(drip ? 1 : len);
    ok = ok && read_exactly(fd, got, n) && memcmp(got, answer, n) == 0;
    if (ok && closes)
        ok = read_to_end(fd, got, 65536) == 0;
    if (fd >= 0)
        co_close(fd);
    free(got);
    return ok;
}

static bool exchange_text(const char *request, bool drip, const char *answer, bool closes)
{
    return exchange(request, strlen(request), drip, answer, closes);
}

/* 'count' copies of 'request' in one write; 'count' copies of 'answer'. */
static bool pipelined(const char *request, const char *answer, int count)
{
    size_t rl = strlen(request), al = strlen(answer);
    char *req = malloc(rl * (size_t)count + 1), *ans = malloc(al * (size_t)count + 1);
    for (int i = 0; i < count; i++) {
        memcpy(req + rl * (size_t)i, request, rl);
        memcpy(ans + al * (size_t)i, answer, al);
    }
    ans[al * (size_t)count] = '\0';
    bool ok = exchange(req, rl * (size_t)count, false, ans, false);
    free(req);
    free(ans);
    return ok;
}

static void reset_mid_request(const char *partial)
{
    int fd = dial();
    co_write(fd, partial, strlen(partial), DEADLINE);
    reset(fd);
}

static void resp_faults(void)
{
    reset_mid_request("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc");
    report(exchange_text("*3\r\n$3\r\nSET\r\n$5\r\ndrip!\r\n$2\r\nok\r\n", true, "+OK\r\n", false),
           "resp: a command sent a byte at a time");
    report(exchange_text("PING\r\nping hi\r\nGET drip!\r\n", false, "+PONG\r\n$2\r\nhi\r\n$2\r\nok\r\n", false),
           "resp: inline commands");
    report(pipelined("*1\r\n$4\r\nPING\r\n", "+PONG\r\n", 1000), "resp: 1000 pipelined PINGs");
    report(pipelined("*1\r\n$4\r\nPING\r\n", "+PONG\r\n", 1000000),
           "resp: a million PINGs (14 MB) all sent before any answer is read");
    report(exchange_text("*1\r\n$999999999999\r\n", false, "-ERR Protocol error: invalid bulk length\r\n", true),
           "resp: a huge declared length is refused at once and the connection closed");
    report(exchange_text("*99999999999\r\n", false, "-ERR Protocol error: invalid multibulk length\r\n", true),
           "resp: a huge argument count is refused");
    report(exchange_text("*2\r\n$3\r\nGET\r\nxyz\r\n", false,
                         "-ERR Protocol error: expected '$', got 'x'\r\n", true),
           "resp: garbage gets an error and a close");
    report(exchange_text("*1\r\n$4\r\nPINGxx", false, "-ERR Protocol error: bulk not followed by CRLF\r\n", true),
           "resp: a bulk without its CRLF gets an error and a close");
    report(exchange_text("*2\r\n$4\r\nINCR\r\n$5\r\ndrip!\r\n", false,
                         "-ERR value is not an integer or out of range\r\n", false),
           "resp: INCR of a non-integer");
    report(exchange_text("*2\r\n$7\r\nNOTACMD\r\n$1\r\nx\r\nPING\r\n", false,
                         "-ERR unknown command 'NOTACMD', with args beginning with: 'x' \r\n+PONG\r\n",
                         false),
           "resp: an unknown command gets -ERR, as Redis words it, and the connection goes on");
    report(exchange_text("*1\r\n$4\r\na\r\nb\r\nPING\r\n", false,
                         "-ERR unknown command 'a  b', with args beginning with: \r\n+PONG\r\n", false),
           "resp: a command name holding CRLF does not break the error line");
    report(exchange_text("PING a b\r\n", false,
                         "-ERR wrong number of arguments for 'ping' command\r\n", false),
           "resp: PING of two arguments is refused");
    report(exchange_text("SET q \"a b\\x41\\n\"\r\nGET q\r\nSET q 'it\\'s'\r\nGET q\r\n", false,
                         "+OK\r\n$5\r\na bA\n\r\n+OK\r\n$4\r\nit's\r\n", false),
           "resp: inline quotes group spaces and take escapes, as redis-cli writes them");
    report(exchange_text("ECHO \"open\r\n", false,
                         "-ERR Protocol error: unbalanced quotes in request\r\n", true),
           "resp: unbalanced inline quotes get an error and a close");
    report(exchange_text("DECRBY d -9223372036854775808\r\nSET e 1 EX 4611686018427387\r\n", false,
                         "-ERR decrement would overflow\r\n+OK\r\n", false),
           "resp: DECRBY's overflow and the longest EX Redis takes");
    report(exchange_text("QUIT\r\n", false, "+OK\r\n", true), "resp: QUIT answers, then closes");
    static const char binary[] = "*3\r\n$3\r\nSET\r\n$3\r\nbin\r\n$5\r\na\0\r\nb\r\n"
                                 "*2\r\n$3\r\nGET\r\n$3\r\nbin\r\n";
    report(exchange(binary, sizeof binary - 1, false, "+OK\r\n$5\r\na", false),
           "resp: values are binary-safe");
}

static void http_faults(void)
{
    static const char ok_answer[] = "HTTP/1.1 200 OK\r\nServer: coroutine\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 14\r\n\r\nHello, World!\n";
    reset_mid_request("GET / HTTP/1.1\r\nHost: x\r\n");
    report(exchange_text("GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, ok_answer, false),
           "http: a request sent a byte at a time");
    report(pipelined("GET / HTTP/1.1\r\nHost: x\r\n\r\n", ok_answer, 100),
           "http: 100 pipelined requests");
    report(pipelined("GET / HTTP/1.1\r\nHost: x\r\n\r\n", ok_answer, 200000),
           "http: 200,000 requests (5 MB) all sent before any answer is read");
    report(exchange_text("GET /nothing HTTP/1.1\r\n\r\n", false, "HTTP/1.1 404 Not Found\r\n", false),
           "http: another path is 404");
    report(exchange_text("NOT HTTP AT ALL\r\n\r\n", false, "HTTP/1.1 400 Bad Request\r\n", false),
           "http: a malformed request is 400");
    report(exchange_text("GET / HTTP/1.1\r\nbad header\r\n\r\n", false, "HTTP/1.1 400 Bad Request\r\n", false),
           "http: a malformed header is 400");
    report(exchange_text("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false,
                         "HTTP/1.1 200 OK\r\n", false),
           "http: Connection: close is honoured");
    report(exchange_text("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false,
                         "HTTP/1.1 200 OK\r\nServer: coroutine\r\nContent-Type: text/plain\r\n"
                         "Content-Length: 14\r\nConnection: keep-alive\r\n\r\n", false),
           "http: HTTP/1.0 asking for keep-alive is told it is kept");
    report(exchange_text("GET / HTTP/1.1\nHost: x\n\n", false, ok_answer, false),
           "http: lines ended by a bare LF are taken");
    report(exchange_text("\r\nGET / HTTP/1.1\r\n\r\n", false, ok_answer, false),
           "http: an empty line before the request is skipped");
    report(pipelined("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", ok_answer, 2),
           "http: only the token close closes, not \"closed\"");
    report(exchange_text("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", false, "HTTP/1.1 400 Bad Request\r\n", false),
           "http: a bare CR in a header is 400");
}

/* }===================================================================== */

/* {=====================================================================
 * resp_server against redis-server: the same bytes back
 * ====================================================================== */

#define END_MARK "*2\r\n$4\r\nECHO\r\n$8\r\n~the-end\r\n"
#define END_ANSWER "$8\r\n~the-end\r\n"

/* Every byte a server on 'to' answers to 'request' (then END_MARK) on a
 * new connection, up to END_ANSWER or end of file; the count. */
static size_t answers(int to, const char *request, size_t len, char *got, size_t max)
{
    int saved = port, fd;
    port = to;
    fd = dial();
    port = saved;
    size_t n = 0;
    ssize_t k;
    if (fd < 0 || co_write(fd, request, len, DEADLINE) != (ssize_t)len ||
        co_write(fd, END_MARK, strlen(END_MARK), DEADLINE) < 0) {
        if (fd >= 0)
            co_close(fd);
        return 0;
    }
    while (n < max && (k = co_read(fd, got + n, max - n, DEADLINE)) > 0) {
        n += (size_t)k;
        if (n >= strlen(END_ANSWER) && memcmp(got + n - strlen(END_ANSWER), END_ANSWER,
                                              strlen(END_ANSWER)) == 0)
            break;
    }
    co_close(fd);
    return n;
}

static bool same_answers(int redis, const char *request, size_t len)
{
    static char ours[1 << 16], theirs[1 << 16];
    static const char flush[] = "*1\r\n$8\r\nFLUSHALL\r\n";
    answers(port, flush, strlen(flush), ours, sizeof ours);
    answers(redis, flush, strlen(flush), theirs, sizeof theirs);
    size_t a = answers(port, request, len, ours, sizeof ours);
    size_t b = answers(redis, request, len, theirs, sizeof theirs);
    if (a == b && memcmp(ours, theirs, a) == 0)
        return true;
    printf("     sent  %.*s\n     ours  %.*s\n     redis %.*s\n", (int)len, request, (int)a, ours,
           (int)b, theirs);
    return false;
}

/* Requests, inline and multibulk, whose answers must be Redis's byte for
 * byte: errors and their texts, integer edges, options, quoting. */
static const char *const as_redis[] = {
    "PING\r\n", "PING hello\r\n", "PING a b\r\n", "ping\n", "\tPING\t\r\n", "PING\rX\r\n",
    "ECHO\r\n", "ECHO a b\r\n", "GET\r\n", "SET k\r\n", "NOSUCH a b\r\n", "+PING\r\n",
    "SET k v\r\nGET k\r\nEXISTS k k nope\r\nDEL k k nope\r\nGET k\r\n",
    "SET k v EX 0\r\n", "SET k v EX -1\r\n", "SET k v EX abc\r\n", "SET k v PX 0\r\n",
    "SET k v EX\r\n", "SET k v EX 10 PX 10\r\n", "SET k v ex 10\r\nGET k\r\n",
    "SET k v EX 9223372036854775\r\n", "SET k v EX 9223370000000000\r\n",
    "SET k v PX 9223372036854775806\r\n", "SET k v EX 1.5\r\n", "SET k v FOO\r\n",
    "SET k v NX\r\nSET k w NX\r\nGET k\r\nSET k w XX\r\nGET k\r\nSET q w XX\r\n",
    "SET k v NX XX\r\n", "SET k v GET\r\nSET k w GET\r\n", "SET k v EX 100 KEEPTTL\r\n",
    "SET n 9223372036854775807\r\nINCR n\r\n", "SET n -9223372036854775808\r\nDECR n\r\n",
    "SET n 01\r\nINCR n\r\n", "SET n +1\r\nINCR n\r\n", "SET n -0\r\nINCR n\r\n",
    "SET n ''\r\nINCR n\r\n", "SET n 18446744073709551616\r\nINCR n\r\n",
    "INCR fresh\r\nDECR fresh2\r\nINCRBY n 5\r\nDECRBY n 7\r\nINCRBY n abc\r\n",
    "INCRBY n 9223372036854775807\r\nINCRBY n 1\r\n", "DECRBY n -9223372036854775808\r\n",
    "MSET\r\nMSET a\r\nMSET a 1 b\r\nMSET a 1 b 2 a 3\r\nMGET a b c\r\nMGET\r\n",
    "DBSIZE\r\nDBSIZE x\r\nSET a 1\r\nDBSIZE\r\nFLUSHALL\r\nDBSIZE\r\nFLUSHALL x\r\n",
    "FLUSHALL SYNC\r\nFLUSHALL ASYNC\r\nFLUSHDB\r\nSELECT 0\r\nSELECT x\r\n",
    "SET k \"a b\\x41\\n\\t\\\\\"\r\nGET k\r\n", "SET k 'it\\'s'\r\nGET k\r\n",
    "SET k a\"b c\"\r\nGET k\r\n", "SET k \"\\xzz\"\r\nGET k\r\n", "ECHO \"open\r\n",
    "ECHO \"a\"b\r\n", "SET k v\r\n\r\n\r\nGET k\r\n", "QUIT\r\nPING\r\n",
    "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "*0\r\n*-1\r\nPING\r\n",
    "*1\r\n$0\r\n\r\n", "*x\r\n", "*1\r\nx\r\n", "*1\r\n$x\r\n", "*1\r\n$-5\r\n",
    "*1\r\n:5\r\n", "*1\r\n*1\r\n", "*1\r\n$99999999999999999999\r\n",
    "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", "*1\r\n$4\r\na\r\nb\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\x01" "b\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    "CONFIG GET save\r\nCONFIG\r\n",
};

static void resp_as_redis(int redis)
{
    int differ = 0;
    for (size_t i = 0; i < sizeof as_redis / sizeof as_redis[0]; i++)
        differ += !same_answers(redis, as_redis[i], strlen(as_redis[i]));
    report(differ == 0, "resp: the same bytes back as redis-server, for every request of a table");
}

/* }===================================================================== */

int main(int argc, char **argv)
{
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    if (argc < 3) {
        fprintf(stderr, "usage: server_clients echo-load|echo-faults|resp-faults|http-faults|resp-as-redis PORT ...\n");
        return 2;
    }
    port = atoi(argv[2]);
    if (strcmp(argv[1], "echo-load") == 0 && argc == 5)
        echo_load(atoi(argv[3]), (size_t)atol(argv[4]));
    else if (strcmp(argv[1], "echo-faults") == 0)
        echo_faults();
    else if (strcmp(argv[1], "resp-faults") == 0)
        resp_faults();
    else if (strcmp(argv[1], "http-faults") == 0)
        http_faults();
    else if (strcmp(argv[1], "resp-as-redis") == 0 && argc == 4)
        resp_as_redis(atoi(argv[3]));
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
