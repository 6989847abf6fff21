#!/bin/bash
# skynet against Go's, in the same run: bench/spawn/skynet.c (ours) and
# bench/spawn/skynet.go (Go, GOMAXPROCS=1), alternating for a few rounds,
# medians of time, peak resident memory and page faults, and their
# ratios; then ours once more with the server-shaped burst.
#
#     bench/spawn/run.sh BUILD_DIR [--quick]
build=$1 quick=$2
rounds=5 leaves=1000000
[ "$quick" = --quick ] && rounds=1 leaves=10000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v go >/dev/null || { echo "bench: go not found (apt-get install golang-go)"; exit 1; }
mkdir -p "$build/go-cache"
GOCACHE=$(realpath "$build/go-cache") HOME=$work GO111MODULE=off \
    go build -o "$build/bench/skynet_go" bench/spawn/skynet.go || exit 1

for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
        "$build/bench/skynet" "$leaves" >>"$work/ours" || exit 1
        GOMAXPROCS=1 "$build/bench/skynet_go" "$leaves" >>"$work/go" || exit 1
    else
        GOMAXPROCS=1 "$build/bench/skynet_go" "$leaves" >>"$work/go" || exit 1
        "$build/bench/skynet" "$leaves" >>"$work/ours" || exit 1
    fi
done
[ "$(sort -u "$work/ours" "$work/go" | cut -d, -f1 | sort -u | wc -l)" = 1 ] ||
    { echo "bench: the sums differ"; cat "$work/ours" "$work/go"; exit 1; }

median() {                     # FILE FIELD: the median of the field's numbers
    cut -d, -f"$2" "$1" | awk '{ print $1 }' | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "skynet, $leaves leaves: medians of $rounds interleaved rounds (Go with GOMAXPROCS=1)"
for f in "2 time ms" "3 peak KB" "4 faults -"; do
    set -- $f
    ours=$(median "$work/ours" "$1") go=$(median "$work/go" "$1")
    awk -v n="$2" -v u="$3" -v o="$ours" -v g="$go" 'BEGIN {
        unit = u == "-" ? "" : " " u
        printf "skynet %s: ours %.1f%s, Go %.1f%s, ours/Go %.3f\n", n, o, unit, g, unit, g ? o / g : 0 }'
done
[ "$quick" = --quick ] || "$build/bench/skynet" 1000 burst | grep '^burst'
