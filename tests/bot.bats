#!/usr/bin/env bats
# kml bot: the trading loop, one iteration per closed candle, and its units.
load helper
bats_require_minimum_version 1.5.0

# One synthetic market, its models and ensemble, made once for the suite:
# 120 days of SOL/USD, the last 30 hours held back to arrive "live".
setup_file() {
    export BOT_D="$BATS_FILE_TMPDIR/d"
    mkdir -p "$BOT_D/runs/SOLUSD" "$BOT_D/models/SOLUSD"
    cd "$BOT_D"
    export KML_LOG_DIR="$BOT_D/logs"
    kml-fetch sim --pair SOL/USD --days 120 --seed 5 > all.csv 2>/dev/null
    n=$(wc -l < all.csv)
    head -n $((n - 30)) all.csv > start.csv
    kml-features --labels start.csv > f.csv
    kml-regime fit --seed 1 -o runs/SOLUSD/regime.json f.csv 2>/dev/null
    kml-regime label -m runs/SOLUSD/regime.json f.csv > l.csv
    kml-train --arch linear --pair SOL/USD --source synthetic --quiet -o models/SOLUSD l.csv > /dev/null 2>&1
    kml-train --arch linear --walk-forward --train-days 60 --step-days 15 --quiet l.csv > wf.csv 2>/dev/null
    kml-ensemble fit --quiet --pair SOL/USD --source synthetic --predictions wf.csv -o ens.json l.csv
    # act on any signal, so that the paper account trades
    jq '.thresholds.entry = 0 | .thresholds.min_confidence = 0' ens.json > runs/SOLUSD/ensemble.json
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    export KML_LOG_DIR="$BATS_TEST_TMPDIR/logs"
    cp -r "$BOT_D/runs" "$BOT_D/models" .
    cp "$BOT_D/start.csv" store.csv
}

bot() { kml bot --once --no-fetch --assets SOL/USD --candles SOL/USD=store.csv "$@"; }
# append the next k held-back candles to the store
arrive() { local have; have=$(wc -l < store.csv); sed -n "$((have + 1)),$((have + $1))p" "$BOT_D/all.csv" >> store.csv; }

@test "bot: the first iteration decides the latest bar; each new candle gives one order; a skipped hour is caught up in order" {
    run --separate-stderr bot
    assert_success
    [[ "$stderr" == *"SOL/USD: 1 new decision(s) up to bar $(tail -1 store.csv | cut -d, -f1)"* ]]
    [ "$(wc -l < state/bot/SOLUSD.orders.jsonl)" = 1 ]
    for h in $(seq 1 12); do
        arrive 1
        run --separate-stderr bot
        assert_success
        [ "$(wc -l < state/bot/SOLUSD.orders.jsonl)" = $((1 + h)) ]
    done
    # the machine was down for two hours: three candles arrive at once
    arrive 3
    run --separate-stderr bot
    assert_success
    [[ "$stderr" == *"3 new decision(s)"* ]]
    # one order a bar, in time order, the bars the store has after the first decided one
    jq -r .time state/bot/SOLUSD.orders.jsonl > got
    tail -n 16 store.csv | cut -d, -f1 > want
    diff got want
    # the orders are the paper account's: fills at later bars' opens, equity after each event
    [ "$(jq -s '[.[] | select(.event == "fill")] | length' state/bot/events.jsonl)" -ge 1 ]
    jq -e -s 'all(.[]; .mode == "sandbox" and (.equity | type) == "number")' state/bot/events.jsonl
    # a fill is at the open of a bar after the one that decided it: never at the first decided bar
    first=$(head -1 got)
    jq -r 'select(.event == "fill") | .time' state/bot/events.jsonl | while read -r t; do
        [ "$t" -gt "$first" ]
        grep -qx "$t" got
    done
    # the live models are logged once
    [ "$(grep -c '"msg":"deployed"' logs/ml_deployment.log)" = 1 ]
}

@test "bot: paper trades from the bot equal one kml-execute run over the same orders" {
    bot 2>/dev/null
    for h in 1 2 3 4 5 6; do arrive 1; bot 2>/dev/null; done
    run kml-execute --sandbox --quiet --no-state --candles SOL/USD=store.csv state/bot/SOLUSD.orders.jsonl
    assert_success
    diff <(jq -c 'del(.ts)' state/bot/events.jsonl) <(jq -c 'del(.ts)' <<<"$output")
}

@test "bot: an iteration with nothing new does nothing and says so in one line" {
    bot 2>/dev/null
    before=$(find state -type f -not -name bot.lock -exec sha256sum {} + | sort)
    run --separate-stderr bot
    assert_success
    [ "$stderr" = "kml-bot: nothing new: every store ends at the bar already decided; nothing done" ]
    [ "$(find state -type f -not -name bot.lock -exec sha256sum {} + | sort)" = "$before" ]
}

@test "bot: two iterations never overlap (lock)" {
    mkdir -p state
    flock state/bot.lock sleep 3 &
    sleep 0.5
    run --separate-stderr bot
    assert_equal "$status" 75
    [[ "$stderr" == *"another iteration holds state/bot.lock; nothing done"* ]]
    [ ! -e state/bot/SOLUSD.orders.jsonl ]
    wait
    run bot
    assert_success
}

@test "bot: refuses models past their expiry, and says how to retrain" {
    touch -d '20 days ago' models/SOLUSD/linear.safetensors
    run --separate-stderr bot
    assert_equal "$status" 78
    [[ "$stderr" == *"models/SOLUSD/linear.safetensors is 20 days old, past --max-model-age 14: retrain (kml train-all)"* ]]
    # the refusal leaves no iteration's scratch behind
    [ -z "$(ls -A state/bot | grep '^\.iter')" ]
    run --separate-stderr bot --max-model-age 30
    assert_success
}

@test "bot: missing ensemble and bad options are named" {
    rm runs/SOLUSD/ensemble.json
    run --separate-stderr bot
    assert_equal "$status" 66
    [[ "$stderr" == *"runs/SOLUSD/ensemble.json missing"* ]]
    run --separate-stderr kml bot --bogus
    assert_equal "$status" 64
    run --separate-stderr kml bot --validate
    assert_equal "$status" 64
    [[ "$stderr" == *"--validate goes with --live"* ]]
}

@test "bot: the systemd units and the crontab pass systemd-analyze verify" {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze absent"
    run systemd-analyze verify --man=no "$KML_ROOT"/pipelines/systemd/*.service "$KML_ROOT"/pipelines/systemd/*.timer
    assert_success
    refute_output
    grep -q '^OnCalendar=\*-\*-\* \*:00:15 UTC$' "$KML_ROOT/pipelines/systemd/krakenml-bot.timer"
    grep -q '^Persistent=true$' "$KML_ROOT/pipelines/systemd/krakenml-bot.timer"
    grep -q 'kml bot --sandbox --once' "$KML_ROOT/pipelines/crontab.example"
}

@test "bot: --live --once places on the (loopback) exchange the orders the sandbox decides" {
    need_data SOLUSD_60.csv
    # real hours (live refuses synthetic data): the last 2500 of SOLUSD_60
    { head -1 "$KML_SHARED_DATA/kraken/SOLUSD_60.csv"; tail -2500 "$KML_SHARED_DATA/kraken/SOLUSD_60.csv"; } > real.csv
    rm -rf runs models
    mkdir -p runs/SOLUSD models/SOLUSD
    kml-features --labels --max-gap 3 real.csv > f.csv
    kml-regime fit --seed 1 -o runs/SOLUSD/regime.json f.csv 2>/dev/null
    kml-regime label -m runs/SOLUSD/regime.json f.csv > l.csv
    kml-train --arch linear --pair SOL/USD --source real --quiet -o models/SOLUSD l.csv > /dev/null 2>&1
    kml-ensemble fit --quiet --pair SOL/USD --source real -o e.json l.csv
    jq '.thresholds.entry = 0 | .thresholds.min_confidence = 0' e.json > runs/SOLUSD/ensemble.json
    # the loopback Kraken with its private API and a test key
    local key=kmlBOTkey secret srv=$BATS_TEST_TMPDIR/srv
    secret=$(printf 'kml bot test secret 0123456789abcdef0123456789abcdef01234567' | base64 -w0)
    mkdir -p "$srv/data" "$srv/state"
    cp "$FIXTURES/fetch/AssetPairs.json" "$srv/data/"
    printf '{"keys": {"%s": "%s"}, "balances": {"ZUSD": "10000"}, "prices": {"SOLUSD": "%s"}}\n' \
        "$key" "$secret" "$(tail -1 real.csv | cut -d, -f5)" > "$srv/data/private.json"
    /usr/bin/python3 "$KML_ROOT/tests/kraken_server.py" --dir "$srv/data" --state "$srv/state" --port-file "$srv/port" 3>&- &
    local pid=$!
    for _ in $(seq 100); do [ -s "$srv/port" ] && break; sleep 0.05; done
    export KRAKEN_API_URL="http://127.0.0.1:$(cat "$srv/port")" KRAKEN_API_KEY=$key KRAKEN_API_SECRET=$secret
    export KML_NONCE_DIR=$BATS_TEST_TMPDIR/nonce KML_HTTP_PACE=0 KML_HTTP_TIMEOUT=2 KML_KRAKEN_TIER=100000/100000
    # the same decision on paper and live
    run --separate-stderr kml bot --sandbox --once --no-fetch --assets SOL/USD --candles SOL/USD=real.csv --state paper
    assert_success
    run --separate-stderr kml bot --live --once --no-fetch --assets SOL/USD --candles SOL/USD=real.csv --state live
    kill "$pid"
    assert_success
    diff paper/bot/SOLUSD.orders.jsonl live/bot/SOLUSD.orders.jsonl
    jq -e '.source == "real" and .side != "flat"' live/bot/SOLUSD.orders.jsonl
    # the exchange received the target's order, and the events say live
    want=$(jq -r 'if .side == "buy" then "buy" else "sell" end' live/bot/SOLUSD.orders.jsonl)
    /usr/bin/python3 - "$srv/state/private.json" "$want" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
orders = list(s["orders"].values())
assert any(o["type"] == sys.argv[2] and o["vol_exec"] > 0 for o in orders), orders
PY
    jq -e -s 'length > 0 and all(.[]; .mode == "live")' live/bot/events.jsonl
    # no secret in anything the bot wrote
    ! grep -rqF "$secret" live paper "$KML_LOG_DIR"
}

@test "bot: against the loopback Kraken, one iteration an hour for a day: a paper order for each new candle, a skipped hour caught up" {
    # the server's market: generated SOL/USD trades (and OHLC from them), its clock moved an hour a run
    local srv=$BATS_TEST_TMPDIR/srv now0=1764549000 pid
    mkdir -p "$srv/data" "$srv/state"
    serve() { # clock
        rm -f "$srv/port"
        /usr/bin/python3 "$KML_ROOT/tests/kraken_server.py" --dir "$srv/data" --state "$srv/state" --port-file "$srv/port" \
            --time "$1" --generate SOLUSD --gen-rate 20 --gen-seed 4 --gen-start $((now0 - 400 * 86400)) 3>&- &
        pid=$!
        for _ in $(seq 100); do [ -s "$srv/port" ] && break; sleep 0.05; done
        export KRAKEN_API_URL="http://127.0.0.1:$(cat "$srv/port")"
    }
    export KML_HTTP_PACE=0.001 KML_HTTP_RETRIES=1 KML_HTTP_BACKOFF=0.01
    serve $now0
    kml-fetch update --pair SOL/USD --dir hd --days 45 --quiet 2>/dev/null
    kill $pid; wait $pid 2>/dev/null || true
    # models and ensemble from the store, as make pipeline makes them
    rm -rf runs models
    mkdir -p runs/SOLUSD models/SOLUSD
    kml-features --labels --max-gap 3 hd/SOLUSD_60.csv > f.csv
    kml-regime fit --seed 1 -o runs/SOLUSD/regime.json f.csv 2>/dev/null
    kml-regime label -m runs/SOLUSD/regime.json f.csv > l.csv
    kml-train --arch linear --pair SOL/USD --source real --quiet -o models/SOLUSD l.csv > /dev/null 2>&1
    kml-ensemble fit --quiet --pair SOL/USD --source real -o e.json l.csv
    jq '.thresholds.entry = 0 | .thresholds.min_confidence = 0' e.json > runs/SOLUSD/ensemble.json
    for h in $(seq 0 24); do
        [ "$h" = 10 ] && continue # the machine was down that hour
        serve $((now0 + h * 3600))
        run --separate-stderr kml bot --sandbox --once --assets SOL/USD --data-dir hd
        kill $pid; wait $pid 2>/dev/null || true
        assert_success
        # the candle that closed an hour ago is the last one decided
        [ "$(cat state/bot/SOLUSD.last)" = $((now0 - 1800 + (h - 1) * 3600)) ]
        [ "$(tail -1 hd/SOLUSD_60.csv | cut -d, -f1)" = "$(cat state/bot/SOLUSD.last)" ]
        if [ "$h" = 11 ]; then [[ $stderr == *"2 new decision(s)"* ]]; fi
    done
    # one order a bar from the first decided bar on, none missing, none twice
    jq -r .time state/bot/SOLUSD.orders.jsonl > got
    seq $((now0 - 1800 - 3600)) 3600 $((now0 - 1800 + 23 * 3600)) > want
    diff got want
    # paper trades: fills at the opens of later bars, on one account
    [ "$(jq -s '[.[] | select(.event == "fill")] | length' state/bot/events.jsonl)" -ge 1 ]
    jq -e '.pairs["SOL/USD"].last_bar' state/account/account.json
}

@test "bot: kill -9 at random points of iterations, then a rerun: the orders, the account and the events log of an uninterrupted run" {
    # the uninterrupted run, hour by hour
    cp store.csv start.csv
    export KML_LOG_DIR=$BATS_TEST_TMPDIR/ref-logs
    for h in 1 2 3 4 5 6; do arrive 1; bot --state ref 2>/dev/null; done
    # the same hours, each iteration killed somewhere, then run again
    cp start.csv store.csv
    export KML_LOG_DIR=$BATS_TEST_TMPDIR/logs
    RANDOM=7
    for h in 1 2 3 4 5 6; do
        arrive 1
        setsid bash -c 'exec kml bot --once --no-fetch --assets SOL/USD --candles SOL/USD=store.csv --state st' >/dev/null 2>&1 &
        local pid=$!
        sleep "0.$((RANDOM % 9 + 1))"
        kill -9 -- -"$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        run --separate-stderr bot --state st
        assert_success
    done
    diff ref/bot/SOLUSD.orders.jsonl st/bot/SOLUSD.orders.jsonl
    diff ref/account/account.json st/account/account.json
    diff <(jq -c 'del(.ts)' "$BATS_TEST_TMPDIR/ref-logs/bot_manager_integration.log") \
         <(jq -c 'del(.ts)' "$BATS_TEST_TMPDIR/logs/bot_manager_integration.log")
    cmp ref/bot/SOLUSD.predict.json st/bot/SOLUSD.predict.json
    [ -z "$(ls -A st/bot | grep '^\.iter')" ]
}
