#!/bin/sh
# The gdb commands of tools/gdb/coroutines.py, checked against a program
# with one coroutine in each state (tests/gdb_target.c).
#
#     tests/test_gdb.sh PROGRAM
#
# The last line is "N passed, N failed".
program=$1
out=$(gdb -q -batch -nx \
    -ex "set pagination off" \
    -ex "break stop_here" -ex "run" \
    -ex "source tools/gdb/coroutines.py" \
    -ex "echo === info\n" -ex "info coroutines" \
    -ex "echo === bt 7\n" -ex "coroutine bt 7" \
    -ex "echo === bt 8\n" -ex "coroutine bt 8" \
    -ex "echo === bt 1\n" -ex "coroutine bt 1" \
    -ex "echo === bt\n" -ex "bt" \
    "$program" 2>&1)
passed=0 failed=0

# check NAME SECTION REGEX: the lines of SECTION must match REGEX
check() {
    section=$(printf '%s\n' "$out" | awk -v s="=== $2" '$0 == s {on = 1; next} /^===/ {on = 0} on')
    if printf '%s\n' "$section" | grep -Eq "$3"; then
        echo "ok   $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1: no line matching /$3/ in:"
        printf '%s\n' "$section" | sed 's/^/     /'
        failed=$((failed + 1))
    fi
}

check info_lists_the_finished_one     info '^ +6 +finished +quick'
check info_lists_the_suspended_one    info '^ +7 +suspended +worker +0x[0-9a-f]+-0x[0-9a-f]+ +[0-9]+ +[0-9]+'
check info_lists_the_unstarted_one    info '^ +8 +not started +worker'
check info_says_what_a_reader_waits_for info '^ +1 +waiting +reader .* fd [0-9]+ readable, deadline in [0-9.]+ ms$'
check info_says_a_sleeper_waits_forever info '^ +2 +waiting +sleeper .* nothing \(forever\)$'
check info_lists_the_poller           info '^ +3 +(suspended|waiting) +poller_main '
check info_says_a_channel_waits       info '^ +4 +waiting +chan_receiver .* a channel or lock$'
check info_says_work_is_offloaded     info '^ +5 +waiting +offloader .* work offloaded to a worker thread$'
check bt_of_a_waiting_one             'bt 1' '^#[0-9]+ .* in reader '
check bt_shows_where_it_waits         'bt 7' '^#0 +deep_wait \(depth=0\)'
check bt_goes_down_its_calls          'bt 7' '^#4 .* in worker '
check bt_ends_at_the_trampoline       'bt 7' '^#5 .* in _asm_ctx_entry '
check bt_of_an_unstarted_one          'bt 8' '^#0 +_asm_ctx_entry '
check registers_are_put_back          bt '^#1 .* in main '
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
