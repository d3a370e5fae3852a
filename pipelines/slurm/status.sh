#!/usr/bin/env bash
# pipelines/slurm/status.sh: what became of the jobs pipelines/slurm submitted
# from this directory ($KML_SLURM_DIR, default runs/slurm).
#
#   status.sh      one line per job: NAME JOBID STATE (squeue while queued,
#                  scontrol while the controller remembers it, sacct when
#                  accounting is on), then every task whose last run failed
#                  after its retries (tasks.jsonl), by name, with its log
#
# Exit status: 0 all done or still queued with no failure, 1 a task failed
# (rerun the submitting command: only what is missing is submitted again),
# 66 nothing was submitted here.
set -euo pipefail
dir=${KML_SLURM_DIR:-${OUT:-runs}/slurm}
[ -s "$dir/jobs.jsonl" ] || { echo "status: no $dir/jobs.jsonl: nothing was submitted from here" >&2; exit 66; }
state() {
    local s
    s=$(squeue -h -j "$1" -o %T 2>/dev/null | sort -u | paste -sd, -) || true
    [ -n "$s" ] || s=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | paste -sd, -) || true
    [ -n "$s" ] || s=$(sacct -n -X -j "$1" -o State 2>/dev/null | awk '{ print $1 }' | sort -u | paste -sd, -) || true
    echo "${s:-UNKNOWN}"
}
jq -r '"\(.name) \(.job)"' "$dir/jobs.jsonl" | while read -r name job; do
    printf '%s %s %s\n' "$name" "$job" "$(state "$job")"
done
rc=0
if [ -s "$dir/tasks.jsonl" ]; then
    # the last record of each task decides: a rerun that succeeded clears its failure
    while IFS=$'\t' read -r task job code attempts; do
        log=$(ls "$dir"/logs/*_"${job}".out 2>/dev/null | head -n 1 || true)
        echo "failed: $task (job $job, exit $code after $attempts attempts)${log:+; log $log}"
        rc=1
    done < <(jq -s -r 'reduce .[] as $t ({}; .[$t.task] = $t) | .[] | select(.status == "failed")
                       | [.task, .job, .exit, .attempts] | @tsv' "$dir/tasks.jsonl")
fi
exit $rc
