/* http_server.c - answers HTTP/1.1: "GET /" gets a short text, any other
 * request 404, a malformed one 400. Connections stay open (keep-alive)
 * and may send requests before the answers come (pipelining): every
 * request already read is answered with one write.
 *
 *     ./nob && ./build/examples/http_server --port 8080 &
 *     curl http://127.0.0.1:8080/
 */
#include "server.h"
#include "http.h"

#define BODY "Hello, World!\n"

/* The Connection header an answer needs: HTTP/1.1 keeps a connection
 * open unless told, HTTP/1.0 closes it unless told. */
static const char *connection_header(bool keep_alive, bool http10)
{
    return !keep_alive ? "Connection: close\r\n" : http10 ? "Connection: keep-alive\r\n" : "";
}

static bool answer(struct bytes *o, int code, const char *reason, const char *body, bool head,
                   const char *connection)
{
    char header[256];
    int n = snprintf(header, sizeof header,
                     "HTTP/1.1 %d %s\r\nServer: coroutine\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     code, reason, strlen(body), connection);
    return bytes_put(o, header, (size_t)n) && (head || bytes_put(o, body, strlen(body)));
}

/* An answer after which the connection closes: false, to stop. */
static bool refuse(struct bytes *o, int code, const char *reason, const char *body)
{
    answer(o, code, reason, body, false, connection_header(false, false));
    return false;
}

/* Answer every whole request at the start of 'buf'; the bytes used, and
 * whether to go on. */
static size_t answer_all(const char *buf, size_t len, struct bytes *o, bool *go_on)
{
    size_t used = 0;
    struct http_request req;
    while (*go_on) {
        switch (http_parse(buf + used, len - used, &req)) {
        case HTTP_INCOMPLETE:
            return used;
        case HTTP_OK:
            *go_on = answer(o, req.get_root ? 200 : 404, req.get_root ? "OK" : "Not Found",
                            req.get_root ? BODY : "Not Found\n", req.head,
                            connection_header(req.keep_alive, req.http10)) &&
                     req.keep_alive;
            used += req.length;
            break;
        case HTTP_BAD:
            *go_on = refuse(o, 400, "Bad Request", "Bad Request\n");
            break;
        case HTTP_TOO_LARGE:
            *go_on = refuse(o, 431, "Request Header Fields Too Large", "Too Large\n");
            break;
        case HTTP_UNSUPPORTED:
            *go_on = refuse(o, 501, "Not Implemented", "Not Implemented\n");
            break;
        }
    }
    return used;
}

static void http(int fd)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    struct bytes out = {0};
    struct outbox box = {.fd = fd};
    bool go_on = buf != NULL;
    while (go_on) {
        if (len == cap) {
            char *bigger = cap >= 2 * HTTP_MAX_HEAD * 64 ? NULL : realloc(buf, cap * 2);
            if (bigger == NULL)
                break;
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = co_read(fd, buf + len, cap - len, CO_FOREVER);
        if (n <= 0)
            break;
        len += (size_t)n;
        size_t used = answer_all(buf, len, &out, &go_on);
        memmove(buf, buf + used, len - used);
        len -= used;
        if (out.len > 0 && !outbox_send(&box, out.data, out.len))
            break;
        out.len = 0;
    }
    outbox_close(&box);
    free(buf);
    free(out.data);
}

int main(int argc, char **argv)
{
    static const struct server server = {.serve = http, .default_port = 8080};
    return serve_main(argc, argv, &server);
}
