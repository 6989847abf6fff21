#!/bin/bash
# Channels against Go's, in the same run: bench/chan/chan.c (ours) and
# bench/chan/chan.go (Go, GOMAXPROCS=1), alternating for a few rounds,
# medians, and one line per workload:
#
#     NAME: ours X ns, Go Y ns, ours/Go Z
#
# and the ping-pong against two bare switch_ctx calls, the floor, and the
# cross-thread round trip against its floor (two threads spinning on one
# cache line) and against a pair of pipes between two threads, and
# a co_offload of nothing against that pipe round trip. Go
# runs with GOMAXPROCS=1, and 2 for the cross-thread row (chan.go).
#
#     bench/chan/run.sh BUILD_DIR [--quick]
build=$1
rounds=5 n=2000000
[ "$2" = --quick ] && rounds=1 n=100000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v go >/dev/null || { echo "bench: go not found (apt-get install golang-go)"; exit 1; }
mkdir -p "$build/go-cache"
GOCACHE=$(realpath "$build/go-cache") HOME=$work GO111MODULE=off \
    go build -o "$build/bench/chan_go" bench/chan/chan.go || exit 1

for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
        "$build/bench/chan" "$n" >>"$work/ours"
        GOMAXPROCS=1 "$build/bench/chan_go" "$n" >>"$work/go"
    else
        GOMAXPROCS=1 "$build/bench/chan_go" "$n" >>"$work/go"
        "$build/bench/chan" "$n" >>"$work/ours"
    fi
done

median() {                     # FILE NAME: the median of NAME's values
    grep "^$2: " "$1" | awk '{ print $(NF - 1) }' | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "channels: ns per message (cross-thread: per round trip), medians of $rounds interleaved rounds"
for name in "channel ping-pong" "buffered channel" "select" "cross-thread ping-pong"; do
    ours=$(median "$work/ours" "$name") go=$(median "$work/go" "$name")
    awk -v n="$name" -v o="$ours" -v g="$go" \
        'BEGIN { printf "%s: ours %.1f ns, Go %.1f ns, ours/Go %.2f\n", n, o, g, o / g }'
done
floor=$(median "$work/ours" "two switches")
ping=$(median "$work/ours" "channel ping-pong")
awk -v p="$ping" -v f="$floor" \
    'BEGIN { printf "channel ping-pong against two bare switches (%.1f ns): %.2fx\n", f, p / f }'
pipe=$(median "$work/ours" "pipe ping-pong")
cross=$(median "$work/ours" "cross-thread ping-pong")
spin=$(median "$work/ours" "spinning ping-pong")
awk -v c="$cross" -v s="$spin" \
    'BEGIN { printf "cross-thread ping-pong against two threads spinning on one cache line (%.1f ns): %.2fx\n", s, c / s }'
awk -v c="$cross" -v p="$pipe" \
    'BEGIN { printf "cross-thread ping-pong against a pipe between two threads (%.1f ns): %.2fx\n", p, c / p }'
off=$(median "$work/ours" "offload")
awk -v o="$off" -v p="$pipe" \
    'BEGIN { printf "co_offload of a function that does nothing: %.1f ns, %.2fx of the pipe round trip\n", o, o / p }'
