/* symbols.h - naming code addresses (symbols.c), for the dump and the
 * stall reports: a program built the ordinary way, without -rdynamic,
 * still has its function names in its file's symbol table. */
#ifndef COROUTINE_SYMBOLS_H
#define COROUTINE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Write "function+0xOFF (object)" for 'addr' into 'buf': true, or false
 * if 'addr' is in no loaded object's code (then 'buf' holds the address
 * alone). Reads the objects' files the first time it is asked about
 * them, and keeps them mapped. */
HIDDEN bool symbols_name(uintptr_t addr, char *buf, size_t size);

/* Whether 'addr' could be a return address: in a loaded object's code,
 * just after a call instruction where the target can tell. */
HIDDEN bool symbols_return_address(uintptr_t addr);

#endif
