#!/usr/bin/env bash
# pipelines/run.sh: what `make pipeline ASSETS="SOL/USD ETH/USD"` runs. Every
# step is one of the kml-* programs; this script only composes them, so each
# step can be copied out and run by hand.
#
#   run.sh [PAIR...]         everything, for the pairs given (default: the
#                            configuration's assets), then the summary
#   run.sh --asset PAIR      one asset's steps: market data, features with
#                            labels, regimes (fit, then causal labels), the
#                            final models (make -j runs assets in parallel)
#   run.sh --trade PAIR...   after the assets: the backtest over history
#                            (kml-backtest: walk-forward models and ensemble,
#                            predict | size | execute --sandbox on one account,
#                            the HTML report), each asset's final ensemble.json
#                            from the backtest's out-of-sample predictions, one
#                            paper-trading step on the latest bar (kml bot
#                            --once, one account), and the summary (NO_PAPER=1:
#                            stop after the ensembles)
#
# Incremental: a step runs only when its inputs (files, options, the program
# itself, the configuration where the step reads it) changed since it last
# ran; its key is kept in OUT/<ALT>/.keys/. A second run with nothing new does
# nothing; a new candle redoes what depends on it.
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
#   STATE     state of the paper-trading step (default state, as kml bot's)
#   SEED      seed of the simulator and of training (default 1)
#   SIM_DAYS  days of synthetic market when it is used (default 365)
#   HISTORY_DAYS days of Kraken candles to keep in the store (default: the
#             configuration's history_days, 125): a new or shorter store is first
#             filled back from Kraken's trades (kml-fetch update --days), which
#             takes a while the first time (README.md, "First run")
#   MAX_GAP   missing bars bridged before the indicators restart (default 3: Kraken
#             writes no candle for an hour without trades; longer gaps restart)
#   TRAIN_ARGS extra kml-train options (e.g. "--epochs 5 --window 32")
#   WF_TRAIN_DAYS, WF_STEP_DAYS  walk-forward window and step of the backtest
#             and ensemble. The backtest's ensemble windows are fitted on the
#             walk-forward predictions, which start after the first training
#             window, so the labelled rows must span more than 2 windows and a
#             step. Default: a step of 30 days (7 under 240 days of rows) and
#             the largest window up to 180 days that fits the shortest asset
#             (125 days of Kraken history give about 92 days of rows: a 41-day
#             window stepping 7 days; 365 days of the simulator, 150 and 30)
#   BACKTEST_ARGS extra kml-backtest options (e.g. --ml-position-sizing)
#   EXTREME   1: labels to the liquidation of each pair's extreme maximum
#             leverage (kml-features --leverage) and models that learn them
#             (kml-train --extreme-leverage)
#   FORCE_RETRAIN 1: retrain every model even when nothing changed
#   BOT_ARGS  extra kml bot options for the paper step (e.g. --ml-position-sizing)
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests point KML_EXEC_PATH at the build under test (e.g. the sanitizer build).
export PATH="${KML_EXEC_PATH:+$KML_EXEC_PATH:}$PWD/bin:$PATH"

source=${SOURCE:-auto}
interval=${INTERVAL:-60}
archs=${ARCHS:-linear,gru}
data_dir=${DATA_DIR:-historical_data}
out=${OUT:-runs}
models=${MODELS:-models}
state=${STATE:-state}
seed=${SEED:-1}
sim_days=${SIM_DAYS:-365}
max_gap=${MAX_GAP:-3}
wf_train=${WF_TRAIN_DAYS:-}
wf_step=${WF_STEP_DAYS:-}
case $source in auto|kraken|sim) ;; *) echo "pipeline: SOURCE must be auto, kraken or sim, not '$source'" >&2; exit 64 ;; esac
[ "$archs" != all ] || archs=linear,lstm,gru,tcn,cnn,transformer,hybrid
config_file=${KML_CONFIG:-config/trading.json}

say() { printf 'pipeline: %s\n' "$*" >&2; }
altname() { kml-config pair "$1" | jq -r .altname; }

# step KEYDIR NAME INPUTS... -- COMMAND...: runs COMMAND unless the key of
# its inputs (their contents, the command's words, the program's binary) is
# the one recorded when it last succeeded. COMMAND writes its own outputs.
step() {
    local keys=$1 name=$2 ins=() key w progs=()
    shift 2
    while [ "$1" != -- ]; do ins+=("$1"); shift; done
    shift
    local words=()
    for w in "$@"; do
        case $w in kml-*) progs+=("$(command -v "$w")") ;; esac
        # the work directories' own paths are not part of the key: a moved runs/ stays up to date
        w=${w//"$out"/@OUT}
        words+=("${w//"$models"/@MODELS}")
    done
    key=$({ printf '%s\0' "${words[@]}"; sha256sum "${progs[@]}" "${ins[@]}" 2>/dev/null | cut -c1-64; } | sha256sum | cut -c1-32)
    if [ "$(cat "$keys/$name" 2>/dev/null)" = "$key" ]; then
        say "  $name: up to date"
        return 0
    fi
    rm -f "$keys/$name"
    "$@"
    mkdir -p "$keys"
    echo "$key" >"$keys/$name"
}
# to FILE COMMAND...: COMMAND's stdout into FILE, atomically.
to() { local f=$1; shift; "$@" >"$f.tmp" && mv "$f.tmp" "$f"; }

# Candles of one pair into $2 (replaced only when they changed); prints the
# data source (real or synthetic).
get_data() {
    local pair=$1 dest=$2 file history_days
    file=$(kml-config pair "$pair" --interval "$interval" --dir "$data_dir" | jq -r .file)
    if [ "$source" != sim ]; then
        mkdir -p "$data_dir"
        history_days=${HISTORY_DAYS:-$(kml-config show | jq -r .history_days)}
        # An offline machine should fall back in seconds, not minutes: one
        # request without retries tells whether Kraken answers at all; then the
        # update (a first fill pages for minutes) keeps kml-fetch's retries and
        # backoff. A fill cut short by a failure resumes where it stopped at the
        # next run.
        if KML_HTTP_RETRIES=0 kml-fetch ohlc --pair "$pair" --interval "$interval" >/dev/null 2>&1 &&
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
            cmp -s "$file" "$dest" || cp "$file" "$dest"
            echo real
            return 0
        fi
        say "!!! $pair: NO REAL DATA (no $data_dir/ file and no network): using the SYNTHETIC market (kml-fetch sim). Nothing below is about real prices. !!!"
    fi
    kml-fetch sim --pair "$pair" --days "$sim_days" --interval "$interval" --seed "$seed" >"$dest.new"
    if cmp -s "$dest.new" "$dest"; then rm "$dest.new"; else mv "$dest.new" "$dest"; fi
    echo synthetic
}

# One asset: data, features, regimes, final models.
asset() {
    local pair=$1 alt dir keys src arch cfg_in=()
    # the configuration is an input of the steps that read it (margin levels
    # for the liquidation labels, fees and leverage for kml-train, which keeps
    # a model when what it uses of them is unchanged)
    [ -f "$config_file" ] && cfg_in=("$config_file")
    alt=$(altname "$pair")
    dir="$out/$alt" keys="$out/$alt/.keys"
    mkdir -p "$dir" "$models/$alt"
    say "$pair: data"
    src=$(get_data "$pair" "$dir/candles.csv") || return $?
    [ "$(cat "$dir/source" 2>/dev/null)" = "$src" ] || echo "$src" >"$dir/source"
    say "$pair: features ($src data, $(($(wc -l <"$dir/candles.csv") - 1)) candles)"
    local feat_args=() train_args=()
    if [ "${EXTREME:-0}" = 1 ]; then
        feat_args=(--leverage "$(kml-config show | jq -r --arg p "$pair" '.assets[$p].leverage.extreme[1]')")
        train_args=(--extreme-leverage)
    fi
    [ "${FORCE_RETRAIN:-0}" = 1 ] && train_args+=(--force-retrain)
    step "$keys" features "$dir/candles.csv" "${cfg_in[@]}" -- \
        to "$dir/features.csv" kml-features --labels "${feat_args[@]}" --interval "$interval" --max-gap "$max_gap" "$dir/candles.csv"
    say "$pair: regimes"
    step "$keys" regime "$dir/features.csv" -- kml-regime fit --seed "$seed" -o "$dir/regime.json" "$dir/features.csv"
    step "$keys" labelled "$dir/features.csv" "$dir/regime.json" -- \
        to "$dir/labelled.csv" kml-regime label -m "$dir/regime.json" "$dir/features.csv"
    for arch in ${archs//,/ }; do
        say "$pair: training $arch"
        [ -s "$models/$alt/$arch.safetensors" ] && [ "${FORCE_RETRAIN:-0}" != 1 ] || rm -f "$keys/train-$arch"
        # shellcheck disable=SC2086
        step "$keys" "train-$arch" "$dir/labelled.csv" "${cfg_in[@]}" -- \
            to "$dir/train-$arch.json" kml-train --arch "$arch" --pair "$pair" --source "$src" --seed "$seed" \
            -o "$models/$alt" "${train_args[@]}" ${TRAIN_ARGS:-} "$dir/labelled.csv"
    done
    say "$pair: done: $dir/ (features.csv, regime.json, labelled.csv, train-*.json), $models/$alt/"
}

# After every asset: the backtest, the final ensembles, a paper step, the summary.
trade() {
    local pairs="$*" pair alt src=real days bt="$out/backtest" keys="$out/.keys" ins=() cands=() wf arch cfg_in=()
    mkdir -p "$out/store"
    local span=""
    for pair in "$@"; do
        alt=$(altname "$pair")
        [ -s "$out/$alt/labelled.csv" ] || { say "$pair: no $out/$alt/labelled.csv (run the asset steps first)"; return 66; }
        [ "$(cat "$out/$alt/source")" = synthetic ] && src=synthetic
        days=$(awk -F, 'NR == 2 { a = $1 } END { printf "%d", ($1 - a) / 86400 }' "$out/$alt/labelled.csv")
        [ -n "$span" ] && [ "$span" -le "$days" ] || span=$days
        ln -sf "../$alt/candles.csv" "$out/store/${alt}_$interval.csv"
        ins+=("$out/$alt/candles.csv")
        cands+=(--candles "$pair=$out/$alt/candles.csv")
    done
    [ -n "$wf_step" ] || { wf_step=30; [ "$span" -ge 240 ] || wf_step=7; }
    if [ -z "$wf_train" ]; then
        wf_train=$(((span - wf_step) / 2 - 1))
        [ "$wf_train" -le 180 ] || wf_train=180
    fi
    if [ "$wf_train" -lt 10 ] || [ "$span" -le $((2 * wf_train + wf_step)) ]; then
        say "$span days of labelled rows (the shortest asset), too few for the walk-forward backtest and ensemble" \
            "(WF_TRAIN_DAYS=$wf_train, twice, + WF_STEP_DAYS=$wf_step); fetch more history (HISTORY_DAYS, SIM_DAYS) or lower WF_TRAIN_DAYS"
        return 65
    fi
    [ -f "$config_file" ] && cfg_in=("$config_file")
    say "backtest: $pairs ($src data; walk-forward $wf_train days, step $wf_step)"
    # shellcheck disable=SC2086
    step "$keys" backtest "${ins[@]}" "${cfg_in[@]}" -- \
        kml-backtest --pairs "$pairs" --data-dir "$out/store" --interval "$interval" --archs "$archs" \
        --train-days "$wf_train" --step-days "$wf_step" --max-gap "$max_gap" --source "$src" --seed "$seed" \
        --train-args "${TRAIN_ARGS:-}" ${BACKTEST_ARGS:-} -o "$bt"
    for pair in "$@"; do
        alt=$(altname "$pair")
        wf=()
        for arch in ${archs//,/ }; do wf+=(--predictions "$bt/$alt/wf_$arch.csv"); done
        say "$pair: ensemble (weights per regime from the backtest's out-of-sample predictions)"
        step "$out/$alt/.keys" ensemble "$out/$alt/labelled.csv" "$bt/$alt"/wf_*.csv "${cfg_in[@]}" -- \
            kml-ensemble fit "${wf[@]}" --pair "$pair" --source "$(cat "$out/$alt/source")" --seed "$seed" --quiet \
            -o "$out/$alt/ensemble.json" "$out/$alt/labelled.csv"
    done
    [ "${NO_PAPER:-0}" = 1 ] && return 0
    say "paper trading: one step on the latest bar (kml bot --sandbox --once, state in $state/)"
    # shellcheck disable=SC2086
    kml-bot --sandbox --once --no-fetch --assets "$pairs" --runs "$out" --models "$models" --state "$state" \
        --interval "$interval" "${cands[@]}" ${BOT_ARGS:-}
    summary "$@"
}

# What a person reads in ten seconds.
summary() {
    local pair alt best m
    echo
    echo "krakenml pipeline summary ($(date -u +%Y-%m-%dT%H:%MZ))"
    for pair in "$@"; do
        alt=$(altname "$pair")
        m="$out/$alt"
        [ "$(cat "$m/source")" = synthetic ] && echo "$pair: SYNTHETIC data (kml-fetch sim): nothing here is about real prices"
        # shellcheck disable=SC2046
        best=$(jq -rs 'map(select(.metrics.test.log_loss != null))
                | (min_by(.metrics.test.log_loss)) as $b
                | (map(select(.arch == "linear"))[0].metrics.test.log_loss) as $lin
                | "best model \($b.arch): test log-loss \($b.metrics.test.log_loss * 10000 | round / 10000)"
                  + " (class prior \($b.metrics.test.baseline_log_loss * 10000 | round / 10000)"
                  + (if $lin then ", linear \($lin * 10000 | round / 10000)" else "" end) + ")"' "$m"/train-*.json)
        printf '%-8s %s\n' "$pair" "$best"
        printf '%-8s ensemble: %s\n' "" "$(jq -r '[.weights | to_entries[] | "\(.key) " +
            ([.value | to_entries[] | select(.value > 0.005) | "\(.key) \(.value * 100 | round)%"] | join(" ")
             | if . == "" then "flat" else . end)] | join("; ")' "$m/ensemble.json")"
    done
    local rep="$out/backtest/report"
    if [ -s "$rep/metrics.json" ]; then
        jq -r '.strategy as $s | .benchmark as $b
               | "backtest: total return \($s.total_return * 1000 | round / 10) % against buy and hold \($b.total_return * 1000 | round / 10) %"
               + " after costs (fees \($s.fees | round), rollover \($s.rollover | round), \($s.trades) trades, \($s.liquidations) liquidations);"
               + " Sharpe \($s.sharpe * 100 | round / 100) against \($b.sharpe * 100 | round / 100), max drawdown \($s.max_drawdown * 1000 | round / 10) %"
               + (if .beat_benchmark then ": it beat buy and hold" else ": it did not beat buy and hold" end)' \
            "$rep/metrics.json" 2>/dev/null || echo "backtest: see $rep/metrics.json"
    fi
    if [ -s "$state/account/account.json" ]; then
        jq -r '"paper account: equity \(.equity * 100 | round / 100) (cash \(.cash * 100 | round / 100)); "
               + ([.pairs | to_entries[] | "\(.key) " + (if .value.side > 0 then "long" elif .value.side < 0 then "short" else "flat" end)
                   + (if .value.side != 0 then " \(.value.volume) at \(.value.entry), \(.value.leverage)x" else "" end)
                   + (if .value.pending then " (target \(.value.pending.exposure * 100 | round / 100) pending for the next open)" else "" end)] | join(", "))' \
            "$state/account/account.json" 2>/dev/null || echo "paper account: $state/account/account.json"
    fi
    echo "report: $rep/report.html"
}

case ${1:-} in
    --asset) shift; [ $# = 1 ] || { echo "pipeline: --asset takes one pair" >&2; exit 64; }; asset "$1" ;;
    --trade) shift; [ $# -gt 0 ] || set -- $(kml-config show | jq -r '.assets | keys_unsorted | join(" ")'); trade "$@" ;;
    *)
        [ $# -gt 0 ] || set -- $(kml-config show | jq -r '.assets | keys_unsorted | join(" ")')
        status=0
        for pair in "$@"; do asset "$pair" || status=$?; done
        [ $status = 0 ] || exit $status
        trade "$@"
        ;;
esac
