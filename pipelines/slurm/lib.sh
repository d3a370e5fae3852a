# pipelines/slurm/lib.sh: submitting krakenml's units of work to Slurm.
# Sourced by walkforward.sh, search.sh and submit.sh (bash, set -euo pipefail).
#
# Every job runs pipelines/slurm/task.sh (retries, failures named in
# $KML_SLURM_DIR/tasks.jsonl) in the project directory, with the submitter's
# environment (sbatch's default --export=ALL: PATH, KML_CONFIG, ...). Every
# submitted job is appended to $KML_SLURM_DIR/jobs.jsonl and printed on
# stdout as "NAME JOBID". Resources come from the configuration's "slurm"
# section (kml-config show): partition, account, cpus_per_task, mem_mb,
# task_minutes (a fold or trial), merge_minutes, job_minutes (asset, ensemble,
# backtest), retries (KML_SLURM_RETRIES overrides it), array_parallel.
KML_SLURM_DIR=${KML_SLURM_DIR:-${OUT:-runs}/slurm}
export KML_SLURM_DIR
slurm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

slurm_say() { printf 'kml-slurm: %s\n' "$*" >&2; }
slurm_die() { slurm_say "$2"; exit "$1"; }

slurm_load_config() {
    command -v sbatch >/dev/null || slurm_die 69 "no sbatch: this machine is not a Slurm client (apt-get install slurm-client, or run make pipeline without SCHEDULER=slurm)"
    local j
    j=$(kml-config show) || exit $?
    slurm_partition=$(jq -r '.slurm.partition // ""' <<<"$j")
    slurm_account=$(jq -r '.slurm.account // ""' <<<"$j")
    slurm_cpus=$(jq -r '.slurm.cpus_per_task // 1' <<<"$j")
    slurm_mem=$(jq -r '.slurm.mem_mb // 0' <<<"$j")
    slurm_task_min=$(jq -r '.slurm.task_minutes // 60' <<<"$j")
    slurm_merge_min=$(jq -r '.slurm.merge_minutes // 30' <<<"$j")
    slurm_job_min=$(jq -r '.slurm.job_minutes // 120' <<<"$j")
    slurm_parallel=$(jq -r '.slurm.array_parallel // 0' <<<"$j")
    KML_SLURM_RETRIES=${KML_SLURM_RETRIES:-$(jq -r '.slurm.retries // 2' <<<"$j")}
    export KML_SLURM_RETRIES
    mkdir -p "$KML_SLURM_DIR/logs"
}

# slurm_submit NAME KIND DEPS ARRAY [--stdout FILE] -- COMMAND...
#   KIND task|merge|job (its time limit); DEPS job ids separated by ':' that
#   must end well first (afterok; a failed one cancels this job); ARRAY the
#   indices ("" for a single job). Sets slurm_job to the new job's id.
slurm_submit() {
    local name=$1 kind=$2 deps=$3 array=$4 minutes
    shift 4
    local task_args=()
    if [ "$1" = --stdout ]; then task_args=(--stdout "$2"); shift 2; fi
    [ "$1" = -- ] && shift
    case $kind in task) minutes=$slurm_task_min ;; merge) minutes=$slurm_merge_min ;; *) minutes=$slurm_job_min ;; esac
    local a=(--parsable --job-name="kml-$name" --chdir="$PWD" --time="$minutes" --cpus-per-task="$slurm_cpus"
             --kill-on-invalid-dep=yes)
    [ -n "$slurm_partition" ] && a+=(--partition="$slurm_partition")
    [ -n "$slurm_account" ] && a+=(--account="$slurm_account")
    [ "$slurm_mem" != 0 ] && a+=(--mem="$slurm_mem")
    [ -n "$deps" ] && a+=(--dependency="afterok:$deps")
    if [ -n "$array" ]; then
        [ "$slurm_parallel" != 0 ] && array="$array%$slurm_parallel"
        a+=(--array="$array" --output="$KML_SLURM_DIR/logs/%x_%A_%a.out")
    else
        a+=(--output="$KML_SLURM_DIR/logs/%x_%j.out")
    fi
    local out
    out=$(sbatch "${a[@]}" "$slurm_here/task.sh" "${task_args[@]}" "$name" "$@") ||
        slurm_die 69 "$name: sbatch failed"
    slurm_job=${out%%;*}
    printf '{"name":"%s","job":"%s","array":"%s","ts":"%s"}\n' "$name" "$slurm_job" "$array" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$KML_SLURM_DIR/jobs.jsonl"
    printf '%s %s%s\n' "$name" "$slurm_job" "${array:+ [$array]}"
}

# slurm_walk_forward NAME OUTPUT DEPS -- KML_TRAIN_ARGS...
#   The folds of `kml-train --walk-forward KML_TRAIN_ARGS` whose piece is
#   missing as one array, then the merge into OUTPUT (the one-process run's
#   predictions CSV). DEPS: jobs to wait for (the input must exist now: the
#   folds are listed from it). Sets slurm_job to the merge's id.
slurm_walk_forward() {
    local name=$1 output=$2 deps=$3 folds
    shift 3
    [ "$1" = -- ] && shift
    folds=$(kml-train --list-folds "$@" | jq -r 'select(.missing | length > 0) | .fold' | paste -sd, -) ||
        slurm_die 65 "$name: kml-train --list-folds failed"
    if [ -n "$folds" ]; then
        slurm_submit "$name-folds" task "$deps" "$folds" -- kml-train --fold "{}" "$@"
        deps=$slurm_job
    else
        slurm_say "$name: every fold is done (its piece is there): no fold submitted"
    fi
    slurm_submit "$name-merge" merge "$deps" "" --stdout "$output" -- kml-train --walk-forward --merge "$@"
}

# slurm_search NAME OUTPUT DEPS -- KML_TRAIN_ARGS...
#   The trials of `kml-train --optimize KML_TRAIN_ARGS` (one architecture):
#   one array per rung of successive halving, each after the rung before,
#   with only the trials whose piece is missing; then the merge (the trial
#   table, the best configuration and the model, as the one-process run
#   writes them; its JSON result into OUTPUT). Sets slurm_job to the merge's id.
slurm_search() {
    local name=$1 output=$2 deps=$3 plan rungs r slots
    shift 3
    [ "$1" = -- ] && shift
    plan=$(kml-train --list-trials "$@") || slurm_die 65 "$name: kml-train --list-trials failed"
    rungs=$(jq -s 'map(.rung) | max' <<<"$plan")
    for ((r = 0; r <= rungs; r++)); do
        slots=$(jq -r --argjson r "$r" 'select(.rung == $r and (.done | not)) | .slot' <<<"$plan" | paste -sd, -)
        [ -n "$slots" ] || continue
        slurm_submit "$name-rung$r" task "$deps" "$slots" -- kml-train --trial "{}" --rung "$r" "$@"
        deps=$slurm_job
    done
    slurm_submit "$name-merge" merge "$deps" "" --stdout "$output" -- kml-train --optimize --merge "$@"
}
