#!/usr/bin/env bash
# Replay speed: labtool against tshark and tcpdump on the same capture.
#
# Records a bounded load against `labtool run` (curl: N keep-alive rounds of /, /logo.jpg and
# a Range request for /audio.mp3), then reads that file with
#   labtool replay --format json > /dev/null
#   tshark -r FILE > /dev/null          (its default one-line-per-packet dissection)
#   tcpdump -r FILE -w /dev/null        (read and write back, no dissection)
# and prints packets/s for each and labtool's ratio to each. Runs as root (capture).
#
#   bench/replay_bench.sh [build/labtool] [rounds=200]
set -euo pipefail
bin="${1:-$(dirname "$0")/../build/labtool}"
rounds="${2:-200}"
port=39417
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pcap="$work/load.pcap"

"$bin" run --port "$port" --record "$pcap" --format json > /dev/null 2> "$work/run.err" &
pid=$!
for _ in $(seq 50); do grep -q "serving" "$work/run.err" && break; sleep 0.1; done
for ((i = 0; i < rounds; i++)); do
    curl -s --max-time 10 -o /dev/null -o /dev/null "http://127.0.0.1:$port/" "http://127.0.0.1:$port/logo.jpg"
    curl -s --max-time 10 -r 0- -o /dev/null "http://127.0.0.1:$port/audio.mp3"
done
kill -INT "$pid"; wait "$pid" || true
packets=$(tcpdump -r "$pcap" -qn 2>/dev/null | wc -l)
echo "capture: $packets packets, $(du -h "$pcap" | cut -f1), $rounds rounds"

measure() {  # best of 3 wall-clock seconds
    local best=""
    for _ in 1 2 3; do
        local t0 t1
        t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N)
        local s; s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
        if [[ -z "$best" ]] || awk -v x="$s" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$s; fi
    done
    echo "$best"
}

export TZ=UTC   # tcpdump re-reads /etc/localtime without it
t_lab=$(measure "$bin" replay "$pcap" --format json)
t_tshark=$(measure tshark -r "$pcap")
t_tcpdump=$(measure tcpdump -r "$pcap" -w /dev/null)
printf '%-34s %10s %14s\n' "tool" "seconds" "packets/s"
for row in "labtool replay --format json:$t_lab" "tshark -r:$t_tshark" "tcpdump -r -w /dev/null:$t_tcpdump"; do
    name=${row%:*}; t=${row##*:}
    printf '%-34s %10s %14.0f\n' "$name" "$t" "$(awk -v p="$packets" -v t="$t" 'BEGIN { print p / t }')"
done
awk -v a="$t_lab" -v b="$t_tshark" -v c="$t_tcpdump" \
    'BEGIN { printf "labtool is %.1fx faster than tshark, %.2fx the speed of tcpdump -w\n", b / a, c / a }'
