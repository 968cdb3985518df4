#!/bin/bash
# storygate-healthcheck [PATH]: the container image's HEALTHCHECK, without curl.
#
# Sends GET PATH (default /healthz) to storygate on 127.0.0.1, port $STORYGATE_PORT
# (default 8080, as storygate's own default), through bash's /dev/tcp, and exits 0 only
# when the answer's status is 200. Needs nothing but bash. If storygate listens on an
# address other than 0.0.0.0 or 127.0.0.1, set STORYGATE_HEALTHCHECK_HOST.
#
#   storygate-healthcheck            liveness  (the Dockerfile's HEALTHCHECK)
#   storygate-healthcheck /readyz    readiness (the database is reachable, the mapping loaded)
set -u

path=${1:-/healthz}
host=${STORYGATE_HEALTHCHECK_HOST:-127.0.0.1}
port=${STORYGATE_PORT:-8080}

fail() {
    echo "storygate-healthcheck: $*" >&2
    exit 1
}

{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || fail "cannot connect to $host:$port"
printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: storygate-healthcheck\r\nConnection: close\r\n\r\n' \
    "$path" "$host" "$port" >&3 || fail "cannot send the request to $host:$port"
IFS= read -r -t 2 status <&3 || fail "no answer from $host:$port within 2 s"
exec 3<&-
status=${status%$'\r'}
[[ $status =~ ^HTTP/1\.[01]\ 200( |$) ]] || fail "GET $path answered: $status"
echo "storygate-healthcheck: GET $path: $status"
