#!/usr/bin/env bash
# pipelines/slurm/submit.sh: `make pipeline SCHEDULER=slurm`: the pipeline as
# Slurm jobs instead of local processes. Paths are relative to the project
# directory, which every node sees (shared storage); nothing is node-local.
#
#   submit.sh [PAIR...]        submit; prints "NAME JOBID" per job (default
#                              pairs: the configuration's assets)
#   submit.sh --plan PAIR...   (the plan job itself, once the assets are done)
#
# Jobs, each after the ones it reads (afterok; a failed one cancels its
# dependents, kill-on-invalid-dep):
#   asset-ALT       pipelines/run.sh --asset PAIR: data, features, regimes,
#                   the final models (one job per asset)
#   plan            after every asset: the backtest's features and regimes
#                   (what kml-backtest computes first), then submits the rest:
#   wf-ALT-ARCH-folds   an array, one task per walk-forward fold whose piece
#                   is missing (kml-train --fold), one array per asset and arch
#   wf-ALT-ARCH-merge   kml-train --walk-forward --merge: OUT/backtest/ALT/wf_ARCH.csv
#   ensemble-ALT    kml-ensemble fit on the asset's merged predictions:
#                   OUT/ALT/ensemble.json, as the local run writes it
#   backtest        NO_PAPER=1 pipelines/run.sh --trade PAIRS: kml-backtest,
#                   whose walk-forward takes every fold from its piece, then
#                   the report and the ensembles
#   report          after all of them, however they ended: status.sh (the
#                   tasks that failed, by name)
# A rerun submits the same jobs, but the asset steps skip what is up to date
# and only the folds without a piece are trained: outputs are the checkpoints.
# Environment: pipelines/run.sh's (ARCHS, OUT, MODELS, SEED, INTERVAL,
# WF_TRAIN_DAYS, WF_STEP_DAYS, TRAIN_ARGS, MAX_GAP, SOURCE, ...), plus
# KML_SLURM_DIR (default OUT/slurm: jobs.jsonl, tasks.jsonl, logs/) and
# KML_SLURM_RETRIES. Resources: the configuration's "slurm" section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export PATH="${KML_EXEC_PATH:+$KML_EXEC_PATH:}$PWD/bin:$PATH"
out=${OUT:-runs}
export KML_SLURM_DIR=${KML_SLURM_DIR:-$out/slurm}
. "$here/lib.sh"

interval=${INTERVAL:-60}
archs=${ARCHS:-linear,gru}
[ "$archs" != all ] || archs=linear,lstm,gru,tcn,cnn,transformer,hybrid
seed=${SEED:-1}
max_gap=${MAX_GAP:-3}
altname() { kml-config pair "$1" | jq -r .altname; }

plan=0
if [ "${1:-}" = --plan ]; then plan=1; shift; fi
case ${1:-} in -h | --help) sed -n '2,35s/^# \{0,1\}//p' "$0"; exit 0 ;; -*)
    echo "submit.sh: unknown option '$1'" >&2; echo "try 'submit.sh --help'" >&2; exit 64 ;;
esac
[ $# -gt 0 ] || set -- $(kml-config show | jq -r '.assets | keys_unsorted[]')
slurm_load_config

if [ $plan = 0 ]; then
    deps=""
    for pair in "$@"; do
        alt=$(altname "$pair") || slurm_die 64 "not a pair: '$pair'"
        slurm_submit "asset-$alt" job "" "" -- "$PWD/pipelines/run.sh" --asset "$pair"
        deps=${deps:+$deps:}$slurm_job
    done
    slurm_submit plan job "$deps" "" -- "$PWD/pipelines/slurm/submit.sh" --plan "$@"
    slurm_say "submitted; the plan job submits the training arrays, the merges, the ensembles and the backtest" \
        "once the assets are done: pipelines/slurm/status.sh (or squeue) follows them"
    exit 0
fi

# --plan: the walk-forward's inputs and windows exactly as pipelines/run.sh
# --trade and kml-backtest make them, so the backtest job finds every fold's
# piece (a difference would only cost time: a piece of another input is
# never taken, the backtest would train that fold itself).
bt="$out/backtest" span="" src=real
mkdir -p "$out/store" "$bt"
for pair in "$@"; do
    alt=$(altname "$pair")
    [ -s "$out/$alt/labelled.csv" ] || slurm_die 66 "$pair: no $out/$alt/labelled.csv (the asset job did not finish)"
    [ "$(cat "$out/$alt/source")" = synthetic ] && src=synthetic
    days=$(awk -F, 'NR == 2 { a = $1 } END { printf "%d", ($1 - a) / 86400 }' "$out/$alt/labelled.csv")
    [ -n "$span" ] && [ "$span" -le "$days" ] || span=$days
    ln -sf "../$alt/candles.csv" "$out/store/${alt}_$interval.csv"
done
wf_step=${WF_STEP_DAYS:-} wf_train=${WF_TRAIN_DAYS:-}
[ -n "$wf_step" ] || { wf_step=30; [ "$span" -ge 240 ] || wf_step=7; }
if [ -z "$wf_train" ]; then
    wf_train=$(((span - wf_step) / 2 - 1))
    [ "$wf_train" -le 180 ] || wf_train=180
fi
if [ "$wf_train" -lt 10 ] || [ "$span" -le $((2 * wf_train + wf_step)) ]; then
    slurm_die 65 "$span days of labelled rows (the shortest asset), too few for the walk-forward backtest (WF_TRAIN_DAYS=$wf_train, twice, + WF_STEP_DAYS=$wf_step)"
fi
merges=""
for pair in "$@"; do
    alt=$(altname "$pair")
    name=$(kml-config pair "$pair" | jq -r .pair)
    d="$bt/$alt"
    mkdir -p "$d"
    cp "$out/store/${alt}_$interval.csv" "$d/candles.csv"
    kml-features --labels --interval "$interval" --max-gap "$max_gap" --quiet "$d/candles.csv" >"$d/labelled.csv"
    first=$(sed -n 2p "$d/labelled.csv" | cut -d, -f1)
    awk -F, -v e="$((first + wf_train * 86400))" 'NR == 1 || $1 + 0 < e + 0' "$d/labelled.csv" >"$d/regime_fit.csv"
    kml-regime fit --seed "$seed" -o "$d/regime.json" "$d/regime_fit.csv" 2>/dev/null
    kml-regime label -m "$d/regime.json" "$d/labelled.csv" >"$d/labelled_regime.csv"
    wf=() asset_merges=""
    for arch in ${archs//,/ }; do
        # shellcheck disable=SC2086
        slurm_walk_forward "wf-$alt-$arch" "$d/wf_$arch.csv" "" -- -a "$arch" --train-days "$wf_train" \
            --step-days "$wf_step" --seed "$seed" --pair "$name" --source "$src" --max-gap "$max_gap" \
            -q ${TRAIN_ARGS:-} -o "$d/models_$arch" "$d/labelled_regime.csv"
        asset_merges=${asset_merges:+$asset_merges:}$slurm_job
        wf+=(--predictions "$d/wf_$arch.csv")
    done
    merges=${merges:+$merges:}$asset_merges
    slurm_submit "ensemble-$alt" job "$asset_merges" "" -- kml-ensemble fit "${wf[@]}" --pair "$pair" \
        --source "$(cat "$out/$alt/source")" --seed "$seed" --quiet -o "$out/$alt/ensemble.json" "$out/$alt/labelled.csv"
    ensembles=${ensembles:+$ensembles:}$slurm_job
done
slurm_submit backtest job "$merges" "" -- env NO_PAPER=1 "$PWD/pipelines/run.sh" --trade "$@"
all="$merges:${ensembles}:$slurm_job"
# The report runs whatever became of the others (afterany).
out_report=$(sbatch --parsable --job-name=kml-report --chdir="$PWD" --time="$slurm_merge_min" \
    ${slurm_partition:+--partition="$slurm_partition"} ${slurm_account:+--account="$slurm_account"} \
    --dependency="afterany:$all" --output="$KML_SLURM_DIR/logs/%x_%j.out" "$PWD/pipelines/slurm/status.sh")
printf '{"name":"report","job":"%s","array":"","ts":"%s"}\n' "${out_report%%;*}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >>"$KML_SLURM_DIR/jobs.jsonl"
echo "report ${out_report%%;*}"
