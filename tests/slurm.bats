#!/usr/bin/env bats
# Walk-forward training and the hyper-parameter search as units of work
# (kml-train --list-folds/--fold/--list-trials/--trial/--merge) and as Slurm
# job arrays (pipelines/slurm/). The first tests need no Slurm; the cluster
# tests start a one-node cluster of Debian's slurm-wlm and munge on loopback
# (tests/slurm_cluster.sh, its own directory and ports, a watchdog that stops
# it if this run dies) and skip where those packages are absent. Models are
# tiny (T 8, H 8, 2 to 9 epochs) so the suite stays fast.
load helper
bats_require_minimum_version 1.5.0

GEN="$KML_ROOT/tests/fixtures/train_gen.py"
TINY=(--epochs 3 --patience 3 -T 8 --hidden 8 --layers 1 --lr 0.01 -q --train-days 50 --step-days 10)
SEARCH=(--arch linear --epochs 9 -q --trials 9 --space T=4:8 --seed 4)

setup_file() {
    export D="$BATS_FILE_TMPDIR" OPENBLAS_NUM_THREADS=1
    export KML_LOG_DIR="$D/logs"
    /usr/bin/python3 "$GEN" 2000 1 0.3 >"$D/small.csv"
    # the one-process runs every test compares with
    kml-train --arch all -o "$D/local_all" "${TINY[@]}" --walk-forward "$D/small.csv" >"$D/local_all.csv"
    for a in linear gru; do
        kml-train --arch $a -o "$D/local_$a" "${TINY[@]}" --walk-forward "$D/small.csv" >"$D/local_$a.csv"
    done
    kml-train -o "$D/local_search" "${SEARCH[@]}" --optimize "$D/small.csv" >/dev/null 2>&1
    CLUSTER_MSG=""
    for b in munged slurmctld slurmd sbatch squeue scontrol scancel; do
        command -v $b >/dev/null || { CLUSTER_MSG="skip:Slurm packages absent (no $b): apt-get install slurm-wlm munge (make deps)"; break; }
    done
    if [ -z "$CLUSTER_MSG" ]; then
        # short path: munge's socket must fit a sockaddr_un
        CLUSTER=$(mktemp -d /tmp/kmlslurm.XXXXXX)
        if out=$("$KML_ROOT/tests/slurm_cluster.sh" start "$CLUSTER" $$ 2>&1); then
            export SLURM_CONF="$CLUSTER/slurm.conf"
        else
            CLUSTER_MSG="fail:$out"
        fi
    fi
    export CLUSTER CLUSTER_MSG
}

teardown_file() {
    if [ -n "${CLUSTER:-}" ]; then
        "$KML_ROOT/tests/slurm_cluster.sh" stop "$CLUSTER"
        rm -rf "$CLUSTER"
    fi
}

setup() {
    cd "$BATS_TEST_TMPDIR"
}

need_cluster() {
    case $CLUSTER_MSG in
    skip:*) skip "${CLUSTER_MSG#skip:}" ;;
    fail:*) fail "the test cluster did not start: ${CLUSTER_MSG#fail:}" ;;
    esac
}

# Wait until none of this cluster's jobs is pending or running (at most 3 minutes).
wait_jobs() {
    for _ in $(seq 900); do
        [ -z "$(squeue -h -o %i)" ] && return 0
        sleep 0.2
    done
    squeue >&2
    return 1
}

job_state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }

@test "slurm: folds trained one by one in any order and merged give the one-process predictions byte for byte" {
    kml-train --arch all -o m "${TINY[@]}" --list-folds "$D/small.csv" >folds.jsonl
    [ "$(wc -l <folds.jsonl)" -ge 3 ]
    # every arch's piece is missing before anything ran
    [ "$(jq -r '.missing | join(",")' folds.jsonl | sort -u)" = "linear,lstm,gru,tcn,cnn,transformer,hybrid" ]
    # the listed folds are those the one-process run logged, with the same ranges
    grep '"msg":"walk-forward fold"' "$D/logs/ml_training.log" | jq -c 'select(.arch == "gru") | [.fold, .predict_first, .predict_last, .seen_last]' | sort -u >logged
    jq -c '[.fold, .predict_first, .predict_last, .seen_last]' folds.jsonl | sort >listed
    [ -s listed ] && diff listed logged
    for k in $(jq -r .fold folds.jsonl | shuf); do
        kml-train --arch all -o m "${TINY[@]}" --fold "$k" "$D/small.csv" >"fold$k.jsonl"
        [ "$(jq -r .fold "fold$k.jsonl" | sort -u)" = "$k" ]
        [ "$(jq -r .kept "fold$k.jsonl" | sort -u)" = false ]
    done
    [ "$(kml-train --arch all -o m "${TINY[@]}" --list-folds "$D/small.csv" | jq -r '.missing | length' | sort -u)" = 0 ]
    kml-train --arch all -o m "${TINY[@]}" --walk-forward --merge "$D/small.csv" >merged.csv
    cmp merged.csv "$D/local_all.csv"
}

@test "slurm: a fold whose piece is there is kept, a piece of another plan is redone, --merge names what is missing (66)" {
    first=$(kml-train --arch linear -o m "${TINY[@]}" --list-folds "$D/small.csv" | head -n 1 | jq -r .fold)
    kml-train --arch linear -o m "${TINY[@]}" --fold "$first" "$D/small.csv" >a.jsonl
    before=$(stat -c %Y.%s m/pieces/wf_linear_fold$first.json)
    sleep 1
    kml-train --arch linear -o m "${TINY[@]}" --fold "$first" "$D/small.csv" >b.jsonl
    [ "$(jq -r .kept b.jsonl)" = true ]
    [ "$(stat -c %Y.%s m/pieces/wf_linear_fold$first.json)" = "$before" ]
    # another seed is another plan: the piece is not taken
    kml-train --arch linear -o m "${TINY[@]}" --seed 9 --list-folds "$D/small.csv" | head -n 1 | jq -e '.missing == ["linear"]'
    run --separate-stderr kml-train --arch linear -o m "${TINY[@]}" --walk-forward --merge "$D/small.csv"
    assert_failure 66
    [ -z "$output" ] # nothing written before every piece is checked
    [[ "$stderr" == *"pieces missing or of another run: m/pieces/wf_linear_fold1.json"* ]]
    [[ "$stderr" != *"fold$first.json"* ]]
    # --pieces puts them elsewhere
    kml-train --arch linear -o m "${TINY[@]}" --pieces elsewhere --fold "$first" "$D/small.csv" >/dev/null
    [ -f "elsewhere/wf_linear_fold$first.json" ]
}

@test "slurm: the one-process walk-forward takes the folds whose piece is there and trains only the others" {
    export KML_LOG_DIR="$BATS_TEST_TMPDIR/logs"
    kml-train --arch all -o m "${TINY[@]}" --fold 1 "$D/small.csv" >/dev/null
    kml-train --arch gru -o m "${TINY[@]}" --fold 2 "$D/small.csv" >/dev/null
    rm -rf logs
    kml-train --arch all -o m "${TINY[@]}" --walk-forward "$D/small.csv" >wf.csv
    cmp wf.csv "$D/local_all.csv"
    # trained here: every fold but 1, and fold 2 for every arch but gru
    n=$(kml-train --arch all -o m "${TINY[@]}" --list-folds "$D/small.csv" | wc -l)
    grep '"msg":"walk-forward fold"' logs/ml_training.log | jq -r '"\(.fold) \(.arch)"' | sort >trained
    [ "$(wc -l <trained)" = $(((n - 1) * 7 - 1)) ]
    ! grep -q '^1 ' trained
    ! grep -qx '2 gru' trained
    grep -qx '2 lstm' trained
    # --force-retrain trains every fold again, with the same result
    rm -rf logs
    kml-train --arch all -o m "${TINY[@]}" --walk-forward --force-retrain "$D/small.csv" | cmp - "$D/local_all.csv"
    [ "$(grep -c '"msg":"walk-forward fold"' logs/ml_training.log)" = $((n * 7)) ]
}

@test "slurm: a piece whose rows are not the fold's bars is a located error 65" {
    for k in $(kml-train --arch linear -o m "${TINY[@]}" --list-folds "$D/small.csv" | jq -r .fold); do
        kml-train --arch linear -o m "${TINY[@]}" --fold "$k" "$D/small.csv" >/dev/null
    done
    jq -c '.rows[0][0] += 3600' m/pieces/wf_linear_fold1.json >t && mv t m/pieces/wf_linear_fold1.json
    run --separate-stderr kml-train --arch linear -o m "${TINY[@]}" --walk-forward --merge "$D/small.csv"
    assert_failure 65
    [[ "$stderr" == *"m/pieces/wf_linear_fold1.json: 'rows'[0]: expected [time, p_down, p_flat, p_up] of bar"* ]]
}

@test "slurm: search trials run one by one, rung after rung in any order, merge into the one-process table, best and model" {
    kml-train -o s "${SEARCH[@]}" --list-trials "$D/small.csv" >plan.jsonl
    # 9 trials, then the best third, then the best one; later rungs unknown until the one before is done
    [ "$(jq -s -c 'group_by(.rung) | map(length)' plan.jsonl)" = "[9,3,1]" ]
    [ "$(jq -r 'select(.rung > 0) | .trial' plan.jsonl | sort -u)" = null ]
    # a later rung before its predecessor is complete: 66 naming what is missing
    run --separate-stderr kml-train -o s "${SEARCH[@]}" --trial 0 --rung 1 "$D/small.csv"
    assert_failure 66
    [[ "$stderr" == *"rung 0 is not finished: 9 pieces missing"*"s/pieces/opt_linear_rung0_trial0.json"* ]]
    for r in 0 1 2; do
        for s in $(kml-train -o s "${SEARCH[@]}" --list-trials "$D/small.csv" | jq -r "select(.rung == $r) | .slot" | shuf); do
            kml-train -o s "${SEARCH[@]}" --trial "$s" --rung $r "$D/small.csv" >t.json
            jq -e --argjson r $r '.rung == $r and .kept == false' t.json >/dev/null
        done
    done
    # the promoted trials are the ones the one-process table ran at each rung
    kml-train -o s "${SEARCH[@]}" --list-trials "$D/small.csv" | jq -r 'select(.rung > 0) | "\(.trial),\(.rung)"' | sort >listed
    tail -n +2 "$D/local_search/linear_trials.csv" | awk -F, '$2 > 0 { print $1 "," $2 }' | sort >ran
    diff listed ran
    kml-train -o s "${SEARCH[@]}" --optimize --merge "$D/small.csv" >result.json
    for f in linear_trials.csv linear_best.json linear.safetensors; do cmp "s/$f" "$D/local_search/$f"; done
    [ "$(jq -r .model result.json)" = s/linear.safetensors ]
}

@test "slurm: the pieces' options are checked (64)" {
    for bad in "--rung 1" "--merge" "--list-folds --optimize" "--fold 0 --merge" "--trial 0 --time-budget 5" "--fold 99"; do
        # shellcheck disable=SC2086
        run --separate-stderr kml-train --arch linear -o m "${TINY[@]}" $bad "$D/small.csv"
        assert_failure 64
    done
    run --separate-stderr kml-train --arch all -o m --list-trials "$D/small.csv"
    assert_failure 64
    [[ "$stderr" == *"one architecture's search: give --arch"* ]]
    run --separate-stderr kml-train -o s "${SEARCH[@]}" --trial 3 --rung 2 "$D/small.csv"
    assert_failure 64
    [[ "$stderr" == *"--trial 3: rung 2 runs 1 trials (0 to 0)"* ]]
    run --separate-stderr kml-train --arch linear -o m "${TINY[@]}" --fold 99 "$D/small.csv"
    [[ "$stderr" == *"--fold 99: no such fold of this data (kml-train --list-folds lists them)"*"try 'kml-train --help'"* ]]
    run --separate-stderr kml-train -o s "${SEARCH[@]}" --trial 0 --rung 5 "$D/small.csv"
    assert_failure 64
    [[ "$stderr" == *"--rung 5: this search has rungs 0 to 2"* ]]
}

@test "slurm: task.sh retries a failing command a bounded number of times and names it in tasks.jsonl" {
    export KML_SLURM_DIR=st KML_SLURM_RETRIES=2 SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_JOB_ID=77
    run --separate-stderr "$KML_ROOT/pipelines/slurm/task.sh" walk-forward-folds sh -c 'echo ran {} >>count; exit 3'
    assert_failure 3
    [ "$(cat count)" = "ran 4
ran 4
ran 4" ]
    [[ "$stderr" == *"walk-forward-folds[4]: attempt 3 of 3 failed (exit 3)"* ]]
    jq -e '.task == "walk-forward-folds[4]" and .job == "77_4" and .status == "failed" and .exit == 3 and .attempts == 3' st/tasks.jsonl
    # a success on the second attempt: no failure recorded, --stdout written only then
    run "$KML_ROOT/pipelines/slurm/task.sh" --stdout out.txt again sh -c '[ -f once ] || { touch once; echo partial; exit 1; }; echo whole'
    assert_success
    [ "$(cat out.txt)" = whole ]
    [ "$(jq -r '"\(.task) \(.status) \(.attempts)"' st/tasks.jsonl | tail -n 1)" = "again[4] done 2" ]
    # status.sh names the failed task until a later run of it succeeds
    echo '{"name":"walk-forward-folds","job":"77","array":"4"}' >st/jobs.jsonl
    run "$KML_ROOT/pipelines/slurm/status.sh"
    assert_failure 1
    assert_output --partial "failed: walk-forward-folds[4] (job 77_4, exit 3 after 3 attempts)"
    run "$KML_ROOT/pipelines/slurm/task.sh" walk-forward-folds true
    run "$KML_ROOT/pipelines/slurm/status.sh"
    assert_success
    refute_output --partial "failed:"
}

@test "slurm: the scripts' usage errors (64), nothing submitted (66), no Slurm client (69)" {
    S="$KML_ROOT/pipelines/slurm"
    run --separate-stderr "$S/walkforward.sh" --bogus
    assert_failure 64
    [[ "$stderr" == *"walkforward.sh: unknown option '--bogus'"*"try 'walkforward.sh --help'"* ]]
    run --separate-stderr "$S/walkforward.sh" -- --arch linear x.csv
    assert_failure 64
    [[ "$stderr" == *"needs -o PREDICTIONS.csv"* ]]
    run --separate-stderr "$S/search.sh" -o r.json
    assert_failure 64
    [[ "$stderr" == *"needs kml-train's options and INPUT after --"* ]]
    run --separate-stderr "$S/submit.sh" --bogus
    assert_failure 64
    [[ "$stderr" == *"submit.sh: unknown option '--bogus'"* ]]
    run --separate-stderr "$S/status.sh"
    assert_failure 66
    [[ "$stderr" == *"no runs/slurm/jobs.jsonl: nothing was submitted from here"* ]]
    # a machine without Slurm's client
    mkdir nobin
    for c in bash dirname jq kml-config; do ln -s "$(command -v $c)" nobin/$c; done
    run --separate-stderr env PATH="$PWD/nobin" "$S/walkforward.sh" -o wf.csv -- --arch linear "$D/small.csv"
    assert_failure 69
    [[ "$stderr" == *"no sbatch: this machine is not a Slurm client"* ]]
}

@test "slurm: folds (an array per arch) and the search on a one-node cluster equal the one-process runs byte for byte" {
    need_cluster
    cd "$BATS_TEST_TMPDIR"
    for a in linear gru; do
        "$KML_ROOT/pipelines/slurm/walkforward.sh" --name "wf-$a" -o "wf_$a.csv" -- --arch $a -o "m_$a" "${TINY[@]}" "$D/small.csv" >>ids
    done
    "$KML_ROOT/pipelines/slurm/search.sh" --name s -o s/result.json -- -o s "${SEARCH[@]}" "$D/small.csv" >>ids
    # an array per arch, a merge after each; the search's rungs, then its merge
    [ "$(cut -d' ' -f1 ids | paste -sd' ')" = "wf-linear-folds wf-linear-merge wf-gru-folds wf-gru-merge s-rung0 s-rung1 s-rung2 s-merge" ]
    folds=$(kml-train --arch gru -o m_gru "${TINY[@]}" --list-folds "$D/small.csv" | jq -r .fold | paste -sd, -)
    grep -qx "wf-gru-folds [0-9]* \[$folds\]" ids
    scontrol show job "$(awk '$1 == "wf-gru-merge" { print $2 }' ids)" | grep -q "Dependency=afterok:$(awk '$1 == "wf-gru-folds" { print $2 }' ids)_\*"
    wait_jobs
    for j in $(cut -d' ' -f2 ids); do [ "$(job_state "$j")" = COMPLETED ]; done
    cmp wf_linear.csv "$D/local_linear.csv"
    cmp wf_gru.csv "$D/local_gru.csv"
    for f in linear_trials.csv linear_best.json linear.safetensors; do cmp "s/$f" "$D/local_search/$f"; done
    [ "$(jq -r .status runs/slurm/tasks.jsonl | sort -u)" = done ]
    # a rerun with everything there submits no fold, only the (cheap) merge
    "$KML_ROOT/pipelines/slurm/walkforward.sh" --name again -o wf_linear.csv -- --arch linear -o m_linear "${TINY[@]}" "$D/small.csv" >again
    [ "$(cut -d' ' -f1 again)" = again-merge ]
    wait_jobs
    cmp wf_linear.csv "$D/local_linear.csv"
}

@test "slurm: a task killed midway cancels the merge; a rerun submits only the missing fold and gives the same output" {
    need_cluster
    cd "$BATS_TEST_TMPDIR"
    slow=(--arch gru -o m "${TINY[@]}" --epochs 40 --patience 40 --hidden 32)
    kml-train "${slow[@]}" --walk-forward "$D/small.csv" >local.csv
    last=$(kml-train "${slow[@]}" --list-folds "$D/small.csv" | tail -n 1 | jq -r .fold)
    rm -rf m
    "$KML_ROOT/pipelines/slurm/walkforward.sh" -o wf.csv -- "${slow[@]}" "$D/small.csv" >ids
    jid=$(awk '$1 == "walk-forward-folds" { print $2 }' ids)
    merge=$(awk '$1 == "walk-forward-merge" { print $2 }' ids)
    # kill the last fold's task once it runs
    for _ in $(seq 600); do
        [ "$(squeue -h -j "${jid}_$last" -o %t 2>/dev/null)" = R ] && break
        sleep 0.05
    done
    [ "$(squeue -h -j "${jid}_$last" -o %t)" = R ]
    scancel "${jid}_$last"
    wait_jobs
    [ "$(job_state "${jid}_$last")" = CANCELLED ]
    [ "$(job_state "$merge")" = CANCELLED ]
    [ ! -e wf.csv ]
    [ ! -e "m/pieces/wf_gru_fold$last.json" ]
    [ "$(kml-train "${slow[@]}" --list-folds "$D/small.csv" | jq -r 'select(.missing | length > 0) | .fold')" = "$last" ]
    "$KML_ROOT/pipelines/slurm/walkforward.sh" -o wf.csv -- "${slow[@]}" "$D/small.csv" >rerun
    grep -qx "walk-forward-folds [0-9]* \[$last\]" rerun
    wait_jobs
    cmp wf.csv local.csv
}

@test "slurm: a failing task is retried, named in tasks.jsonl and by status.sh, and its merge never runs" {
    need_cluster
    cd "$BATS_TEST_TMPDIR"
    touch blocker # the pieces' directory cannot be made under a file
    KML_SLURM_RETRIES=1 "$KML_ROOT/pipelines/slurm/walkforward.sh" -o wf.csv -- --arch linear -o m "${TINY[@]}" --pieces blocker/p "$D/small.csv" >ids
    wait_jobs
    n=$(kml-train --arch linear -o m "${TINY[@]}" --list-folds "$D/small.csv" | wc -l)
    [ "$(wc -l <runs/slurm/tasks.jsonl)" = "$n" ]
    jq -e '(.task | test("^walk-forward-folds\\[[0-9]+\\]$")) and .status == "failed" and .attempts == 2 and .exit == 73' runs/slurm/tasks.jsonl
    [ "$(job_state "$(awk '$1 == "walk-forward-merge" { print $2 }' ids)")" = CANCELLED ]
    [ ! -e wf.csv ]
    run "$KML_ROOT/pipelines/slurm/status.sh"
    assert_failure 1
    assert_output --partial "failed: walk-forward-folds[0]"
}

@test "slurm: make pipeline SCHEDULER=slurm (submit.sh): assets, folds, merges, ensembles and backtest as jobs give the local pipeline's outputs" {
    need_cluster
    export KRAKEN_API_URL=http://127.0.0.1:9 KML_HTTP_RETRIES=0 KML_HTTP_PACE=0
    export SIM_DAYS=70 ARCHS=linear,gru TRAIN_ARGS="--epochs 3 --hidden 8 --quiet" WF_TRAIN_DAYS=10 WF_STEP_DAYS=5
    local_run() {
        DATA_DIR=$1/hd OUT=$1/runs MODELS=$1/models STATE=$1/state KML_LOG_DIR=$1/logs "${@:2}"
    }
    local_run "$PWD/l" env NO_PAPER=1 "$KML_ROOT/pipelines/run.sh" SOL/USD ETH/USD 2>/dev/null
    local_run "$PWD/s" "$KML_ROOT/pipelines/slurm/submit.sh" SOL/USD ETH/USD >ids
    # what is printed at once: the asset jobs and the plan job after them
    [ "$(cut -d' ' -f1 ids | paste -sd' ')" = "asset-SOLUSD asset-ETHUSD plan" ]
    scontrol show job "$(awk '$1 == "plan" { print $2 }' ids)" | grep -q "Dependency=afterok:$(awk '$1 == "asset-SOLUSD" { print $2 }' ids)"
    wait_jobs
    j=s/runs/slurm/jobs.jsonl
    [ "$(jq -r .name $j | paste -sd' ')" = "asset-SOLUSD asset-ETHUSD plan wf-SOLUSD-linear-folds wf-SOLUSD-linear-merge wf-SOLUSD-gru-folds wf-SOLUSD-gru-merge ensemble-SOLUSD wf-ETHUSD-linear-folds wf-ETHUSD-linear-merge wf-ETHUSD-gru-folds wf-ETHUSD-gru-merge ensemble-ETHUSD backtest report" ]
    for id in $(jq -r .job $j); do [ "$(job_state "$id")" = COMPLETED ]; done
    OUT=s/runs run "$KML_ROOT/pipelines/slurm/status.sh"
    assert_success
    refute_output --partial failed
    for a in SOLUSD ETHUSD; do
        for arch in linear gru; do cmp "s/runs/backtest/$a/wf_$arch.csv" "l/runs/backtest/$a/wf_$arch.csv"; done
        # the same ensemble, but for the paths of its inputs
        diff <(sed "s|$PWD/s/|X/|g" "s/runs/$a/ensemble.json") <(sed "s|$PWD/l/|X/|g" "l/runs/$a/ensemble.json")
        # the asset jobs' final models: the same bytes but for the input's path in the metadata
        cmp <(sed "s|$PWD/s/|X/|g" "s/models/$a/gru.safetensors") <(sed "s|$PWD/l/|X/|g" "l/models/$a/gru.safetensors")
    done
    cmp s/runs/backtest/report/metrics.json l/runs/backtest/report/metrics.json
    # the backtest job trained no fold: every one came from the arrays' pieces
    [ "$(grep -c '"msg":"walk-forward fold"' l/runs/backtest/logs/ml_training.log)" -gt 0 ]
    ! grep -q '"msg":"walk-forward fold"' s/runs/backtest/logs/ml_training.log
    # a rerun submits no fold again: only the cheap merges and what follows them
    local_run "$PWD/s" "$KML_ROOT/pipelines/slurm/submit.sh" SOL/USD ETH/USD >/dev/null
    wait_jobs
    [ "$(jq -r .name $j | tail -n +16 | grep -c -- -folds)" = 0 ]
    [ "$(jq -r .name $j | tail -n +16 | grep -c -- -merge)" = 4 ]
    cmp s/runs/backtest/report/metrics.json l/runs/backtest/report/metrics.json
}

@test "slurm: the configuration's slurm section: defaults, a file's values, and located errors (78)" {
    kml-config show | jq -e '.slurm == {"partition":"","account":"","cpus_per_task":1,"mem_mb":0,"task_minutes":60,"merge_minutes":30,"job_minutes":120,"retries":2,"array_parallel":0}'
    printf '{"slurm": {"partition": "short,long", "account": "quant-1", "retries": 0, "task_minutes": 15, "mem_mb": 2000}}\n' >c.json
    kml-config show -c c.json | jq -e '.slurm | .partition == "short,long" and .account == "quant-1" and .retries == 0 and .task_minutes == 15 and .mem_mb == 2000 and .cpus_per_task == 1'
    for bad in '"partition": "gpu x"|$.slurm.partition: expected a Slurm name' '"retries": 1.5|$.slurm.retries: expected an integer' \
               '"retries": 11|$.slurm.retries: 11 is out of range [0, 10]' '"cpus_per_task": 0|$.slurm.cpus_per_task: 0 is out of range' \
               '"queue": "x"|$.slurm: unknown key "queue"' '"account": 3|$.slurm.account: expected a Slurm name'; do
        printf '{"slurm": {%s}}\n' "${bad%%|*}" >b.json
        run --separate-stderr kml-config check b.json
        assert_failure 78
        [[ "$stderr" == *"b.json: ${bad#*|}"* ]]
    done
}

@test "slurm: the resources of the configuration reach sbatch" {
    need_cluster
    printf '{"slurm": {"task_minutes": 7, "merge_minutes": 3, "cpus_per_task": 2, "array_parallel": 1}}\n' >c.json
    KML_CONFIG=c.json "$KML_ROOT/pipelines/slurm/walkforward.sh" -o wf.csv -- --arch linear -o m "${TINY[@]}" "$D/small.csv" >ids
    folds=$(awk '$1 == "walk-forward-folds" { print $2 }' ids)
    merge=$(awk '$1 == "walk-forward-merge" { print $2 }' ids)
    scontrol show job "$folds" | grep -q "TimeLimit=00:07:00"
    scontrol show job "$folds" | grep -q "NumCPUs=2"
    scontrol show job "$folds" | grep -Eq "ArrayTaskThrottle=1|ArrayTaskId=.*%1"
    scontrol show job "$merge" | grep -q "TimeLimit=00:03:00"
    wait_jobs
    cmp wf.csv "$D/local_linear.csv"
}
