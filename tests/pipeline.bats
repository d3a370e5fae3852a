#!/usr/bin/env bats
# make pipeline (pipelines/run.sh): the stages composed per asset, offline.
load helper
bats_require_minimum_version 1.5.0

setup() {
    d=$(mktemp -d)
    export DATA_DIR=$d/hd OUT=$d/runs MODELS=$d/models
    # Nothing listens on port 9 of the loopback: Kraken is unreachable, at once.
    export KRAKEN_API_URL=http://127.0.0.1:9 KML_HTTP_RETRIES=0 KML_HTTP_PACE=0
    # 70 days of synthetic hours: ~37 days of rows after the warm-up, enough
    # for a walk-forward backtest of 10-day windows stepping 5 days
    export SIM_DAYS=70 ARCHS=linear TRAIN_ARGS="--epochs 3 --quiet" WF_TRAIN_DAYS=10 WF_STEP_DAYS=5
    export STATE=$d/state KML_LOG_DIR=$d/logs
}
teardown() {
    [ -f "$d/srv.pid" ] && kill "$(cat "$d/srv.pid")" 2>/dev/null || true
    rm -rf "$d"
}

# The loopback Kraken server (tests/kraken_server.py) with SOL/USD trades
# generated over any span asked for; its clock at 2025-12-01T00:30:00Z.
NOW=1764549000
start_server() {
    mkdir -p "$d/srv/data" "$d/srv/state"
    /usr/bin/python3 "$KML_ROOT/tests/kraken_server.py" --dir "$d/srv/data" --state "$d/srv/state" \
        --port-file "$d/srv/port" --time $NOW --generate SOLUSD --gen-rate 20 --gen-seed 4 3>&- &
    echo $! >"$d/srv.pid"
    for _ in $(seq 100); do [ -s "$d/srv/port" ] && break; sleep 0.1; done
    [ -s "$d/srv/port" ]
    export KRAKEN_API_URL="http://127.0.0.1:$(cat "$d/srv/port")" KML_HTTP_PACE=0.001
}

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
    [ "$rows" -gt 100 ]
    [ "$rows" -lt 960 ]
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

@test "pipeline: Kraken reachable and an empty store: the store is filled back to history_days, then features, regimes and models" {
    start_server
    # the configuration's history_days, 45 here: enough for the 803-bar warm-up and a few hundred rows
    printf '{"history_days": 45}\n' >"$d/trading.json"
    KML_CONFIG="$d/trading.json" SOURCE=kraken run --separate-stderr "$KML_ROOT/pipelines/run.sh" --asset SOL/USD
    echo "$stderr"
    assert_success
    [[ $stderr != *SYNTHETIC* ]]
    [[ $stderr == *"fill $DATA_DIR/SOLUSD_60.csv: from 2025-10-17T00:00:00.000Z via Kraken's trades"* ]]
    [[ $stderr == *"380 rows added via trades ("*" trades) and 700 via OHLC, 0 new gaps"*"1080 rows"* ]]
    # 45 days of hours up to the one before the forming candle, none missing, none twice
    store=$DATA_DIR/SOLUSD_60.csv
    [ "$(($(wc -l <"$store") - 1))" -eq 1080 ]
    [ "$(sed -n 2p "$store" | cut -d, -f1)" -eq $((NOW - 1800 - 45 * 86400)) ]
    [ "$(tail -1 "$store" | cut -d, -f1)" -eq $((NOW - 1800 - 3600)) ]
    run --separate-stderr kml-fetch gaps "$store"
    assert_output "from,to,missing"
    f=$OUT/SOLUSD
    cmp "$store" "$f/candles.csv"
    # the features start after the warm-up (the default set's lookback + warm-up) and end a label horizon early
    need=$(kml-features --list | awk -F, 'NR > 1 && $4 == 1 && $2 + $3 > m { m = $2 + $3 } END { print m + 1 }')
    rows=$(($(wc -l <"$f/features.csv") - 1))
    [ "$rows" -eq $((1080 - need + 1 - 4)) ]
    [ "$(($(wc -l <"$f/labelled.csv") - 1))" -eq "$rows" ]
    jq -e '.states >= 2' "$f/regime.json"
    grep -q '"real"' "$f/train-linear.json"
    ls "$MODELS"/SOLUSD/*.safetensors
    # a second run finds the store up to date and fetches no trade
    cp "$store" "$d/before.csv"
    : >"$d/srv/state/requests.log"
    KML_CONFIG="$d/trading.json" SOURCE=kraken run --separate-stderr "$KML_ROOT/pipelines/run.sh" --asset SOL/USD
    assert_success
    [[ $stderr == *"up to date"* ]]
    cmp "$d/before.csv" "$store"
    [ "$(grep -c Trades "$d/srv/state/requests.log")" -eq 0 ]
}

@test "pipeline: the first networked run on OHLC's 720 candles alone stops at kml-features (65) saying what to fetch" {
    start_server
    # a store of the latest 719 hours (what kml-fetch update gave before --days): too short for the
    # warm-up, and HISTORY_DAYS asks for no more
    kml-fetch update --pair SOL/USD --dir "$DATA_DIR" --quiet 2>/dev/null
    HISTORY_DAYS=20 SOURCE=kraken run --separate-stderr "$KML_ROOT/pipelines/run.sh" --asset SOL/USD
    assert_failure 65
    [[ $stderr == *"kml-features: $OUT/SOLUSD/candles.csv: 719 candles, the default features with labels need at least "*" (warm-up); fetch more history: kml-fetch update --days "* ]]
    [ ! -e "$OUT/SOLUSD/features.csv" ]
    [ ! -e "$OUT/SOLUSD/regime.json" ]
}

@test "pipeline: offline, two assets end to end: models, ensembles, backtest report, a paper step on one account, and the summary" {
    run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD ETH/USD
    assert_success
    for a in SOLUSD ETHUSD; do
        jq -e '(.weights | length) >= 1 and .data.source == "synthetic"' "$OUT/$a/ensemble.json"
        [ -s "$OUT/backtest/$a/orders.jsonl" ]
        [ "$(wc -l < "$STATE/bot/$a.orders.jsonl")" = 1 ]
        # the paper step decided the latest bar
        [ "$(jq .time "$STATE/bot/$a.orders.jsonl")" = "$(tail -1 "$OUT/$a/candles.csv" | cut -d, -f1)" ]
    done
    [ -s "$OUT/backtest/report/report.html" ]
    jq -e '.strategy.total_return | type == "number"' "$OUT/backtest/report/metrics.json"
    # one account for both pairs
    jq -e '.pairs | has("SOL/USD") and has("ETH/USD")' "$STATE/account/account.json"
    # the summary, on stdout
    assert_line --index 0 --regexp '^krakenml pipeline summary '
    assert_line --regexp '^SOL/USD  best model linear: test log-loss [0-9.]+ \(class prior [0-9.]+, linear [0-9.]+\)$'
    assert_line --regexp '^ +ensemble: .*(ranging|trending|volatile)'
    assert_line --regexp '^backtest: total return -?[0-9.]+ % against buy and hold -?[0-9.]+ % after costs .*(it beat|it did not beat) buy and hold$'
    assert_line --regexp '^paper account: equity [0-9.]+ .*SOL/USD .*ETH/USD'
    assert_line "report: $OUT/backtest/report/report.html"
    [[ $output == *"SOL/USD: SYNTHETIC data"* ]]
}

@test "pipeline: a second run with nothing new redoes nothing; a changed option redoes what it affects" {
    "$KML_ROOT/pipelines/run.sh" SOL/USD >/dev/null 2>&1
    snap() { find "$OUT" "$MODELS" "$STATE" -type f -not -name '*.lock' -printf '%p %T@\n' | sort; }
    before=$(snap)
    run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD
    assert_success
    [ "$(snap)" = "$before" ]
    [ "$(grep -c ': up to date' <<<"$stderr")" = 6 ]
    [[ $stderr == *"kml-bot: nothing new"* ]]
    # another walk-forward step redoes the backtest and the ensemble, not the features or the models
    WF_STEP_DAYS=4 run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD
    assert_success
    [[ $stderr == *"features: up to date"* ]]
    [[ $stderr == *"train-linear: up to date"* ]]
    [[ $stderr != *"backtest: up to date"* ]]
    [[ $stderr != *"ensemble: up to date"* ]]
    # a changed allocation redoes the backtest; the model, which does not use it, is kept
    echo '{"assets": {"SOL/USD": {"allocation": 0.5}}}' > "$d/c.json"
    KML_CONFIG=$d/c.json run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD
    assert_success
    [[ $stderr == *"linear.safetensors: data and configuration unchanged: model kept"* ]]
    [[ $stderr != *"backtest: up to date"* ]]
    [[ $stderr == *"labelled: up to date"* ]]
}

@test "pipeline: too little history for the walk-forward says so (65)" {
    SIM_DAYS=40 run --separate-stderr "$KML_ROOT/pipelines/run.sh" SOL/USD
    assert_failure 65
    [[ $stderr == *"days of labelled rows (the shortest asset), too few for the walk-forward backtest and ensemble (WF_TRAIN_DAYS=10, twice, + WF_STEP_DAYS=5)"* ]]
}

@test "pipeline: make -j2 pipeline runs the assets in parallel, then one trading step across them" {
    cd "$KML_ROOT"
    run --separate-stderr env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j2 BUILD="${KML_EXEC_PATH%/bin}" pipeline ASSETS="SOL/USD BTC/USD"
    assert_success
    [ -s "$OUT/SOLUSD/labelled.csv" ]
    [ -s "$OUT/XBTUSD/labelled.csv" ]
    jq -e '.pairs | has("SOL/USD") and has("BTC/USD")' "$STATE/account/account.json"
    assert_line "report: $OUT/backtest/report/report.html"
}
