#!/usr/bin/env bash
# pipelines/slurm/search.sh: kml-train --optimize as Slurm job arrays.
#
#   search.sh [--name NAME] [--after JOBIDS] -o RESULT.json -- KML_TRAIN_ARGS... INPUT
#
# KML_TRAIN_ARGS name one architecture (--arch) and the search (--trials,
# --space, --epochs, -o DIR, ...). One array per rung of the successive
# halving, each after the rung before, with the trials whose piece is
# missing (kml-train --list-trials); then the merge, which writes DIR's trial
# table, best configuration and model as `kml-train --optimize` does, and its
# JSON result into RESULT.json. A rerun submits only what is missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
name=search after="" output=""
while [ $# -gt 0 ]; do
    case $1 in
    --name) name=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    -o) output=$2; shift 2 ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --) shift; break ;;
    *) echo "search.sh: unknown option '$1'" >&2; echo "try 'search.sh --help'" >&2; exit 64 ;;
    esac
done
[ -n "$output" ] || { echo "search.sh: needs -o RESULT.json" >&2; exit 64; }
[ $# -gt 0 ] || { echo "search.sh: needs kml-train's options and INPUT after --" >&2; exit 64; }
slurm_load_config
slurm_search "$name" "$output" "$after" -- "$@"
