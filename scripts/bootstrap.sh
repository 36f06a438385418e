#!/usr/bin/env bash
# Installs what is missing (Debian/Ubuntu packages), builds labtool, then runs it or the tests.
# Safe to run again: it installs nothing that is already there and rebuilds only what changed.
#
#   scripts/bootstrap.sh                      install + build  → build/labtool
#   scripts/bootstrap.sh run --port 3000      … then `labtool run --port 3000` (with sudo when
#                                             needed: capture needs root or CAP_NET_RAW)
#   scripts/bootstrap.sh test                 … plus the test tools, then every test (ctest)
#
# LABTOOL_BUILD_DIR (default build/) and LABTOOL_CMAKE_ARGS (extra configure options, e.g.
# -DLABTOOL_PLATFORM=posix for the macOS/BSD backend) choose another build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${LABTOOL_BUILD_DIR:-$here/build}"
mode="${1:-build}"
[[ $# -gt 0 ]] && shift
case "$mode" in
    build | run | test) ;;
    --test) mode=test ;;
    *) echo "usage: scripts/bootstrap.sh [run LABTOOL-RUN-OPTIONS... | test]" >&2; exit 2 ;;
esac
run_tests=0
[[ "$mode" == test ]] && run_tests=1

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
    cd "$build_dir"
    ctest --output-on-failure -j 1 --timeout 300
fi
