/* array.h - a growable array, typed by a macro.
 *
 *     ARRAY_DEFINE(int_array, int)
 *     struct int_array a = {0};
 *     if (int_array_push(&a, 42) != 0) ...   (ENOMEM)
 *
 * defines 'struct int_array' and static inline functions named after it
 * (marked unused: a file need not use them all).
 * Order is not kept on removal: the last item moves into the hole, so every
 * operation but a growing push is O(1).
 */
#ifndef COROUTINE_ARRAY_H
#define COROUTINE_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_DEFINE(name, T)                                                  \
    struct name {                                                              \
        T *items;                                                              \
        size_t len;                                                            \
        size_t cap;                                                            \
    };                                                                         \
                                                                               \
    /* Append 'item'; 0, or -1 with errno = ENOMEM and 'a' unchanged. */       \
    __attribute__((unused))                                                    \
    static inline int name##_push(struct name *a, T item)                      \
    {                                                                          \
        if (a->len == a->cap) {                                                \
            size_t cap = a->cap ? a->cap * 2 : 16;                             \
            T *items = cap > SIZE_MAX / sizeof *items                          \
                           ? NULL                                              \
                           : realloc(a->items, cap * sizeof *items);           \
            if (items == NULL) {                                               \
                errno = ENOMEM;                                                \
                return -1;                                                     \
            }                                                                  \
            a->items = items;                                                  \
            a->cap = cap;                                                      \
        }                                                                      \
        a->items[a->len++] = item;                                             \
        return 0;                                                              \
    }                                                                          \
                                                                               \
    /* Remove item 'i' by moving the last item into its place. */             \
    __attribute__((unused))                                                    \
    static inline void name##_remove(struct name *a, size_t i)                 \
    {                                                                          \
        a->items[i] = a->items[--a->len];                                      \
    }                                                                          \
                                                                               \
    __attribute__((unused))                                                    \
    static inline void name##_free(struct name *a)                             \
    {                                                                          \
        free(a->items);                                                        \
        a->items = NULL;                                                       \
        a->len = a->cap = 0;                                                   \
    }

#endif
