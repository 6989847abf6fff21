/* trace_write.c - a recorded trace, written out: Chrome's trace-event
 * JSON (one slice per stretch a context ran, in a lane of its own, and an
 * instant for each create, finish and destroy), or an SVG timeline. The
 * recording is trace.c's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "trace.h"

static const struct event *items;            /* the trace being written */
static size_t len;

static const char *kind_name(int kind)
{
    static const char *names[] = {"arrived", "switched to", "created", "finished", "destroyed",
                                  "waits", "woken"};
    return names[kind];
}

static bool is_arrival(const struct event *e)
{
    return e->kind == TRACE_ARRIVED || e->kind == TRACE_SWITCHED_TO;
}

/* Microseconds since the first event, as the format wants them. */
static double us(const struct event *e)
{
    return (double)(e->ns - items[0].ns) / 1000.0;
}

static void write_context_name(FILE *f, size_t id, int thread)
{
    fprintf(f, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%zu,"
               "\"args\":{\"name\":\"%s %zu\"}},\n",
            thread, id, id ? "coroutine" : "main", id);
}

/* A stretch runs from an arrival to the next arrival on the same thread,
 * or to the last event of that thread. */
static const struct event *slice_end(size_t i)
{
    const struct event *end = NULL;
    for (size_t j = i + 1; j < len; j++)
        if (items[j].thread == items[i].thread) {
            end = &items[j];
            if (is_arrival(end))
                break;
        }
    return end;
}

/* A slice for each stretch. */
static void write_slices(FILE *f)
{
    for (size_t i = 0; i < len; i++) {
        const struct event *e = &items[i];
        if (!is_arrival(e))
            continue;
        const struct event *end = slice_end(i);
        double dur = end ? us(end) - us(e) : 0;
        fprintf(f, "{\"ph\":\"X\",\"name\":\"%s %zu\",\"cat\":\"run\",\"ts\":%.3f,"
                   "\"dur\":%.3f,\"pid\":%d,\"tid\":%zu,\"args\":{\"id\":%zu}},\n",
                e->id ? "coroutine" : "main", e->id, us(e), dur, e->thread, e->id, e->id);
    }
}

static void write_instants(FILE *f)
{
    for (size_t i = 0; i < len; i++) {
        const struct event *e = &items[i];
        if (!is_arrival(e))
            fprintf(f, "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"%s\",\"ts\":%.3f,\"pid\":%d,"
                       "\"tid\":%zu,\"args\":{\"id\":%zu}},\n",
                    kind_name(e->kind), us(e), e->thread, e->id, e->id);
    }
}

/* {=====================================================================
 * The SVG timeline: a lane per context, a bar per stretch it ran, side by
 * side in the order they ran (durations span orders of magnitude: the
 * first stretch of main alone would flatten the rest), an arrow for each
 * switch_ctx out of turn.
 * ====================================================================== */

enum { MAX_LANES = 64, PLOT_X = 150, STEP_MAX = 48, STEP_MIN = 6, LANE_HEIGHT = 30, TOP = 66 };

struct lane {
    int thread;
    size_t id;
};

static size_t lane_of(struct lane *lanes, size_t *n, const struct event *e)
{
    for (size_t i = 0; i < *n; i++)
        if (lanes[i].thread == e->thread && lanes[i].id == e->id)
            return i;
    if (*n == MAX_LANES)
        return MAX_LANES - 1;              /* the rest share the last lane */
    lanes[*n] = (struct lane){e->thread, e->id};
    return (*n)++;
}

/* One colour per coroutine, spread around the wheel; main is grey. */
static void colour_of(FILE *f, size_t id)
{
    if (id == 0)
        fputs("#9aa0a6", f);
    else
        fprintf(f, "hsl(%zu,62%%,50%%)", id * 137 % 360);
}

static int lane_y(size_t lane)
{
    return TOP + (int)lane * LANE_HEIGHT;
}

static void write_header(FILE *f, int width, int height, size_t stretches)
{
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
               "font-family='sans-serif' font-size='12'>\n"
               "<style>.grid{stroke:#ececec}.tick{fill:#888;font-size:10px;text-anchor:middle}"
               ".lane{fill:#333}.switch{stroke:#222;stroke-width:1.3;fill:none;"
               "marker-end:url(#arrow)}.made{fill:white;stroke:#2a8a3a;stroke-width:2}"
               ".done{fill:#222}.waits{fill:white;stroke:#999;stroke-width:2}"
               ".woken{fill:#999}</style>\n"
               "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' "
               "markerWidth='6' markerHeight='6' orient='auto-start-reverse'>"
               "<path d='M0,0 L10,5 L0,10 z' fill='#222'/></marker></defs>\n"
               "<rect width='100%%' height='100%%' fill='white'/>\n"
               "<text x='12' y='20' font-size='16' font-weight='bold'>Who ran when</text>\n"
               "<text x='12' y='36' fill='#555'>%zu stretches, left to right in the order "
               "they ran; hover one for how long.</text>\n"
               "<text x='12' y='50' fill='#555'>Arrow: a switch_ctx out of turn. "
               "o: created. &#x25CF;: finished. Grey &#x25A1;: waits; grey &#x25A0;: "
               "woken.</text>\n",
            width, height, stretches);
}

static void write_timeline(FILE *f)
{
    struct lane lanes[MAX_LANES];
    size_t n = 0, stretches = 0;
    for (size_t i = 0; i < len; i++) {
        lane_of(lanes, &n, &items[i]);
        stretches += is_arrival(&items[i]);
    }
    int step = stretches ? 900 / (int)stretches : STEP_MAX;
    step = step > STEP_MAX ? STEP_MAX : step < STEP_MIN ? STEP_MIN : step;
    int width = PLOT_X + step * (int)stretches + 40, height = lane_y(n) + 36;
    write_header(f, width > 560 ? width : 560, height, stretches);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' class='grid'/>", PLOT_X, lane_y(i) + 15,
                PLOT_X + step * (int)stretches, lane_y(i) + 15);
        if (lanes[i].id)
            fprintf(f, "<text x='12' y='%d' class='lane'>coroutine %zu</text>\n", lane_y(i) + 19,
                    lanes[i].id);
        else
            fprintf(f, "<text x='12' y='%d' class='lane'>main, thread %d</text>\n",
                    lane_y(i) + 19, lanes[i].thread);
    }
    size_t slot = 0, last_lane = 0;
    for (size_t i = 0; i < len; i++) {
        const struct event *e = &items[i], *end;
        size_t lane = lane_of(lanes, &n, e);
        int x = PLOT_X + (int)slot * step, y = lane_y(lane);
        if (!is_arrival(e)) {                /* marks at the current step */
            if (e->kind == TRACE_CREATED)
                fprintf(f, "<circle cx='%d' cy='%d' r='4' class='made'><title>coroutine %zu "
                           "created</title></circle>\n", x, y + 15, e->id);
            else if (e->kind == TRACE_FINISHED)
                fprintf(f, "<circle cx='%d' cy='%d' r='4' class='done'><title>coroutine %zu "
                           "finished</title></circle>\n", x, y + 15, e->id);
            else if (e->kind == TRACE_WAITS || e->kind == TRACE_WOKEN)
                fprintf(f, "<rect x='%d' y='%d' width='7' height='7' class='%s'><title>%s%.0zu "
                           "%s</title></rect>\n", x - 3, y + 12, kind_name(e->kind),
                        e->id ? "coroutine " : "main", e->id, kind_name(e->kind));  /* no 0 */
            continue;
        }
        end = slice_end(i);
        double us = end ? (double)(end->ns - e->ns) / 1000 : 0;
        fprintf(f, "<rect x='%d' y='%d' width='%d' height='18' rx='3' fill='", x + 1, y + 6,
                step - 2 > 1 ? step - 2 : 1);
        colour_of(f, e->id);
        fprintf(f, "'><title>%s %zu ran %.3f us</title></rect>\n", e->id ? "coroutine" : "main",
                e->id, us);
        if (e->kind == TRACE_SWITCHED_TO && slot > 0) {
            int from = lane_y(last_lane) + 15, to = y + 15;
            fprintf(f, "<path class='switch' d='M%d,%d C%d,%d %d,%d %d,%d'/>\n", x - 2, from,
                    x + step / 2, from, x - step / 2, to, x + 3, to);
        }
        if (slot % 10 == 0)
            fprintf(f, "<text x='%d' y='%d' class='tick'>%zu</text>\n", x + step / 2,
                    lane_y(n) + 14, slot + 1);
        last_lane = lane;
        slot++;
    }
    fputs("</svg>\n", f);
}

/* }===================================================================== */

int trace_write(FILE *f, const struct event *events, size_t n, bool svg)
{
    items = events;
    len = n;
    if (svg) {
        write_timeline(f);
    } else {
        fputs("{\"traceEvents\":[\n", f);
        for (size_t i = 0; i < len; i++) {              /* name each lane once */
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = items[j].id == items[i].id && items[j].thread == items[i].thread;
            if (!seen)
                write_context_name(f, items[i].id, items[i].thread);
        }
        write_slices(f);
        write_instants(f);
        fputs("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"args\":{\"name\":\"end\"}}\n]}\n",
              f);
    }
    return fclose(f) == 0 ? 0 : -1;
}
