#!/usr/bin/env bash
# bench/ensemble.sh: the fit time of a walk-forward ensemble over 2 years of
# hourly bars (17 520 bars) with 8 strategies: the 6 rule strategies on real
# SOL/USD features (kml-features, regime labels by kml-regime's rules) and
# two model:<arch> strategies from predictions files made up here (the fit's
# cost does not depend on what the probabilities say). Windows of 180 days,
# refitted every 30 days. The reference, timed in the same run on the same
# files: bench/ensemble_ref.py, the same computation in numpy written from
# docs/ensemble.md; it also reports the largest difference between its
# weights and kml-ensemble's over every window (a cross-check). The two run
# interleaved over KML_BENCH_ROUNDS rounds (default 3), CPU seconds, median
# (or best) of each side (bench/common.bash). Without the real data the
# market is kml-fetch sim's. Never fails on time.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
bin=${KML_ENSEMBLE:-$(command -v kml-ensemble || echo bin/kml-ensemble)}
bdir=$(dirname "$bin")
model=${KML_MODEL:-$bdir/kml-model}
bars=17520
bench_init ensemble
tmp=$bench_tmp
bench_header ensemble "$(bench_kernels "$model")" 1 "$bars bars, 8 strategies"

data=${KML_SHARED_DATA:-$(cd .. && pwd)/shared/data}/kraken/SOLUSD_60.csv
if [ -f "$data" ]; then
    src="real SOL/USD hourly ($(basename "$data"))"
    "$bdir/kml-features" --quiet "$data" >"$tmp/f.csv"
else
    src="kml-fetch sim SOL/USD (real data absent)"
    "$bdir/kml-fetch" sim --pair SOL/USD --bars $((bars + 900)) --seed 1 2>/dev/null | "$bdir/kml-features" --quiet >"$tmp/f.csv"
fi
"$bdir/kml-regime" label --method rules "$tmp/f.csv" | { head -n 1; tail -n "$bars"; } >"$tmp/l.csv"
# two prediction files: deterministic made-up probabilities for every bar
for a in alpha beta; do
    awk -F, -v a=$a 'BEGIN { print "time,arch,p_down,p_flat,p_up"; s = (a == "alpha") ? 7 : 13 }
        NR > 1 { s = (s * 1103515245 + 12345) % 2147483648; u = s / 2147483648
                 d = 0.6 * u; up = 0.6 * (1 - u); printf "%s,%s,%.6f,%.6f,%.6f\n", $1, a, d, 1 - d - up, up }' \
        "$tmp/l.csv" >"$tmp/$a.csv"
done
rows=$(($(wc -l <"$tmp/l.csv") - 1))
opts=(--walk-forward --train-days 180 --step-days 30 --fee 0.0026 --min-samples 500 --penalty 0.1)
preds=(--predictions "$tmp/alpha.csv" --predictions "$tmp/beta.csv")

ours() {
    local s
    s=$(OPENBLAS_NUM_THREADS=1 bench_cpu_seconds /dev/null "$bin" fit --quiet "${opts[@]}" "${preds[@]}" -o "$tmp/e.json" "$tmp/l.csv")
    echo "secs=$s"
}
numpy() {
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/ensemble_ref.py "$tmp/l.csv" 180 30 0.0026 500 0.1 "$tmp/alpha.csv" "$tmp/beta.csv" --compare "$tmp/e.json"
}
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    bench_interleave ours numpy
    o=$(bench_stat ours secs lo) p=$(bench_stat numpy secs lo)
    nw=$(jq '.windows | length' "$tmp/e.json")
    echo "data: $src, last $rows bars; $nw windows (180 days, every 30), 6 rule + 2 model strategies, 4 regimes"
    echo "walk-forward fit, CPU s ($bench_stat_kind): kml-ensemble $(bench_fmt %.3f "$o") (rounds $(bench_range ours secs %.3f)), numpy reference $(bench_fmt %.2f "$p") (rounds $(bench_range numpy secs %.2f)): $(bench_ratio "$p" "$o" %.0f)x (per round $(bench_round_ratios numpy ours secs))"
    echo "cross-check: largest |weight difference| between kml-ensemble and the numpy reference over every window: $(bench_stat numpy maxdiff lo)"
else
    bench_interleave ours
    echo "walk-forward fit over $rows bars: kml-ensemble $(bench_stat ours secs lo) CPU s ($bench_stat_kind; numpy reference skipped: no numpy)"
fi
