/* resp.h - the Redis protocol (RESP2) request side, for resp_server.c:
 * finding one command in a buffer, in either form clients send:
 *
 *     *2\r\n$3\r\nGET\r\n$3\r\nkey\r\n     multibulk: what redis-cli sends
 *     GET key\r\n                          inline: what a person types
 *
 * Lengths are checked against the bounds below before anything is
 * allocated, so a client that declares a huge request is refused at once.
 * An inline line is split into words as Redis splits it (quotes group
 * spaces), decoding the words in place.
 * Separate so that a fuzzer (tests/fuzz/fuzz_resp.c) can feed it anything.
 */
#ifndef RESP_H
#define RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESP_MAX_ARGS (1024 * 1024)          /* as Redis */
#define RESP_MAX_BULK (64 * 1024 * 1024)     /* one argument */
#define RESP_MAX_INLINE (64 * 1024)          /* an inline command's line */

struct resp_arg {
    size_t offset;                           /* from the command's first byte */
    size_t len;
};

/* A command being parsed. Parsing resumes where it stopped when more
 * bytes come, so a request dripped a byte at a time costs no more than
 * one sent whole; the buffer may move between calls, hence offsets. */
struct resp_command {
    struct resp_arg *args;                   /* grown as needed; free() it */
    size_t count, cap;
    long long declared;                      /* a multibulk's count, or -1 */
    size_t pos;                              /* parsed up to here */
    size_t length;                           /* RESP_OK: bytes the command took */
    char why[48];                            /* an error message made for this input */
};

enum resp_status {
    RESP_INCOMPLETE,                         /* read more, call again */
    RESP_OK,                                 /* a command, possibly of no arguments */
    RESP_ERROR,                              /* 'error' says what; close after */
};

/* Start on a new command: the next byte of the buffer is its first. */
static void resp_reset(struct resp_command *c)
{
    c->count = c->pos = c->length = 0;
    c->declared = -1;
}

/* A decimal number ending in \r\n at 'p' (before 'end'): -2 if
 * incomplete, -3 if not a number, else the number, with -1 allowed. */
static long long resp_number(const char *p, const char *end, const char **after)
{
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    if (cr == NULL || cr + 1 >= end)
        return (end - p > 24) ? -3 : -2;
    if (cr[1] != '\n' || cr == p || cr - p > 20)
        return -3;
    bool negative = *p == '-';
    long long n = 0;
    for (const char *q = p + negative; q < cr; q++) {
        if (*q < '0' || *q > '9' || n > (1LL << 40))
            return -3;
        n = n * 10 + (*q - '0');
    }
    if (negative && (n != 1 || cr - p != 2))
        return -3;
    *after = cr + 2;
    return negative ? -1 : n;
}

static bool resp_push(struct resp_command *c, size_t offset, size_t len)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct resp_arg *args = realloc(c->args, cap * sizeof *args);
        if (args == NULL)
            return false;
        c->args = args;
        c->cap = cap;
    }
    c->args[c->count++] = (struct resp_arg){offset, len};
    return true;
}

static enum resp_status resp_multibulk(const char *buf, size_t len, struct resp_command *c,
                                       const char **error)
{
    const char *end = buf + len, *p = buf + c->pos;
    if (c->declared < 0) {
        long long n = resp_number(buf + 1, end, &p);
        if (n == -2)
            return RESP_INCOMPLETE;
        if (n == -3 || n > RESP_MAX_ARGS) {
            *error = "Protocol error: invalid multibulk length";
            return RESP_ERROR;
        }
        c->declared = n < 0 ? 0 : n;
        c->pos = (size_t)(p - buf);
    }
    while ((long long)c->count < c->declared) {
        if (p == end)
            return RESP_INCOMPLETE;
        if (*p != '$') {
            snprintf(c->why, sizeof c->why, "Protocol error: expected '$', got '%c'", *p);
            *error = c->why;
            return RESP_ERROR;
        }
        const char *data;
        long long bulk = resp_number(p + 1, end, &data);
        if (bulk == -2)
            return RESP_INCOMPLETE;
        if (bulk < 0 || bulk > RESP_MAX_BULK) {
            *error = "Protocol error: invalid bulk length";
            return RESP_ERROR;
        }
        if ((size_t)(end - data) < (size_t)bulk + 2)
            return RESP_INCOMPLETE;
        if (data[bulk] != '\r' || data[bulk + 1] != '\n') {
            *error = "Protocol error: bulk not followed by CRLF";
            return RESP_ERROR;
        }
        if (!resp_push(c, (size_t)(data - buf), (size_t)bulk)) {
            *error = "out of memory";
            return RESP_ERROR;
        }
        p = data + bulk + 2;
        c->pos = (size_t)(p - buf);
    }
    c->length = c->pos;
    return RESP_OK;
}

static bool resp_is_space(char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static int resp_hex(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0'
         : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* The escape at 'p' (a backslash) inside double quotes, as C writes
 * them: its byte, and how many bytes it took. */
static char resp_escape(const char *p, const char *end, size_t *took)
{
    static const char plain[] = "nrtba", meant[] = "\n\r\t\b\a";
    if (end - p >= 4 && p[1] == 'x' && resp_hex(p[2]) >= 0 && resp_hex(p[3]) >= 0) {
        *took = 4;
        return (char)(resp_hex(p[2]) * 16 + resp_hex(p[3]));
    }
    *took = 2;
    const char *known = memchr(plain, p[1], 5);
    return known ? meant[known - plain] : p[1];
}

/* One word of an inline line, split as Redis splits it: "..." holds
 * spaces and C escapes, '...' holds spaces and \' only, and a closing
 * quote must end the word. The word is written at '*to', which never
 * passes 'p' because decoding only shortens. Returns where reading
 * stopped, or NULL for unbalanced quotes. */
static char *resp_word(char *p, char *end, char **to)
{
    char *w = *to, quote = 0;
    while (p < end) {
        if (quote == 0 && resp_is_space(*p))
            break;
        if (quote == 0 && (*p == '"' || *p == '\'')) {
            quote = *p++;
        } else if (quote != 0 && *p == quote) {
            if (++p < end && !resp_is_space(*p))
                return NULL;
            quote = 0;
            break;
        } else if (quote == '"' && *p == '\\' && p + 1 < end) {
            size_t took;
            *w++ = resp_escape(p, end, &took);
            p += took;
        } else if (quote == '\'' && *p == '\\' && p + 1 < end && p[1] == '\'') {
            *w++ = '\'';
            p += 2;
        } else {
            *w++ = *p++;
        }
    }
    *to = w;
    return quote ? NULL : p;
}

/* An inline command is decoded where it lies, once its whole line is in. */
static enum resp_status resp_inline(char *buf, size_t len, struct resp_command *c,
                                    const char **error)
{
    char *nl = memchr(buf + c->pos, '\n', len - c->pos);
    if (nl == NULL) {
        c->pos = len;
        if (len <= RESP_MAX_INLINE)
            return RESP_INCOMPLETE;
        *error = "Protocol error: too big inline request";
        return RESP_ERROR;
    }
    char *end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl, *w = buf;
    for (char *p = buf; p < end;) {
        while (p < end && resp_is_space(*p))
            p++;
        if (p == end)
            break;
        char *word = w;
        if ((p = resp_word(p, end, &w)) == NULL) {
            *error = "Protocol error: unbalanced quotes in request";
            return RESP_ERROR;
        }
        if (!resp_push(c, (size_t)(word - buf), (size_t)(w - word))) {
            *error = "out of memory";
            return RESP_ERROR;
        }
    }
    c->length = (size_t)(nl + 1 - buf);
    return RESP_OK;
}

/* Go on parsing the command at the start of 'buf' (of 'len' bytes, of
 * which earlier calls saw a part). On RESP_ERROR, '*error' is the message
 * for the client. */
static enum resp_status resp_parse(char *buf, size_t len, struct resp_command *c,
                                   const char **error)
{
    if (len == 0)
        return RESP_INCOMPLETE;
    return buf[0] == '*' ? resp_multibulk(buf, len, c, error) : resp_inline(buf, len, c, error);
}

#endif
