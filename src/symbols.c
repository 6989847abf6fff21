/* symbols.c - naming code addresses from the ELF symbol tables of the
 * loaded objects, the program's own file included: its .symtab keeps
 * every function's name unless the file was stripped, so no -rdynamic is
 * needed (the dynamic table, .dynsym, is the fallback). Each object's file
 * is mapped once, read only, at the first address asked about in it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols.h"

#define MAX_OBJECTS 64

/* A loaded object: where its code is, and its file, mapped. */
struct object {
    uintptr_t bias;                    /* load address minus link address */
    uintptr_t code_from, code_to;      /* its executable segments, as loaded */
    char path[256];
    const unsigned char *file;         /* mapped; NULL: not yet, or unreadable */
    size_t file_size;
    bool tried;
};

static struct object objects[MAX_OBJECTS];
static int n_objects;

static int note_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (n_objects == MAX_OBJECTS)
        return 1;
    struct object o = {.bias = info->dlpi_addr, .code_from = UINTPTR_MAX};
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_X))
            continue;
        uintptr_t from = info->dlpi_addr + p->p_vaddr, to = from + p->p_memsz;
        o.code_from = from < o.code_from ? from : o.code_from;
        o.code_to = to > o.code_to ? to : o.code_to;
    }
    const char *name = info->dlpi_name;
    if (name != NULL && name[0])
        snprintf(o.path, sizeof o.path, "%s", name);
    else {                                   /* the program: its file, by its own name */
        ssize_t n = readlink("/proc/self/exe", o.path, sizeof o.path - 1);
        snprintf(o.path + (n > 0 ? n : 0), sizeof o.path - (size_t)(n > 0 ? n : 0), "%s",
                 n > 0 ? "" : "/proc/self/exe");
    }
    if (o.code_from < o.code_to)
        objects[n_objects++] = o;
    return 0;
}

/* The object whose code holds 'addr'; the list is read again when a new
 * object may have been loaded since. */
static struct object *object_at(uintptr_t addr)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n_objects; i++)
            if (addr >= objects[i].code_from && addr < objects[i].code_to)
                return &objects[i];
        if (pass == 0) {
            struct object old[MAX_OBJECTS];
            int n = n_objects;
            memcpy(old, objects, sizeof old);
            n_objects = 0;
            dl_iterate_phdr(note_object, NULL);
            for (int i = 0; i < n_objects; i++)          /* keep what was mapped */
                for (int k = 0; k < n; k++)
                    if (old[k].bias == objects[i].bias && strcmp(old[k].path, objects[i].path) == 0)
                        objects[i] = old[k];
        }
    }
    return NULL;
}

static void map_file(struct object *o)
{
    o->tried = true;
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(ElfW(Ehdr))) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            o->file = p;
            o->file_size = (size_t)st.st_size;
        }
    }
    close(fd);
}

/* The function symbol of table 'type' (SHT_SYMTAB or SHT_DYNSYM) that
 * holds 'at' (a link address), or NULL; its string table in '*names'. */
static const ElfW(Sym) *function_at(const struct object *o, uintptr_t at, unsigned type,
                                    const char **names)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)o->file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > o->file_size)
        return NULL;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(o->file + eh->e_shoff);
    const ElfW(Sym) *best = NULL;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != type || sh[i].sh_link >= eh->e_shnum ||
            sh[i].sh_offset + sh[i].sh_size > o->file_size ||
            sh[sh[i].sh_link].sh_offset + sh[sh[i].sh_link].sh_size > o->file_size)
            continue;
        const ElfW(Sym) *sym = (const ElfW(Sym) *)(o->file + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof *sym;
        for (size_t k = 0; k < n; k++) {
            if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_value == 0 ||
                at < sym[k].st_value ||
                at >= sym[k].st_value + (sym[k].st_size ? sym[k].st_size : 1))
                continue;
            if (best == NULL || sym[k].st_value > best->st_value) {
                best = &sym[k];
                *names = (const char *)(o->file + sh[sh[i].sh_link].sh_offset);
            }
        }
    }
    return best;
}

bool symbols_name(uintptr_t addr, char *buf, size_t size)
{
    struct object *o = object_at(addr);
    snprintf(buf, size, "%#lx", (unsigned long)addr);
    if (o == NULL)
        return false;
    if (!o->tried)
        map_file(o);
    const char *base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
    const char *names = NULL;
    const ElfW(Sym) *f = NULL;
    if (o->file != NULL) {
        f = function_at(o, addr - o->bias, SHT_SYMTAB, &names);
        if (f == NULL)
            f = function_at(o, addr - o->bias, SHT_DYNSYM, &names);
    }
    if (f != NULL)
        snprintf(buf, size, "%s+%#lx (%s)", names + f->st_name,
                 (unsigned long)(addr - o->bias - f->st_value), base);
    else
        snprintf(buf, size, "%#lx (%s)", (unsigned long)addr, base);
    return true;
}

bool symbols_return_address(uintptr_t addr)
{
    struct object *o = object_at(addr);
    if (o == NULL || addr < o->code_from + 8)
        return false;
#if defined(__x86_64__)
    const unsigned char *p = (const unsigned char *)addr;
    return p[-5] == 0xe8 ||                                  /* call rel32 */
           (p[-2] == 0xff && (p[-1] & 0x38) == 0x10) ||      /* call *%reg */
           (p[-3] == 0xff && (p[-2] & 0x38) == 0x10) ||      /* call *disp8(%reg) */
           (p[-6] == 0xff && (p[-5] & 0x38) == 0x10) ||      /* call *disp32(...) */
           (p[-7] == 0xff && (p[-6] & 0x38) == 0x10);
#elif defined(__riscv)
    return (addr & 1) == 0;                                 /* 2 or 4 bytes an instruction */
#else
    return (addr & 3) == 0;                                 /* fixed-size instructions */
#endif
}
