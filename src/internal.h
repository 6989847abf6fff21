/* internal.h - the one mark for what the library's files share with each
 * other and a program must not see (the shared library exports only the
 * calls of the public headers; src/coroutine.map). */
#ifndef COROUTINE_INTERNAL_H
#define COROUTINE_INTERNAL_H

#define HIDDEN __attribute__((visibility("hidden")))
#define NORETURN __attribute__((noreturn))

/* For the per-thread variables that every switch or wait reads, so that
 * they are one instruction away, as a variable of the file's own would
 * be: in the program (the static library) at a fixed offset from the
 * thread pointer; in the shared library, at an offset fixed when it is
 * loaded. */
#if defined(__PIC__) && !defined(__PIE__)
#define CORE_TLS __attribute__((tls_model("initial-exec")))
#else
#define CORE_TLS __attribute__((tls_model("local-exec")))
#endif

#endif
