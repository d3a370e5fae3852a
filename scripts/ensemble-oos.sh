#!/usr/bin/env bash
# scripts/ensemble-oos.sh: the out-of-sample measurement of docs/ensemble.md
# on one candles file: features with labels, causal regime labels, walk-forward
# predictions of the linear model, then walk-forward ensemble weights, each
# window fitted on the bars before it only; prints `kml-ensemble show` of
# each run (its last table is out of sample, after fees, beside buy and hold).
#
#   scripts/ensemble-oos.sh CANDLES.csv PAIR OUTDIR [REGIMES [gru]]
#
# REGIMES: rules (default: the transparent classifier, nothing fitted, so no
# parameter saw a later bar) or hmm (a 4-state HMM fitted on every row: its
# parameters saw the whole history, though each label is filtered).
# gru: also a third run with a walk-forward GRU (T 32, at most 8 epochs,
# patience 3, one thread: about 2 min for SOL/USD, 5 for BTC/USD here).
# Binaries from $KML_BIN (default bin/).
set -eu
[ $# -ge 3 ] || { echo "usage: $0 CANDLES.csv PAIR OUTDIR [rules|hmm [gru]]" >&2; exit 64; }
candles=$1 pair=$2 out=$3 regimes=${4:-rules} gru=${5:-}
bin=${KML_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
mkdir -p "$out"
export KML_LOG_DIR=${KML_LOG_DIR:-$out/logs}
"$bin/kml-features" --labels --quiet "$candles" >"$out/features.csv"
case $regimes in
rules) "$bin/kml-regime" label --method rules "$out/features.csv" >"$out/labelled.csv" ;;
hmm)
    "$bin/kml-regime" fit --states 4 --seed 1 -o "$out/regime.json" "$out/features.csv" 2>/dev/null
    "$bin/kml-regime" label -m "$out/regime.json" "$out/features.csv" >"$out/labelled.csv"
    ;;
*) echo "$0: REGIMES must be rules or hmm, not '$regimes'" >&2; exit 64 ;;
esac
OPENBLAS_NUM_THREADS=1 "$bin/kml-train" --walk-forward -a linear --train-days 180 --step-days 30 --source real \
    --seed 1 -q -o "$out/models" "$out/features.csv" >"$out/wf_linear.csv" 2>/dev/null
wf=(--walk-forward --train-days 180 --step-days 30 --pair "$pair" --source real --quiet)
"$bin/kml-ensemble" fit "${wf[@]}" -o "$out/rules.json" "$out/labelled.csv"
"$bin/kml-ensemble" fit "${wf[@]}" --predictions "$out/wf_linear.csv" -o "$out/rules_linear.json" "$out/labelled.csv"
if [ "$gru" = gru ]; then
    OPENBLAS_NUM_THREADS=1 "$bin/kml-train" --walk-forward -a gru -T 32 --epochs 8 --patience 3 --train-days 180 \
        --step-days 30 --source real --seed 1 -q -o "$out/models" "$out/features.csv" >"$out/wf_gru.csv" 2>/dev/null
    "$bin/kml-ensemble" fit "${wf[@]}" --predictions "$out/wf_gru.csv" -o "$out/rules_gru.json" "$out/labelled.csv"
fi
echo "== rule strategies ($regimes regimes)"
"$bin/kml-ensemble" show "$out/rules.json"
echo "== rule strategies and model:linear ($regimes regimes; bars before the first walk-forward prediction left out)"
"$bin/kml-ensemble" show "$out/rules_linear.json"
if [ "$gru" = gru ]; then
    echo "== rule strategies and model:gru ($regimes regimes; bars before the first walk-forward prediction left out)"
    "$bin/kml-ensemble" show "$out/rules_gru.json"
fi
