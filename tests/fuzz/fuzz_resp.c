/* fuzz_resp.c - libFuzzer over the RESP request parser (examples/resp.h):
 * whatever the bytes, it must not read outside them, every argument it
 * finds must lie inside the command, and fed in two parts it must find
 * the same command as fed whole. */
#include <stdio.h>
#include <stdlib.h>

#include "../../examples/resp.h"

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_resp: %s\n", what);
        abort();
    }
}

static enum resp_status parse_copy(const uint8_t *data, size_t len, struct resp_command *c)
{
    char *copy = malloc(len ? len : 1);     /* exactly 'len' bytes, for ASan */
    memcpy(copy, data, len);
    const char *error = NULL;
    enum resp_status s = resp_parse(copy, len, c, &error);
    check(s != RESP_ERROR || error != NULL, "an error without a message");
    for (size_t i = 0; s == RESP_OK && i < c->count; i++)
        check(c->args[i].offset + c->args[i].len <= c->length, "an argument past the command");
    check(s != RESP_OK || c->length <= len, "a command longer than the input");
    free(copy);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct resp_command whole = {0}, parts = {0};
    resp_reset(&whole);
    resp_reset(&parts);
    enum resp_status s = parse_copy(data, len, &whole);
    size_t split = len ? data[0] % len : 0;
    enum resp_status first = parse_copy(data, split, &parts);
    if (first == RESP_INCOMPLETE) {
        enum resp_status second = parse_copy(data, len, &parts);
        check(second == s, "a different result in two parts");
        check(s != RESP_OK || (parts.count == whole.count && parts.length == whole.length),
              "a different command in two parts");
    }
    free(whole.args);
    free(parts.args);
    return 0;
}
