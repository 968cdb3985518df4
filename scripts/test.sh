#!/usr/bin/env bash
# The README's test command: installs what the build needs, builds, starts a
# throwaway PostgreSQL of its own, runs every test under CTest, stops it.
#   scripts/test.sh            # the whole suite
#   scripts/test.sh -L unit    # extra arguments go to ctest (and skip the
#                              # sanitizer and fuzzing runs a full run adds)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/install-deps.sh
# The OpenAPI validator that tests/integration/openapi_test.cpp runs (Node.js):
# exactly the versions in tests/openapi/package-lock.json.
(cd tests/openapi && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

build_dir=${STORYGATE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${STORYGATE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# The cluster lives under /tmp: the postgres user must reach its folder.
cluster_dir=$(mktemp -d /tmp/storygate-test-pg.XXXXXX)
chmod 755 "$cluster_dir"
cleanup() { "$repo/scripts/pg-cluster.sh" destroy "$cluster_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
# A fixed port below Linux's range for outgoing connections; the next ones
# when another cluster holds it.
first_port=${STORYGATE_TEST_PG_PORT:-25434}
url=""
for port in $(seq "$first_port" $((first_port + 20))); do
  if url=$(scripts/pg-cluster.sh start "$cluster_dir" "$port" | tail -n 1); then break; fi
  url=""
done
[ -n "$url" ] || { echo "test.sh: could not start PostgreSQL on ports $first_port-$((first_port + 20))" >&2; exit 1; }
export STORYGATE_TEST_DATABASE_URL="$url"

(cd "$build_dir" && ctest --output-on-failure --timeout 600 "$@")

# A full run (no ctest arguments) goes on, while the cluster is still up:
# the Debian package installed in a fresh Debian root, the suite again under
# ASan+UBSan and the concurrency tests under TSan, then a short fixed-length
# run of each fuzzer.
if [ $# -eq 0 ]; then
  "$repo/tests/deploy/package-install.sh"
  "$repo/scripts/sanitizers.sh"
  "$repo/scripts/fuzz.sh" 20
fi
