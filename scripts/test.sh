#!/usr/bin/env bash
# The README's test command: installs what the build needs, builds, starts a
# throwaway PostgreSQL of its own, runs every test under CTest, stops it.
#   scripts/test.sh            # the whole suite
#   scripts/test.sh -L unit    # extra arguments go to ctest (and skip the
#                              # sanitizer and fuzzing runs a full run adds)
#
# Every test runs on PostgreSQL 15 (Debian's). The tests labelled every-major
# then run again on each other major, 10 to 18, from tests/pg-versions: a full
# run does all of them, a run with ctest arguments none, unless
# STORYGATE_PG_MAJORS names some:
#   STORYGATE_PG_MAJORS="10 18" scripts/test.sh -R ApiTest   # ApiTest on 15, 10 and 18
#   STORYGATE_PG_MAJORS="" scripts/test.sh                   # a full run on 15 only
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

# The majors tests/pg-versions/package.json pins as "pgNN" (15 is Debian's).
pinned_majors=$(sed -n 's/^ *"pg\([0-9][0-9]*\)": .*/\1/p' tests/pg-versions/package.json | tr '\n' ' ')
pinned_majors=${pinned_majors% }
if [ -n "${STORYGATE_PG_MAJORS+set}" ]; then
  majors=""
  for major in $STORYGATE_PG_MAJORS; do
    if [ "$major" = 15 ]; then continue; fi  # the main run is on 15
    case " $pinned_majors " in
      *" $major "*) majors="$majors $major" ;;
      *) echo "test.sh: STORYGATE_PG_MAJORS: no PostgreSQL $major here (pinned: 15 $pinned_majors)" >&2; exit 2 ;;
    esac
  done
elif [ $# -eq 0 ]; then
  majors=$pinned_majors
else
  majors=""
fi

scripts/install-deps.sh
# The OpenAPI validator that tests/integration/openapi_test.cpp runs (Node.js):
# exactly the versions in tests/openapi/package-lock.json.
(cd tests/openapi && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
# The other majors' server binaries, exactly as tests/pg-versions/package-lock.json
# pins them. Their libraries' symbolic links are kept in a list: a package
# restores them itself after install, unless npm runs no scripts.
if [ -n "$majors" ]; then
  (cd tests/pg-versions && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  for major in $majors; do
    (cd "tests/pg-versions/node_modules/pg$major" && node scripts/hydrate-symlinks.js)
  done
fi

build_dir=${STORYGATE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${STORYGATE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# A fixed port below Linux's range for outgoing connections; the next ones
# when another cluster holds it.
first_port=${STORYGATE_TEST_PG_PORT:-25434}

# start_cluster DIR MAJOR [FIRST_PORT]: a throwaway cluster of MAJOR in DIR (under
# /tmp: the postgres user must reach it), on the first free port from FIRST_PORT;
# prints its URL.
start_cluster() {
  local dir=$1 major=$2 from=${3:-$first_port} port url
  chmod 755 "$dir"
  for port in $(seq "$from" $((from + 20))); do
    if url=$(PG_MAJOR=$major scripts/pg-cluster.sh start "$dir" "$port" | tail -n 1); then
      echo "$url"
      return 0
    fi
  done
  echo "test.sh: could not start PostgreSQL $major on ports $from-$((from + 20))" >&2
  return 1
}

cluster_dir=$(mktemp -d /tmp/storygate-test-pg.XXXXXX)
major_dir=""
major=15
cleanup() {
  "$repo/scripts/pg-cluster.sh" destroy "$cluster_dir" >/dev/null 2>&1 || true
  if [ -n "$major_dir" ]; then PG_MAJOR=$major "$repo/scripts/pg-cluster.sh" destroy "$major_dir" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT INT TERM
url=$(start_cluster "$cluster_dir" 15)
export STORYGATE_TEST_DATABASE_URL="$url"

(cd "$build_dir" && ctest --output-on-failure --timeout 600 "$@")

# The every-major tests on each other major, each against a cluster of its
# own, while 15's stays up for what follows. Every major runs even when one
# fails; the run fails at the end if any did.
failed_majors=""
if [ -n "$majors" ]; then
  loop_start=$SECONDS
  for major in $majors; do
    major_start=$SECONDS
    major_dir=$(mktemp -d /tmp/storygate-test-pg$major.XXXXXX)
    # 15's cluster keeps the first port: the others start after it.
    if major_url=$(start_cluster "$major_dir" "$major" $((first_port + 1))) &&
      (cd "$build_dir" && STORYGATE_TEST_DATABASE_URL="$major_url" \
        ctest --output-on-failure --timeout 600 -L every-major "$@"); then
      echo "test.sh: PostgreSQL $major: every-major tests passed in $((SECONDS - major_start)) s"
    else
      echo "test.sh: PostgreSQL $major: FAILED (after $((SECONDS - major_start)) s)" >&2
      failed_majors="$failed_majors $major"
    fi
    PG_MAJOR=$major scripts/pg-cluster.sh destroy "$major_dir" >/dev/null 2>&1 || true
    major_dir=""
  done
  echo "test.sh: the every-major tests on PostgreSQL $(echo $majors) took $((SECONDS - loop_start)) s"
fi
if [ -n "$failed_majors" ]; then
  echo "test.sh: the every-major tests failed on PostgreSQL$failed_majors" >&2
  exit 1
fi

# A full run (no ctest arguments) goes on, while the cluster is still up:
# the Debian package installed in a fresh Debian root, the suite again under
# ASan+UBSan and the concurrency tests under TSan, then a short fixed-length
# run of each fuzzer.
if [ $# -eq 0 ]; then
  "$repo/tests/deploy/package-install.sh"
  "$repo/scripts/sanitizers.sh"
  "$repo/scripts/fuzz.sh" 20
fi
