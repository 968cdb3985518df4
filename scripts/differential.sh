#!/usr/bin/env bash
# More seeds of the differential tester (tests/differential/) than CI runs, by hand:
#   scripts/differential.sh N          N seeds from a random first one
#   scripts/differential.sh N FIRST    seeds FIRST .. FIRST+N-1 (to repeat a run)
# Builds, starts a throwaway PostgreSQL 15 of its own (or uses
# STORYGATE_TEST_DATABASE_URL when set, e.g. another major), and prints the
# seed range, how many failed and how long it took. A failing seed prints its
# schema, mapping, request and both answers; rerun it alone with
#   STORYGATE_DIFFERENTIAL_SEEDS=SEED build/tests/storygate_differential_tests
# and keep it (tests/differential/regressions_test.cpp, or the fixed seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

count=${1:?usage: scripts/differential.sh N [FIRST]}
first=${2:-$(( (RANDOM << 15 | RANDOM) + 1000 ))}

scripts/install-deps.sh
build_dir=${STORYGATE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${STORYGATE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target storygate storygate_differential_tests

if [ -z "${STORYGATE_TEST_DATABASE_URL:-}" ]; then
  cluster_dir=$(mktemp -d /tmp/storygate-differential-pg.XXXXXX)
  chmod 755 "$cluster_dir"
  cleanup() { "$repo/scripts/pg-cluster.sh" destroy "$cluster_dir" >/dev/null 2>&1 || true; }
  trap cleanup EXIT INT TERM
  first_port=${STORYGATE_TEST_PG_PORT:-25460}
  url=""
  for port in $(seq "$first_port" $((first_port + 20))); do
    if url=$(scripts/pg-cluster.sh start "$cluster_dir" "$port" | tail -n 1); then break; fi
    url=""
  done
  [ -n "$url" ] || { echo "differential.sh: could not start PostgreSQL on ports $first_port-$((first_port + 20))" >&2; exit 1; }
  export STORYGATE_TEST_DATABASE_URL="$url"
fi

echo "differential.sh: seeds $first..$((first + count - 1)) against $(psql "$STORYGATE_TEST_DATABASE_URL" -Atc 'SHOW server_version')"
started=$(date +%s)
status=0
STORYGATE_DIFFERENTIAL_SEEDS="$(seq -s ' ' "$first" $((first + count - 1)))" \
  "$build_dir/tests/storygate_differential_tests" --gtest_filter='Seeds/*' --gtest_brief=1 || status=$?
echo "differential.sh: $count seeds from $first in $(( $(date +%s) - started )) s, exit status $status"
exit $status
