#!/usr/bin/env bash
# fuzz.sh: the longer fuzzing run, by hand. Builds the libFuzzer targets of
# tests/fuzz/ with clang in build-fuzz/ (the whole build instrumented with
# ASan and UBSan, so storygate_core is too) and runs each for SECONDS
# (default 300) on a copy of its seed corpus. The short fixed-seed run is
# `ctest -L fuzz` in build-fuzz/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # TARGET: last_updated_fuzz query_string_fuzz mapping_loader_fuzz proxy_protocol_fuzz
#
# What a run finds new stays in build-fuzz/fuzz-corpus/TARGET (kept between
# runs; copy good finds into tests/fuzz/corpus/TARGET by hand). A crash is
# written as build-fuzz/fuzz-artifacts/TARGET/crash-* (reproduce with
# `build-fuzz/tests/fuzz/TARGET FILE`); the script then exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
((${#targets[@]})) || targets=(last_updated_fuzz query_string_fuzz mapping_loader_fuzz proxy_protocol_fuzz)

# clang and its runtimes (libFuzzer, sanitizers), and llvm-symbolizer for the stacks.
scripts/install-deps.sh clang-14 libclang-rt-14-dev llvm-14

build_dir=build-fuzz
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fsanitize-ignorelist=$PWD/scripts/sanitizers/ubsan-ignorelist.txt" \
    -DSTORYGATE_FUZZ=ON >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14 || true)}

status=0
for t in "${targets[@]}"; do
    corpus=$build_dir/fuzz-corpus/$t
    artifacts=$build_dir/fuzz-artifacts/$t/
    mkdir -p "$corpus" "$artifacts"
    cp -n tests/fuzz/corpus/"$t"/* "$corpus"/
    dict=()
    [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
    echo "== $t: ${seconds}s" >&2
    if ! "$build_dir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
            -artifact_prefix="$artifacts" "${dict[@]}" "$corpus" 2>"$build_dir/fuzz-$t.log"; then
        status=1
        echo "== $t: FAILED; see $build_dir/fuzz-$t.log and $artifacts" >&2
    fi
    grep -E '^(stat::|#[0-9]+ +DONE)' "$build_dir/fuzz-$t.log" >&2 || true
done
exit $status
