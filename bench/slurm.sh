#!/usr/bin/env bash
# bench/slurm.sh: the overhead of running krakenml's training through Slurm
# (pipelines/slurm) against the same work run locally, on this machine, on a
# one-node cluster started for the bench (tests/slurm_cluster.sh: munged,
# slurmctld and slurmd on loopback, stopped at the end; a watchdog stops them
# if the bench dies). Two small cases, each interleaved over KML_BENCH_ROUNDS
# rounds (default 3: local, slurm, local, slurm, ...), wall seconds:
#   training  walk-forward of linear and gru (4 folds of tiny models each, 2000
#             hourly rows) and a 9-trial search of the linear model: locally
#             three kml-train runs one after the other; on Slurm an array per
#             arch plus its merge and the search's three rung arrays plus its
#             merge, submitted and waited for (squeue empty)
#   pipeline  make pipeline's work for SOL/USD and ETH/USD on 70 synthetic days
#             (ARCHS=linear,gru, tiny models): pipelines/run.sh (NO_PAPER=1)
#             against pipelines/slurm/submit.sh and its jobs
# The outputs of both sides are compared too (they must be the same bytes).
# Needs slurm-wlm and munge; says so and exits 0 without them. Never fails on time.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
for b in munged slurmctld slurmd sbatch squeue; do
    command -v $b >/dev/null || { echo "slurm: skipped: no $b (apt-get install slurm-wlm munge)"; exit 0; }
done
root=$PWD
bin=$(dirname "$(command -v kml-train || echo bin/kml-train)")
export PATH="$bin:$root/bin:$PATH" KML_EXEC_PATH=$bin OPENBLAS_NUM_THREADS=1
bench_init slurm
tmp=$bench_tmp
export KML_LOG_DIR=$tmp/logs
cluster=$(mktemp -d /tmp/kmlslurm.XXXXXX)
"$root/tests/slurm_cluster.sh" start "$cluster" $$ >/dev/null
export SLURM_CONF=$cluster/slurm.conf
bench_header slurm "$(bench_kernels "$bin/kml-model")" 1 "one node, $(nproc) CPUs, slurm-wlm $(sinfo -V | cut -d' ' -f2)"

/usr/bin/python3 tests/fixtures/train_gen.py 2000 1 0.3 >"$tmp/small.csv"
TINY=(--epochs 3 --patience 3 -T 8 --hidden 8 --layers 1 --lr 0.01 -q --train-days 50 --step-days 10)
SEARCH=(--arch linear --epochs 9 -q --trials 9 --space T=4:8 --seed 4)
now() { date +%s.%N; }
wait_jobs() { while [ -n "$(squeue -h -o %i)" ]; do sleep 0.1; done; }
# each round in a directory of its own (the sides run in subshells)
train_local() {
    local d t0
    d=$(mktemp -d "$tmp/tl.XXXXXX")
    t0=$(now)
    kml-train --arch linear -o "$d/l" "${TINY[@]}" --walk-forward "$tmp/small.csv" >"$d/wf_linear.csv"
    kml-train --arch gru -o "$d/g" "${TINY[@]}" --walk-forward "$tmp/small.csv" >"$d/wf_gru.csv"
    kml-train -o "$d/s" "${SEARCH[@]}" --optimize --jobs 1 "$tmp/small.csv" >/dev/null 2>&1
    echo "s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"
    ln -sfn "$d" "$tmp/train_local"
}
train_slurm() {
    local d t0 t1
    d=$(mktemp -d "$tmp/ts.XXXXXX")
    t0=$(now)
    (cd "$d" &&
        "$root/pipelines/slurm/walkforward.sh" --name l -o wf_linear.csv -- --arch linear -o l "${TINY[@]}" "$tmp/small.csv" &&
        "$root/pipelines/slurm/walkforward.sh" --name g -o wf_gru.csv -- --arch gru -o g "${TINY[@]}" "$tmp/small.csv" &&
        "$root/pipelines/slurm/search.sh" --name s -o s/result.json -- -o s "${SEARCH[@]}" "$tmp/small.csv") >/dev/null
    t1=$(now)
    wait_jobs
    echo "s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }') submit=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') jobs=$(wc -l <"$d/runs/slurm/jobs.jsonl")"
    for f in wf_linear.csv wf_gru.csv s/linear_trials.csv s/linear_best.json; do
        cmp -s "$d/$f" "$tmp/train_local/$f" || echo "slurm: DIFFERENT OUTPUT $f" >&2
    done
}
echo "training: walk-forward linear + gru (4 folds each) and a 9-trial search, local one process at a time against Slurm"
bench_interleave train_local train_slurm
l=$(bench_stat train_local s lo) s=$(bench_stat train_slurm s lo)
echo "  local $(bench_fmt %.2f "$l") s, slurm $(bench_fmt %.2f "$s") s ($(bench_stat train_slurm jobs lo) jobs; submitting $(bench_fmt %.2f "$(bench_stat train_slurm submit lo)") s): slurm/local $(bench_ratio "$s" "$l")x, overhead $(awk -v a="$s" -v b="$l" 'BEGIN { printf "%.2f", a - b }') s"

pipe_env() { # pipe_env DIR COMMAND...
    DATA_DIR=$1/hd OUT=$1/runs MODELS=$1/models STATE=$1/state KRAKEN_API_URL=http://127.0.0.1:9 KML_HTTP_RETRIES=0 \
        KML_HTTP_PACE=0 SIM_DAYS=70 ARCHS=linear,gru TRAIN_ARGS="--epochs 3 --hidden 8 --quiet" WF_TRAIN_DAYS=10 \
        WF_STEP_DAYS=5 "${@:2}"
}
pipe_local() {
    local d t0
    d=$(mktemp -d "$tmp/pl.XXXXXX")
    t0=$(now)
    pipe_env "$d" env NO_PAPER=1 "$root/pipelines/run.sh" SOL/USD ETH/USD >/dev/null 2>&1
    echo "s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"
    ln -sfn "$d" "$tmp/pipe_local"
}
pipe_slurm() {
    local d t0
    d=$(mktemp -d "$tmp/ps.XXXXXX")
    t0=$(now)
    pipe_env "$d" "$root/pipelines/slurm/submit.sh" SOL/USD ETH/USD >/dev/null 2>&1
    wait_jobs
    echo "s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }') jobs=$(wc -l <"$d/runs/slurm/jobs.jsonl")"
    cmp -s "$d/runs/backtest/report/metrics.json" "$tmp/pipe_local/runs/backtest/report/metrics.json" ||
        echo "slurm: DIFFERENT backtest metrics" >&2
}
echo "pipeline: SOL/USD and ETH/USD, 70 synthetic days, linear + gru, local pipelines/run.sh against pipelines/slurm/submit.sh"
bench_interleave pipe_local pipe_slurm
l=$(bench_stat pipe_local s lo) s=$(bench_stat pipe_slurm s lo)
echo "  local $(bench_fmt %.2f "$l") s, slurm $(bench_fmt %.2f "$s") s ($(bench_stat pipe_slurm jobs lo) jobs): slurm/local $(bench_ratio "$s" "$l")x, overhead $(awk -v a="$s" -v b="$l" 'BEGIN { printf "%.2f", a - b }') s"
"$root/tests/slurm_cluster.sh" stop "$cluster"
rm -rf "$cluster"
