#!/usr/bin/env bats
# make pipeline (pipelines/run.sh): the stages composed per asset, offline.
load helper

setup() {
    d=$(mktemp -d)
    export DATA_DIR=$d/hd OUT=$d/runs MODELS=$d/models
    # Nothing listens on port 9 of the loopback: Kraken is unreachable, at once.
    export KRAKEN_API_URL=http://127.0.0.1:9 KML_HTTP_RETRIES=0 KML_HTTP_PACE=0
    export SIM_DAYS=40 ARCHS=linear TRAIN_ARGS="--epochs 3 --quiet"
}
teardown() { rm -rf "$d"; }

@test "pipeline: offline with no data, it says loudly that it uses the synthetic market, and runs every stage" {
    run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD
    assert_success
    [[ $stderr == *"NO REAL DATA"*"SYNTHETIC"* ]]
    # the synthetic market is never stored as if it were Kraken's history
    [ ! -e "$DATA_DIR/SOLUSD_60.csv" ]
    f=$OUT/SOLUSD
    [ "$(head -1 "$f/candles.csv")" = "time,open,high,low,close,vwap,volume,count" ]
    # 40 days of hourly bars, less the features' warm-up and the label horizon
    rows=$(($(wc -l < "$f/features.csv") - 1))
    [ "$rows" -gt 400 ] && [ "$rows" -lt 960 ]
    head -1 "$f/features.csv" | grep -q ',y_class'
    head -1 "$f/labelled.csv" | grep -q ',regime,p_'
    [ "$(($(wc -l < "$f/labelled.csv") - 1))" -eq "$rows" ]
    jq -e '.states >= 2 and (.names | length) == .states' "$f/regime.json"
    # the model records that it learnt from synthetic data
    grep -q '"synthetic"' "$f/train-linear.json"
    ls "$MODELS"/SOLUSD/*.safetensors
}

@test "pipeline: stored real data is used as it is when Kraken cannot be reached" {
    need_data SOLUSD_60.csv
    mkdir -p "$DATA_DIR"
    # the last 3000 hours: no gap there, enough rows for every warm-up
    { head -1 "$KML_SHARED_DATA/kraken/SOLUSD_60.csv"; tail -3000 "$KML_SHARED_DATA/kraken/SOLUSD_60.csv"; } > "$DATA_DIR/SOLUSD_60.csv"
    cp "$DATA_DIR/SOLUSD_60.csv" "$d/before.csv"
    run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD
    assert_success
    [[ $stderr == *"could not update"*"using the rows it already has"* ]]
    [[ $stderr != *SYNTHETIC* ]]
    cmp "$DATA_DIR/SOLUSD_60.csv" "$d/before.csv"   # a failed update keeps the store as it was
    cmp "$OUT/SOLUSD/candles.csv" "$d/before.csv"
    grep -q '"real"' "$OUT/SOLUSD/train-linear.json"
}

@test "pipeline: SOURCE=kraken with no data and no network fails (69) and trains nothing" {
    SOURCE=kraken run --separate-stderr "$KML_ROOT/pipelines/run.sh" ETH/USD
    assert_failure 69
    [[ $stderr == *"ETH/USD: no data"*"SOURCE=kraken"* ]]
    [ ! -e "$OUT/ETHUSD/features.csv" ]
    [ -z "$(ls -A "$MODELS/ETHUSD" 2>/dev/null)" ]
}

@test "pipeline: SOURCE=sim needs no network; a bad SOURCE is a usage error (64)" {
    SOURCE=sim KRAKEN_API_URL=http://127.0.0.1:1 run --separate-stderr "$KML_ROOT/pipelines/run.sh" BTC/USD
    assert_success
    [ -s "$OUT/XBTUSD/labelled.csv" ]
    SOURCE=yes run --separate-stderr "$KML_ROOT/pipelines/run.sh" BTC/USD
    assert_failure 64
    [[ $stderr == *"SOURCE must be auto, kraken or sim"* ]]
}
