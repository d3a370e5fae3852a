#!/usr/bin/env bash
# bench/size.sh: kml-size over 100k generated decisions (tests/size_props.py,
# seed 9: three pairs, random signals, confidences and volatilities), fixed
# fraction and --ml-position-sizing --extreme-leverage, in CPU seconds. The
# reference, timed in the same run on the same file: `jq -c .`, which only
# parses and prints each line (a JSON-lines filter that does no sizing).
# Sides interleaved over KML_BENCH_ROUNDS rounds (bench/common.bash); each
# side's median (or best) is reported. Then the cost of --state (an atomic,
# fsync'ed state write after each decision) on 2000 decisions. Never fails on
# time. KML_BENCH_ROWS overrides the decision count.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
bin=${KML_SIZE:-$(command -v kml-size || echo bin/kml-size)}
rows=${KML_BENCH_ROWS:-100000}
bench_init size
tmp=$bench_tmp
bench_header size "-" 1
command -v jq >/dev/null || { echo "size: jq not installed: no reference"; exit 0; }

/usr/bin/python3 tests/size_props.py gen 9 "$rows" "$tmp"
fixed() { echo "cpu=$(bench_cpu_seconds /dev/null "$bin" --config "$tmp/config.json" "$tmp/decisions.jsonl")"; }
ml() {
    echo "cpu=$(bench_cpu_seconds /dev/null "$bin" --config "$tmp/config.json" --ml-position-sizing --extreme-leverage \
        "$tmp/decisions.jsonl")"
}
ref() { echo "cpu=$(bench_cpu_seconds /dev/null jq -c . "$tmp/decisions.jsonl")"; }
bench_interleave fixed ml ref
f=$(bench_stat fixed cpu lo) m=$(bench_stat ml cpu lo) j=$(bench_stat ref cpu lo)
echo "kml-size, $rows decisions: fixed fraction $f CPU s ($(bench_ratio "$rows" "$f" %.0f) decisions/s), ML sizing $m CPU s"
echo "jq -c . on the same lines: $j CPU s; kml-size takes $(bench_ratio "$f" "$j" %.2f)x (fixed) and $(bench_ratio "$m" "$j" %.2f)x (ML) of jq's time"

head -2000 "$tmp/decisions.jsonl" >"$tmp/d2k.jsonl"
t0=$(date +%s.%N)
"$bin" --config "$tmp/config.json" --state "$tmp/state.json" "$tmp/d2k.jsonl" >/dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "--state: 2000 decisions in %.2f s wall (%.2f ms a decision, mostly fsync)\n", b - a, (b - a) / 2 }'
