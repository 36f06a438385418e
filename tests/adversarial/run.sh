#!/usr/bin/env bash
# run.sh LABTOOL CORPUS_DIR: replays every hostile capture of the corpus (labtool_make_corpus)
# three ways (-q, --format json, report). Each run must end with exit 0 or 1 within its time
# limit; exit 0 must end with the summary, exit 1 must say why on stderr; and no sanitizer report
# may appear (the sanitizer build runs this in CI). Prints one line per failure; exits 1 on any.
set -u
bin="$1"
dir="$2"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
runs=0
fail() { echo "adversarial: FAIL $1: $2" >&2; failures=$((failures + 1)); }
shopt -s nullglob
for f in "$dir"/*.pcap "$dir"/*.pcapng "$dir"/mutants/*.pcapng; do
    name="$(basename "$f")"
    for mode in brief json report; do
        runs=$((runs + 1))
        case "$mode" in
            brief) timeout 600 "$bin" replay "$f" -q --lang en >"$tmp/out" 2>"$tmp/err" ;;
            json) timeout 600 "$bin" replay "$f" --format json >"$tmp/out" 2>"$tmp/err" ;;
            report) timeout 600 "$bin" report "$f" -o "$tmp/r.html" --lang en >"$tmp/out" 2>"$tmp/err" ;;
        esac
        rc=$?
        if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|terminate called' "$tmp/err"; then
            fail "$name ($mode)" "$(grep -m1 -E 'runtime error|AddressSanitizer|LeakSanitizer|terminate called' "$tmp/err")"
            continue
        fi
        if [[ $rc -ne 0 && $rc -ne 1 ]]; then
            fail "$name ($mode)" "exit $rc"
            continue
        fi
        if [[ $rc -eq 1 && ! -s "$tmp/err" ]]; then fail "$name ($mode)" "exit 1 without a message"; fi
        if [[ $rc -eq 0 ]]; then
            case "$mode" in
                brief) grep -q '^Summary' "$tmp/out" || fail "$name ($mode)" "no summary" ;;
                json) tail -n 1 "$tmp/out" | grep -q '"event":"summary"' || fail "$name ($mode)" "the summary is not the last line" ;;
                report) [[ -s "$tmp/r.html" ]] && grep -q '</html>' "$tmp/r.html" || fail "$name ($mode)" "no whole report" ;;
            esac
        fi
        rm -f "$tmp/r.html"
    done
done
echo "adversarial: $runs runs, $failures failures"
[[ $failures -eq 0 ]]
