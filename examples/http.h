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

/* Does the value of the header in 'line' contain 'word' (any case)? */
static bool http_value_has(const char *line, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(line + i, word, n) == 0)
            return true;
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

/* Find the request at the start of 'buf'. */
static enum http_status http_parse(const char *buf, size_t len, struct http_request *req)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len && end == NULL; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            end = buf + i;
    if (end == NULL)
        return len > HTTP_MAX_HEAD ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
    if ((size_t)(end - buf) > HTTP_MAX_HEAD)
        return HTTP_TOO_LARGE;
    const char *line = buf, *eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
    int minor;
    if (eol[1] != '\n' || http_request_line(line, (size_t)(eol - line), req, &minor) != HTTP_OK)
        return HTTP_BAD;
    req->keep_alive = minor == 1;
    long long body = 0;
    bool have_length = false;
    for (line = eol + 2; line < end + 2 && line != end + 2; line = eol + 2) {
        eol = memchr(line, '\r', (size_t)(end + 2 - line));
        if (eol == NULL || eol[1] != '\n')
            return HTTP_BAD;
        size_t n = (size_t)(eol - line);
        if (n == 0)
            break;
        const char *colon = memchr(line, ':', n);
        if (colon == NULL || colon == line)
            return HTTP_BAD;
        for (const char *c = line; c < colon; c++)
            if (!http_token_char(*c))
                return HTTP_BAD;
        if (http_header_is(line, n, "content-length")) {
            long long v = http_length(colon + 1, (size_t)(eol - colon - 1));
            if (v < 0 || (have_length && v != body))
                return HTTP_BAD;
            body = v;
            have_length = true;
        } else if (http_header_is(line, n, "transfer-encoding")) {
            return HTTP_UNSUPPORTED;
        } else if (http_header_is(line, n, "connection")) {
            if (http_value_has(colon + 1, (size_t)(eol - colon - 1), "close"))
                req->keep_alive = false;
            else if (http_value_has(colon + 1, (size_t)(eol - colon - 1), "keep-alive"))
                req->keep_alive = true;
        }
    }
    size_t head = (size_t)(end - buf) + 4;
    if (body > (long long)(HTTP_MAX_HEAD * 64))
        return HTTP_TOO_LARGE;
    if (len - head < (size_t)body)
        return HTTP_INCOMPLETE;
    req->length = head + (size_t)body;
    return HTTP_OK;
}

#endif
