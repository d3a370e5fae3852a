#!/usr/bin/env bash
# pipelines/slurm/walkforward.sh: kml-train --walk-forward as a Slurm job array.
#
#   walkforward.sh [--name NAME] [--after JOBIDS] -o PREDICTIONS.csv -- KML_TRAIN_ARGS... INPUT
#
# One array task per fold whose piece is missing (kml-train --list-folds),
# then the merge (afterok) writing PREDICTIONS.csv: byte for byte what
# `kml-train --walk-forward KML_TRAIN_ARGS INPUT` prints. A rerun submits only
# the folds still missing. Prints "NAME JOBID" per job submitted. Run from
# the project directory (paths are relative to it; shared storage assumed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
name=walk-forward after="" output=""
while [ $# -gt 0 ]; do
    case $1 in
    --name) name=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    -o) output=$2; shift 2 ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --) shift; break ;;
    *) echo "walkforward.sh: unknown option '$1'" >&2; echo "try 'walkforward.sh --help'" >&2; exit 64 ;;
    esac
done
[ -n "$output" ] || { echo "walkforward.sh: needs -o PREDICTIONS.csv" >&2; exit 64; }
[ $# -gt 0 ] || { echo "walkforward.sh: needs kml-train's options and INPUT after --" >&2; exit 64; }
slurm_load_config
slurm_walk_forward "$name" "$output" "$after" -- "$@"
