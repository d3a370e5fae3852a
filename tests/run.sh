#!/usr/bin/env bash
# Runs the C unit tests and the bats suites; prints each failure and ends with
# exactly one line "N passed, N failed". Exit status 1 on any failure.
# KML_BUILD: the build directory (build/release or build/asan).
# KML_ONLY=unit|bats runs one half; KML_BATS="tests/x.bats ..." picks suites.
set -u
cd "$(dirname "$0")/.."
build=${KML_BUILD:-build/release}
export KML_EXEC_PATH="$PWD/$build/bin"
export PATH="$KML_EXEC_PATH:$PWD/bin:$PATH"
export KML_ROOT="$PWD"
export KML_SHARED_DATA=${KML_SHARED_DATA:-$(cd .. && pwd)/shared/data}
# LeakSanitizer needs ptrace-like rights some sandboxes lack; leaks are checked where it works.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

count() { # file with TAP-ish lines
    local p f s
    p=$(grep -cE '^ok ' "$1" | head -1); s=$(grep -cE '^ok .*# ?skip' "$1" | head -1)
    f=$(grep -cE '^not ok ' "$1" | head -1)
    pass=$((pass + p - s)); skip=$((skip + s)); fail=$((fail + f))
}

if [ "${KML_ONLY:-}" != bats ]; then
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        "$t" > "$tmp/$name.out" 2>&1; rc=$?
        count "$tmp/$name.out"
        if grep -qE '^not ok ' "$tmp/$name.out"; then
            echo "--- $name:"; grep -E '^(not ok |#   )' "$tmp/$name.out"
        fi
        if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$tmp/$name.out"; then
            echo "--- $name: exited $rc without a failed check (crash?):"; tail -n 20 "$tmp/$name.out"
            fail=$((fail + 1))
        fi
    done
fi

if [ "${KML_ONLY:-}" != unit ]; then
    suites=${KML_BATS:-$(ls tests/*.bats 2>/dev/null)}
    if [ -n "$suites" ]; then
        # shellcheck disable=SC2086
        bats --tap $suites > "$tmp/bats.out" 2>&1
        count "$tmp/bats.out"
        if grep -qE '^not ok ' "$tmp/bats.out"; then
            echo "--- bats failures:"
            awk '/^not ok /{p=1; print; next} /^(ok |[0-9]+\.\.)/{p=0} p' "$tmp/bats.out"
        fi
        if ! grep -qE '^(ok|not ok) ' "$tmp/bats.out"; then
            echo "--- bats ran no test:"; tail -n 20 "$tmp/bats.out"; fail=$((fail + 1))
        fi
    fi
fi

[ $skip -gt 0 ] && echo "($skip skipped)"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
