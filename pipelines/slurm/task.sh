#!/usr/bin/env bash
# pipelines/slurm/task.sh: the batch script of every krakenml Slurm job.
#
#   task.sh [--stdout FILE] NAME COMMAND...
#
# Runs COMMAND (a kml-* program) in the project directory (sbatch --chdir),
# with every "{}" in its words replaced by the array index
# ($SLURM_ARRAY_TASK_ID). A failure is retried up to $KML_SLURM_RETRIES more
# times (default 2: the configuration's slurm.retries, set by lib.sh). Each
# task appends one line to $KML_SLURM_DIR/tasks.jsonl: "done", or "failed"
# naming it, after which it exits with COMMAND's code so that the jobs
# depending on it (afterok) are cancelled. --stdout: COMMAND's standard
# output replaces FILE atomically, only on success.
set -u
out=""
if [ "${1:-}" = --stdout ]; then out=$2; shift 2; fi
name=$1
shift
id=${SLURM_ARRAY_TASK_ID:-}
args=()
for w in "$@"; do args+=("${w//\{\}/$id}"); done
retries=${KML_SLURM_RETRIES:-2}
state=${KML_SLURM_DIR:-runs/slurm}
# One BLAS thread per allocated CPU (the local runs use what the machine has).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
label="$name${id:+[$id]}"
jobid="${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-}}${id:+_$id}"
record() { # one line, appended whole (a short O_APPEND write)
    mkdir -p "$state"
    printf '{"task":"%s","job":"%s","status":"%s","exit":%d,"attempts":%d,"command":"%s"}\n' "$label" "$jobid" \
        "$1" "$2" "$3" "${args[*]//\"/\\\"}" >>"$state/tasks.jsonl" || true
}
rc=0
for ((attempt = 1; attempt <= retries + 1; attempt++)); do
    if [ -n "$out" ]; then
        "${args[@]}" >"$out.tmp.$$" && mv -f "$out.tmp.$$" "$out" && record done 0 "$attempt" && exit 0
        rc=$?
        rm -f "$out.tmp.$$"
    else
        "${args[@]}" && record done 0 "$attempt" && exit 0
        rc=$?
    fi
    echo "kml-slurm: $label: attempt $attempt of $((retries + 1)) failed (exit $rc): ${args[*]}" >&2
done
record failed "$rc" "$((retries + 1))"
exit "$rc"
