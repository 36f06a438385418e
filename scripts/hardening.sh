#!/usr/bin/env bash
# scripts/hardening.sh: the hostile-input checks CI runs after the three platform builds.
#   1. A sanitizer build (ASan + UBSan, gcc) of labtool and the unit tests: they run, and so does
#      the hostile-capture corpus (tests/adversarial: every case of issue 11, generated, not
#      stored) through the real binary; any sanitizer report fails.
#   2. libFuzzer (clang): each fuzz target in tests/fuzz runs for LABTOOL_FUZZ_SECONDS (default
#      60) from its own corpus directory under the build; a crash or a leak fails.
# Usage: scripts/hardening.sh [sanitize|fuzz|all]   (default all)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-all}"
base="$(dirname "${LABTOOL_BUILD_DIR:-$here/build}")"
seconds="${LABTOOL_FUZZ_SECONDS:-60}"

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
missing=()
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
    echo "hardening: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ "$what" == all || "$what" == sanitize ]]; then
    asan="$base/build-asan"
    cmake -S "$here" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLABTOOL_BUILD_TESTS=ON -DLABTOOL_SANITIZE=ON
    targets=(labtool labtool_make_corpus labtool_analysis_test labtool_capture_test labtool_cli_test)
    cmake --build "$asan" -j 2 --target "${targets[@]}"
    export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    for t in "$asan"/tests/analysis/labtool_analysis_test "$asan"/tests/capture/labtool_capture_test "$asan"/tests/cli/labtool_cli_test; do
        echo "hardening: $(basename "$t") under ASan+UBSan"
        # Live capture needs no sanitizer run here (the Linux suite covers it); file tests do.
        "$t" --gtest_brief=1 --gtest_filter='-LiveCapture*'
    done
    corpus="$asan/adversarial-corpus"
    "$asan/tests/adversarial/labtool_make_corpus" "$corpus" --small
    bash "$here/tests/adversarial/run.sh" "$asan/labtool" "$corpus"
    echo "hardening: the sanitizer build reports nothing on the unit tests and the hostile corpus"
fi

if [[ "$what" == all || "$what" == fuzz ]]; then
    fuzz="$base/build-fuzz"
    cmake -S "$here" -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLABTOOL_BUILD_TESTS=ON -DLABTOOL_FUZZ=ON \
          -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
    mapfile -t fuzzers < <(cd "$here/tests/fuzz" && ls fuzz_*.cpp | sed 's/^fuzz_/labtool_fuzz_/; s/\.cpp$//')
    cmake --build "$fuzz" -j 2 --target "${fuzzers[@]}"
    for f in "${fuzzers[@]}"; do
        mkdir -p "$fuzz/corpus/$f"
        echo "hardening: $f for $seconds s"
        "$fuzz/tests/fuzz/$f" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
            "$fuzz/corpus/$f" 2>&1 | tail -n 8
    done
    echo "hardening: the fuzz targets ran ${seconds} s each without a crash"
fi
