#!/usr/bin/env bash
# Installs what is missing (Debian/Ubuntu packages), builds labtool, and with --test runs the
# whole test suite. Safe to run again: it installs nothing that is already there.
#
#   scripts/bootstrap.sh            build  → build/labtool
#   scripts/bootstrap.sh --test     build, install the test tools, run every test (ctest)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${LABTOOL_BUILD_DIR:-$here/build}"
run_tests=0
[[ "${1:-}" == "--test" ]] && run_tests=1

build_packages=(cmake ninja-build g++ pkg-config libpcap-dev libboost-dev libspdlog-dev libfmt-dev
                libcli11-dev nlohmann-json3-dev libgtest-dev googletest)
test_packages=(curl tshark tcpdump chromium iproute2 procps)

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

cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLABTOOL_BUILD_TESTS=ON
cmake --build "$build_dir" -j 2
echo "bootstrap: built $build_dir/labtool"

if (( run_tests )); then
    cd "$build_dir"
    ctest --output-on-failure -j 1 --timeout 300
fi
