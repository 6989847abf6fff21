/* http.h - just enough of HTTP/1.1 for http_server.c: finding one request
 * in a buffer, and the answer it gets. Separate so that a fuzzer
 * (tests/fuzz/fuzz_http.c) can feed it anything.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define HTTP_MAX_HEAD 16384          /* request line and headers */

enum http_status {
    HTTP_INCOMPLETE,                 /* read more */
    HTTP_OK,                         /* 'req' is filled */
    HTTP_BAD,                        /* 400, then close */
    HTTP_TOO_LARGE,                  /* 431, then close */
    HTTP_UNSUPPORTED,                /* 501 (a chunked body), then close */
};

struct http_request {
    size_t length;                   /* bytes of the buffer it took, body too */
    bool get_root;                   /* GET or HEAD of "/" */
    bool head;                       /* HEAD: no body in the answer */
    bool keep_alive;                 /* the connection stays open after it */
    bool http10;                     /* HTTP/1.0: keep-alive must be said */
};

static bool http_token_char(char c)
{
    return c > ' ' && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* A header's name is 'name' (any case); its value starts after the colon. */
static bool http_header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* Is 'word' one of the comma-separated tokens of a header's value (any
 * case)? "Connection: closed" does not close. */
static bool http_value_has(const char *v, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < len;) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i - start == n && strncasecmp(v + start, word, n) == 0)
            return true;
    }
    return false;
}

/* The Content-Length value: its number, or -1 if it is not one. */
static long long http_length(const char *v, size_t len)
{
    long long n = 0;
    size_t i = 0, digits = 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    for (; i < len && v[i] >= '0' && v[i] <= '9'; i++, digits++)
        if ((n = n * 10 + (v[i] - '0')) > (1LL << 40))
            return -1;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r'))
        i++;
    return digits > 0 && i == len ? n : -1;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x */
static enum http_status http_request_line(const char *p, size_t len, struct http_request *req,
                                          int *minor)
{
    size_t m = 0, t;
    while (m < len && http_token_char(p[m]))
        m++;
    if (m == 0 || m >= len || p[m] != ' ')
        return HTTP_BAD;
    for (t = m + 1; t < len && p[t] > ' ' && p[t] < 127; t++)
        ;
    if (t == m + 1 || t + 9 != len || p[t] != ' ' || memcmp(p + t + 1, "HTTP/1.", 7) != 0 ||
        (p[t + 8] != '0' && p[t + 8] != '1'))
        return HTTP_BAD;
    *minor = p[t + 8] - '0';
    req->head = m == 4 && memcmp(p, "HEAD", 4) == 0;
    req->get_root = ((m == 3 && memcmp(p, "GET", 3) == 0) || req->head) && t == m + 2 && p[m + 1] == '/';
    return HTTP_OK;
}

/* The line at 'p': where the next one starts, or NULL if its end has not
 * come; '*n' is its length without the end. A bare \n ends a line too,
 * as RFC 9112 lets a server accept; a bare \r is refused by the caller. */
static const char *http_line(const char *p, const char *end, size_t *n)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
        return NULL;
    *n = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
    return nl + 1;
}

static enum http_status http_header(const char *line, size_t n, struct http_request *req,
                                    long long *body)
{
    const char *colon = memchr(line, ':', n);
    if (colon == NULL || colon == line)
        return HTTP_BAD;
    const char *value = colon + 1;
    for (const char *c = line; c < colon; c++)
        if (!http_token_char(*c))
            return HTTP_BAD;
    size_t v = (size_t)(line + n - value);
    if (http_header_is(line, n, "content-length")) {
        long long length = http_length(value, v);
        if (length < 0 || (*body >= 0 && length != *body))
            return HTTP_BAD;
        *body = length;
    } else if (http_header_is(line, n, "transfer-encoding")) {
        return HTTP_UNSUPPORTED;
    } else if (http_header_is(line, n, "connection")) {
        if (http_value_has(value, v, "close"))
            req->keep_alive = false;
        else if (http_value_has(value, v, "keep-alive"))
            req->keep_alive = true;
    }
    return HTTP_OK;
}

/* Find the request at the start of 'buf'. Empty lines before it are
 * skipped, as RFC 9112 asks of a server. */
static enum http_status http_parse(const char *buf, size_t len, struct http_request *req)
{
    const char *p = buf, *end = buf + len, *next;
    size_t n;
    bool request_line = true;
    *req = (struct http_request){0};
    long long body = -1;
    while ((next = http_line(p, end, &n)) != NULL) {
        if ((size_t)(next - buf) > HTTP_MAX_HEAD)
            return HTTP_TOO_LARGE;
        if (memchr(p, '\r', n) != NULL)
            return HTTP_BAD;
        enum http_status s = HTTP_OK;
        int minor = 0;
        if (n == 0 && !request_line)
            break;
        if (n > 0 && request_line) {
            s = http_request_line(p, n, req, &minor);
            req->keep_alive = minor == 1;
            req->http10 = minor == 0;
            request_line = false;
        } else if (n > 0) {
            s = http_header(p, n, req, &body);
        }
        if (s != HTTP_OK)
            return s;
        p = next;
    }
    if (next == NULL)
        return len > HTTP_MAX_HEAD ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
    size_t head = (size_t)(next - buf), want = body < 0 ? 0 : (size_t)body;
    if (body > (long long)(HTTP_MAX_HEAD * 64))
        return HTTP_TOO_LARGE;
    if (len - head < want)
        return HTTP_INCOMPLETE;
    req->length = head + want;
    return HTTP_OK;
}

#endif
