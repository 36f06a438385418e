#!/usr/bin/env bash
# Runs a Windows program under wine and exits with its exit code: the CMAKE_CROSSCOMPILING_EMULATOR
# of cmake/toolchain-mingw64.cmake, so `ctest` and gtest_discover_tests run the .exe files.
#
#   cmake/wine-run.sh PROGRAM.exe [ARGS...]
#
# Environment:
#   WINEPREFIX                   the wine prefix; default $LABTOOL_WINE_DEFAULT_PREFIX (the
#                                toolchain sets <build>/wineprefix), else $TMPDIR/labtool-wine-$UID.
#                                Created on first use (~20 s), once even when tests run in parallel.
#   WINEDEBUG                    default -all (no wine diagnostics mixed into test output).
#   WINEDLLOVERRIDES             appended to "mscoree,mshtml=" (no Mono/Gecko install prompts)
#                                and "winedbg.exe=d" (see below); e.g. WINEDLLOVERRIDES=wpcap=
#                                runs as on a machine without Npcap.
#                                When scripts/cross-windows.sh has put a real wpcap.dll (libpcap
#                                built for Windows, files only) into the prefix's system32, the
#                                default adds "wpcap=n" to use it instead of wine's partial one.
#   LABTOOL_WINE_DEBUGGER=1      let wine start winedbg on a crash (a backtrace on stdout). Off by
#                                default: with winedbg attached, a crashed program's exit status
#                                is sometimes 0, so a crashing test could pass. Without it the
#                                status is the exception code's low byte (0xC06D007F -> 127).
#   LABTOOL_WINE                 the wine loader to use (default: wine64, else wine).
#   LABTOOL_WINE_KEEPALIVE       seconds (default 60; 0: off) a detached idle wine process keeps
#                                the prefix's services running after each start. Without it every
#                                program starts them again, and as they inherit its stdout, ctest
#                                waits for them to exit: ~2.5 s per test instead of ~0.05 s.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: wine-run.sh PROGRAM.exe [ARGS...]" >&2
    exit 2
fi

export WINEPREFIX="${WINEPREFIX:-${LABTOOL_WINE_DEFAULT_PREFIX:-${TMPDIR:-/tmp}/labtool-wine-$(id -u)}}"
export WINEDEBUG="${WINEDEBUG:--all}"
overrides="mscoree,mshtml="
[[ "${LABTOOL_WINE_DEBUGGER:-0}" == 1 ]] || overrides+=";winedbg.exe=d"
if [[ -e "$WINEPREFIX/.labtool-wpcap-native" && "${WINEDLLOVERRIDES:-}" != *wpcap* ]]; then
    overrides+=";wpcap=n"
fi
export WINEDLLOVERRIDES="$overrides${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"

# The loader: Debian's wine64 package puts it in /usr/lib/wine (its /usr/bin/wine is a script
# that picks wine32 first and prints a hint when it is missing).
wine="${LABTOOL_WINE:-}"
if [[ -z "$wine" ]]; then
    if command -v wine64 >/dev/null 2>&1; then
        wine=wine64
    elif [[ -x /usr/lib/wine/wine64 ]]; then
        wine=/usr/lib/wine/wine64
        export WINELOADER="${WINELOADER:-$wine}"
    elif command -v wine >/dev/null 2>&1; then
        wine=wine
    else
        echo "wine-run.sh: no wine64 or wine found (Debian: apt-get install wine64)" >&2
        exit 127
    fi
fi

# First use: create the prefix under a lock, so parallel test runs do not all build one. Wine
# processes started under the lock must not inherit it (9>&-): the wineserver and the services
# outlive this script and would hold it.
marker="$WINEPREFIX/.labtool-wineboot-done"
if [[ ! -e "$marker" ]]; then
    mkdir -p "$(dirname "$WINEPREFIX")"
    (
        flock 9
        if [[ ! -e "$marker" ]]; then
            echo "wine-run.sh: creating wine prefix $WINEPREFIX (first use, ~20 s)" >&2
            "$wine" wineboot --init </dev/null >/dev/null 2>&1 9>&- || {
                echo "wine-run.sh: wineboot --init failed for $WINEPREFIX" >&2
                exit 1
            }
            touch "$marker"
        fi
    ) 9>"$WINEPREFIX.lock"
fi

# Keep the prefix's system processes (services.exe, explorer.exe, ...) alive between programs:
# a detached `cmd /c set /p` reading a pipe that `sleep` holds open. A new keeper starts when the
# current one has less than 15 s left, so they overlap; each ends by itself.
keepalive="${LABTOOL_WINE_KEEPALIVE:-60}"
if [[ "$keepalive" =~ ^[0-9]+$ ]] && (( keepalive > 15 )); then
    stamp="$WINEPREFIX.keeper"
    (
        flock 9
        started=$(stat -c %Y "$stamp" 2>/dev/null || echo 0)
        if (( $(date +%s) - started > keepalive - 15 )); then
            touch "$stamp"
            setsid bash -c 'sleep "$1" | "$2" cmd /c "set /p x="' keeper "$keepalive" "$wine" \
                </dev/null >/dev/null 2>&1 9>&- &
            # Start the services now, from a process whose output goes nowhere.
            "$wine" cmd /c exit 0 </dev/null >/dev/null 2>&1 9>&- || true
        fi
    ) 9>"$WINEPREFIX.lock"
fi

exec "$wine" "$@"
