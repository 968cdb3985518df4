#!/usr/bin/env bash
# instructions.sh: storygate's own user-space instructions per single-record request,
# counted by callgrind. Unlike CPU time, the count hardly moves from run to run or from
# machine to machine, so two builds can be compared on a busy machine; it leaves out the
# kernel's share (the sockets), which scripts/bench.sh measures with the rest.
#
#   scripts/bench/instructions.sh DATABASE_URL CUSTOMERS [BINARY...]
#
# DATABASE_URL is a database made by scripts/demo-database.sql with CUSTOMERS customers,
# read as its storygate_reader role; BINARY defaults to build/storygate. With several
# binaries each is measured in turn, e.g. a build of main beside a change:
#
#   scripts/bench/instructions.sh postgresql://storygate_reader@127.0.0.1:25500/bench 20000 \
#       /tmp/base/build/storygate build/storygate
#
# Each binary serves on 127.0.0.1 under valgrind; wrk warms it for 3 s with 16 connections,
# callgrind's counts are zeroed, wrk runs 10 s more, the counts are dumped: their total
# over the requests wrk saw answered is the figure. Prints one line per binary.
set -euo pipefail
cd "$(dirname "$0")/../.."

url=${1:?usage: instructions.sh DATABASE_URL CUSTOMERS [BINARY...]}
customers=${2:?usage: instructions.sh DATABASE_URL CUSTOMERS [BINARY...]}
shift 2
binaries=("$@")
((${#binaries[@]})) || binaries=(build/storygate)
for tool in valgrind callgrind_control wrk curl; do
    command -v "$tool" >/dev/null || { echo "instructions.sh: needs $tool" >&2; exit 2; }
done

port=${STORYGATE_INSTRUCTIONS_PORT:-25590}
token=instructions-token-instructions-token-0123
auth="Authorization: Bearer $token"
work=$(mktemp -d)
server=""
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

load() { # SECONDS OUT
    BENCH_CUSTOMERS=$customers wrk -t1 -c16 -d"$1s" -s scripts/bench/random-id.lua -H "$auth" \
        "http://127.0.0.1:$port" >"$2"
}

for binary in "${binaries[@]}"; do
    rm -f "$work"/callgrind.out*
    STORYGATE_BEARER_TOKENS=$token STORYGATE_DATABASE_URL=$url \
        valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --dump-instr=no \
        "$binary" serve --mapping mappings/demo.yaml --listen 127.0.0.1 --port "$port" \
        --db-pool-size 4 2>"$work/server.log" &
    server=$!
    for ((i = 0; i < 300; i++)); do
        curl -sf -o /dev/null -H "$auth" "http://127.0.0.1:$port/api/v1/customer/244988" && break
        kill -0 "$server" 2>/dev/null || { tail -n 20 "$work/server.log" >&2; exit 1; }
        sleep 0.2
    done
    load 3 "$work/warm.out"
    callgrind_control --zero "$server" >/dev/null 2>&1
    load 10 "$work/wrk.out"
    callgrind_control --dump "$server" >/dev/null 2>&1
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
    requests=$(awk '/ requests in / { print $1 }' "$work/wrk.out")
    errors=$(grep -cE 'Non-2xx|Socket errors' "$work/wrk.out" || true)
    # The dump after the zeroing: callgrind.out.1 (callgrind.out itself is the rest, to exit).
    instructions=$(awk '/^summary:/ { print $2 }' "$work/callgrind.out.1")
    printf '%s: %d instructions per request (%d requests under callgrind%s)\n' "$binary" \
        "$((instructions / requests))" "$requests" "$( ((errors)) && echo ", wrk reported errors")"
done
