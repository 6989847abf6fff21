#!/bin/sh
# What ./nob install put under PREFIX, used as a user would: every example
# built out of the tree with pkg-config, shared and static, as C and as
# C++, and run against its .expected output (the servers, which have none,
# only built); the exported symbols, the
# soname and the marks of the shared library; the manual pages; gdb's
# commands loaded by themselves.
#
#     tests/test_install.sh PREFIX VERSION
#
# The last line is "N passed, N failed".
prefix=$1
version=$2
lib=$prefix/lib
export PKG_CONFIG_PATH=$lib/pkgconfig
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. "$(dirname "$0")/check.sh"

# build_and_run LANG LINK SOURCE EXPECTED: compile SOURCE as LANG (c, c++)
# against the installed library, shared or static, run it, compare; an
# EXPECTED of "-": do not run it.
build_and_run() {
    lang=$1 link=$2 src=$3 expected=$4
    exe=$work/prog
    if [ "$lang" = c ]; then compile="cc -x c -std=c11"; else compile="c++ -x c++ -std=c++17"; fi
    if [ "$link" = shared ]; then
        flags="$(pkg-config --cflags --libs coroutine)"    # the rpath comes with it
    else
        flags="-static $(pkg-config --static --cflags --libs coroutine)"
    fi
    # shellcheck disable=SC2086
    $compile -Wall -Wextra -Wpedantic -Werror -o "$exe" "$src" $flags || return 1
    if [ "$link" = shared ]; then
        ldd "$exe" | grep -q "libcoroutine.so.${version%%.*} => $lib/" || return 1
    else
        ! ldd "$exe" >/dev/null 2>&1 || return 1      # not a dynamic executable
    fi
    [ "$expected" != - ] || return 0
    "$exe" >"$work/got" 2>&1 || return 1
    [ -z "$expected" ] || cmp "$work/got" "$expected"
}

for src in "$prefix"/share/doc/coroutine/examples/*.c; do
    example=$(basename "$src" .c)
    expected=${src%.c}.expected
    langs="c c++"
    [ -f "$expected" ] || { expected=-; langs=c; }    # the servers are C only
    for lang in $langs; do
        for link in shared static; do
            check "example $example, $lang, $link" \
                build_and_run $lang $link "$src" "$expected"
        done
    done
done

cxx_exceptions() {
    build_and_run c++ "$1" tests/cxx_exceptions.cpp "" && tail -1 "$work/got" | grep -q " 0 failed"
}
check "C++ exception state per coroutine, shared" cxx_exceptions shared
check "C++ exception state per coroutine, static" cxx_exceptions static

check "pkg-config knows the version" test "$(pkg-config --modversion coroutine)" = "$version"
check "pkg-config --static adds -pthread" sh -c "pkg-config --static --libs coroutine | grep -q -- -pthread"

# The shared library exports exactly the calls that the header declares.
exports() {
    nm -D --defined-only "$lib/libcoroutine.so" | awk '{ sub(/@.*/, "", $3); print $3 }' |
        sort >"$work/exported"
    sed -n 's/^[a-z_][a-z0-9_ ]*[ *]\([a-z_]*\)(.*);$/\1/p' "$prefix/include/coroutine.h" \
        "$prefix/include/coroutine_wait.h" "$prefix/include/coroutine_chan.h" |
        grep . | sort >"$work/declared"
    diff "$work/declared" "$work/exported"
}
check "the shared library exports exactly the header's calls" exports
check "soname libcoroutine.so.${version%%.*}" sh -c \
    "readelf -d '$lib/libcoroutine.so' | grep -q 'Library soname: \[libcoroutine.so.${version%%.*}\]'"
check "the links: libcoroutine.so -> .so.${version%%.*} -> .so.$version" sh -c \
    "[ \"\$(readlink '$lib/libcoroutine.so')\" = libcoroutine.so.${version%%.*} ] &&
     [ \"\$(readlink '$lib/libcoroutine.so.${version%%.*}')\" = libcoroutine.so.$version ]"
check "the stack is not executable" sh -c \
    "readelf -lW '$lib/libcoroutine.so' | grep GNU_STACK | grep -qv RWE"
if [ "$(uname -m)" = x86_64 ]; then
    check "marked IBT, not SHSTK" sh -c \
        "readelf -n '$lib/libcoroutine.so' | grep -q IBT && ! readelf -n '$lib/libcoroutine.so' | grep -q SHSTK"
fi

# Every page renders without a warning, and man finds one per call.
pages() {
    for page in "$prefix"/share/man/man3/*.3; do
        warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        [ -z "$warnings" ] || { echo "$page: $warnings"; return 1; }
    done
    for call in $(cat "$work/declared") coroutine coroutine_wait coroutine_chan; do
        MANPATH=$prefix/share/man man -w 3 "$call" >/dev/null || { echo "no page: $call"; return 1; }
    done
}
check "man pages render without warnings, one per call" pages

# gdb loads tools/gdb by itself for a program on the shared library.
gdb_autoload() {
    cc -g -O0 -o "$work/gdb_target" tests/gdb_target.c \
        $(pkg-config --cflags --libs coroutine) || return 1
    gdb -q -batch -nx \
        -iex "add-auto-load-scripts-directory $prefix/share/gdb/auto-load" \
        -iex "add-auto-load-safe-path $prefix" \
        -ex "break stop_here" -ex run -ex "info coroutines" "$work/gdb_target" >"$work/gdb" 2>&1
    grep -Eq '^ +7 +suspended +worker ' "$work/gdb" || { cat "$work/gdb"; return 1; }
}
check "gdb's info coroutines with no source command" gdb_autoload

summary
