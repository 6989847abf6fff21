#!/bin/bash
# The example servers driven by real clients: redis-cli and
# redis-benchmark against resp_server, curl against http_server, and
# tests/server_clients.c (load, resets, drips, half-closes, garbage)
# against all three; resp_server's answers compared byte for byte with
# Debian's redis-server's. Each server must give back every descriptor, and
# exit 0 on SIGTERM with clients still connected.
#
#     tests/test_servers.sh BUILD_DIR
#
# The last line is "N passed, N failed".
build=$1
work=$(mktemp -d)
server_pid=
redis_pid=
trap '[ -z "$server_pid" ] || kill -9 $server_pid 2>/dev/null
      [ -z "$redis_pid" ] || kill -9 $redis_pid 2>/dev/null; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null   # 2,000 connections need 2,000 descriptors

. "$(dirname "$0")/check.sh"

# start NAME ARGS...: run a server on a free port; sets $port, $server_pid
start() {
    "$build/examples/$1" --port 0 "${@:2}" >"$work/listening" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q "^listening on 127.0.0.1:" "$work/listening" && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening on 127.0.0.1://p' "$work/listening")
    (exec 3<>"/dev/tcp/127.0.0.1/$port")     # once served, the accept loop holds
    sleep 0.2                                # its reserve descriptor too
    fds_at_start=$(ls /proc/$server_pid/fd | wc -l)
}

# The descriptors the server has are those it started with.
fds_back() {
    for _ in $(seq 100); do
        [ "$(ls /proc/$server_pid/fd | wc -l)" = "$fds_at_start" ] && return 0
        sleep 0.05
    done
    echo "server has $(ls /proc/$server_pid/fd | wc -l) descriptors, started with $fds_at_start:"
    ls -l /proc/$server_pid/fd | sed 's/.* \([0-9]* -> \)/\1/'
    return 1
}

# SIGTERM with a client connected: every connection closed, exit 0.
stops_cleanly() {
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    sleep 0.1
    kill -TERM $server_pid
    wait $server_pid
    status=$?
    server_pid=
    cat <&3 >/dev/null                 # end of file: the server closed it
    exec 3<&-
    [ $status -eq 0 ] || { echo "exit status $status"; return 1; }
}

# SIGTERM while 20 clients keep sending: exit 0 all the same.
stops_under_load() {
    redis-benchmark -p "$port" -t set,get,mget -n 10000000 -c 20 -q >/dev/null 2>&1 &
    local bench=$!
    sleep 0.5
    kill -TERM $server_pid
    wait $server_pid
    status=$?
    server_pid=
    kill $bench 2>/dev/null
    wait $bench 2>/dev/null
    [ $status -eq 0 ] || { echo "exit status $status"; return 1; }
}

# Debian's redis-server on a free port, to answer as resp_server must;
# sets $redis_port, $redis_pid
start_redis() {
    for _ in $(seq 50); do
        redis_port=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null || break
    done
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        >"$work/redis.log" 2>&1 &
    redis_pid=$!
    disown "$redis_pid"                      # killed at exit without a word
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    cat "$work/redis.log"
}

clients() {
    "$build/server_clients" "$@" | tee "$work/clients" && tail -1 "$work/clients" | grep -q " 0 failed"
}

# {=====================================================================
# resp_server
# ======================================================================
# resp_checks [--threads N]: the same checks against one thread or N,
# whose keyspace is sharded over them
resp_checks() {
    start resp_server "$@"
    local t=${2:+ (threads $2)}
    check "redis-cli: SET then GET$t" sh -c "[ \"\$(redis-cli -p $port set greeting hello)\" = OK ] &&
        [ \"\$(redis-cli -p $port get greeting)\" = hello ]"
    check "redis-cli: INCR counts, INCR of text is an error$t" sh -c "
        [ \"\$(redis-cli -p $port incr n)\" = 1 ] && [ \"\$(redis-cli -p $port incr n)\" = 2 ] &&
        redis-cli -p $port incr greeting | grep -q 'ERR value is not an integer'"
    check "redis-cli: 30 keys SET on 30 connections, read on 30 others$t" sh -c "
        for i in \$(seq 30); do redis-cli -p $port set key\$i value\$i >/dev/null; done
        for i in \$(seq 30); do [ \"\$(redis-cli -p $port get key\$i)\" = value\$i ] || exit 1; done"
    check "redis-cli: MSET and MGET of many keys, nil for a missing key$t" sh -c "
        [ \"\$(redis-cli -p $port mset a 1 b 2 c 3 d 4 e 5 f 6)\" = OK ] &&
        [ \"\$(redis-cli -p $port mget a nothing b c d e f | tr '\n' ,)\" = '1,,2,3,4,5,6,' ]"
    check "redis-cli: SET EX expires$t" sh -c "
        redis-cli -p $port set soon v px 200 >/dev/null && [ \"\$(redis-cli -p $port exists soon)\" = 1 ] &&
        sleep 0.3 && [ \"\$(redis-cli -p $port get soon)\" = '' ] &&
        [ \"\$(redis-cli -p $port exists soon)\" = 0 ]"
    check "redis-cli: DEL, EXISTS, DBSIZE, FLUSHALL$t" sh -c "
        [ \"\$(redis-cli -p $port exists a b c nothing a)\" = 4 ] &&
        [ \"\$(redis-cli -p $port del a b c d e f nothing)\" = 6 ] &&
        [ \"\$(redis-cli -p $port dbsize)\" = 32 ] &&
        [ \"\$(redis-cli -p $port flushall)\" = OK ] && [ \"\$(redis-cli -p $port dbsize)\" = 0 ]"
    check "redis-cli: a 16 MiB binary value goes in and comes back$t" sh -c "
        redis-cli -p $port -x set big <'$work/big' >/dev/null &&
        redis-cli -p $port get big | head -c 16777216 | cmp - '$work/big'"
    check "redis-benchmark: SET, GET, INCR with no errors$t" sh -c "
        redis-benchmark -p $port -t set,get,incr -n 20000 -c 20 -q 2>&1 | tee '$work/bench' &&
        [ \$(grep -c 'requests per second' '$work/bench') = 3 ] && ! grep -qi error '$work/bench'"
    check "redis-benchmark: pipelined 16 deep$t" sh -c "
        redis-benchmark -p $port -t set,get -n 20000 -c 20 -P 16 -q 2>&1 | tee '$work/bench' &&
        [ \$(grep -c 'requests per second' '$work/bench') = 2 ]"
    check "INCR from 50 clients at once loses nothing$t" sh -c "
        redis-cli -p $port set c 0 >/dev/null &&
        redis-benchmark -p $port -n 10000 -c 50 -q incr c >/dev/null 2>&1 &&
        [ \"\$(redis-cli -p $port get c)\" = 10000 ]"
    check "redis-benchmark -t incr from 50 clients ends at exactly the count$t" sh -c "
        redis-cli -p $port del counter:__rand_int__ >/dev/null &&
        redis-benchmark -p $port -t incr -n 10000 -c 50 -q >/dev/null 2>&1 &&
        [ \"\$(redis-cli -p $port get counter:__rand_int__)\" = 10000 ]"
    check "rude clients (resp$t)" clients resp-faults "$port"
    check "the same bytes back as redis-server$t" clients resp-as-redis "$port" "$redis_port"
    check "resp_server gives back every descriptor$t" fds_back
    check "resp_server exits 0 on SIGTERM, closing its connections$t" stops_cleanly
}
head -c 16777216 /dev/urandom >"$work/big"
start_redis
resp_checks
resp_checks --threads 2
start resp_server --threads 2
check "resp_server --threads 2 exits 0 on SIGTERM in the middle of a benchmark" stops_under_load
check "resp_server --threads 0 is refused, saying why" sh -c "
    out=\$('$build/examples/resp_server' --threads 0 2>&1); [ \$? = 2 ] &&
    echo \"\$out\" | grep -q 'threads must be from 1 to'"
# }=====================================================================

# {=====================================================================
# http_server
# ======================================================================
start http_server
check "curl: GET / is 200 with the body" sh -c "
    [ \"\$(curl -s http://127.0.0.1:$port/)\" = 'Hello, World!' ]"
check "curl: another path is 404" sh -c "
    [ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/nothing)\" = 404 ]"
check "curl: keep-alive, one connection for two requests" sh -c "
    curl -sv http://127.0.0.1:$port/ http://127.0.0.1:$port/ 2>&1 | grep -q 'Re-using existing connection'"
check "curl: pipelined requests on one connection" sh -c "
    printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    curl -s --max-time 5 telnet://127.0.0.1:$port | tee '$work/http' | grep -c '^HTTP/1.1' | grep -qx 2"
check "rude clients (http)" clients http-faults "$port"
check "http_server gives back every descriptor" fds_back
check "http_server exits 0 on SIGTERM, closing its connections" stops_cleanly
start http_server --threads 2
check "http_server --threads 2 serves" sh -c "[ \"\$(curl -s http://127.0.0.1:$port/)\" = 'Hello, World!' ]"
check "http_server --threads 2 exits 0 on SIGTERM" stops_cleanly
# }=====================================================================

# {=====================================================================
# echo_server
# ======================================================================
start echo_server
connections=2000
[ "$(ulimit -n)" -gt 4200 ] || connections=$(( ($(ulimit -n) - 200) / 2 ))
check "echo: $connections connections at once, 1 MiB each" clients echo-load "$port" "$connections" 1048576
check "rude clients (echo)" clients echo-faults "$port"
check "echo_server gives back every descriptor" fds_back
check "echo_server exits 0 on SIGTERM, closing its connections" stops_cleanly
# }=====================================================================

summary
