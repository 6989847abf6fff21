/* manpages.c - the section 3 manual pages, written from a public header
 * (coroutine.h, coroutine_wait.h).
 *
 *     manpages HEADER OUTDIR VERSION DATE
 *
 * The header is the contract, so the pages are made from it and cannot
 * drift: NAME.3 (coroutine.3 for coroutine.h) from its opening comment
 * (its first line, then MODEL, STATES, EXAMPLE, ...),
 * and one page per call from the comment above its declaration. In those,
 * a sentence starting "Returns" begins RETURN VALUE (a call that returns
 * a value must have one, or no page is made), an indented line
 * starting with an errno name is an entry of ERRORS, and "Aborts:" begins
 * MISUSE; the rest is DESCRIPTION. Every page ends with the header's
 * EXAMPLE. ./nob install runs this; ./nob test renders every page.
 */
#define _POSIX_C_SOURCE 200809L   /* strdup */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 2048
#define MAX_CALLS 64

static char *lines[MAX_LINES];   /* the header, one line each, no newline */
static size_t n_lines;
static const char *version = "";
static const char *date = "";
static char header[64];          /* its name without ".h": "coroutine" */

struct call {
    char name[64];
    size_t decl;                 /* its declaration's line */
    size_t first, last;          /* the comment above it, inside the markers */
    const char *group;           /* the "==== Group ====" banner above it */
};
static struct call calls[MAX_CALLS];
static size_t n_calls;

static void read_header(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    while (n_lines < MAX_LINES && fgets(buf, sizeof buf, f) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        lines[n_lines++] = strdup(buf);
    }
    fclose(f);
}

/* The text of comment line 'i', without the comment's own markers. */
static const char *text_of(size_t i)
{
    const char *s = lines[i];
    if (strncmp(s, "/* ", 3) == 0)
        s += 3;
    else if (strncmp(s, " * ", 3) == 0)
        s += 3;
    else if (strcmp(s, " *") == 0 || strcmp(s, "/*") == 0)
        s = "";
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    char *end = strstr(buf, " */");
    if (end == NULL)
        end = strstr(buf, "*/");
    if (end != NULL)
        *end = '\0';
    return buf;
}

/* One line for roff, as it is: backslashes spelled out, and no line that
 * roff would take for a request. */
static void put_line(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++)
        *s == '\\' ? fputs("\\e", f) : fputc(*s, f);
    fputc('\n', f);
}

/* A line of running text: roff fills it, so its indent goes. */
static void put_text(FILE *f, const char *s)
{
    while (*s == ' ')
        s++;
    put_line(f, s);
}

/* Comment lines 'first'..'last' as code, 'indent' columns taken off. */
static void put_code(FILE *f, size_t first, size_t last, size_t indent)
{
    fputs(".EX\n", f);
    for (size_t i = first; i <= last; i++) {
        const char *t = text_of(i);
        put_line(f, t + (strlen(t) >= indent ? indent : strlen(t)));
    }
    fputs(".EE\n", f);
}

static void put_heading(FILE *f, const char *title)
{
    char upper[64];
    size_t i = 0;
    for (; title[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)toupper((unsigned char)title[i]);
    upper[i] = '\0';
    fprintf(f, ".TH %s 3 %s \"coroutine %s\" \"Coroutine Playground\"\n", upper, date, version);
}

/* {=====================================================================
 * coroutine.3: the opening comment
 * ====================================================================== */

static bool is_section_title(const char *t)
{
    if (!isupper((unsigned char)t[0]))
        return false;
    for (; *t; t++)
        if (!isupper((unsigned char)*t) && *t != ' ')
            return false;
    return true;
}

static size_t indent_of(const char *t)
{
    size_t n = 0;
    while (t[n] == ' ')
        n++;
    return n;
}

/* Lines 'first'..'last' of a section: paragraphs, "- " items, and code
 * (lines indented by 4 or more). */
static void put_body(FILE *f, size_t first, size_t last)
{
    bool new_paragraph = false;
    for (size_t i = first; i <= last; i++) {
        const char *t = text_of(i);
        if (*t == '\0') {
            new_paragraph = true;
            continue;
        }
        if (indent_of(t) >= 4) {
            size_t end = i;
            while (end < last && (indent_of(text_of(end + 1)) >= 4 || *text_of(end + 1) == '\0'))
                end++;
            while (end > i && *text_of(end) == '\0')
                end--;
            put_code(f, i, end, 4);
            i = end;
            new_paragraph = false;
            continue;
        }
        if (strncmp(t, "- ", 2) == 0) {
            fputs(".IP \\(bu 2\n", f);
            t += 2;
        } else if (new_paragraph) {
            fputs(".PP\n", f);
        }
        new_paragraph = false;
        put_text(f, t);
    }
}

/* Where the opening comment's EXAMPLE code is, for every page. */
static size_t example_first, example_last;

static void write_overview(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.3", dir, header);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    char summary[256];                /* "NAME.h - what it is." */
    const char *dash = strstr(text_of(0), " - ");
    snprintf(summary, sizeof summary, "%s", dash ? dash + 3 : "");
    summary[strcspn(summary, ":.")] = '\0';
    put_heading(f, header);
    fprintf(f, ".SH NAME\n%s \\- %s\n", header, summary);
    fprintf(f, ".SH SYNOPSIS\n.nf\n.B #include <%s.h>\n.fi\n.PP\n", header);
    fputs("Compile and link with\n.IR \"$(pkg-config \\-\\-cflags \\-\\-libs coroutine)\" .\n", f);
    size_t end = 1;
    while (end < n_lines && strstr(lines[end], "*/") == NULL)
        end++;
    for (size_t i = 1; i < end; i++) {
        char t[64];
        snprintf(t, sizeof t, "%s", text_of(i));   /* text_of's buffer is reused */
        if (!is_section_title(t))
            continue;
        size_t last = i + 1;
        while (last + 1 < end && !is_section_title(text_of(last + 1)))
            last++;
        fprintf(f, ".SH %s\n", strcmp(t, "MODEL") == 0 ? "DESCRIPTION" : t);
        if (strcmp(t, "EXAMPLE") == 0) {
            example_first = i + 1;
            example_last = last;
            while (*text_of(example_last) == '\0')
                example_last--;
        }
        put_body(f, i + 1, last);
        i = last;
    }
    fputs(".SH SEE ALSO\n", f);
    for (size_t i = 0; i < n_calls; i++)
        fprintf(f, ".BR %s (3)%s\n", calls[i].name, i + 1 < n_calls ? "," : "");
    fclose(f);
}

/* }===================================================================== */

/* {=====================================================================
 * A page per call
 * ====================================================================== */

/* Is line 'i' the declaration of a public call? Then its name. */
static bool declares_call(size_t i, char *name, size_t size)
{
    const char *s = lines[i], *paren = strchr(s, '(');
    if (paren == NULL || s[0] == ' ' || s[0] == '#' || s[0] == '/' || strstr(s, "typedef") ||
        s[strlen(s) - 1] != ';')
        return false;
    const char *start = paren;
    while (start > s && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
        start--;
    if (start == paren || (size_t)(paren - start) >= size)
        return false;
    snprintf(name, size, "%.*s", (int)(paren - start), start);
    return true;
}

static void find_calls(void)
{
    const char *group = "";
    for (size_t i = 0; i < n_lines && n_calls < MAX_CALLS; i++) {
        if (strncmp(lines[i], "/* ==== ", 8) == 0)
            group = lines[i];           /* the banner line names the group */
        struct call c = {.decl = i, .group = group};
        if (!declares_call(i, c.name, sizeof c.name) || i == 0 || strstr(lines[i - 1], "*/") == NULL)
            continue;
        c.last = i - 1;
        c.first = c.last;
        while (c.first > 0 && strncmp(lines[c.first], "/*", 2) != 0)
            c.first--;
        calls[n_calls++] = c;
    }
}

enum part { DESCRIPTION, RETURN_VALUE, ERRORS, MISUSE, N_PARTS };
static const char *part_title[] = {"DESCRIPTION", "RETURN VALUE", "ERRORS", "MISUSE"};

static bool is_errno_entry(const char *t)
{
    size_t n = indent_of(t);
    return n >= 2 && t[n] == 'E' && isupper((unsigned char)t[n + 1]);
}

/* Sort the comment's lines into the page's parts, in order. */
static void classify(const struct call *c, enum part *part_of)
{
    enum part now = DESCRIPTION;
    for (size_t i = c->first; i <= c->last; i++) {
        const char *t = text_of(i);
        if (strncmp(t, "Aborts:", 7) == 0)
            now = MISUSE;
        else if (is_errno_entry(t))
            now = ERRORS;
        else if (strncmp(t, "Returns", 7) == 0 || strstr(t, ". Returns") != NULL)
            now = RETURN_VALUE;
        else if (strncmp(t, "Errors as", 9) == 0)
            now = ERRORS;
        else if (now == ERRORS && indent_of(t) == 0)
            now = DESCRIPTION;
        part_of[i - c->first] = now;
    }
}

static void put_part(FILE *f, const struct call *c, const enum part *part_of, enum part p)
{
    bool any = false;
    for (size_t i = c->first; i <= c->last; i++) {
        if (part_of[i - c->first] != p)
            continue;
        const char *t = text_of(i);
        if (!any)
            fprintf(f, ".SH %s\n", part_title[p]);
        any = true;
        if (p == ERRORS && is_errno_entry(t)) {
            t += indent_of(t);
            size_t len = strcspn(t, " ");
            fprintf(f, ".TP\n.B %.*s\n", (int)len, t);
            put_text(f, t + len);
        } else if (p == MISUSE && strncmp(t, "Aborts:", 7) == 0) {
            fputs("The program is stopped with one line on stderr naming the misuse and the "
                  "coroutine, then abort(3), when:\n", f);
            put_text(f, t + 7);
        } else {
            put_text(f, t);
        }
    }
    if (!any && p == RETURN_VALUE)
        fputs(".SH RETURN VALUE\nNone.\n", f);
}

/* A call that returns something says what, in a sentence starting
 * "Returns": else its page would say it returns nothing. */
static void check_returns(const struct call *c, const enum part *part_of)
{
    if (strncmp(lines[c->decl], "void ", 5) == 0)
        return;
    for (size_t i = c->first; i <= c->last; i++)
        if (part_of[i - c->first] == RETURN_VALUE)
            return;
    fprintf(stderr, "manpages: %s returns a value, but its comment has no sentence "
                    "starting \"Returns\"\n", c->name);
    exit(1);
}

/* The declaration, and any structure it takes, from the header. */
static void put_synopsis(FILE *f, const struct call *c)
{
    fprintf(f, ".SH SYNOPSIS\n.nf\n.B #include <%s.h>\n.PP\n", header);
    const char *st = strstr(lines[c->decl], "struct ");
    if (st != NULL) {
        char def[80];
        const char *name = st + 7;
        int len = (int)strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_");
        snprintf(def, sizeof def, "struct %.*s {", len, name);
        for (size_t i = 0; i < c->first; i++)
            if (strcmp(lines[i], def) == 0) {
                size_t end = i;
                while (end < c->first && strcmp(lines[end], "};") != 0)
                    end++;
                fputs(".fi\n.EX\n", f);
                for (size_t k = i; k <= end; k++)
                    put_line(f, lines[k]);
                fputs(".EE\n.nf\n.PP\n", f);
                break;
            }
    }
    put_text(f, lines[c->decl]);
    fputs(".fi\n.PP\nCompile and link with\n.IR \"$(pkg-config \\-\\-cflags \\-\\-libs "
          "coroutine)\" .\n",
          f);
}

static void write_call(const char *dir, const struct call *c)
{
    char path[1024];
    enum part part_of[256];
    snprintf(path, sizeof path, "%s/%s.3", dir, c->name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    classify(c, part_of);
    check_returns(c, part_of);
    put_heading(f, c->name);
    /* NAME: the first sentence */
    char summary[512] = "";
    for (size_t i = c->first; i <= c->last; i++) {
        size_t len = strlen(summary);
        snprintf(summary + len, sizeof summary - len, "%s%s", len ? " " : "", text_of(i));
    }
    if (strncmp(summary, "Returns ", 8) == 0)
        memmove(summary, summary + 8, strlen(summary + 8) + 1);
    int depth = 0;                            /* up to the first stop */
    for (char *p = summary; *p; p++)
        if (*p == '(' || *p == ')')
            depth += *p == '(' ? 1 : -1;
        else if (depth == 0 && (*p == ':' || *p == ';' || (*p == '.' && (p[1] == ' ' || !p[1])))) {
            *p = '\0';
            break;
        }
    fprintf(f, ".SH NAME\n%s \\- ", c->name);
    put_text(f, summary);
    put_synopsis(f, c);
    for (enum part p = DESCRIPTION; p < N_PARTS; p++)
        put_part(f, c, part_of, p);
    fputs(".SH EXAMPLE\n", f);
    put_code(f, example_first, example_last, 4);
    fprintf(f, ".SH SEE ALSO\n.BR %s (3)", header);
    if (strcmp(header, "coroutine") != 0)
        fputs(",\n.BR coroutine (3)", f);
    for (size_t i = 0; i < n_calls; i++)
        if (&calls[i] != c && strcmp(calls[i].group, c->group) == 0)
            fprintf(f, ",\n.BR %s (3)", calls[i].name);
    fputs("\n", f);
    fclose(f);
}

/* }===================================================================== */

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: manpages HEADER OUTDIR VERSION DATE\n");
        return 2;
    }
    version = argv[3];
    date = argv[4];
    const char *base = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
    snprintf(header, sizeof header, "%.*s", (int)strcspn(base, "."), base);
    read_header(argv[1]);
    find_calls();
    write_overview(argv[2]);
    for (size_t i = 0; i < n_calls; i++)
        write_call(argv[2], &calls[i]);
    return 0;
}
