/* internal.h - the one mark for what the library's files share with each
 * other and a program must not see (the shared library exports only the
 * calls of the public headers; src/coroutine.map). */
#ifndef COROUTINE_INTERNAL_H
#define COROUTINE_INTERNAL_H

#define HIDDEN __attribute__((visibility("hidden")))
#define NORETURN __attribute__((noreturn))

#endif
