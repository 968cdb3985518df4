#!/usr/bin/env bash
# demo.sh: build storygate and serve a demo legacy database as DailyStory's API.
#
#   scripts/demo.sh            (as root; Ctrl-C stops everything it started)
#
# Steps: install the Debian packages (scripts/install-deps.sh), build the server (CMake,
# Release, target storygate only),
# start a throwaway PostgreSQL cluster in a new directory under /tmp, create database
# "demo" and fill it with scripts/demo-database.sql, make a random bearer token, print
# curl commands to try, and run `storygate serve` with mappings/demo.yaml in the
# foreground. On exit (Ctrl-C, kill, or the server stopping) it stops the server and
# deletes the cluster.
#
# Environment:
#   DEMO_PORT       HTTP port of storygate          (default 8080)
#   DEMO_PG_PORT    port of the demo PostgreSQL     (default 25433)
#   DEMO_CUSTOMERS  customers in the demo database  (default 5000)
#   PG_BIN          PostgreSQL binaries             (default /usr/lib/postgresql/15/bin)
set -euo pipefail

cd "$(dirname "$0")/.."
DEMO_PORT=${DEMO_PORT:-8080}
DEMO_PG_PORT=${DEMO_PG_PORT:-25433}
DEMO_CUSTOMERS=${DEMO_CUSTOMERS:-5000}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_BIN

say() { echo "demo: $*" >&2; }

scripts/install-deps.sh

# Only the server: the test suites (most of a full build's time) are scripts/test.sh's.
# --target rather than -DSTORYGATE_BUILD_TESTS=OFF, which would stay in build/'s cache
# and leave scripts/test.sh, which shares the directory, without its tests.
say "building storygate (cmake, Release)"
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target storygate; }; then
    say "build failed; see the errors above"
    exit 1
fi
[[ -x build/storygate ]] || { say "build/storygate was not built"; exit 1; }

pgdir=""
server_pid=""
cleaned=0
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local rc=$?
    ((cleaned)) && return
    cleaned=1
    trap '' INT TERM
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        say "stopping storygate (PID $server_pid)"
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n $pgdir ]]; then
        say "removing the demo database cluster"
        scripts/pg-cluster.sh destroy "$pgdir" || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pgdir=$(mktemp -d /tmp/storygate-demo.XXXXXX)
chmod 755 "$pgdir"
scripts/pg-cluster.sh start "$pgdir" "$DEMO_PG_PORT" >/dev/null
admin_url="postgresql://postgres@127.0.0.1:$DEMO_PG_PORT"

say "loading the demo database ($DEMO_CUSTOMERS customers)"
"$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 "$admin_url/postgres" -c 'CREATE DATABASE demo'
"$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -v customers="$DEMO_CUSTOMERS" \
    -f scripts/demo-database.sql "$admin_url/demo" >/dev/null

if command -v openssl >/dev/null 2>&1; then
    token=$(openssl rand -hex 24)
else
    token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
fi

base="http://127.0.0.1:$DEMO_PORT"
cat <<EOF

storygate demo
  API:       $base  (mapping: mappings/demo.yaml)
  database:  postgresql://storygate_reader@127.0.0.1:$DEMO_PG_PORT/demo  (read-only role)
             admin: psql $admin_url/demo
  token:     $token

Try, from another terminal:
  TOKEN=$token
  curl -H "Authorization: Bearer \$TOKEN" $base/api/v1/customer/244988
  curl -H "Authorization: Bearer \$TOKEN" "$base/api/v1/customers?last_updated=2024-06-01T00:00:00&limit=5"
  curl -H "Authorization: Bearer \$TOKEN" "$base/api/v1/customers?last_updated=2024-06-01T00:00:00&start=5&limit=5"
  curl -H "Authorization: Bearer \$TOKEN" $base/api/v1/customer/1          # not found
  curl $base/api/v1/customer/244988                                         # no credentials

Press Ctrl-C to stop the server and delete the demo database.

EOF

STORYGATE_BEARER_TOKENS="$token" \
    STORYGATE_DATABASE_URL="postgresql://storygate_reader@127.0.0.1:$DEMO_PG_PORT/demo" \
    build/storygate serve --mapping mappings/demo.yaml --listen 127.0.0.1 --port "$DEMO_PORT" &
server_pid=$!
# `wait` returns early when INT or TERM arrives, so the traps run at once.
rc=0
wait "$server_pid" || rc=$?
server_pid=""
say "storygate exited with status $rc"
exit "$rc"
