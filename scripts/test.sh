#!/usr/bin/env bash
# The README's test command: installs what the build needs, builds, starts a
# throwaway PostgreSQL of its own, runs every test under CTest, stops it.
#   scripts/test.sh            # the whole suite
#   scripts/test.sh -L unit    # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build_dir=${STORYGATE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${STORYGATE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# The cluster lives under /tmp: the postgres user must reach its folder.
cluster_dir=$(mktemp -d /tmp/storygate-test-pg.XXXXXX)
chmod 755 "$cluster_dir"
port=${STORYGATE_TEST_PG_PORT:-25434}
cleanup() { scripts/pg-cluster.sh destroy "$cluster_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
url=$(scripts/pg-cluster.sh start "$cluster_dir" "$port" | tail -n 1)
export STORYGATE_TEST_DATABASE_URL="$url"

cd "$build_dir"
ctest --output-on-failure --timeout 600 "$@"
