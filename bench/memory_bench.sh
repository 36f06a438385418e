#!/usr/bin/env bash
# Replay memory: labtool's peak RSS must not grow with the length of the file.
#
# Records a bounded curl load against `labtool run`, makes captures 1×, 8× and 32× as long (each
# copy later in time and on other client ports: new connections), and reports the peak resident
# memory of `labtool replay --format json` and of `tshark -r` on each (GNU time's %M).
#
#   bench/memory_bench.sh [build/labtool] [rounds=100]
set -euo pipefail
bin="${1:-$(dirname "$0")/../build/labtool}"
rounds="${2:-100}"
here="$(cd "$(dirname "$0")" && pwd)"
port=39418
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin" run --port "$port" --record "$work/base.pcap" --format json > /dev/null 2> "$work/run.err" &
pid=$!
for _ in $(seq 50); do grep -q "serving" "$work/run.err" && break; sleep 0.1; done
for ((i = 0; i < rounds; i++)); do
    curl -s --max-time 10 -o /dev/null -o /dev/null "http://127.0.0.1:$port/" "http://127.0.0.1:$port/logo.jpg"
done
kill -INT "$pid"; wait "$pid" || true

printf '%-8s %10s %12s %16s %14s\n' copies packets "file MB" "labtool peak MB" "tshark peak MB"
for k in 1 8 32 128; do
    python3 "$here/repeat_pcap.py" "$work/base.pcap" "$work/x$k.pcap" "$k" "$port"
    packets=$(tcpdump -r "$work/x$k.pcap" -qn 2>/dev/null | wc -l)
    mb=$(du -m "$work/x$k.pcap" | cut -f1)
    /usr/bin/time -o "$work/lab.kb" -f %M "$bin" replay "$work/x$k.pcap" --format json > /dev/null
    /usr/bin/time -o "$work/tsh.kb" -f %M tshark -r "$work/x$k.pcap" > /dev/null 2>&1
    printf '%-8s %10s %12s %16.1f %14.1f\n' "$k" "$packets" "$mb" \
        "$(awk '{ print $1 / 1024 }' "$work/lab.kb")" "$(awk '{ print $1 / 1024 }' "$work/tsh.kb")"
done
