#!/usr/bin/env bats
# The seed's commands: kml train-all, kml ensemble-train, kml run (kml bot and
# kml backtest have suites of their own). Offline, on a short synthetic market.
load helper
bats_require_minimum_version 1.5.0

setup_file() {
    export SEED_D="$BATS_FILE_TMPDIR/base"
    mkdir -p "$SEED_D"
    cd "$SEED_D"
    export KRAKEN_API_URL=http://127.0.0.1:9 KML_HTTP_RETRIES=0 KML_HTTP_PACE=0
    export SIM_DAYS=70 ARCHS=linear TRAIN_ARGS="--epochs 3 --quiet" WF_TRAIN_DAYS=10 WF_STEP_DAYS=5
    export DATA_DIR=$SEED_D/hd OUT=$SEED_D/runs MODELS=$SEED_D/models STATE=$SEED_D/state KML_LOG_DIR=$SEED_D/logs
    kml train-all --assets SOL/USD >/dev/null 2>&1
}

setup() {
    export KRAKEN_API_URL=http://127.0.0.1:9 KML_HTTP_RETRIES=0 KML_HTTP_PACE=0
    export SIM_DAYS=70 ARCHS=linear TRAIN_ARGS="--epochs 3 --quiet" WF_TRAIN_DAYS=10 WF_STEP_DAYS=5
    W=$BATS_TEST_TMPDIR/w
    cp -r "$SEED_D" "$W"
    export DATA_DIR=$W/hd OUT=$W/runs MODELS=$W/models STATE=$W/state KML_LOG_DIR=$W/logs
    cd "$W"
}

j() { jq -r "$1" "$OUT/SOLUSD/train-linear.json"; }

@test "train-all: trains every asset's models, and a second run keeps them" {
    [ -s "$MODELS/SOLUSD/linear.safetensors" ]
    [ "$(j .skipped)" = false ]
    before=$(stat -c %Y "$MODELS/SOLUSD/linear.safetensors")
    run --separate-stderr kml train-all --assets SOL/USD
    assert_success
    [[ $stderr == *"train-linear: up to date"* ]]
    [ "$(stat -c %Y "$MODELS/SOLUSD/linear.safetensors")" = "$before" ]
}

@test "train-all --force-retrain retrains unchanged models" {
    touch -d '2001-01-01' "$MODELS/SOLUSD/linear.safetensors"
    run --separate-stderr kml train-all --assets SOL/USD --force-retrain
    assert_success
    [ "$(j .skipped)" = false ]
    [ "$(stat -c %Y "$MODELS/SOLUSD/linear.safetensors")" != "$(date -d 2001-01-01 +%s)" ]
}

@test "train-all --days N trains on the last N days only" {
    run --separate-stderr kml train-all --assets SOL/USD --days 20
    assert_success
    last=$(tail -1 "$OUT/SOLUSD/labelled.csv" | cut -d, -f1)
    [ "$(j .time_range.first)" -gt $((last - 20 * 86400)) ]
}

@test "train-all --extreme-leverage learns labels to the liquidation of the pair's extreme maximum" {
    run --separate-stderr kml train-all --assets SOL/USD --extreme-leverage
    assert_success
    head -1 "$OUT/SOLUSD/features.csv" | grep -q ',y_tb_lev125,'
    [ "$(j .labels.column)" = y_tb_lev125 ]
}

@test "train-all --visualize writes the plots next to the model" {
    run --separate-stderr kml train-all --assets SOL/USD --visualize --force-retrain
    assert_success
    [ "$(head -c 8 "$MODELS/SOLUSD/linear_loss.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

@test "train-all --optimize searches hyper-parameters first" {
    TRAIN_ARGS="--epochs 2 --trials 3 --quiet" run --separate-stderr kml train-all --assets SOL/USD --optimize
    assert_success
    [[ $stderr == *"--optimize: 3 trials"* ]]
    [ "$(($(wc -l < "$MODELS/SOLUSD/linear_trials.csv") - 1))" -ge 3 ]
    jq -e . "$MODELS/SOLUSD/linear_best.json" >/dev/null
}

@test "train-all and ensemble-train: unknown options and bad values are usage errors (64)" {
    run --separate-stderr kml train-all --bogus
    assert_equal "$status" 64
    run --separate-stderr kml train-all --days many
    assert_equal "$status" 64
    run --separate-stderr kml ensemble-train --bogus
    assert_equal "$status" 64
    run --separate-stderr kml run --bogus
    assert_equal "$status" 64
}

@test "ensemble-train --assets: per-regime weights from walk-forward predictions, no paper trade" {
    run --separate-stderr kml ensemble-train --assets SOL/USD
    assert_success
    jq -e '.strategies | index("model:linear")' "$OUT/SOLUSD/ensemble.json"
    [ -s "$OUT/backtest/SOLUSD/wf_linear.csv" ]
    [ ! -e "$STATE/bot" ]
}

@test "run --sandbox --once: trains what is stale, fits the ensemble, one bot iteration on paper" {
    run --separate-stderr kml run --sandbox --once --assets SOL/USD
    assert_success
    [[ $stderr == *"train-linear: up to date"* ]]
    [ -s "$OUT/SOLUSD/ensemble.json" ]
    [ "$(wc -l < "$STATE/bot/SOLUSD.orders.jsonl")" = 1 ]
    jq -e '.source == "synthetic"' "$STATE/bot/SOLUSD.orders.jsonl"
}

@test "run --ml-position-sizing and --extreme-leverage reach the sizing of the bot's orders" {
    run --separate-stderr kml run --once --assets SOL/USD --extreme-leverage --ml-position-sizing
    assert_success
    head -1 "$OUT/SOLUSD/features.csv" | grep -q ',y_tb_lev125,'
    jq -e '.reason | test("ML|Kelly|ml"; "i")' "$STATE/bot/SOLUSD.orders.jsonl" ||
        jq -e '.side == "flat"' "$STATE/bot/SOLUSD.orders.jsonl"
    # a non-flat order is at a leverage inside SOL/USD's extreme range
    jq -e 'if .side == "flat" then true else (.leverage >= 20 and .leverage <= 125) end' "$STATE/bot/SOLUSD.orders.jsonl"
}

@test "run --live refuses models trained on synthetic data" {
    run --separate-stderr kml run --live --once --assets SOL/USD
    assert_equal "$status" 65
    [[ $stderr == *"SOL/USD: the models were trained on SYNTHETIC data; live trading refuses it"* ]]
    [ ! -e "$STATE/live" ]
}

@test "run --optimize --days --force-retrain pass to the training" {
    TRAIN_ARGS="--epochs 2 --trials 3 --quiet" run --separate-stderr kml run --once --assets SOL/USD --optimize --days 25 --force-retrain
    assert_success
    [ "$(j .skipped)" = false ]
    last=$(tail -1 "$OUT/SOLUSD/labelled.csv" | cut -d, -f1)
    [ "$(j .time_range.first)" -gt $((last - 25 * 86400)) ]
}
