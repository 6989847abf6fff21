/* resp_commands.h - the key-value store behind resp_server.c: the
 * keyspace, Redis's commands and their replies, and running every whole
 * command in a connection's buffer. No I/O here, so the bare epoll server
 * the benchmark compares with (bench/servers/resp_epoll.c) runs exactly
 * the same code.
 *
 * Each thread has a keyspace of its own. A command's work on a key is a
 * part, run through 'router': here, by default; on the thread that owns
 * the key, when resp_server.c shards the keyspace over threads.
 */
#ifndef RESP_COMMANDS_H
#define RESP_COMMANDS_H

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "resp.h"

#define CO_SEC_NS ((int64_t)1000000000)
#define CO_MSEC_NS ((int64_t)1000000)

/* The clock expiry times are kept in: CLOCK_MONOTONIC, in ns. */
static int64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CO_SEC_NS + ts.tv_nsec;
}

#define MAX_QUERY (2 * (size_t)RESP_MAX_BULK)   /* a connection's unread requests */

/* {=====================================================================
 * The keyspace: a chained hash table of binary-safe keys
 * ====================================================================== */

struct entry {
    struct entry *next;
    uint64_t hash;
    int64_t expires;                 /* clock_ns() time, or 0: never */
    size_t key_len, value_len;
    char data[];                     /* the key, then the value */
};

static _Thread_local struct {
    struct entry **buckets;
    size_t mask;                     /* buckets - 1, a power of two less one */
    size_t count;
    size_t expiring;                 /* entries with 'expires' set */
    uint64_t seed;
} db;

static uint64_t hash_of(const char *p, size_t n)
{
    uint64_t h = db.seed ^ (n * 0x9E3779B97F4A7C15ULL);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001B3ULL;
    return h ^ (h >> 29);
}

static bool db_grow(void)
{
    size_t n = db.buckets ? (db.mask + 1) * 2 : 1024;
    struct entry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return false;
    for (size_t i = 0; db.buckets && i <= db.mask; i++)
        for (struct entry *e = db.buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(db.buckets);
    db.buckets = b;
    db.mask = n - 1;
    return true;
}

static void db_unlink(struct entry **at)
{
    struct entry *e = *at;
    *at = e->next;
    db.count--;
    db.expiring -= e->expires != 0;
    free(e);
}

static bool expired(const struct entry *e)
{
    return e->expires != 0 && e->expires <= clock_ns();
}

/* Where the live entry for the key is (or would be linked), or NULL if
 * there is no table yet. An expired entry found on the way is removed. */
static struct entry **db_find(const char *key, size_t len, uint64_t h)
{
    if (db.buckets == NULL)
        return NULL;
    struct entry **at = &db.buckets[h & db.mask];
    while (*at != NULL) {
        struct entry *e = *at;
        if (e->hash == h && e->key_len == len && memcmp(e->data, key, len) == 0) {
            if (!expired(e))
                return at;
            db_unlink(at);
            continue;
        }
        at = &e->next;
    }
    return at;
}

static struct entry *db_get(const char *key, size_t len)
{
    struct entry **at = db_find(key, len, hash_of(key, len));
    return at ? *at : NULL;
}

/* Set key to value, replacing any entry; false when out of memory. */
static bool db_set(const char *key, size_t klen, const char *value, size_t vlen, int64_t expires)
{
    if ((db.buckets == NULL || db.count > db.mask) && !db_grow())
        return false;
    uint64_t h = hash_of(key, klen);
    struct entry **at = db_find(key, klen, h);
    struct entry *e = malloc(sizeof *e + klen + vlen);
    if (e == NULL)
        return false;
    *e = (struct entry){.hash = h, .expires = expires, .key_len = klen, .value_len = vlen};
    memcpy(e->data, key, klen);
    memcpy(e->data + klen, value, vlen);
    if (*at != NULL)
        db_unlink(at);
    e->next = *at;
    *at = e;
    db.count++;
    db.expiring += expires != 0;
    return true;
}

static bool db_delete(const char *key, size_t len)
{
    struct entry **at = db_find(key, len, hash_of(key, len));
    if (at == NULL || *at == NULL)
        return false;
    db_unlink(at);
    return true;
}

static void db_flush(void)
{
    for (size_t i = 0; db.buckets && i <= db.mask; i++)
        while (db.buckets[i] != NULL)
            db_unlink(&db.buckets[i]);
}

/* The number of live keys: expired ones are swept first. */
static size_t db_size(void)
{
    for (size_t i = 0; db.expiring > 0 && i <= db.mask; i++)
        for (struct entry **at = &db.buckets[i]; *at != NULL;)
            if (expired(*at))
                db_unlink(at);
            else
                at = &(*at)->next;
    return db.count;
}

/* }===================================================================== */

/* {=====================================================================
 * Replies
 * ====================================================================== */

struct reply {
    char *data;
    size_t len, cap;
    bool failed;                     /* out of memory: close the connection */
};

static void put(struct reply *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = (r->len + n) * 2;
        char *data = r->failed ? NULL : realloc(r->data, cap);
        if (data == NULL) {
            r->failed = true;
            return;
        }
        r->data = data;
        r->cap = cap;
    }
    memcpy(r->data + r->len, p, n);
    r->len += n;
}

static void put_text(struct reply *r, const char *s)
{
    put(r, s, strlen(s));
}

static void put_int(struct reply *r, char type, long long n)
{
    char line[32];
    put(r, line, (size_t)snprintf(line, sizeof line, "%c%lld\r\n", type, n));
}

static void put_bulk(struct reply *r, const char *p, size_t n)
{
    put_int(r, '$', (long long)n);
    put(r, p, n);
    put(r, "\r\n", 2);
}

static void put_nil(struct reply *r)
{
    put_text(r, "$-1\r\n");
}

/* An error line; anything the client sent in it is cut to printable
 * characters, so it cannot end the line early. */
__attribute__((format(printf, 2, 3))) static void put_error(struct reply *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n = n < 0 ? 0 : n >= (int)sizeof line ? (int)sizeof line - 1 : n;
    for (int i = 0; i < n; i++)
        if (line[i] < ' ' || line[i] > '~')
            line[i] = ' ';
    put(r, "-", 1);
    put(r, line, (size_t)n);
    put(r, "\r\n", 2);
}

/* }===================================================================== */

/* {=====================================================================
 * Commands
 * ====================================================================== */

struct call {
    const char *base;                /* the command's first byte */
    const struct resp_arg *args;
    size_t argc;
    struct reply *out;
    bool quit;
    long long n;                     /* what parts count (keys deleted, ...) */
    void *asker;                     /* the connection's, for the router */
};

/* Where the parts of a command run: at_key runs part(c) where the key
 * c->args[1] lives, everywhere on every keyspace in turn; both return
 * once it is done. */
struct router {
    void (*at_key)(struct call *c, void (*part)(struct call *));
    void (*everywhere)(struct call *c, void (*part)(struct call *));
};

static void run_here(struct call *c, void (*part)(struct call *))
{
    part(c);
}

static struct router router = {run_here, run_here};

static const char *arg(const struct call *c, size_t i)
{
    return c->base + c->args[i].offset;
}

static bool arg_is(const struct call *c, size_t i, const char *word)
{
    return c->args[i].len == strlen(word) && strncasecmp(arg(c, i), word, c->args[i].len) == 0;
}

/* A whole signed 64-bit decimal, as Redis reads one: no spaces, no '+',
 * no leading zeros. */
static bool to_integer(const char *p, size_t n, long long *out)
{
    if (n == 0 || n > 20 || (p[0] == '0' && n > 1) || (p[0] == '-' && (n == 1 || p[1] == '0')))
        return false;
    bool negative = p[0] == '-';
    unsigned long long v = 0, limit = negative ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    for (size_t i = negative; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (limit - (unsigned)(p[i] - '0')) / 10)
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = negative ? (long long)(0 - v) : (long long)v;
    return true;
}

static void cmd_ping(struct call *c)
{
    if (c->argc > 2)
        put_error(c->out, "ERR wrong number of arguments for 'ping' command");
    else if (c->argc == 1)
        put_text(c->out, "+PONG\r\n");
    else
        put_bulk(c->out, arg(c, 1), c->args[1].len);
}

static void cmd_echo(struct call *c)
{
    put_bulk(c->out, arg(c, 1), c->args[1].len);
}

static void cmd_get(struct call *c)
{
    struct entry *e = db_get(arg(c, 1), c->args[1].len);
    if (e == NULL)
        put_nil(c->out);
    else
        put_bulk(c->out, e->data + e->key_len, e->value_len);
}

/* Redis refuses a time whose Unix milliseconds overflow; what it takes
 * but this clock cannot hold (past about the year 2262) is never. */
static int64_t unix_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t deadline_after(long long n, int64_t unit_ns)
{
    int64_t now = clock_ns();
    return n > (INT64_MAX - now) / unit_ns ? INT64_MAX : now + n * unit_ns;
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL] */
static void cmd_set(struct call *c)
{
    bool nx = false, xx = false, get = false, keep = false;
    int64_t expires = 0;
    for (size_t i = 3; i < c->argc; i++) {
        long long n;
        bool ex = arg_is(c, i, "EX"), px = arg_is(c, i, "PX");
        if ((ex || px) && i + 1 < c->argc && expires == 0 && !keep) {
            if (!to_integer(arg(c, i + 1), c->args[i + 1].len, &n)) {
                put_error(c->out, "ERR value is not an integer or out of range");
                return;
            }
            if (n <= 0 || (ex && n > INT64_MAX / 1000) || n * (ex ? 1000 : 1) > INT64_MAX - unix_ms()) {
                put_error(c->out, "ERR invalid expire time in 'set' command");
                return;
            }
            expires = deadline_after(n, ex ? CO_SEC_NS : CO_MSEC_NS);
            i++;
        } else if (arg_is(c, i, "NX") && !xx) {
            nx = true;
        } else if (arg_is(c, i, "XX") && !nx) {
            xx = true;
        } else if (arg_is(c, i, "GET")) {
            get = true;
        } else if (arg_is(c, i, "KEEPTTL") && expires == 0) {
            keep = true;
        } else {
            put_error(c->out, "ERR syntax error");
            return;
        }
    }
    struct entry *old = db_get(arg(c, 1), c->args[1].len);
    if (get) {
        if (old == NULL)
            put_nil(c->out);
        else
            put_bulk(c->out, old->data + old->key_len, old->value_len);
    }
    if ((nx && old != NULL) || (xx && old == NULL)) {
        if (!get)
            put_nil(c->out);
        return;
    }
    if (keep && old != NULL)
        expires = old->expires;
    if (!db_set(arg(c, 1), c->args[1].len, arg(c, 2), c->args[2].len, expires))
        c->out->failed = true;
    else if (!get)
        put_text(c->out, "+OK\r\n");
}

/* Run 'part' for each key of a multi-key command, in order, where the
 * key lives: each part sees the command's name, its key and, with 'step'
 * 2, the value after it. Their counts add up in c->n. */
static void each_key(struct call *c, size_t step, void (*part)(struct call *))
{
    for (size_t i = 1; i + step - 1 < c->argc; i += step) {
        struct resp_arg args[3] = {c->args[0], c->args[i], c->args[i + step - 1]};
        struct call one = {c->base, args, 1 + step, c->out, false, 0, c->asker};
        router.at_key(&one, part);
        c->n += one.n;
    }
}

static void del_part(struct call *c)
{
    c->n = db_delete(arg(c, 1), c->args[1].len);
}

static void exists_part(struct call *c)
{
    c->n = db_get(arg(c, 1), c->args[1].len) != NULL;
}

static void cmd_del(struct call *c)
{
    each_key(c, 1, del_part);
    put_int(c->out, ':', c->n);
}

static void cmd_exists(struct call *c)
{
    each_key(c, 1, exists_part);
    put_int(c->out, ':', c->n);
}

static void add_to(struct call *c, long long by)
{
    struct entry *e = db_get(arg(c, 1), c->args[1].len);
    long long n = 0;
    if (e != NULL && !to_integer(e->data + e->key_len, e->value_len, &n)) {
        put_error(c->out, "ERR value is not an integer or out of range");
        return;
    }
    if ((by > 0 && n > LLONG_MAX - by) || (by < 0 && n < LLONG_MIN - by)) {
        put_error(c->out, "ERR increment or decrement would overflow");
        return;
    }
    char text[24];
    int len = snprintf(text, sizeof text, "%lld", n + by);
    if (!db_set(arg(c, 1), c->args[1].len, text, (size_t)len, e ? e->expires : 0))
        c->out->failed = true;
    else
        put_int(c->out, ':', n + by);
}

static void cmd_incr(struct call *c)
{
    add_to(c, 1);
}

static void cmd_decr(struct call *c)
{
    add_to(c, -1);
}

static void add_by(struct call *c, int sign)
{
    long long by;
    if (!to_integer(arg(c, 2), c->args[2].len, &by)) {
        put_error(c->out, "ERR value is not an integer or out of range");
        return;
    }
    if (sign < 0 && by == LLONG_MIN) {
        put_error(c->out, "ERR decrement would overflow");
        return;
    }
    add_to(c, sign * by);
}

static void cmd_incrby(struct call *c)
{
    add_by(c, 1);
}

static void cmd_decrby(struct call *c)
{
    add_by(c, -1);
}

static void mset_part(struct call *c)
{
    if (!db_set(arg(c, 1), c->args[1].len, arg(c, 2), c->args[2].len, 0))
        c->out->failed = true;
}

/* Each pair is set where its key lives: across threads, a client reading
 * while another runs MSET may see some of the keys set and not others. */
static void cmd_mset(struct call *c)
{
    if (c->argc % 2 == 0) {
        put_error(c->out, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    each_key(c, 2, mset_part);
    put_text(c->out, "+OK\r\n");
}

static void cmd_mget(struct call *c)
{
    put_int(c->out, '*', (long long)c->argc - 1);
    each_key(c, 1, cmd_get);
}

static void dbsize_part(struct call *c)
{
    c->n += (long long)db_size();
}

static void cmd_dbsize(struct call *c)
{
    router.everywhere(c, dbsize_part);
    put_int(c->out, ':', c->n);
}

static void flush_part(struct call *c)
{
    (void)c;
    db_flush();
}

static void cmd_flushall(struct call *c)
{
    if (c->argc == 2 && !arg_is(c, 1, "ASYNC") && !arg_is(c, 1, "SYNC")) {
        put_error(c->out, "ERR syntax error");
        return;
    }
    router.everywhere(c, flush_part);
    put_text(c->out, "+OK\r\n");
}

static void cmd_select(struct call *c)
{
    long long n;
    if (!to_integer(arg(c, 1), c->args[1].len, &n))
        put_error(c->out, "ERR value is not an integer or out of range");
    else if (n == 0)
        put_text(c->out, "+OK\r\n");
    else
        put_error(c->out, "ERR DB index is out of range");
}

static void cmd_quit(struct call *c)
{
    put_text(c->out, "+OK\r\n");
    c->quit = true;
}

/* COMMAND: nothing to tell, which clients accept. */
static void cmd_command(struct call *c)
{
    put_text(c->out, "*0\r\n");
}

/* CONFIG GET: the two settings redis-benchmark asks for, as a server that
 * keeps nothing on disk has them; any other, nothing. */
static void cmd_config(struct call *c)
{
    static const char *const settings[][2] = {{"save", ""}, {"appendonly", "no"}};
    if (!arg_is(c, 1, "GET") || c->argc != 3) {
        put_error(c->out, "ERR unknown subcommand or wrong number of arguments for 'config'");
        return;
    }
    for (size_t i = 0; i < 2; i++)
        if (arg_is(c, 2, settings[i][0])) {
            put_text(c->out, "*2\r\n");
            put_bulk(c->out, settings[i][0], strlen(settings[i][0]));
            put_bulk(c->out, settings[i][1], strlen(settings[i][1]));
            return;
        }
    put_text(c->out, "*0\r\n");
}

struct command {
    const char *name;                /* lower case, as Redis's errors say it */
    void (*run)(struct call *);
    int arity;                       /* as Redis: n exactly, -n at least n */
    bool keyed;                      /* all of it runs where its key, args[1], lives */
};

static const struct command commands[] = {
    {"get", cmd_get, 2, true},          {"set", cmd_set, -3, true},
    {"ping", cmd_ping, -1, false},      {"incr", cmd_incr, 2, true},
    {"decr", cmd_decr, 2, true},        {"incrby", cmd_incrby, 3, true},
    {"decrby", cmd_decrby, 3, true},    {"mset", cmd_mset, -3, false},
    {"mget", cmd_mget, -2, false},      {"del", cmd_del, -2, false},
    {"exists", cmd_exists, -2, false},  {"echo", cmd_echo, 2, false},
    {"dbsize", cmd_dbsize, 1, false},   {"flushall", cmd_flushall, -1, false},
    {"flushdb", cmd_flushall, -1, false}, {"select", cmd_select, 2, false},
    {"quit", cmd_quit, -1, false},      {"config", cmd_config, -2, false},
    {"command", cmd_command, -1, false},
};

/* As Redis words it: the name and the first arguments, 128 bytes of each. */
static void put_unknown(struct call *c)
{
    char args[160] = "";
    size_t used = 0;
    for (size_t i = 1; i < c->argc && used < 128; i++) {
        int n = c->args[i].len > 128 - used ? (int)(128 - used) : (int)c->args[i].len;
        used += (size_t)snprintf(args + used, sizeof args - used, "'%.*s' ", n, arg(c, i));
    }
    int n = c->args[0].len > 128 ? 128 : (int)c->args[0].len;
    put_error(c->out, "ERR unknown command '%.*s', with args beginning with: %s", n, arg(c, 0),
              args);
}

static void execute(struct call *c)
{
    if (c->argc == 0)
        return;                      /* an empty line, or *0: nothing to answer */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *cmd = &commands[i];
        if (!arg_is(c, 0, cmd->name))
            continue;
        if (cmd->arity > 0 ? c->argc != (size_t)cmd->arity : c->argc < (size_t)-cmd->arity) {
            put_error(c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
            return;
        }
        if (cmd->keyed)
            router.at_key(c, cmd->run);
        else
            cmd->run(c);
        return;
    }
    put_unknown(c);
}

/* }===================================================================== */

/* {=====================================================================
 * A connection
 * ====================================================================== */

struct client {
    char *buf;
    size_t len, cap;
    struct resp_command cmd;
    struct reply out;
    void *asker;                     /* given to the router with each call */
};

/* Run every whole command at the start of the buffer; the bytes used,
 * and whether the connection goes on. */
static size_t run_commands(struct client *cl, bool *go_on)
{
    size_t used = 0;
    while (*go_on && !cl->out.failed) {
        const char *error = NULL;
        enum resp_status s = resp_parse(cl->buf + used, cl->len - used, &cl->cmd, &error);
        if (s == RESP_INCOMPLETE)
            break;
        if (s == RESP_ERROR) {
            put_error(&cl->out, "ERR %s", error);
            *go_on = false;
            break;
        }
        struct call call = {cl->buf + used, cl->cmd.args, cl->cmd.count, &cl->out, false, 0,
                            cl->asker};
        execute(&call);
        *go_on = !call.quit;
        used += cl->cmd.length;
        resp_reset(&cl->cmd);
    }
    *go_on = *go_on && !cl->out.failed;
    return used;
}

/* Room to read into: the buffer doubles while a request is bigger than
 * it, up to MAX_QUERY. */
static bool make_room(struct client *cl)
{
    if (cl->len < cl->cap)
        return true;
    if (cl->cap >= MAX_QUERY)
        return false;
    char *buf = realloc(cl->buf, cl->cap * 2);
    if (buf == NULL)
        return false;
    cl->buf = buf;
    cl->cap *= 2;
    return true;
}

/* A client's life, as both servers drive it. */
static bool client_init(struct client *cl)
{
    *cl = (struct client){.cap = 16384};
    resp_reset(&cl->cmd);
    return (cl->buf = malloc(cl->cap)) != NULL;
}

static void client_free(struct client *cl)
{
    free(cl->buf);
    free(cl->out.data);
    free(cl->cmd.args);
}

/* 'n' bytes came: run every whole command, keep the rest for later. */
static void client_received(struct client *cl, size_t n, bool *go_on)
{
    cl->len += n;
    size_t used = run_commands(cl, go_on);
    memmove(cl->buf, cl->buf + used, cl->len - used);
    cl->len -= used;
}

/* The buffer is full and no command in it is whole: grow it, or answer
 * that the request is too big (then close). */
static bool client_room(struct client *cl)
{
    if (make_room(cl))
        return true;
    put_error(&cl->out, "ERR Protocol error: request too big");
    return false;
}

/* Every answer was written. */
static void client_sent(struct client *cl)
{
    cl->out.len = 0;
    if (cl->out.cap > 1 << 20) {         /* after a big reply, give the memory back */
        free(cl->out.data);
        cl->out = (struct reply){0};
    }
}

/* A seed for the keyspace's hash, so clients cannot pick colliding keys
 * ahead of time. */
static void db_seed(void)
{
    db.seed = (uint64_t)clock_ns() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&db;
}

#endif
