#!/usr/bin/env bash
# sanitizers.sh: the test suite again, built with clang 14's sanitizers.
#
#   1. ASan + UBSan, in build-asan/: everything instrumented (storygate, the
#      library, both test executables); the whole suite, unit and integration.
#   2. TSan, in build-tsan/: the integration tests that drive the server's
#      threads hardest (many connections at once, reload under load, database
#      faults while requests are in flight). See tsan_tests below.
#
#   scripts/sanitizers.sh            # both
#   scripts/sanitizers.sh asan       # or: tsan
#
# The integration tests need the PostgreSQL of STORYGATE_TEST_DATABASE_URL.
# scripts/test.sh exports it while its cluster runs and calls this script after
# its own ctest run. By hand:
#
#   scripts/pg-cluster.sh start /tmp/san-pg 25480
#   STORYGATE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:25480/postgres scripts/sanitizers.sh
#   scripts/pg-cluster.sh destroy /tmp/san-pg
#
# Every report, from a test executable or from a storygate it started (the
# child inherits the *SAN_OPTIONS below), is written to
# build-{asan,tsan}/sanitizer-logs/ as well as ending that process. Any report
# fails the run, and all of them are printed at the end, symbolized, whether or
# not the test that provoked it noticed (a server killed by a report mid-test
# may look like a timeout).
#
# Environment: STORYGATE_SANITIZER_CTEST_ARGS, extra arguments for both ctest
# runs (e.g. "-R ApiTest").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

what=${1:-all}
case $what in
    all | asan | tsan) ;;
    *) echo "usage: $0 [all|asan|tsan]" >&2; exit 2 ;;
esac

if [[ -z ${STORYGATE_TEST_DATABASE_URL:-} ]]; then
    echo "sanitizers.sh: STORYGATE_TEST_DATABASE_URL is not set; the integration tests need a" \
         "running cluster (scripts/test.sh provides one; see the top of this script)" >&2
    exit 2
fi

# clang and its runtimes (sanitizers), and llvm-symbolizer for readable stacks.
scripts/install-deps.sh clang-14 libclang-rt-14-dev llvm-14

jobs=$(nproc)
read -r -a extra_ctest_args <<<"${STORYGATE_SANITIZER_CTEST_ARGS:-}"
supp=$root/scripts/sanitizers
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
failed=()

elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# configure BUILD_DIR SANITIZER_FLAGS: -O1 -g keeps stacks exact at a fraction of
# -O0's cost; no NDEBUG, so asserts are on.
configure() {
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_COMPILER=clang++-14 \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DCMAKE_CXX_FLAGS="$2 -fno-omit-frame-pointer" >/dev/null
}

# report_logs DIR NAME: prints the reports in DIR; returns 1 when there are any.
report_logs() {
    local dir=$1 name=$2 files
    shopt -s nullglob
    files=("$dir"/*)
    shopt -u nullglob
    ((${#files[@]} == 0)) && { echo "== $name: no sanitizer report" >&2; return 0; }
    echo "== $name: ${#files[@]} sanitizer report(s) in $dir:" >&2
    for f in "${files[@]}"; do
        echo "---- $f" >&2
        cat "$f" >&2
    done
    return 1
}

# suppressions KIND: the option naming scripts/sanitizers/KIND.supp, when it exists.
suppressions() { [[ -f $supp/$1.supp ]] && echo ":suppressions=$supp/$1.supp" || true; }

# run_ctest BUILD_DIR NAME ARGS...: ctest in BUILD_DIR, with the variables in
# san_env; records a failure of the tests or any sanitizer report.
run_ctest() {
    local dir=$1 name=$2 start=$SECONDS status=0
    shift 2
    (cd "$dir" && env "${san_env[@]}" ctest --output-on-failure --timeout 900 "$@" "${extra_ctest_args[@]}") ||
        status=$?
    echo "== $name: ctest exit $status after $(elapsed "$start")" >&2
    ((status == 0)) || failed+=("$name tests")
    report_logs "$dir/sanitizer-logs" "$name" || failed+=("$name reports")
}

# ---------------------------------------------------------------- ASan + UBSan
if [[ $what == all || $what == asan ]]; then
    start=$SECONDS
    # ubsan-ignorelist.txt: one check in one third-party header, with its reason.
    configure build-asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize-ignorelist=$supp/ubsan-ignorelist.txt"
    cmake --build build-asan -j"$jobs"
    echo "== asan: built in $(elapsed "$start")" >&2
    rm -rf build-asan/sanitizer-logs && mkdir -p build-asan/sanitizer-logs
    # detect_leaks: a leak fails the process that leaks at its exit (storygate
    # stopped by SIGTERM, or a test executable). scripts/sanitizers/lsan.supp
    # lists third-party leaks only, each with its reason.
    logs=$root/build-asan/sanitizer-logs
    san_env=(
        "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$logs/asan"
        "LSAN_OPTIONS=print_suppressions=0$(suppressions lsan)"
        "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
        "ASAN_SYMBOLIZER_PATH=$symbolizer"
    )
    run_ctest build-asan asan
    echo "== asan: done in $(elapsed "$start")" >&2
fi

# ---------------------------------------------------------------- TSan
# The tests that run requests through the server's threads at once: the HTTP
# I/O threads, the database workers, their queue and the pool's expiry thread
# (ApiTest, SyncTest, LateCommitTest, HostileRequests: thousands of requests,
# keep-alive), the reloader swapping the mapping under load and /metrics
# reading the pool (OpsTest), the per-address lockout and rate-limit tables
# shared by the I/O threads (SecurityTest), and the database failing under
# load: restarts, a frozen path, pool exhaustion, terminated backends (Fault*,
# Outage), and the pool's health-check threads read by /readyz under load (Health). Left out, as single-request or single-threaded: StartupTest,
# ToolsTest, Demo, the mapping examples, and the unit tests.
tsan_tests='^(ApiTest|Outage|OpsTest|Health|.*SyncTest|LateCommitTest|HostileRequests|SecurityTest|Fault[A-Za-z]*)\.'

if [[ $what == all || $what == tsan ]]; then
    start=$SECONDS
    configure build-tsan "-fsanitize=thread"
    cmake --build build-tsan -j"$jobs" --target storygate storygate_integration_tests
    echo "== tsan: built in $(elapsed "$start")" >&2
    rm -rf build-tsan/sanitizer-logs && mkdir -p build-tsan/sanitizer-logs
    # scripts/sanitizers/tsan.supp: reports inside uninstrumented libraries
    # only, each with its reason.
    logs=$root/build-tsan/sanitizer-logs
    san_env=(
        "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1$(suppressions tsan):log_path=$logs/tsan${symbolizer:+:external_symbolizer_path=$symbolizer}"
    )
    run_ctest build-tsan tsan -R "$tsan_tests"
    echo "== tsan: done in $(elapsed "$start")" >&2
fi

if ((${#failed[@]})); then
    echo "sanitizers.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "sanitizers.sh: passed" >&2
