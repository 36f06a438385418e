#!/usr/bin/env bash
# bench/memory_bench.sh [BUILD_DIR]: peak RSS and time of `labtool replay -q` on the full-size
# hostile corpus (tests/adversarial/make_corpus.cpp), next to `tcpdump -r FILE -w /dev/null` on
# the same file. Targets (issue 11): ≤ 64 MB peak RSS on every file, time within 40× of tcpdump.
# A measurement, not a test: it prints a table and marks the rows over a target with "!".
set -euo pipefail
build="${1:-build}"
bin="$build/labtool"
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
"$build/tests/adversarial/labtool_make_corpus" "$corpus" >/dev/null
printf '%-34s %10s %10s %10s %8s\n' capture "MB file" "RSS MB" "labtool s" "× tcpdump"
for f in "$corpus"/*.pcap "$corpus"/*.pcapng; do
    name="$(basename "$f")"
    size=$(( $(stat -c %s "$f") / 1048576 ))
    /usr/bin/time -o "$corpus/t" -f '%M %e' "$bin" replay "$f" -q >/dev/null 2>&1 || true
    read -r rss secs < <(tail -n 1 "$corpus/t")
    /usr/bin/time -o "$corpus/t" -f '%e' tcpdump -r "$f" -w /dev/null >/dev/null 2>&1 || true
    td="$(tail -n 1 "$corpus/t")"
    ratio=$(awk -v a="$secs" -v b="$td" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "-" }')
    mark=""
    if (( rss > 65536 )); then mark="!"; fi
    if [[ "$ratio" != "-" ]] && (( ratio > 40 )); then mark="!"; fi
    printf '%-34s %10s %10.1f %10s %8s %s\n' "${name:0:34}" "$size" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$secs" "$ratio" "$mark"
done
