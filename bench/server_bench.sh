#!/usr/bin/env bash
# Web server speed: `labtool serve` against nginx and npm http-server, measured with wrk.
#
# Files: a 1 KB page, a 30 KB image, a 3 MB file. Connections: 1, 10, 100. Modes: keep-alive
# and `Connection: close`. For every case the three servers run one after the other (alternating,
# so drift hits all of them alike), RUNS times; the table shows medians and labtool's ratios.
#
#   nginx:       1 worker process, access_log off, sendfile on (config written to a temp dir)
#   http-server: npm's http-server (installed into the temp dir with `npm install`; skipped
#                with a note if that fails), -s (silent)
#   labtool:     labtool serve -q --threads 1 (one io thread, as nginx has one worker)
#
# With 2 or more cores, every server is pinned to CPU 0 and wrk to CPU 1 (taskset), so each
# server gets one whole core and never competes with wrk; BENCH_PIN=0 turns that off (labtool
# then runs its default of one thread per core).
#
# Every server runs on 127.0.0.1 on a free port, as a process this script started, and is
# stopped by its PID. Not a test: nothing asserts a time. Don't run it while something builds.
#
#   bench/server_bench.sh [build/labtool] [seconds per run=2] [runs=5]
# Environment: BENCH_KEEP=1 keeps the work dir; BENCH_HTTP_SERVER=0 skips http-server;
# BENCH_PIN=0 leaves scheduling to the kernel; BENCH_MODES, BENCH_FILES and BENCH_CONNS narrow
# the cases, e.g. BENCH_MODES=close BENCH_FILES="page.html image.jpg" BENCH_CONNS="10 100".
# BENCH_PERF=1 (pinned runs only, needs `perf`) also counts the instructions each request costs
# on the server's CPU and on wrk's (kernel work included: on loopback the TCP receive path of a
# packet runs on its sender's CPU), a measure that VM noise hardly moves, unlike req/s.
set -euo pipefail
bin="$(realpath "${1:-$(dirname "$0")/../build/labtool}")"
duration="${2:-2}"
runs="${3:-5}"
server_cpu=()
client_cpu=()
labtool_threads=()
if [[ "${BENCH_PIN:-1}" == 1 && $(nproc) -ge 2 ]] && command -v taskset > /dev/null; then
    server_cpu=(taskset -c 0)
    client_cpu=(taskset -c 1)
    labtool_threads=(--threads 1)
fi
command -v wrk > /dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v nginx > /dev/null || { echo "nginx is missing: apt-get install -y nginx-light" >&2; exit 1; }
perf_counts=0
if [[ "${BENCH_PERF:-0}" == 1 ]]; then
    [[ ${#server_cpu[@]} -gt 0 ]] || { echo "BENCH_PERF=1 needs pinned runs (2 or more cores, BENCH_PIN=1)" >&2; exit 2; }
    command -v perf > /dev/null || { echo "perf is missing: apt-get install -y linux-perf" >&2; exit 1; }
    # System-wide counting needs root or kernel.perf_event_paranoid <= 0, and a VM may not expose
    # the counter at all: check once, instead of getting 0 req/s from every wrapped wrk run.
    probe=$(perf stat -a -C 0 -e instructions -x, -- true 2>&1 | awk -F, '/instructions/ { print $1 }')
    [[ "$probe" =~ ^[0-9]+$ ]] || {
        echo "BENCH_PERF=1: perf cannot count instructions on CPU 0 here (got '${probe:-nothing}'; root or kernel.perf_event_paranoid<=0 needed)" >&2
        exit 1
    }
    perf_counts=1
fi

work="$(mktemp -d /tmp/labtool-server-bench.XXXXXX)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
    [[ "${BENCH_KEEP:-0}" == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # port: up to 5 s for a 200 on /page.html
    for _ in $(seq 50); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/page.html" && return 0
        sleep 0.1
    done
    return 1
}

# ---- the served files ----------------------------------------------------------------------
root="$work/root"
mkdir -p "$root"
python3 - "$root" << 'EOF'
import os, random, sys
root = sys.argv[1]
random.seed(1)
body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>lab</title></head><body>\n"
while len(body) < 1024 - 15:
    body += "<p>lorem ipsum</p>\n"
body = (body + "</body></html>\n")[:1024]
open(os.path.join(root, "page.html"), "w").write(body)
open(os.path.join(root, "image.jpg"), "wb").write(random.randbytes(30 * 1024))
open(os.path.join(root, "file.bin"), "wb").write(random.randbytes(3 * 1024 * 1024))
EOF

# ---- nginx ---------------------------------------------------------------------------------
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
cat > "$work/nginx/nginx.conf" << EOF
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5s;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    types { text/html html; image/jpeg jpg; application/octet-stream bin; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $root;
    }
}
EOF
"${server_cpu[@]}" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" > "$work/nginx/out.log" 2>&1 &
pids+=($!)

# ---- labtool -------------------------------------------------------------------------------
labtool_port=$(free_port)
"${server_cpu[@]}" "$bin" serve --port "$labtool_port" --root "$root" -q "${labtool_threads[@]}" \
    > "$work/labtool.out" 2> "$work/labtool.err" &
pids+=($!)

# ---- http-server ---------------------------------------------------------------------------
servers=(labtool nginx)
declare -A port=([labtool]=$labtool_port [nginx]=$nginx_port)
hs_note=""
if [[ "${BENCH_HTTP_SERVER:-1}" == 1 ]]; then
    if (cd "$work" && npm install --silent --no-audit --no-fund http-server > "$work/npm.log" 2>&1) &&
        [[ -x "$work/node_modules/.bin/http-server" ]]; then
        hs_port=$(free_port)
        "${server_cpu[@]}" "$work/node_modules/.bin/http-server" "$root" -a 127.0.0.1 -p "$hs_port" -s > "$work/hs.log" 2>&1 &
        pids+=($!)
        servers+=(http-server)
        port[http-server]=$hs_port
        hs_version=$(node -p "require('$work/node_modules/http-server/package.json').version" 2> /dev/null || echo "?")
        hs_note="http-server $hs_version on node $(node --version)"
    else
        hs_note="http-server skipped: npm install failed (see npm.log)"
        echo "note: $hs_note" >&2
    fi
fi

for s in "${servers[@]}"; do
    wait_port "${port[$s]}" || { echo "$s did not start on port ${port[$s]}" >&2; exit 1; }
done

pinning="not pinned"
[[ ${#server_cpu[@]} -gt 0 ]] && pinning="servers on CPU 0, wrk on CPU 1"
echo "labtool $("$bin" --version 2>&1 | head -1) | $(nginx -v 2>&1) | ${hs_note:-no http-server} | wrk -t1 -d${duration}s, $runs runs, $(nproc) cores, $pinning" >&2

# ---- runs ----------------------------------------------------------------------------------
results="$work/results.tsv"
: > "$results"
read -r -a files <<< "${BENCH_FILES:-page.html image.jpg file.bin}"
read -r -a conns <<< "${BENCH_CONNS:-1 10 100}"
read -r -a modes <<< "${BENCH_MODES:-keep-alive close}"
for m in "${modes[@]}"; do [[ "$m" == keep-alive || "$m" == close ]] || { echo "BENCH_MODES: keep-alive or close, not '$m'" >&2; exit 2; }; done
for f in "${files[@]}"; do [[ -f "$root/$f" ]] || { echo "BENCH_FILES: page.html, image.jpg or file.bin, not '$f'" >&2; exit 2; }; done
for mode in "${modes[@]}"; do
    for file in "${files[@]}"; do
        for c in "${conns[@]}"; do
            for ((r = 1; r <= runs; r++)); do
                for s in "${servers[@]}"; do
                    hdr=()
                    [[ "$mode" == close ]] && hdr=(-H "Connection: close")
                    counter=()
                    [[ $perf_counts == 1 ]] && counter=(perf stat -a -C 0,1 -A -e instructions -x, -o "$work/perf.csv" --)
                    out=$("${counter[@]}" "${client_cpu[@]}" wrk -t1 -c"$c" -d"${duration}s" --timeout 5s "${hdr[@]}" \
                        "http://127.0.0.1:${port[$s]}/$file" 2>&1 || true)
                    ins0=0
                    ins1=0
                    requests=$(awk '/requests in/ { print $1 }' <<< "$out")
                    if [[ $perf_counts == 1 && -s "$work/perf.csv" && ${requests:-0} -gt 0 ]]; then
                        read -r ins0 ins1 < <(awk -F, -v n="$requests" '$4 ~ /instructions/ { sum[$1] += $2 }
                            END { printf "%.0f %.0f\n", sum["CPU0"] / n, sum["CPU1"] / n }' "$work/perf.csv")
                    fi
                    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<< "$out")
                    tps=$(awk '/^Transfer\/sec:/ { v = $2; u = substr(v, length(v) - 1); n = v + 0;
                        if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024; else if (u ~ /[0-9]B$/) n /= 1048576;
                        printf "%.2f", n }' <<< "$out")
                    errs=$(awk '/Socket errors|Non-2xx/ { print }' <<< "$out" | tr '\n' ' ')
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$file" "$c" "$s" "${rps:-0}" "${tps:-0}" "${ins0:-0}" "${ins1:-0}" "$errs" >> "$results"
                    sleep 0.2
                done
            done
            echo "done: $mode $file c=$c" >&2
        done
    done
done

# ---- table ---------------------------------------------------------------------------------
python3 - "$results" "${servers[*]}" "$perf_counts" << 'EOF'
import statistics, sys
from collections import defaultdict
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
servers = sys.argv[2].split()
perf = sys.argv[3] == "1"
data = defaultdict(list)
ins = defaultdict(list)
errors = defaultdict(set)
for mode, f, c, s, rps, mbs, ins0, ins1, err in rows:
    data[(mode, f, int(c), s)].append((float(rps), float(mbs)))
    ins[(mode, f, int(c), s)].append((float(ins0), float(ins1)))
    if err.strip():
        errors[(mode, f, int(c), s)].add(err.strip())
names = {"page.html": "1 KB page", "image.jpg": "30 KB image", "file.bin": "3 MB file"}
hs = "http-server" in servers
head = "| mode | file | conns | labtool req/s | nginx req/s | labtool MB/s | nginx MB/s | labtool/nginx |"
sep = "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
if hs:
    head += " http-server req/s | labtool/http-server |"
    sep += " ---: | ---: |"
print(head)
print(sep)
seen = []
for mode, f, c, s in data:
    if (mode, f, c) not in seen:
        seen.append((mode, f, c))
for mode, f, c in seen:
    med = {s: (statistics.median(v[0] for v in data[(mode, f, c, s)]),
               statistics.median(v[1] for v in data[(mode, f, c, s)])) for s in servers}
    ratio = lambda a, b: f"{a / b:.2f}×" if b else "n/a"
    line = (f"| {mode} | {names.get(f, f)} | {c} | {med['labtool'][0]:,.0f} | {med['nginx'][0]:,.0f} | "
            f"{med['labtool'][1]:,.1f} | {med['nginx'][1]:,.1f} | {ratio(med['labtool'][0], med['nginx'][0])} |")
    if hs:
        line += f" {med['http-server'][0]:,.0f} | {ratio(med['labtool'][0], med['http-server'][0])} |"
    print(line)
if perf:
    print()
    print("Instructions per request (median; `perf stat -a`, user and kernel), on CPU 0 (the server, and the")
    print("receive path of what it sends) and CPU 1 (wrk, and the receive path of what wrk sends):")
    print()
    print("| mode | file | conns | labtool CPU 0 | nginx CPU 0 | labtool CPU 1 | nginx CPU 1 | labtool/nginx, both CPUs |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, f, c in seen:
        m = {s: (statistics.median(v[0] for v in ins[(mode, f, c, s)]),
                 statistics.median(v[1] for v in ins[(mode, f, c, s)])) for s in ("labtool", "nginx")}
        both = lambda s: m[s][0] + m[s][1]
        r = f"{both('labtool') / both('nginx'):.3f}×" if both("nginx") else "n/a"
        print(f"| {mode} | {names.get(f, f)} | {c} | {m['labtool'][0]:,.0f} | {m['nginx'][0]:,.0f} | "
              f"{m['labtool'][1]:,.0f} | {m['nginx'][1]:,.0f} | {r} |")
if errors:
    print()
    print("wrk reported errors:")
    for k, v in sorted(errors.items()):
        print(f"- {' '.join(map(str, k))}: {'; '.join(sorted(v))}")
EOF
