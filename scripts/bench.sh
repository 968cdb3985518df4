#!/usr/bin/env bash
# bench.sh: benchmark storygate against the demo database, on this machine, and print a
# summary (also written to build-bench/bench-results.txt; per-page timings, wrk and pgbench
# output and the server logs of the last run are kept in build-bench/bench-logs/).
#
#   scripts/bench.sh [--customers N] [options]      (as root; Debian 12)
#
# Steps, each bounded in time (nothing leaves loopback):
#   0. install the Debian packages (scripts/install-deps.sh, then wrk), build a Release
#      binary in build-bench/
#   1. start a throwaway PostgreSQL cluster under /tmp, create database "bench", load
#      scripts/demo-database.sql with N customers (timed), VACUUM (FREEZE, ANALYZE)
#   2. run storygate once with statement logging on, to take the exact SQL it prepares
#      (by_id, count_since, list_since, list_after, count_changed) and its session settings
#      from the PostgreSQL log; then start it afresh and time exec -> first 200
#   3. single record: wrk on random existing ids vs pgbench -M prepared running the very
#      same statement with the same session settings; ratio storygate/pgbench; nginx
#      answering the same reply from its configuration (the floor under any HTTP server
#      here); storygate asked for ids it refuses before any query (its HTTP side alone);
#      nginx and those refusals again at the single-record run's rate (the same load)
#   4. list pages: wrk, limit=100 at random start (OFFSET pages)
#   5. full sync: a sequential walk at limit=1000 (one curl process, keep-alive) vs
#      COPY (SELECT <the first page's statement> LIMIT ALL) through psql, run by turns
#      (walk, COPY, walk, COPY...); first vs last page latency; cost
#      of the count on the first page and on keyset pages; the same pages with keyset
#      continuation off (--sync-cursor-limit 0, plain OFFSET) for contrast
#   5b. scale-out: the same full sync through HAProxy (balance roundrobin, no affinity) in
#      front of two storygate replicas sharing their cursors in a redis-server
#      (--cursor-store), beside one replica without a store; both ratios to that one
#   6. memory: peak RSS (VmHWM) of a fresh storygate under 256 keep-alive connections;
#      6b. what one page of 1000 records adds to the peak, plain and gzip, each on a
#      fresh server
#   7. summary
# On exit (normal, error, Ctrl-C) it stops everything it started and deletes the cluster.
# At 1M customers the load takes about a minute and the whole run about 11 minutes on an
# otherwise idle 2-core machine; other processes on the CPU make it (much) longer and the
# numbers worse, which the summary reports.
#
# Options:
#   --customers N        customers in the demo database (default 1000000; 20000 is quick)
#   --duration S         seconds of each wrk/pgbench measurement (default 20)
#   --pool-size N        storygate --db-pool-size (default 2: see below)
#   --list-connections N wrk connections for the random list pages (default 8)
#   --sync-runs N        full sync walks; the fastest counts (default 2)
#   --pg-port P          port of the throwaway cluster (default 25460)
#   --http-port P        port for storygate (default: the first free one from 25480)
#   --wait-quiet S       before each measurement, wait up to S seconds until other
#                        processes leave the CPU alone (default 0: do not wait). Every
#                        measurement notes how much CPU others took; the summary warns.
#   --profile            also sample CPU with perf (cpu-clock) during a single-record run
#                        and print where storygate and the machine spend it
#   --scale-out-only     steps 0, 1 and 5b only: the scale-out comparison alone (minutes at
#                        100000 customers instead of the whole run)
#   --binary PATH        benchmark this storygate binary instead of building build-bench/
#                        (e.g. to compare two versions; it must accept the same options)
#
# Why --db-pool-size 2 on 2 cores: one connection per I/O thread. Each connection carries
# the queries waiting for it as one pipelined batch, so fewer connections mean larger
# batches (at 64 connections, about 14 queries per round trip with 2, 6 with 4): fewer
# system calls and wake-ups per query on both sides, and fewer PostgreSQL backends
# competing with storygate, wrk and each other for the 2 cores. Sweeps on a 1M-customer
# database (wrk -t2 -c64, single records, 10 s; `storygate serve` on
# 2 threads; two to four rounds each, pool 1 once) gave requests/s, p99/p50 and
# storygate's CPU per request:
#   pool 1: 8,100/s, 1.6, 36.7 us (PostgreSQL on one core)
#   pool 2: 14,000-17,400/s, 1.9-2.4, 23.5-29.9 us
#   pool 3: 11,000-13,700/s, 4.8-4.9, 32.0-40.1 us
#   pool 4: 11,400-14,300/s, 6.1-27.5, 31.5-39.0 us
#   pool 6: 10,900-13,400/s, 8.4-38.1, 34.3-41.2 us
# (Before queries were pipelined, 4 was best: each query then held a connection for a
# round trip of its own.) Where PostgreSQL has cores of its own, more connections let it
# use them. Try others with --pool-size.
set -euo pipefail

customers=1000000
duration=20
pool_size=2
list_connections=8
sync_runs=2
pg_port=25460
http_port=""
profile=0
binary=""
wait_quiet=0
scale_out_only=0
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_BIN

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit "${1:-2}"
}

while (($#)); do
    case $1 in
    --customers) customers=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --pool-size) pool_size=${2:?}; shift 2 ;;
    --list-connections) list_connections=${2:?}; shift 2 ;;
    --sync-runs) sync_runs=${2:?}; shift 2 ;;
    --pg-port) pg_port=${2:?}; shift 2 ;;
    --http-port) http_port=${2:?}; shift 2 ;;
    --profile) profile=1; shift ;;
    --wait-quiet) wait_quiet=${2:?}; shift 2 ;;
    --binary) binary=${2:?}; shift 2 ;;
    --scale-out-only) scale_out_only=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "bench: unknown option '$1'" >&2; usage ;;
    esac
done

# --binary may be relative to where we were started.
[[ -z $binary ]] || binary=$(realpath -- "$binary")
cd "$(dirname "$0")/.."
repo=$PWD

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
# Formats a number (or an awk expression of numbers) with $2 decimals (default 1).
num() { awk "BEGIN { printf \"%.${2:-1}f\", ($1) }"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

for v in customers duration pool_size list_connections sync_runs pg_port; do
    [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} > 0)) || die "--${v//_/-} must be a positive whole number, got '${!v}'"
done
((customers >= 1000)) || die "--customers must be at least 1000"
((customers <= 10000000)) || die "--customers must be at most 10000000"
[[ $wait_quiet =~ ^[0-9]+$ ]] || die "--wait-quiet must be a whole number of seconds, got '$wait_quiet'"
[[ $(id -u) -eq 0 ]] || die "run as root (the throwaway cluster runs as the postgres user via runuser)"

run_started=$(now_ms)

# ---------------------------------------------------------------------------------------
# 0. Packages and build
# ---------------------------------------------------------------------------------------
extra=(wrk)
((profile)) && extra+=(linux-perf)
scripts/install-deps.sh "${extra[@]}"

build=$repo/build-bench
if [[ -n $binary ]]; then
    bin=$(realpath -- "$binary")
    [[ -x $bin ]] || die "--binary $binary is not an executable file"
    mkdir -p "$build"
    say "benchmarking $bin (no build)"
else
    say "building storygate (Release) in $build"
    mkdir -p "$build"
    if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTORYGATE_BUILD_TESTS=OFF &&
        cmake --build "$build" -j2; } >"$build/bench-build.log" 2>&1; then
        tail -n 40 "$build/bench-build.log" >&2
        die "the build failed (full log: $build/bench-build.log)"
    fi
    bin=$build/storygate
    [[ -x $bin ]] || die "$bin was not built"
fi
results=$build/bench-results.txt
# What is measured: the commit, and whether the work tree differs from it.
version="$("$bin" --version 2>/dev/null | head -n 1 || true)"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -z $binary && -n $(git -C "$repo" status --porcelain -- src CMakeLists.txt 2>/dev/null) ]]; then
    commit+=" + uncommitted changes in src/"
fi
[[ -n $binary ]] && commit="$bin"
# All load comes from 127.0.0.1: turn off a per-address rate limit where there is one.
server_options=()
if "$bin" --help 2>/dev/null | grep -q -- '--rate-limit'; then
    server_options+=(--rate-limit 0)
fi

# ---------------------------------------------------------------------------------------
# Clean-up of everything started below
# ---------------------------------------------------------------------------------------
work=""
server_pid=""
background=()
cleaned=0
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local rc=$?
    ((cleaned)) && return
    cleaned=1
    trap '' INT TERM
    local p
    for p in "${background[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    stop_server
    if [[ -n $work ]]; then
        # Keep what explains the numbers: per-page timings, wrk and pgbench output, the
        # server logs, the statements.
        rm -rf -- "$build/bench-logs"
        mkdir -p "$build/bench-logs"
        cp -p "$work"/*.pages "$work"/*.out "$work"/*.log "$work"/*.sql "$work"/*.pgbench \
            "$build/bench-logs/" 2>/dev/null || true
        cp -p "$work/pg/postgres.log" "$build/bench-logs/postgres.log" 2>/dev/null || true
        if [[ -d $work/pg ]]; then
            scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || say "could not remove the cluster in $work/pg"
        fi
        rm -rf -- "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2317  # also called from cleanup
stop_server() {
    [[ -n $server_pid ]] || return 0
    if kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

work=$(mktemp -d /tmp/storygate-bench.XXXXXX)
chmod 755 "$work"

# ---------------------------------------------------------------------------------------
# 1. Cluster and data
# ---------------------------------------------------------------------------------------
scripts/pg-cluster.sh start "$work/pg" "$pg_port" >/dev/null
pglog=$work/pg/postgres.log
admin_url="postgresql://postgres@127.0.0.1:$pg_port/bench"
reader_url="postgresql://storygate_reader@127.0.0.1:$pg_port/bench"
psql_admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$admin_url" "$@"; }

"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c 'CREATE DATABASE bench'
say "loading scripts/demo-database.sql with $customers customers"
t0=$(now_ms)
psql_admin -v customers="$customers" -f scripts/demo-database.sql >"$work/load.out"
load_s=$(num "($(now_ms) - $t0) / 1000")
say "loaded in $load_s s: $(tail -n 3 "$work/load.out" | head -n 1 | tr -s ' ')"
# A freshly loaded legacy table would be vacuumed long before anyone benchmarks it;
# do it now so autovacuum does not start in the middle of a measurement. The
# vacuum must also mark the pages all-visible, as on a table that has lived
# through autovacuum: index-only scans depend on it. It cannot while an
# auto-ANALYZE that the load set off still holds an older snapshot, so wait for
# those first, and vacuum again if pages are still left unmarked.
t0=$(now_ms)
for ((i = 0; i < 120; i++)); do
    [[ $(psql_admin -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") == 0 ]] && break
    sleep 1
done
all_visible=0
for ((attempt = 1; attempt <= 3 && all_visible < 95; attempt++)); do
    psql_admin -c 'VACUUM (FREEZE, ANALYZE) legacy.cust_master, legacy.order_hdr, legacy.cust_category'
    all_visible=$(psql_admin -At -c "SELECT round(100.0 * relallvisible / greatest(relpages, 1)) FROM pg_class WHERE oid = 'legacy.cust_master'::regclass")
done
psql_admin -c 'CHECKPOINT'
vacuum_s=$(num "($(now_ms) - $t0) / 1000")
say "VACUUM (FREEZE, ANALYZE) in $vacuum_s s; $all_visible% of legacy.cust_master's pages all-visible"

# ---------------------------------------------------------------------------------------
# storygate
# ---------------------------------------------------------------------------------------
if command -v openssl >/dev/null 2>&1; then
    token=$(openssl rand -hex 24)
else
    token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
fi
auth="Authorization: Bearer $token"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -z $http_port ]]; then
    for ((p = 25480; p < 25580; p++)); do
        if port_free "$p"; then http_port=$p; break; fi
    done
    [[ -n $http_port ]] || die "no free port in 25480..25579: pass --http-port"
else
    port_free "$http_port" || die "something already listens on 127.0.0.1:$http_port"
fi
base="http://127.0.0.1:$http_port"
first_id=244988

# storygate, nginx, wrk and pgbench run under setsid, each in a session of its own
# (setsid execs the command, so $! is still its pid). With autogroup scheduling (the
# default of Debian's kernel) the CPU is shared fairly between sessions, then between the
# processes of each: so storygate, its client and PostgreSQL (which pg_ctl starts in a
# session of its own) each get a share, as three services would. Started from this
# script's session, wrk and storygate shared one, and the single-record p99 at 64
# connections read 21, 60, 174 and 311 ms in four runs, against 8.5 to 12.7 ms in four
# runs apart, alternated (2026-12-07, 20,000 customers; p50 3.1 to 5.4 ms in both).

# start_server LOGNAME [storygate options...]: starts storygate, waits for the first 200
# from GET /api/v1/customer/244988 and sets startup_ms (exec -> that 200).
start_server() {
    local name=$1
    shift
    server_log=$work/$name.log
    local t0 code
    t0=$(now_ms)
    STORYGATE_BEARER_TOKENS="$token" STORYGATE_DATABASE_URL="$reader_url" \
        setsid "$bin" serve --mapping mappings/demo.yaml --listen 127.0.0.1 --port "$http_port" \
        --db-pool-size "$pool_size" "${server_options[@]}" "$@" 2>"$server_log" &
    server_pid=$!
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "$auth" "$base/api/v1/customer/$first_id" || true)
        [[ $code == 200 ]] && break
        if ! kill -0 "$server_pid" 2>/dev/null; then
            tail -n 20 "$server_log" >&2
            die "storygate exited during start-up (log above)"
        fi
        if (($(now_ms) - t0 > 30000)); then
            tail -n 20 "$server_log" >&2
            die "storygate did not answer 200 within 30 s (last status $code)"
        fi
    done
    startup_ms=$(($(now_ms) - t0))
}

# Waits (60 s at most) until storygate_reader has no query running: requests that a load
# generator left in flight when it stopped still hold pool workers and the CPU.
wait_idle() {
    local deadline=$(($(now_ms) + 60000)) active
    while :; do
        active=$("$PG_BIN/psql" -X -At "$admin_url" -c \
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'storygate_reader' AND state = 'active'")
        [[ $active == 0 ]] && return 0
        if (($(now_ms) > deadline)); then
            say "still $active queries running after 60 s; going on"
            return 0
        fi
        sleep 0.2
    done
}

# CPU used by other processes on the machine while we measure (another build, say):
# busy time of the whole machine minus that of storygate, of our cluster (the postmaster
# counts the backends it has reaped) and of this script's children (wrk, pgbench, curl,
# psql, once waited for), in clock ticks.
cpu_snapshot() {
    local postmaster
    postmaster=$(head -n 1 "$work/pg/data/postmaster.pid" 2>/dev/null || echo 0)
    { head -n 1 /proc/stat; cat /proc/[0-9]*/stat 2>/dev/null; } | awk -v pm="$postmaster" -v sg="${server_pid:-0}" -v me="$$" '
        NR == 1 { total = $2 + $3 + $4 + $7 + $8; next }
        {
            pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
            # f[2] ppid, f[12] utime, f[13] stime, f[14] cutime, f[15] cstime
            if (pid == pm || pid == me) ours += f[12] + f[13] + f[14] + f[15]
            else if (pid == sg || f[2] == pm) ours += f[12] + f[13]
        }
        END { print total, ours + 0 }
    '
}
# cpu_mark waits first, with --wait-quiet, until the others leave the machine alone.
cpu_mark() {
    quiet_wait
    read -r mark_total mark_ours <<<"$(cpu_snapshot)"
    mark_ms=$(now_ms)
}
# Percent of the machine's CPU that others used since the last cpu_mark.
foreign_share() {
    local total ours
    read -r total ours <<<"$(cpu_snapshot)"
    awk -v d=$((total - mark_total - ours + mark_ours)) -v ms=$(($(now_ms) - mark_ms)) -v n="$(nproc)" \
        'BEGIN { s = ms > 0 ? 100 * d / (ms / 10 * n) : 0; printf "%.0f", s < 0 ? 0 : s }'
}
# After a measurement: notes the others' share; the worst is kept for the summary.
foreign_max=0
cpu_foreign() {
    local share
    share=$(foreign_share)
    ((share > foreign_max)) && foreign_max=$share
    ((share < 5)) || say "  note: other processes used $share% of the CPU during this measurement"
}
# --wait-quiet S: waits up to S seconds until others use under 5% of the CPU for 2 s.
quiet_wait() {
    ((wait_quiet > 0)) || return 0
    local deadline=$(($(now_ms) + wait_quiet * 1000)) share
    while :; do
        read -r mark_total mark_ours <<<"$(cpu_snapshot)"
        mark_ms=$(now_ms)
        sleep 2
        share=$(foreign_share)
        ((share < 5)) && return 0
        if (($(now_ms) > deadline)); then
            say "  the machine is still busy (others use $share% of the CPU); measuring anyway"
            return 0
        fi
    done
}

# user and system clock ticks of a process, all threads ("USER SYSTEM")
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"; }
# microseconds of CPU per request from two cpu_ticks readings: "USER SYSTEM TOTAL"
cpu_us_per_request() { # BEFORE AFTER REQUESTS
    local u0 s0 u1 s1 tick_us
    read -r u0 s0 <<<"$1"
    read -r u1 s1 <<<"$2"
    tick_us=$(num "1000000 / $(getconf CLK_TCK) / $3" 6)
    echo "$(num "($u1 - $u0) * $tick_us" 1) $(num "($s1 - $s0) * $tick_us" 1) $(num "($u1 - $u0 + $s1 - $s0) * $tick_us" 1)"
}

# peak and current resident set of the running server, in MB
vm_mb() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }
vm_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }

# ---------------------------------------------------------------------------------------
# 5b. Scale-out (defined here, run after the full sync, or alone with --scale-out-only)
# ---------------------------------------------------------------------------------------
sync_limit=1000
pages=$(((customers + sync_limit - 1) / sync_limit))
full_pages=$((customers / sync_limit))
# walk NAME: one sequential walk of all pages through one keep-alive curl process to $base.
# Prints "seconds records non200"; per-page "code seconds bytes" lines go to $work/NAME.pages.
walk() {
    local name=$1 i t0 records
    for ((i = 0; i < pages; i++)); do
        printf 'url = "%s/api/v1/customers?limit=%d&start=%d"\n' "$base" "$sync_limit" $((i * sync_limit))
    done >"$work/$name.curl"
    t0=$(now_ms)
    # A newline after each body: pages have none, and grep holds a whole line in
    # memory, so without it grep falls behind on one ever-growing line, curl
    # blocks on the full pipe, and the page times grow with the walk.
    records=$(timeout 900 curl -sS --max-time 60 -H "$auth" -K "$work/$name.curl" \
        -w '\n%{stderr}%{http_code} %{time_total} %{size_download}\n' 2>"$work/$name.pages" |
        grep -o -F '{"id":' | wc -l)
    echo "$(num "($(now_ms) - $t0) / 1000" 2) $records $(awk '$1 != 200' "$work/$name.pages" | wc -l)"
}

# free_port_from P: the first free port from P on (100 tried).
free_port_from() {
    local p
    for ((p = $1; p < $1 + 100; p++)); do
        if port_free "$p"; then echo "$p"; return 0; fi
    done
    die "no free port in $1..$(($1 + 99))"
}

# A sum over the replicas' /metrics of one counter.
replica_metric() {
    local name=$1 port total=0 v
    for port in "${replica_ports[@]}"; do
        v=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics" | awk -v n="$name" '$1 == n { print $2 }')
        total=$(num "$total + ${v:-0}" 0)
    done
    echo "$total"
}

# Best of $sync_runs walks (seconds); dies unless every page was 200 and every customer came.
best_walk() {
    local name=$1 r secs records bad best=""
    for ((r = 1; r <= sync_runs; r++)); do
        read -r secs records bad <<<"$(walk "$name$r")"
        say "  $name $r/$sync_runs: $secs s, $records records, $bad pages not 200"
        ((bad == 0)) || die "$name: $bad pages were not 200 (see $work/$name$r.pages)"
        ((records == customers)) || die "$name returned $records records, expected $customers"
        if [[ -z $best ]] || awk "BEGIN { exit !($secs < $best) }"; then best=$secs; fi
    done
    echo "$best"
}

scale_out_sync() {
    local one_base=$base i redis_port balancer_port pid next_port started=()
    say "scale-out: full sync on one replica without a store, $sync_runs walk(s)"
    start_server scaleout-single
    cpu_mark
    scale_single=$(best_walk scaleout-single)
    cpu_foreign
    stop_server

    redis_port=$(free_port_from $((http_port + 1)))
    next_port=$((redis_port + 1))
    mkdir -p "$work/redis"
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work/redis" \
        --daemonize no >"$work/redis.log" 2>&1 &
    started+=("$!")
    for ((i = 0; i < 50; i++)); do ! port_free "$redis_port" && break; sleep 0.1; done
    replica_ports=()
    # The replicas share the key that names clients, as they must to share walks.
    client_key=$(openssl rand -hex 32)
    for i in 1 2; do
        next_port=$(free_port_from "$next_port")
        replica_ports+=("$next_port")
        next_port=$((next_port + 1))
        STORYGATE_BEARER_TOKENS="$token" STORYGATE_DATABASE_URL="$reader_url" STORYGATE_CLIENT_KEY="$client_key" \
            "$bin" serve --mapping mappings/demo.yaml --listen 127.0.0.1 --port "${replica_ports[-1]}" \
            --db-pool-size "$pool_size" --metrics-access loopback "${server_options[@]}" \
            --cursor-store "redis://127.0.0.1:$redis_port" 2>"$work/scaleout-replica$i.log" &
        pid=$!
        started+=("$pid")
        for ((t = 0; t < 300; t++)); do
            [[ $(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "http://127.0.0.1:${replica_ports[-1]}/api/v1/customer/$first_id" || true) == 200 ]] && break
            kill -0 "$pid" 2>/dev/null || { tail -n 20 "$work/scaleout-replica$i.log" >&2; die "replica $i exited"; }
            sleep 0.1
        done
    done
    balancer_port=$(free_port_from "$next_port")
    {
        printf 'global\n  pidfile %s/haproxy.pid\n\n' "$work"
        printf 'defaults\n  mode http\n  timeout connect 2s\n  timeout client 120s\n  timeout server 120s\n\n'
        printf 'frontend api\n  bind 127.0.0.1:%s\n  default_backend storygate\n\n' "$balancer_port"
        # Each request to the next replica, keep-alive or not: no affinity at all.
        printf 'backend storygate\n  balance roundrobin\n'
        for i in "${!replica_ports[@]}"; do printf '  server r%s 127.0.0.1:%s\n' "$i" "${replica_ports[$i]}"; done
    } >"$work/haproxy.cfg"
    haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
    started+=("$!")
    background+=("${started[@]}")
    for ((i = 0; i < 50; i++)); do ! port_free "$balancer_port" && break; sleep 0.1; done

    say "scale-out: full sync through HAProxy (roundrobin) over 2 replicas sharing a redis-server, $sync_runs walk(s)"
    base="http://127.0.0.1:$balancer_port"
    cpu_mark
    scale_shared=$(best_walk scaleout-shared)
    cpu_foreign
    base=$one_base
    scale_from_store=$(replica_metric storygate_sync_pages_from_store_total)
    scale_store_errors=$(replica_metric storygate_cursor_store_errors_total)
    scale_split=$(for i in 1 2; do grep -c '"path":"/api/v1/customers' "$work/scaleout-replica$i.log" || true; done | paste -sd/)
    scale_ratio=$(num "$scale_shared / $scale_single" 2)
    # Nothing of this step runs on into the next ones' measurements.
    kill -TERM "${started[@]}" 2>/dev/null || true
    wait "${started[@]}" 2>/dev/null || true
    say "  one replica $scale_single s; two replicas + store $scale_shared s: ratio $scale_ratio;" \
        "pages per replica $scale_split; continued from the store $scale_from_store; store errors $scale_store_errors"
}

scale_out_line() {
    printf 'scale-out sync  limit=%s: 2 replicas behind HAProxy roundrobin + redis store %s s vs 1 replica, no store %s s: ratio %s (target <= 1.1: %s); pages per replica %s, continued from the store %s, store errors %s\n' \
        "$sync_limit" "$scale_shared" "$scale_single" "$scale_ratio" "$(verdict "$scale_ratio <= 1.1")" "$scale_split" "$scale_from_store" "$scale_store_errors"
}
verdict() { awk "BEGIN { exit !($1) }" && echo "ok" || echo "MISSED"; }

if ((scale_out_only)); then
    scale_out_sync
    {
        echo "storygate scale-out benchmark — $customers customers, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
        scale_out_line
        echo "build           ${version:-storygate} ($commit)"
        if ((foreign_max >= 5)); then
            echo "WARNING         other processes used up to $foreign_max% of the CPU during a measurement: the numbers above are low"
        fi
    } >"$results"
    echo
    cat "$results"
    exit 0
fi

# ---------------------------------------------------------------------------------------
# 2. The exact statements, from the PostgreSQL log
# ---------------------------------------------------------------------------------------
say "taking storygate's prepared statements from the PostgreSQL log"
psql_admin -c 'ALTER ROLE storygate_reader IN DATABASE bench SET log_min_duration_statement = 0'
log_from=$(($(wc -l <"$pglog") + 1))
start_server extract
curl -sf -o /dev/null -H "$auth" "$base/api/v1/customers?limit=2" || die "the first list page failed"
curl -sf -o /dev/null -H "$auth" "$base/api/v1/customers?limit=2&start=2" || die "the second list page failed"
stop_server
psql_admin -c 'ALTER ROLE storygate_reader IN DATABASE bench RESET log_min_duration_statement'
tail -n "+$log_from" "$pglog" >"$work/statements.log"

# statement NAME: the text of "parse NAME_gN: ..." (continuation lines carry a leading tab).
statement() {
    awk -v name="$1" '
        !found && match($0, " parse " name "_g[0-9]+: ") {
            found = 1; collecting = 1; print substr($0, RSTART + RLENGTH); next
        }
        collecting && /^\t/ { print substr($0, 2); next }
        collecting { exit }
    ' "$work/statements.log"
}
for s in by_id count_since list_since list_after count_changed; do
    statement "$s" >"$work/$s.sql"
    [[ -s $work/$s.sql ]] || die "storygate's '$s' statement is not in the PostgreSQL log ($work/statements.log)"
done
# The settings storygate made on the session that prepared by_id, as libpq -c options:
# each a set_config(name, value, false), the value a literal or $1, which the log gives
# on the DETAIL line after the execute (db/session_setup.cpp).
by_id_pid=$(grep -m1 -o '\[[0-9]*\] LOG:  duration: [0-9.]* ms  parse by_id_g' "$work/statements.log" | grep -o '^\[[0-9]*\]')
session_options=$(grep -F "$by_id_pid " "$work/statements.log" | perl -ne '
    if (/(?:statement|execute <unnamed>): SELECT set_config\(\x27([\w.]+)\x27, (?:\x27([^\x27]*)\x27|\$1), false\)/) {
        if (defined $2) { print "-c $1=$2 " } else { $wanted = $1 }
    } elsif ($wanted && /DETAIL:  parameters: \$1 = \x27([^\x27]*)\x27/) {
        print "-c $wanted=$1 "; $wanted = "";
    }')
[[ $session_options == *TimeZone=* ]] || die "no TimeZone setting found for storygate's session in the PostgreSQL log"
say "session settings: $session_options"

# pgbench script for by_id: a random existing customer each time.
{
    echo '\set k random(1, :customers)'
    echo "\\set p1 $first_id + (:k - 1) * 7"
    perl scripts/bench/to-pgbench.pl <"$work/by_id.sql"
} >"$work/by_id.pgbench"
perl scripts/bench/to-pgbench.pl <"$work/count_since.sql" >"$work/count_since.pgbench"
perl scripts/bench/to-pgbench.pl <"$work/count_changed.sql" >"$work/count_changed.pgbench"

# pgbench_run CLIENTS SECONDS SCRIPT [pgbench options]: prints "tps latency_ms failed".
pgbench_run() {
    local clients=$1 seconds=$2 script=$3 out
    shift 3
    out=$work/pgbench.$RANDOM.out
    PGOPTIONS="$session_options" setsid "$PG_BIN/pgbench" -n -M prepared -c "$clients" -j "$((clients < 2 ? 1 : 2))" \
        -T "$seconds" "$@" -f "$script" "$reader_url" >"$out" 2>&1 || { cat "$out" >&2; die "pgbench failed"; }
    if grep -q 'error' "$out"; then
        cat "$out" >&2
        die "pgbench reported errors"
    fi
    awk '/^tps = / { tps = $3 } /^latency average = / { lat = $4 }
         /^number of failed transactions: / { failed = $5 }
         END { print tps + 0, lat + 0, failed + 0 }' "$out"
}

# wrk_run OUT CONNECTIONS SECONDS SCRIPT [wrk options]: runs wrk, output kept in OUT.
wrk_run() {
    local out=$1 connections=$2 seconds=$3 script=$4
    shift 4
    cpu_mark
    BENCH_CUSTOMERS=$customers setsid wrk -t2 -c "$connections" -d "${seconds}s" --latency -s "$script" \
        -H "$auth" "$@" "$base" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    cpu_foreign
    wait_idle
}
# wrk_stats OUT: "rps p50_ms p99_ms mb_per_s bytes_per_request errors"
wrk_stats() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            if (v ~ /s$/) return v * 1000
            return v + 0
        }
        function bytes(v) {
            if (v ~ /TB$/) return v * 1024 ^ 4
            if (v ~ /GB$/) return v * 1024 ^ 3
            if (v ~ /MB$/) return v * 1024 ^ 2
            if (v ~ /KB$/) return v * 1024
            return v + 0
        }
        /^Requests\/sec:/ { rps = $2 }
        /^Transfer\/sec:/ { mbs = bytes($2) / 1e6 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { requests = $1; read = bytes($5) }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
        END { printf "%.0f %.2f %.2f %.2f %.0f %d\n", rps, p50, p99, mbs, (requests ? read / requests : 0), errors }
    ' "$1"
}

# ---------------------------------------------------------------------------------------
# 3. Single record
# ---------------------------------------------------------------------------------------
start_server bench
startup_bench_ms=$startup_ms
say "storygate up in $startup_bench_ms ms (exec -> first 200); pool $pool_size, port $http_port"

say "single record: warm-up 3 s"
wrk_run "$work/warm.out" 64 3 scripts/bench/random-id.lua
say "single record: wrk -t2 -c64 -d${duration}s"
server_cpu_before=$(cpu_ticks "$server_pid")
wrk_run "$work/single.out" 64 "$duration" scripts/bench/random-id.lua --timeout 10s
server_cpu_after=$(cpu_ticks "$server_pid")
read -r single_rps single_p50 single_p99 _ single_bytes single_errors <<<"$(wrk_stats "$work/single.out")"
single_requests=$(awk '/ requests in / { print $1 }' "$work/single.out")
# storygate's own CPU (user + system, all its threads) per answered request.
read -r single_user_us single_system_us single_cpu_us \
    <<<"$(cpu_us_per_request "$server_cpu_before" "$server_cpu_after" "$single_requests")"
single_tail=$(num "$single_p99 / $single_p50" 2)
say "  storygate: $single_rps req/s, p50 $single_p50 ms, p99 $single_p99 ms, $single_bytes bytes/reply, $single_errors errors"
say "  storygate's own CPU: $single_cpu_us us per request, user $single_user_us + system $single_system_us ($single_requests requests)"

say "single record: pgbench -M prepared -c64 -T$duration, the same statement"
cpu_mark
read -r pg_tps pg_lat pg_failed <<<"$(pgbench_run 64 "$duration" "$work/by_id.pgbench" -D customers="$customers")"
cpu_foreign
say "  pgbench: $pg_tps tps (latency average $pg_lat ms, $pg_failed failed)"
ref_seconds=$((duration / 2 > 5 ? duration / 2 : 5))
read -r pg_pool_tps pg_pool_lat _ <<<"$(pgbench_run "$pool_size" "$ref_seconds" "$work/by_id.pgbench" -D customers="$customers")"
say "  pgbench at $pool_size clients (storygate's pool): $pg_pool_tps tps (latency average $pg_pool_lat ms)"
single_ratio=$(num "$single_rps / $pg_tps" 2)
# The floor under any statement: the bare primary-key lookup of the same rows.
{
    echo '\set k random(1, :customers)'
    echo "\\set p1 $first_id + (:k - 1) * 7"
    echo 'SELECT * FROM legacy.cust_master WHERE cust_no = :p1;'
} >"$work/bare_pk.pgbench"
say "single record: pgbench -M prepared -c64 -T$ref_seconds, the bare primary-key lookup"
read -r pk_tps pk_lat _ <<<"$(pgbench_run 64 "$ref_seconds" "$work/bare_pk.pgbench" -D customers="$customers")"
say "  pgbench bare lookup: $pk_tps tps (latency average $pk_lat ms)"
single_pk_ratio=$(num "$single_rps / $pk_tps" 2)

# paced_cpu PID OUT SCRIPT: a wrk run of SCRIPT at the single-record run's rate
# (scripts/bench/pacing.lua), as a server's CPU per request depends on the load: at a
# database-bound rate it sleeps between requests and pays for waking. wrk's pacing falls
# short of the rate asked (each connection also waits for its answer and for wrk's
# timer), so two 3 s runs first find what to ask for. Prints "rps user_us system_us
# cpu_us" of the process PID over the measured run.
paced_cpu() {
    local pid=$1 out=$2 script=$3 before after requests rps asked=$single_rps round
    for round in 1 2; do
        BENCH_RATE=$asked BENCH_CONNECTIONS=64 wrk_run "$out.calibration" 64 3 "$script"
        read -r rps _ <<<"$(wrk_stats "$out.calibration")"
        asked=$(num "$asked * $single_rps / ($rps > 0 ? $rps : $single_rps)" 0)
    done
    before=$(cpu_ticks "$pid")
    BENCH_RATE=$asked BENCH_CONNECTIONS=64 wrk_run "$out" 64 "$duration" "$script"
    after=$(cpu_ticks "$pid")
    read -r rps _ <<<"$(wrk_stats "$out")"
    requests=$(awk '/ requests in / { print $1 }' "$out")
    echo "$rps $(cpu_us_per_request "$before" "$after" "$requests")"
}

# The floor under any HTTP server here: nginx, one worker, its access log
# gathered as storygate's is, answering the same single-record reply, written
# into its configuration (`return 200`), under the same load. Its CPU per
# request is what the kernel's loopback TCP and a lean HTTP server cost, with
# no database and no file. (Served from a file, nginx paid an open, a read and
# a close a request: 15 us here, where `return` needs 8.)
nginx_reference() {
    local dir=$work/nginx port master worker before after requests i reply
    mkdir -p "$dir/logs"
    reply=$(curl -s -H "$auth" "$base/api/v1/customer/$first_id")
    # Inside nginx's single quotes a quote and a backslash need escaping, and a
    # dollar sign names a variable: the demo's records hold none of them.
    [[ $reply != *[\'\\\$]* ]] || die "the reply for customer $first_id holds a quote, backslash or dollar sign"
    port=$(free_port_from $((http_port + 20)))
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
  access_log $dir/logs/access.log combined buffer=32k flush=100ms;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '$reply'; }
  }
}
EOF
    setsid nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/logs/stderr.log" 2>&1 &
    master=$!
    background+=("$master")
    for ((i = 0; i < 50; i++)); do ! port_free "$port" && break; sleep 0.1; done
    worker=$(pgrep -P "$master" | head -n 1)
    [[ -n $worker ]] || die "nginx did not start: $(cat "$dir/logs/error.log")"
    # Counted as ours, not as another's, while it is measured (cpu_snapshot).
    local saved_base=$base saved_server=$server_pid
    base="http://127.0.0.1:$port"
    server_pid=$worker
    [[ $(curl -s "$base/api/v1/customer/$first_id") == "$reply" ]] || die "nginx does not answer the reply it was given"
    wrk_run "$work/nginx-warm.out" 64 3 scripts/bench/random-id.lua
    before=$(cpu_ticks "$worker")
    wrk_run "$work/nginx.out" 64 "$duration" scripts/bench/random-id.lua
    after=$(cpu_ticks "$worker")
    # The same at storygate's single-record rate: what nginx costs at that load.
    read -r nginx_paced_rps nginx_paced_user_us nginx_paced_system_us nginx_paced_cpu_us \
        <<<"$(paced_cpu "$worker" "$work/nginx-paced.out" scripts/bench/random-id.lua)"
    base=$saved_base
    server_pid=$saved_server
    kill -TERM "$master" 2>/dev/null || true
    wait "$master" 2>/dev/null || true
    read -r nginx_rps nginx_p50 nginx_p99 _ nginx_bytes _ <<<"$(wrk_stats "$work/nginx.out")"
    nginx_tail=$(num "$nginx_p99 / $nginx_p50" 2)
    requests=$(awk '/ requests in / { print $1 }' "$work/nginx.out")
    read -r nginx_user_us nginx_system_us nginx_cpu_us <<<"$(cpu_us_per_request "$before" "$after" "$requests")"
    nginx_cpu_ratio=$(num "$single_cpu_us / $nginx_cpu_us" 2)
}
say "single record: nginx answering the same reply (return 200), wrk -t2 -c64 -d${duration}s"
nginx_reference
say "  nginx: $nginx_rps req/s, p50 $nginx_p50 ms, p99 $nginx_p99 ms, $nginx_bytes bytes/reply, $nginx_cpu_us us of CPU per request (user $nginx_user_us + system $nginx_system_us); storygate/nginx $nginx_cpu_ratio"
say "  nginx at storygate's rate ($single_rps req/s): $nginx_paced_rps req/s, $nginx_paced_cpu_us us of CPU per request (user $nginx_paced_user_us + system $nginx_paced_system_us)"

# storygate's HTTP side alone: the same server, load and credential, asked for
# ids it refuses with 400 before any query (the request's parsing, the
# credential, the route, an error reply and the access line; no database).
# Set beside the single-record figure, it splits that figure in two.
say "storygate without the database: wrk -t2 -c64 -d${duration}s, ids refused before any query"
wrk_run "$work/no-db-warm.out" 64 3 scripts/bench/refused-id.lua
server_cpu_before=$(cpu_ticks "$server_pid")
wrk_run "$work/no-db.out" 64 "$duration" scripts/bench/refused-id.lua
server_cpu_after=$(cpu_ticks "$server_pid")
grep -q 'Non-2xx or 3xx responses: ' "$work/no-db.out" || die "storygate did not refuse the ids of scripts/bench/refused-id.lua"
read -r no_db_rps _ <<<"$(wrk_stats "$work/no-db.out")"
no_db_requests=$(awk '/ requests in / { print $1 }' "$work/no-db.out")
read -r no_db_user_us no_db_system_us no_db_cpu_us \
    <<<"$(cpu_us_per_request "$server_cpu_before" "$server_cpu_after" "$no_db_requests")"
say "  storygate, no query: $no_db_rps req/s, $no_db_cpu_us us of CPU per request (user $no_db_user_us + system $no_db_system_us)"
read -r no_db_paced_rps no_db_paced_user_us no_db_paced_system_us no_db_paced_cpu_us \
    <<<"$(paced_cpu "$server_pid" "$work/no-db-paced.out" scripts/bench/refused-id.lua)"
say "  storygate, no query, at its single-record rate ($single_rps req/s): $no_db_paced_rps req/s, $no_db_paced_cpu_us us of CPU per request (user $no_db_paced_user_us + system $no_db_paced_system_us)"
say "  nginx: $nginx_rps req/s, p50 $nginx_p50 ms, p99 $nginx_p99 ms, $nginx_bytes bytes/reply, $nginx_cpu_us us of CPU per request (user $nginx_user_us + system $nginx_system_us); storygate/nginx $nginx_cpu_ratio"

# ---------------------------------------------------------------------------------------
# 4. List pages at random start
# ---------------------------------------------------------------------------------------
say "list pages: limit=100, random start, wrk -t2 -c$list_connections -d${duration}s"
log_mark=$(($(wc -l <"$server_log") + 1))
BENCH_LIMIT=100 wrk_run "$work/list.out" "$list_connections" "$duration" scripts/bench/random-page.lua --timeout 30s
read -r list_rps list_p50 list_p99 list_mbs list_bytes list_errors <<<"$(wrk_stats "$work/list.out")"
list_requests=$(awk '/ requests in / { print $1 }' "$work/list.out")
# HTTP statuses as storygate logged them (its request log lines carry "status":NNN;
# they reach the log within 100 ms). Only list requests: the tail of an earlier run's
# lines may still be arriving.
sleep 0.3
list_statuses=$(tail -n "+$log_mark" "$server_log" | grep -F '"path":"/api/v1/customers"' |
    grep -o '"status":[0-9]*' | sort | uniq -c |
    awk '{ printf "%s%s x%s", sep, substr($2, 10), $1; sep = ", " }' || true)
say "  $list_rps req/s, p50 $list_p50 ms, p99 $list_p99 ms, $list_mbs MB/s, $list_bytes bytes/reply, $list_requests requests, $list_errors errors (statuses: ${list_statuses:-?})"

# ---------------------------------------------------------------------------------------
# 5. Full sync
# ---------------------------------------------------------------------------------------
# page_ms FILE FROM TO: page times (ms) of lines FROM..TO (1-based) of a .pages file
page_ms() { awk -v a="$2" -v b="$3" 'NR >= a && NR <= b { print $2 * 1000 }' "$1"; }

# The floor: every row the walk delivered, in its order, by the very statement of a
# walk's first page (list_since) with no LIMIT: COPY (SELECT <the same statement>).
copy_sql=$(sed -e 's/\$1/'"'"'-infinity'"'"'/g; s/LIMIT \$2 OFFSET \$3/LIMIT ALL OFFSET 0/' "$work/list_since.sql")
[[ $copy_sql != *'$'[0-9]* ]] || die "the floor query still has parameters: $copy_sql"
# copy_run JIT: seconds to COPY every row to psql, with JIT on or off. No statement
# timeout: the whole table goes out.
copy_run() {
    local t0 rows secs
    t0=$(now_ms)
    rows=$(PGOPTIONS="$session_options -c statement_timeout=0 -c jit=$1" timeout 900 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$reader_url" \
        -c "COPY ($copy_sql) TO STDOUT" | wc -l)
    secs=$(num "($(now_ms) - $t0) / 1000" 2)
    say "  $secs s, $rows rows"
    ((rows == customers)) || die "COPY returned $rows rows, expected $customers"
    echo "$secs"
}

# Each walk is followed at once by its COPYs: this database machine's speed has moved
# by 60% within an hour, so a walk and the floor it is held to are measured side by
# side, round by round. The ratio printed is the best walk over the best COPY; each
# round's own ratio is printed beside it.
sync_best=""
copy_best=""
copy_jit=""
round_ratios=""
: >"$work/first.ms"
: >"$work/last.ms"
: >"$work/page1.ms"
cpu_mark
for ((r = 1; r <= sync_runs; r++)); do
    say "full sync $r/$sync_runs: $pages pages of $sync_limit, sequential, keep-alive"
    read -r secs records bad <<<"$(walk "sync$r")"
    say "  $secs s, $records records, $bad pages not 200"
    ((bad == 0)) || die "full sync: $bad pages were not 200 (see $work/sync$r.pages)"
    ((records == customers)) || die "full sync returned $records records, expected $customers"
    if [[ -z $sync_best ]] || awk "BEGIN { exit !($secs < $sync_best) }"; then sync_best=$secs; fi
    page_ms "$work/sync$r.pages" 1 5 >>"$work/first.ms"
    page_ms "$work/sync$r.pages" $((full_pages - 4)) "$full_pages" >>"$work/last.ms"
    page_ms "$work/sync$r.pages" 1 1 >>"$work/page1.ms"
    # Once as storygate's sessions run it (jit on, PostgreSQL's default) and once
    # without JIT, which this many correlated subqueries may not repay; the faster is
    # the floor.
    round_copy=""
    for jit in on off; do
        say "COPY $r/$sync_runs (jit=$jit): the first page's statement with LIMIT ALL, to psql"
        copy_secs=$(copy_run "$jit")
        if [[ -z $round_copy ]] || awk "BEGIN { exit !($copy_secs < $round_copy) }"; then round_copy=$copy_secs; fi
        if [[ -z $copy_best ]] || awk "BEGIN { exit !($copy_secs < $copy_best) }"; then copy_best=$copy_secs; copy_jit=$jit; fi
    done
    round_ratios+="${round_ratios:+, }$(num "$secs / $round_copy" 2)"
done
cpu_foreign
first_ms=$(median <"$work/first.ms")
last_ms=$(median <"$work/last.ms")
page1_ms=$(median <"$work/page1.ms")
page_ratio=$(num "$last_ms / $first_ms" 2)
peak_after_runs=$(vm_mb VmHWM)
stop_server
sync_ratio=$(num "$sync_best / $copy_best" 2)
say "full sync / COPY: best $sync_ratio; round by round $round_ratios"

# What the count costs: count_since runs on a walk's first page, count_changed on each
# keyset page (with the walk's baseline max(updated_at)).
baseline_max=$(PGOPTIONS="$session_options" "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 "$reader_url" \
    -c "$(sed -e 's/\$1/'"'"'-infinity'"'"'/g' "$work/count_since.sql")" | cut -d'|' -f2)
read -r _ count_first_ms _ <<<"$(pgbench_run 1 3 "$work/count_since.pgbench" -D p1=-infinity)"
read -r _ count_later_ms _ <<<"$(pgbench_run 1 3 "$work/count_changed.pgbench" -D "p1=$baseline_max" -D p2=-infinity)"
say "count: first page (count_since) $count_first_ms ms, keyset pages (count_changed > '$baseline_max') $count_later_ms ms"

scale_out_sync

# Every page by OFFSET, as a sync that lands on a restarted server or another replica
# is served until it can follow on: no keyset continuation at all. Only the first
# and the last five pages (a whole walk grows quadratically); each is bounded by
# storygate's statement timeout (a 504) and by curl's --max-time.
say "OFFSET only (--sync-cursor-limit 0): first and last 5 pages"
start_server naive --sync-cursor-limit 0
{
    for ((i = 0; i < 5; i++)); do printf 'url = "%s/api/v1/customers?limit=%d&start=%d"\n' "$base" "$sync_limit" $((i * sync_limit)); done
    for ((i = full_pages - 5; i < full_pages; i++)); do printf 'url = "%s/api/v1/customers?limit=%d&start=%d"\n' "$base" "$sync_limit" $((i * sync_limit)); done
} >"$work/naive.curl"
curl -sS --max-time 30 -H "$auth" -K "$work/naive.curl" -o /dev/null \
    -w '%{stderr}%{http_code} %{time_total} %{size_download}\n' 2>"$work/naive.pages" >/dev/null || true
stop_server
naive_first_ms=$(page_ms "$work/naive.pages" 1 5 | median)
naive_last_ms=$(page_ms "$work/naive.pages" 6 10 | median)
naive_ratio=$(num "$naive_last_ms / $naive_first_ms" 1)
naive_failed=$(awk 'NR > 5 && $1 != 200 { n++ } END { print n + 0 }' "$work/naive.pages")
naive_codes=$(awk 'NR > 5 { printf "%s%s", sep, $1; sep = "," }' "$work/naive.pages")
say "  first pages $naive_first_ms ms, last pages $naive_last_ms ms (statuses of the last: $naive_codes)"

# ---------------------------------------------------------------------------------------
# 6. Memory under 256 connections, on a fresh server
# ---------------------------------------------------------------------------------------
start_server memory
startup_memory_ms=$startup_ms
idle_mb=$(vm_mb VmHWM)
mem_seconds=$((duration / 2 > 10 ? duration / 2 : 10))
say "memory: wrk -t2 -c256 -d${mem_seconds}s on single records (fresh server, idle peak $idle_mb MB)"
wrk_run "$work/memory.out" 256 "$mem_seconds" scripts/bench/random-id.lua --timeout 10s
read -r mem_rps _ mem_p99 _ _ mem_errors <<<"$(wrk_stats "$work/memory.out")"
peak_mb=$(vm_mb VmHWM)
rss_after_mb=$(vm_mb VmRSS)
say "  peak RSS $peak_mb MB (RSS now $rss_after_mb MB); $mem_rps req/s, p99 $mem_p99 ms, $mem_errors errors"

# ---------------------------------------------------------------------------------------
# Optional: where the CPU goes on the single-record path
# ---------------------------------------------------------------------------------------
if ((profile)); then
    profile_out=$build/bench-profile.txt
    say "profile: perf record -e cpu-clock, whole machine, 10 s of wrk -c64 single records"
    BENCH_CUSTOMERS=$customers wrk -t2 -c64 -d12s -s scripts/bench/random-id.lua -H "$auth" "$base" >"$work/profile-wrk.out" 2>&1 &
    wrk_pid=$!
    background+=("$wrk_pid")
    sleep 1
    # perf tells threads apart, not processes, and other programs may be called storygate or
    # postgres too: note the thread ids that are ours (storygate, our cluster, this wrk).
    postmaster=$(head -n 1 "$work/pg/data/postmaster.pid")
    {
        for t in "/proc/$server_pid/task/"*; do echo "${t##*/} storygate"; done
        echo "$postmaster postgres"
        { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
            awk -v pm="$postmaster" '{ line = $0; sub(/^.*\) /, "", line); split(line, f, " "); if (f[2] == pm) print $1, "postgres" }'
        for t in "/proc/$wrk_pid/task/"*; do echo "${t##*/} wrk"; done
    } >"$work/profile-threads"
    perf record -q -e cpu-clock -F 1999 -a -o "$work/perf.data" -- sleep 10 >/dev/null 2>&1 ||
        say "perf record failed"
    wait "$wrk_pid" || true
    { perf report -i "$work/perf.data" --stdio --no-children -g none --sort pid,dso,sym 2>/dev/null || true; } |
        grep -v -e '^#' -e '^$' >"$work/perf-report.txt" || true
    # Lines: "  0.76%  8409:storygate  [kernel.kallsyms]  [k] finish_task_switch"
    # perf_summary split | perf_summary GROUP kinds | perf_summary GROUP top
    perf_summary() {
        awk -v want="$1" -v part="${2:-}" '
            NR == FNR { group[$1] = $2; next }
            {
                v = $1; sub("%", "", v); split($2, t, ":")
                g = (t[1] in group) ? group[t[1]] : (t[2] == "swapper" ? "idle" : "other processes")
                dso = $3; sym = $5; for (i = 6; i <= NF; i++) sym = sym " " $i
                if (want == "split") { share[g] += v; next }
                if (g != want) next
                if (want == "storygate") {
                    if (dso == "[kernel.kallsyms]") c = "kernel: syscalls, wake-ups, TCP"
                    else if (dso ~ /^libpq/) c = "libpq + libpqxx"
                    else if (dso ~ /^libc\.so/) c = "libc: malloc/free, memcpy, locks"
                    else if (dso ~ /^libcrypto/) c = "libcrypto: auth digest"
                    else if (dso == "storygate") {
                        if (sym ~ /rapidjson|json::|write_record/) c = "JSON writing"
                        else if (sym ~ /log::/) c = "request log"
                        else if (sym ~ /beast|asio/) c = "Beast/Asio: HTTP, strands, executors"
                        else c = "other storygate code"
                    } else c = "other libraries (" dso ")"
                    share[c] += v
                }
                top[dso " " $4 " " sym] += v
                total += v
            }
            END {
                if (want == "split") {
                    for (g in share) printf "%6.2f%%  %s\n", share[g], g
                    exit
                }
                if (part == "kinds")
                    for (c in share) printf "%6.2f%%  (%4.1f%% of storygate)  %s\n", share[c], total ? 100 * share[c] / total : 0, c
                else
                    for (k in top) printf "%6.2f%%  %s\n", top[k], substr(k, 1, 160)
            }
        ' "$work/profile-threads" "$work/perf-report.txt"
    }
    {
        echo "== CPU of the whole machine, 10 s of single-record load (cpu-clock samples) =="
        perf_summary split | sort -rn
        echo
        echo "== storygate, by kind, then its top symbols (% of the whole machine) =="
        perf_summary storygate kinds | sort -rn
        echo
        perf_summary storygate top | sort -rn | head -n 30 || true
        echo
        echo "== postgres (our cluster): top symbols =="
        perf_summary postgres top | sort -rn | head -n 20 || true
    } >"$profile_out"
    cat "$profile_out" >&2
fi
stop_server

# ---------------------------------------------------------------------------------------
# 6b. What one page of $sync_limit records adds to memory, on a fresh server for each
#     encoding: the peak RSS (VmHWM) after the page, less the peak before it
# ---------------------------------------------------------------------------------------
# page_memory ENCODING: sets page_added_kb and page_body_bytes (as sent).
page_memory() {
    local encoding=$1 before after i
    start_server "page-$encoding"
    # Warm first: the allocator's arenas and libpq's buffers are there before the page.
    for ((i = 0; i < 20; i++)); do
        curl -s -o /dev/null -H "$auth" "$base/api/v1/customers?limit=10&start=$((i * 10))"
    done
    before=$(vm_kb VmHWM)
    page_body_bytes=$(curl -s -H "$auth" -H "Accept-Encoding: $encoding" -o "$work/page-$encoding.body" \
        -w '%{size_download}' "$base/api/v1/customers?limit=$sync_limit&start=$sync_limit")
    after=$(vm_kb VmHWM)
    page_added_kb=$((after - before))
    stop_server
}
page_memory identity
page_json_bytes=$page_body_bytes
page_plain_kb=$page_added_kb
page_memory gzip
page_gzip_bytes=$page_body_bytes
page_gzip_kb=$page_added_kb
page_json_kb=$(num "$page_json_bytes / 1024" 0)
page_plain_ratio=$(num "$page_plain_kb / ($page_json_bytes / 1024)" 2)
page_gzip_ratio=$(num "$page_gzip_kb / ($page_json_bytes / 1024)" 2)
say "page memory: one page of $sync_limit records, $page_json_kb KB of JSON ($(num "$page_gzip_bytes / 1024" 0) KB gzip)"
say "  adds $page_plain_kb KB to peak RSS plain ($page_plain_ratio of its size), $page_gzip_kb KB gzip ($page_gzip_ratio)"

# ---------------------------------------------------------------------------------------
# 7. Summary
# ---------------------------------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
total_s=$(num "($(now_ms) - $run_started) / 1000" 0)
{
    echo "storygate benchmark — $customers customers, $cpu, $cores cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'single record   storygate %s req/s p50 %s ms p99 %s ms | pgbench prepared %s tps | ratio %s/%s = %s (target >= 0.6: %s)\n' \
        "$single_rps" "$single_p50" "$single_p99" "$(num "$pg_tps" 0)" "$single_rps" "$(num "$pg_tps" 0)" "$single_ratio" "$(verdict "$single_ratio >= 0.6")"
    printf 'request path    storygate CPU %s us/request, user %s + system %s (target <= 15: %s); p99/p50 %s (target <= 2.5: %s); vs pgbench bare primary-key lookup %s tps: %s; vs its own statement: %s (target >= 0.8: %s)\n' \
        "$single_cpu_us" "$single_user_us" "$single_system_us" "$(verdict "$single_cpu_us <= 15")" "$single_tail" "$(verdict "$single_tail <= 2.5")" "$(num "$pk_tps" 0)" "$single_pk_ratio" "$single_ratio" "$(verdict "$single_ratio >= 0.8")"
    printf 'HTTP floor      nginx answering the same reply (return 200, no file): %s us of CPU/request, user %s + system %s, %s req/s, p99/p50 %s (%s ms / %s ms); storygate/nginx CPU %s\n' \
        "$nginx_cpu_us" "$nginx_user_us" "$nginx_system_us" "$nginx_rps" "$nginx_tail" "$nginx_p99" "$nginx_p50" "$nginx_cpu_ratio"
    printf 'HTTP side       storygate refusing ids with 400 before any query: %s us of CPU/request, user %s + system %s, %s req/s, over nginx %s; a record costs %s us more (its query, rows and JSON, and waiting on the database)\n' \
        "$no_db_cpu_us" "$no_db_user_us" "$no_db_system_us" "$no_db_rps" "$(num "$no_db_cpu_us / $nginx_cpu_us" 2)" "$(num "$single_cpu_us - $no_db_cpu_us" 1)"
    printf 'same rate       at the single-record rate (%s req/s): nginx %s us of CPU/request (user %s + system %s, %s req/s), storygate refusing %s us (user %s + system %s, %s req/s); a record %s x nginx, refusing %s x nginx; a record costs %s us more than a refusal\n' \
        "$single_rps" "$nginx_paced_cpu_us" "$nginx_paced_user_us" "$nginx_paced_system_us" "$nginx_paced_rps" \
        "$no_db_paced_cpu_us" "$no_db_paced_user_us" "$no_db_paced_system_us" "$no_db_paced_rps" \
        "$(num "$single_cpu_us / $nginx_paced_cpu_us" 2)" "$(num "$no_db_paced_cpu_us / $nginx_paced_cpu_us" 2)" "$(num "$single_cpu_us - $no_db_paced_cpu_us" 1)"
    printf 'full sync       API %s s vs COPY %s s (jit=%s): ratio %s (target <= 1.2: %s; each round %s); last/first page latency %s (%s ms / %s ms, target <= 1.5: %s; page 1 alone %s ms); count: first page %s ms, later pages %s ms\n' \
        "$sync_best" "$copy_best" "$copy_jit" "$sync_ratio" "$(verdict "$sync_ratio <= 1.2")" "$round_ratios" "$page_ratio" "$(num "$last_ms" 1)" "$(num "$first_ms" 1)" "$(verdict "$page_ratio <= 1.5")" "$(num "$page1_ms" 1)" "$count_first_ms" "$count_later_ms"
    scale_out_line
    printf 'list limit=100  %s req/s p99 %s ms, %s MB/s (%s bytes/reply, JSON and headers); statuses %s; random start 0..%s (OFFSET), %s connections\n' \
        "$list_rps" "$list_p99" "$list_mbs" "$list_bytes" "${list_statuses:-?}" $((customers - 100)) "$list_connections"
    printf 'OFFSET only     limit=%s, --sync-cursor-limit 0: first pages %s ms, last pages %s ms: last/first %s; %s of 5 last pages failed (statuses %s)\n' \
        "$sync_limit" "$(num "$naive_first_ms" 1)" "$(num "$naive_last_ms" 1)" "$naive_ratio" "$naive_failed" "$naive_codes"
    printf 'memory          peak RSS %s MB at 256 connections (target <= 24 MB: %s); fresh server idle %s MB; after the runs above %s MB\n' \
        "$peak_mb" "$(verdict "$peak_mb <= 24")" "$idle_mb" "$peak_after_runs"
    printf 'page memory     one page of %s records (%s KB of JSON) adds %s KB to peak RSS: %s of its size (target <= 1.0: %s); gzip %s KB: %s\n' \
        "$sync_limit" "$page_json_kb" "$page_plain_kb" "$page_plain_ratio" "$(verdict "$page_plain_ratio <= 1.0")" "$page_gzip_kb" "$page_gzip_ratio"
    printf 'start-up        %s ms to first 200 (exec -> GET /api/v1/customer/%s; another start: %s ms)\n' \
        "$startup_bench_ms" "$first_id" "$startup_memory_ms"
    printf 'setup           load %s s + VACUUM (FREEZE, ANALYZE) %s s, %s%% of pages all-visible; --db-pool-size %s; wrk 2 threads, %s s runs; pgbench at %s clients: %s tps; whole run %s s\n' \
        "$load_s" "$vacuum_s" "$all_visible" "$pool_size" "$duration" "$pool_size" "$(num "$pg_pool_tps" 0)" "$total_s"
    echo "build           ${version:-storygate} ($commit)"
    if ((foreign_max >= 5)); then
        echo "WARNING         other processes used up to $foreign_max% of the CPU during a measurement: the numbers above are low"
    else
        echo "machine         quiet: other processes used at most $foreign_max% of the CPU during the measurements"
    fi
} >"$results"
echo
cat "$results"
say "summary written to $results; logs of this run go to $build/bench-logs/"
