#!/usr/bin/env bash
# pipelines/run.sh: what `make pipeline ASSETS="SOL/USD ETH/USD"` runs. For each
# asset, in order: market data, features with labels, regimes (fit, then causal
# labels), training. Every stage is one of the kml-* filters; this script only
# composes them, so each step can be copied out and run by hand.
#
# Environment (all optional):
#   SOURCE    auto (default): update historical_data/ from Kraken, and when that
#             fails with no stored data, fall back to the synthetic market, loudly;
#             kraken: real data only (fail without it); sim: synthetic only
#   INTERVAL  candle minutes (default 60)
#   ARCHS     comma-separated architectures for kml-train (default linear,gru);
#             'all' trains every architecture beside the linear baseline
#   DATA_DIR  the store (default historical_data)
#   OUT       per-asset work directory (default runs): features, regimes, results
#   MODELS    model directory (default models)
#   SEED      seed of the simulator and of training (default 1)
#   SIM_DAYS  days of synthetic market when it is used (default 365)
#   HISTORY_DAYS days of Kraken candles to keep in the store (default: the
#             configuration's history_days, 125): a new or shorter store is first
#             filled back from Kraken's trades (kml-fetch update --days), which
#             takes a while the first time (README.md, "First run")
#   MAX_GAP   missing bars bridged before the indicators restart (default 3: Kraken
#             writes no candle for an hour without trades; longer gaps restart)
#   TRAIN_ARGS extra kml-train options (e.g. "--epochs 5 --window 32")
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests point KML_EXEC_PATH at the build under test (e.g. the sanitizer build).
export PATH="${KML_EXEC_PATH:+$KML_EXEC_PATH:}$PWD/bin:$PATH"

[ $# -gt 0 ] || set -- SOL/USD ETH/USD BTC/USD
source=${SOURCE:-auto}
interval=${INTERVAL:-60}
archs=${ARCHS:-linear,gru}
data_dir=${DATA_DIR:-historical_data}
out=${OUT:-runs}
models=${MODELS:-models}
seed=${SEED:-1}
sim_days=${SIM_DAYS:-365}
max_gap=${MAX_GAP:-3}
# kml-config show prints the effective configuration ($KML_CONFIG or config/trading.json)
history_days=${HISTORY_DAYS:-$(kml-config show | sed -n 's/.*"history_days":[[:space:]]*\([0-9]*\).*/\1/p')}
case $source in auto|kraken|sim) ;; *) echo "pipeline: SOURCE must be auto, kraken or sim, not '$source'" >&2; exit 64 ;; esac

say() { printf 'pipeline: %s\n' "$*" >&2; }

# Candles of one pair into $2; prints the data source (real or synthetic).
get_data() {
    local pair=$1 dest=$2 file
    file=$(kml-config pair "$pair" --interval "$interval" --dir "$data_dir" | sed 's/.*"file":"\([^"]*\)".*/\1/')
    if [ "$source" != sim ]; then
        mkdir -p "$data_dir"
        # Few retries: an offline machine should fall back in seconds, not minutes.
        # A fill cut short by a failure resumes where it stopped at the next run.
        if KML_HTTP_RETRIES=${KML_HTTP_RETRIES:-1} KML_HTTP_BACKOFF=${KML_HTTP_BACKOFF:-0.5} \
            kml-fetch update --pair "$pair" --interval "$interval" --dir "$data_dir" --days "$history_days" >&2; then
            :
        elif [ -s "$file" ]; then
            say "$pair: could not update $file from Kraken; using the rows it already has"
        elif [ "$source" = kraken ]; then
            say "$pair: no data in $file and Kraken could not be reached (SOURCE=kraken)"
            return 69
        else
            file=""
        fi
        if [ -n "$file" ]; then
            cp "$file" "$dest"
            echo real
            return 0
        fi
        say "!!! $pair: NO REAL DATA (no $data_dir/ file and no network): using the SYNTHETIC market (kml-fetch sim). Nothing below is about real prices. !!!"
    fi
    kml-fetch sim --pair "$pair" --days "$sim_days" --interval "$interval" --seed "$seed" > "$dest"
    echo synthetic
}

status=0
for pair in "$@"; do
    alt=$(kml-config pair "$pair" | sed 's/.*"altname":"\([^"]*\)".*/\1/')
    dir="$out/$alt"
    mkdir -p "$dir" "$models/$alt"
    say "$pair: data"
    if ! src=$(get_data "$pair" "$dir/candles.csv"); then status=69; continue; fi
    say "$pair: features ($src data, $(($(wc -l < "$dir/candles.csv") - 1)) candles)"
    kml-features --labels --interval "$interval" --max-gap "$max_gap" "$dir/candles.csv" > "$dir/features.csv.tmp"
    mv "$dir/features.csv.tmp" "$dir/features.csv"
    say "$pair: regimes"
    kml-regime fit --seed "$seed" -o "$dir/regime.json" "$dir/features.csv"
    kml-regime label -m "$dir/regime.json" "$dir/features.csv" > "$dir/labelled.csv.tmp"
    mv "$dir/labelled.csv.tmp" "$dir/labelled.csv"
    for arch in ${archs//,/ }; do
        say "$pair: training $arch"
        # shellcheck disable=SC2086
        kml-train --arch "$arch" --pair "$pair" --source "$src" --seed "$seed" -o "$models/$alt" \
            ${TRAIN_ARGS:-} "$dir/labelled.csv" > "$dir/train-$arch.json"
    done
    say "$pair: done: $dir/ (features.csv, regime.json, labelled.csv, train-*.json), $models/$alt/"
done
exit $status
