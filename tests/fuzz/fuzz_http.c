/* fuzz_http.c - libFuzzer over the HTTP request parser (examples/http.h):
 * whatever the bytes, it must not read outside them, a request it accepts
 * must lie inside them, and a prefix of a request must never be taken
 * for a different whole request. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../examples/http.h"

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_http: %s\n", what);
        abort();
    }
}

static enum http_status parse_copy(const uint8_t *data, size_t len, struct http_request *req)
{
    char *copy = malloc(len ? len : 1);     /* exactly 'len' bytes, for ASan */
    memcpy(copy, data, len);
    enum http_status s = http_parse(copy, len, req);
    free(copy);
    check(s != HTTP_OK || (req->length > 0 && req->length <= len), "a request past the input");
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct http_request whole, part;
    enum http_status s = parse_copy(data, len, &whole);
    if (s == HTTP_OK && whole.length > 1) {
        enum http_status p = parse_copy(data, whole.length - 1, &part);
        check(p == HTTP_INCOMPLETE, "a request found in less than its bytes");
    }
    return 0;
}
