#!/usr/bin/env bash
# make bench: runs every bench/<stage>.sh in turn. Each prints its measurements
# as ratios against a reference timed in the same run; none of them fails on time.
set -u
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
status=0
for b in bench/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    [ -n "${KML_BENCH:-}" ] && [[ " $KML_BENCH " != *" $(basename "$b" .sh) "* ]] && continue
    echo "== $(basename "$b" .sh)"
    "$b" || { echo "bench $b failed (exit $?)"; status=1; }
done
exit $status
