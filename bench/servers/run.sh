#!/bin/bash
# The example servers against the servers people run: resp_server against
# redis-server (one thread, nothing saved) and against the same commands
# behind a bare epoll loop (resp_epoll.c) under redis-benchmark, and
# http_server against nginx (one worker, no access log, the same body)
# under wrk; in interleaved rounds on loopback, medians and ratios; then
# the cost of waiting (timers.c).
#
#     bench/servers/run.sh BUILD_DIR [--quick]
build=$1
quick=$2
rounds=5 requests=200000 seconds=5
[ "$quick" = --quick ] && rounds=1 requests=20000 seconds=1
work=$(mktemp -d)
pids=()
trap 'kill ${pids[*]} 2>/dev/null; rm -rf "$work"' EXIT

for tool in redis-server redis-benchmark nginx wrk; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
        { echo "bench: $tool not found (apt-get install redis-server redis-tools nginx-light wrk)"; exit 1; }
done
PATH=$PATH:/usr/sbin

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

start_ours() {                 # NAME: sets $port
    "$build/examples/$1" --port 0 >"$work/$1.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127.0.0.1://p' "$work/$1.out")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
}

start_ours resp_server
resp_port=$port
"$build/bench/resp_epoll" >"$work/epoll.out" &
pids+=($!)
sleep 0.2
epoll_port=$(sed -n 's/^listening on 127.0.0.1://p' "$work/epoll.out")
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --io-threads 1 --logfile "$work/redis.log" &
pids+=($!)
wait_port "$redis_port"

start_ours http_server
http_port=$port
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type text/plain; return 200 "Hello, World!\n"; }
    }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" &
pids+=($!)
wait_port "$nginx_port"

redis_rps() {                  # PORT TEST PIPELINE
    redis-benchmark -p "$1" -t "$2" -n "$requests" -c 50 -P "$3" --csv 2>/dev/null |
        awk -F'","' 'NR > 1 { gsub(/"/, "", $2); print $2; exit }'
}

wrk_rps() {                    # PORT
    wrk -t1 -c100 -d"${seconds}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ { print $2 }'
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Rounds alternate which server goes first, so neither always has the
# warmer machine.
for r in $(seq "$rounds"); do
    for pipeline in 1 16; do
        for test in set get; do
            order="ours redis epoll"
            [ $((r % 2)) = 1 ] || order="epoll redis ours"
            for who in $order; do
                case $who in
                ours) p=$resp_port ;;
                redis) p=$redis_port ;;
                epoll) p=$epoll_port ;;
                esac
                redis_rps "$p" $test $pipeline >>"$work/$who-$test-$pipeline"
            done
        done
    done
    if [ $((r % 2)) = 1 ]; then
        wrk_rps "$http_port" >>"$work/ours-http"
        wrk_rps "$nginx_port" >>"$work/nginx-http"
    else
        wrk_rps "$nginx_port" >>"$work/nginx-http"
        wrk_rps "$http_port" >>"$work/ours-http"
    fi
done

row() {                        # LABEL OURS_FILE THEIRS_FILE THEIR_NAME
    ours=$(median <"$2") theirs=$(median <"$3")
    awk -v l="$1" -v o="$ours" -v t="$theirs" -v n="$4" 'BEGIN {
        printf "%-34s ours %10.0f  %-12s %10.0f  ours/%s %.2fx\n", l, o, n, t, n, (t > 0) ? o / t : 0 }'
}

echo "servers: requests per second, medians of $rounds interleaved rounds ($(nproc) cores)"
for pipeline in 1 16; do
    for test in set get; do
        row "resp_server $test -P $pipeline" "$work/ours-$test-$pipeline" \
            "$work/redis-$test-$pipeline" redis
    done
done
row "http_server wrk -c100" "$work/ours-http" "$work/nginx-http" nginx
for pipeline in 1 16; do
    for test in set get; do
        row "resp_server $test -P $pipeline" "$work/ours-$test-$pipeline" \
            "$work/epoll-$test-$pipeline" epoll
    done
done
"$build/bench/timers" $quick
