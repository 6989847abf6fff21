# check.sh - the check helper the shell tests share (sourced, with $work set
# to a scratch folder).
#
#     check NAME COMMAND...    the command must succeed; counts it and says
#                              "ok   NAME", or "FAIL NAME" and its output
#     summary                  the last line: "N passed, N failed"; the
#                              status is whether none failed
passed=0 failed=0

check() {
    label=$1
    shift
    if "$@" >"$work/out" 2>&1; then
        echo "ok   $label"
        passed=$((passed + 1))
    else
        echo "FAIL $label"
        sed 's/^/     /' "$work/out" | head -40
        failed=$((failed + 1))
    fi
}

summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
