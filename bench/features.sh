#!/usr/bin/env bash
# bench/features.sh: kml-features throughput, the full default feature set on
# ../shared/data/kraken/XBTUSD_60.csv (72 259 bars), beside the pandas/numpy
# implementation of the same features (tests/features_ref.py) timed in the
# same run on the same file with the same gap handling. Both read the candles
# CSV and write a features CSV with round-trip doubles. Times are CPU seconds
# (less inflated by a busy machine than wall time, not immune to it). The two
# run interleaved over KML_BENCH_ROUNDS rounds (default 5: kml-features,
# pandas, kml-features, pandas, ...), each pandas round in a fresh process
# timing its compute and its CSV write separately; each side's median (or
# best, KML_BENCH_STAT=best) is reported (bench/common.bash). Prints ratios;
# never fails on time. KML_BENCH_FILE overrides the input.
set -eu
cd "$(dirname "$0")/.."
bench_default_rounds=5
. bench/common.bash
bin=${KML_FEATURES:-$(command -v kml-features || echo bin/kml-features)}
file=${KML_BENCH_FILE:-${KML_SHARED_DATA:-../shared/data}/kraken/XBTUSD_60.csv}
if [ ! -f "$file" ]; then
    echo "features: skipped: $file absent"
    exit 0
fi
bench_init features
tmp=$bench_tmp
bars=$(($(wc -l <"$file") - 1))
have_pandas=0
/usr/bin/python3 -c 'import pandas' 2>/dev/null && have_pandas=1
bench_header features "not used (kml-features has no BLAS)" "1 (kml-features; pandas/numpy as they are)"

# Every run, of either program, writes a new file: ext4 writes a file that was
# truncated and written again back to disk when it is closed (auto_da_alloc),
# and that writeback is charged to the process that closes it (up to 40 ms a
# kml-features run when measured).
# kml-features' notes on stderr (candles skipped between gaps) are shown
# only when a run fails.
ours() {
    local t
    rm -f "$tmp/c.csv"
    t=$(bench_cpu_seconds "$tmp/c.csv" "$bin" "$file" 2>"$tmp/err") || { cat "$tmp/err" >&2; return 1; }
    echo "cpu=$t"
}
# pandas: read + compute, then the CSV write, timed separately (CPU seconds of
# the process; numpy may use more threads, whose time counts too)
pandas() {
    rm -f "$tmp/p.csv"
    /usr/bin/python3 - "$file" "$tmp/p.csv" <<'EOF2'
import argparse, sys, time
sys.path.insert(0, "tests")
import features_ref as R
a = argparse.Namespace(features="", max_gap=0, fill=False, interval=0, labels=False, horizon=4, fee=0.0052,
                       flat_vol=0.0, barrier=False, upper="1v", lower="1v", leverage=0.0, maint_margin=0.004)
t0 = time.process_time()
df = R.compute(sys.argv[1], a)
t1 = time.process_time()
df.to_csv(sys.argv[2], index=False)
t2 = time.process_time()
print("compute=%.6f write=%.6f cpu=%.6f rows=%d" % (t1 - t0, t2 - t1, t2 - t0, len(df)))
EOF2
}
if [ $have_pandas = 1 ]; then
    bench_interleave ours pandas
else
    bench_interleave ours
fi
t_c=$(bench_stat ours cpu lo)
if [ "$t_c" = - ]; then
    echo "features: $bin failed in every round" >&2
    exit 1
fi
rows=$(($(wc -l <"$tmp/c.csv") - 1))
cols=$(($(head -1 "$tmp/c.csv" | tr , '\n' | wc -l) - 2))

if [ $have_pandas = 0 ]; then
    printf 'features: kml-features  %6d bars -> %d rows x %d features in %.3f CPU s (%s %s): %.0f bars/s (pandas absent: no reference)\n' \
        "$bars" "$rows" "$cols" "$t_c" "$bench_stat_kind" "$(bench_range ours cpu %.3f)" \
        "$(awk -v n="$bars" -v t="$t_c" 'BEGIN { print n / t }')"
    exit 0
fi
t_p=$(bench_stat pandas cpu lo) t_pc=$(bench_stat pandas compute lo) t_pw=$(bench_stat pandas write lo)
prow=$(bench_stat pandas rows hi)
# per-round ratios: each round's pandas CPU s over the same round's kml-features'
rr=$(paste -d' ' <(bench_values pandas cpu) <(bench_values ours cpu) | awk '$1 > 0 && $2 > 0 { r = $1 / $2
        if (n == 0 || r < lo) lo = r; if (n == 0 || r > hi) hi = r; n++ } END { if (n) printf "%.1f-%.1f", lo, hi; else print "-" }')

awk -v n="$bars" -v rows="$rows" -v cols="$cols" -v tc="$t_c" -v tp="$t_p" -v pc="$t_pc" -v pw="$t_pw" -v prow="$prow" \
    -v st="$bench_stat_kind" -v rc="$(bench_range ours cpu %.3f)" -v rp="$(bench_range pandas cpu %.2f)" -v rr="$rr" 'BEGIN {
    printf "features: kml-features      %d bars -> %d rows x %d features in %.3f CPU s (%s; rounds %s s): %.0f bars/s, %.0f rows/s\n", n, rows, cols, tc, st, rc, n / tc, rows / tc
    printf "features: pandas reference  %d bars -> %d rows in %.3f CPU s (%s; rounds %s s; read+compute %.3f s, to_csv %.3f s): %.0f bars/s\n", n, prow, tp, st, rp, pc, pw, n / tp
    printf "features: ratio CSV to CSV: kml-features is %.1fx faster than pandas (per round %s; target >= 20x)\n", tp / tc, rr
    printf "features: ratio against pandas without its CSV write: %.1fx (kml-features still writes its CSV)\n", pc / tc
}'
