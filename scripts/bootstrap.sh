#!/usr/bin/env bash
# Installs what is missing (Debian/Ubuntu packages), builds labtool, then runs it or the tests.
# Safe to run again: it installs nothing that is already there and rebuilds only what changed.
#
#   scripts/bootstrap.sh                      install + build  → build/labtool
#   scripts/bootstrap.sh run --port 3000      … then `labtool run --port 3000` (with sudo when
#                                             needed: capture needs root or CAP_NET_RAW)
#   scripts/bootstrap.sh test                 … plus the test tools, then the whole suite three
#                                             ways: the Linux backend (build/), the posix backend
#                                             that macOS and the BSDs use (build-posix/, plus a
#                                             check that it links no Linux-only call), and the
#                                             Windows build under wine (scripts/cross-windows.sh)
#                                             and finally scripts/hardening.sh (ASan/UBSan build
#                                             with the hostile-capture corpus; bounded fuzzing)
#   scripts/bootstrap.sh test-one             … every test of this one build only (ctest)
#
# LABTOOL_BUILD_DIR (default build/) and LABTOOL_CMAKE_ARGS (extra configure options, e.g.
# -DLABTOOL_PLATFORM=posix for the macOS/BSD backend) choose another build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${LABTOOL_BUILD_DIR:-$here/build}"
mode="${1:-build}"
[[ $# -gt 0 ]] && shift
case "$mode" in
    build | run | test | test-one) ;;
    --test) mode=test ;;
    *) echo "usage: scripts/bootstrap.sh [run LABTOOL-RUN-OPTIONS... | test | test-one]" >&2; exit 2 ;;
esac
run_tests=0
[[ "$mode" == test || "$mode" == test-one ]] && run_tests=1

build_packages=(cmake ninja-build g++ pkg-config libpcap-dev libboost-dev libspdlog-dev libfmt-dev
                libcli11-dev nlohmann-json3-dev libgtest-dev googletest)
test_packages=(curl tshark tcpdump chromium iproute2 procps nftables)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "bootstrap: run as root or install sudo" >&2; exit 1; }
    sudo_cmd=(sudo)
fi

missing=()
wanted=("${build_packages[@]}")
(( run_tests )) && wanted+=("${test_packages[@]}")
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
    echo "bootstrap: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

read -r -a extra_cmake_args <<< "${LABTOOL_CMAKE_ARGS:-}"
cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLABTOOL_BUILD_TESTS=ON \
      "${extra_cmake_args[@]}"
cmake --build "$build_dir" -j 2
echo "bootstrap: built $build_dir/labtool"

if [[ "$mode" == run ]]; then
    # Capture needs root or CAP_NET_RAW; use sudo unless we have either.
    if [[ $(id -u) -ne 0 ]] && ! getcap "$build_dir/labtool" 2>/dev/null | grep -q cap_net_raw; then
        exec sudo "$build_dir/labtool" run "$@"
    fi
    exec "$build_dir/labtool" run "$@"
fi

if (( run_tests )); then
    (cd "$build_dir" && ctest --output-on-failure -j 1 --timeout 300)
fi
[[ "$mode" == test ]] || exit 0

start=$SECONDS
echo "bootstrap: Linux backend passed; now the posix backend (the macOS/BSD code)"
posix_dir="$(dirname "$build_dir")/build-posix"
LABTOOL_BUILD_DIR="$posix_dir" LABTOOL_CMAKE_ARGS="-DLABTOOL_PLATFORM=posix" bash "$here/scripts/bootstrap.sh" test-one
# The macOS/BSD backend must not lean on Linux: none of these calls may be linked in.
linux_only="$(nm -u "$posix_dir/labtool" | grep -owE 'accept4|sendfile(64)?|setresuid|setresgid|openat2' | sort -u || true)"
if [[ -n "$linux_only" ]]; then
    echo "bootstrap: the posix build links Linux-only calls: $linux_only" >&2
    exit 1
fi
echo "bootstrap: posix backend passed, no accept4/sendfile/setresuid/setresgid linked; now Windows under wine"
LABTOOL_BUILD_DIR="$build_dir" bash "$here/scripts/cross-windows.sh"
echo "bootstrap: all three builds passed ($((SECONDS - start)) s after the Linux suite); now the sanitizer build and fuzzing"
LABTOOL_BUILD_DIR="$build_dir" bash "$here/scripts/hardening.sh" all
echo "bootstrap: everything passed ($((SECONDS - start)) s after the Linux suite)"
