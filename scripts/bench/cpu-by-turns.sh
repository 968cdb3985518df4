#!/usr/bin/env bash
# cpu-by-turns.sh: storygate's own CPU per single-record request, for several builds run
# by turns. One build's figure moves by a microsecond or more from one run to the next
# (the database machine's speed moves too), often more than a change to the request path
# is worth; builds run one after the other, round after round, share whatever the machine
# did meanwhile, and the mean of several rounds says which uses less.
#
#   scripts/bench/cpu-by-turns.sh DATABASE_URL CUSTOMERS ROUNDS BINARY...
#
# DATABASE_URL is a database made by scripts/demo-database.sql with CUSTOMERS customers,
# read as its storygate_reader role. Each round runs every BINARY in the order given:
# started afresh on 127.0.0.1 with --db-pool-size 2 (one connection per I/O thread, as
# scripts/bench.sh runs it), warmed by wrk for 3 s, then measured over a wrk run of
# STORYGATE_TURN_SECONDS (10) seconds, 2 threads and 64 connections: the process's user
# and system time from /proc, over the requests wrk saw answered. The first round warms
# the database's cache and is printed but left out of the means. A BINARY may be a
# script that execs storygate (e.g. with LD_PRELOAD), its arguments passed on.
#
# STORYGATE_TURN_SCRIPT names another wrk script for the load, e.g.
# scripts/bench/refused-id.lua for storygate's HTTP side alone (ids refused before any
# query; wrk then reports the 400s as non-2xx, and each line says so).
#
# Prints a line per run, then per binary the mean, lowest and highest of the counted
# rounds, and each binary's mean over the first's.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage="usage: cpu-by-turns.sh DATABASE_URL CUSTOMERS ROUNDS BINARY..."
url=${1:?$usage}
customers=${2:?$usage}
rounds=${3:?$usage}
shift 3
binaries=("$@")
((${#binaries[@]})) || { echo "$usage" >&2; exit 2; }
((rounds >= 2)) || { echo "cpu-by-turns.sh: at least 2 rounds (the first is left out)" >&2; exit 2; }
for tool in wrk curl awk; do
    command -v "$tool" >/dev/null || { echo "cpu-by-turns.sh: needs $tool" >&2; exit 2; }
done

seconds=${STORYGATE_TURN_SECONDS:-10}
script=${STORYGATE_TURN_SCRIPT:-scripts/bench/random-id.lua}
port=${STORYGATE_TURN_PORT:-25591}
token=by-turns-token-by-turns-token-0123456
auth="Authorization: Bearer $token"
ticks=$(getconf CLK_TCK)
work=$(mktemp -d)
server=""
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

load() { # SECONDS OUT
    BENCH_CUSTOMERS=$customers wrk -t2 -c64 -d"$1s" -s "$script" -H "$auth" \
        "http://127.0.0.1:$port" >"$2"
}
cpu_ticks() { # PID: user and system clock ticks so far, all threads
    awk '{ print $14, $15 }' "/proc/$1/stat"
}

for ((round = 1; round <= rounds; round++)); do
    for index in "${!binaries[@]}"; do
        binary=${binaries[$index]}
        STORYGATE_BEARER_TOKENS=$token STORYGATE_DATABASE_URL=$url \
            "$binary" serve --mapping mappings/demo.yaml --listen 127.0.0.1 --port "$port" \
            --db-pool-size 2 2>"$work/server.log" &
        server=$!
        for ((i = 0; i < 100; i++)); do
            curl -sf -o /dev/null -H "$auth" "http://127.0.0.1:$port/api/v1/customer/244988" && break
            kill -0 "$server" 2>/dev/null || { tail -n 20 "$work/server.log" >&2; exit 1; }
            sleep 0.1
        done
        load 3 "$work/warm.out"
        read -r user0 system0 < <(cpu_ticks "$server")
        load "$seconds" "$work/wrk.out"
        read -r user1 system1 < <(cpu_ticks "$server")
        kill "$server"
        wait "$server" 2>/dev/null || true
        server=""
        requests=$(awk '/ requests in / { print $1 }' "$work/wrk.out")
        errors=$(grep -cE 'Non-2xx|Socket errors' "$work/wrk.out" || true)
        ((requests > 0)) || { echo "cpu-by-turns.sh: $binary answered no request" >&2; exit 1; }
        read -r user system < <(awk -v u=$((user1 - user0)) -v s=$((system1 - system0)) -v t="$ticks" \
            -v n="$requests" 'BEGIN { printf "%.2f %.2f\n", u * 1e6 / t / n, s * 1e6 / t / n }')
        echo "$round $index $user $system" >>"$work/runs"
        printf 'round %d%s  %s: %.1f us of CPU per request, user %s + system %s (%d requests%s)\n' \
            "$round" "$( ((round == 1)) && echo ' (warming, not counted)')" "$binary" \
            "$(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')" "$user" "$system" "$requests" \
            "$( ((errors)) && echo ", wrk reported errors")"
    done
done

echo "rounds 2 to $rounds, ${seconds} s each, wrk -t2 -c64 -s $script, --db-pool-size 2:"
mean_of() { # INDEX: the mean CPU per request of that binary's counted rounds
    awk -v i="$1" '$1 > 1 && $2 == i { sum += $3 + $4; n++ } END { printf "%.4f\n", sum / n }' "$work/runs"
}
first_mean=$(mean_of 0)
for index in "${!binaries[@]}"; do
    awk -v i="$index" -v name="${binaries[$index]}" -v first="$first_mean" '
        $1 > 1 && $2 == i {
            total = $3 + $4; n++; sum += total; user += $3; kernel += $4
            if (n == 1 || total < low) low = total
            if (n == 1 || total > high) high = total
        }
        END {
            printf "%s: mean %.1f us (user %.1f + system %.1f), lowest %.1f, highest %.1f", name, sum / n,
                   user / n, kernel / n, low, high
            if (i > 0) printf "; over the first: %.3f", (sum / n) / first
            printf "\n"
        }' "$work/runs"
done
