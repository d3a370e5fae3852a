#!/usr/bin/env bats
# kml-size: decisions JSONL to order targets. The contract on seeded random
# decisions and configurations (tests/size_props.py), a hand-worked order,
# Kraken's limits as kml-fetch pairs writes them, ensemble thresholds, the
# track-record state across runs, and every malformed input's message and
# exit code.
load helper
bats_require_minimum_version 1.5.0

PROPS="$KML_ROOT/tests/size_props.py"

setup_file() {
    export D="$BATS_FILE_TMPDIR"
    # Kraken's AssetPairs of SOL, ETH and BTC, through the real kml-fetch pairs
    # against the loopback server, so --limits reads exactly what it writes.
    mkdir -p "$D/srv/data" "$D/srv/state"
    cp "$FIXTURES/fetch/AssetPairs.json" "$D/srv/data/"
    /usr/bin/python3 "$KML_ROOT/tests/kraken_server.py" --dir "$D/srv/data" --state "$D/srv/state" \
        --port-file "$D/srv/port" --time 1700000000 3>&- &
    local pid=$!
    for _ in $(seq 100); do [ -s "$D/srv/port" ] && break; sleep 0.1; done
    KRAKEN_API_URL="http://127.0.0.1:$(cat "$D/srv/port")" KML_HTTP_PACE=0 kml-fetch pairs >"$D/pairs.jsonl"
    kill $pid
    [ "$(wc -l <"$D/pairs.jsonl")" -eq 3 ]
}

setup() {
    T="$BATS_TEST_TMPDIR"
}

# dec TIME PAIR CLOSE SIGNAL CONFIDENCE VOLATILITY: one decision line
dec() {
    printf '{"time":%s,"pair":"%s","close":%s,"regime":"ranging","models":{},"signals":{},"weights":{},"signal":%s,"confidence":%s,"volatility":%s,"source":"real"}\n' "$@"
}

# field JSON KEY
field() {
    /usr/bin/python3 -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(json.dumps(v))' "$1" "$2"
}

@test "size: --help prints the usage on stdout and exits 0" {
    run --separate-stderr kml-size --help
    assert_success
    [[ "$output" == *"--ml-position-sizing"* && "$output" == *"--limits"* && "$output" == *"--state"* ]]
    [ -z "$stderr" ]
}

@test "size: bad options and operands exit 64 with one line and a hint" {
    run --separate-stderr kml-size --frobnicate
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"try 'kml-size --help'"* ]]
    run --separate-stderr kml-size a.jsonl b.jsonl
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"unexpected operand 'b.jsonl'"* ]]
    run --separate-stderr kml-size --limits
    [ "$status" -eq 64 ]
}

@test "size: missing files exit 66" {
    for args in "$T/none.jsonl" "--limits $T/none.jsonl" "-e $T/none.json" "--config $T/none.json"; do
        run --separate-stderr kml-size $args < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
        [ "$status" -eq 66 ] || { echo "$args: $status $stderr"; false; }
        [[ "$stderr" == *"none.json"* ]]
    done
}

@test "size: a fixed-fraction order worked by hand (docs/sizing.md)" {
    run --separate-stderr kml-size < <(dec 1700000000 SOL/USD 100 0.6 0.8 0.01)
    assert_success
    /usr/bin/python3 - "$output" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
# stop 3 volatilities = 3 %; costs 2 x 0.26 % + 0.02 %; leverage 3 (bottom of 3-20x)
assert o["side"] == "buy" and o["leverage"] == 3, o
assert abs(o["exposure"] - 0.01 / (0.03 + 0.0054)) < 1e-15, o
assert abs(o["stop"] - 97) < 1e-12 and abs(o["liquidation_price"] - 80) < 1e-12, o
assert abs(o["take_profit"] - 106.75) < 1e-12, o      # 4.5 % x (1 + (0.6 - 0.2) / 0.8)
assert o["exchange_checked"] is False and o["source"] == "real"
for k in ("time", "pair", "side", "exposure", "leverage", "price", "stop", "take_profit",
          "liquidation_price", "reason", "source", "signal", "confidence", "volatility", "exchange_checked"):
    assert k in o, k
PY
}

@test "size: the contract holds on seeded random decisions and configurations, every mode" {
    for seed in 11 12 13 14; do
        mkdir -p "$T/$seed"
        /usr/bin/python3 "$PROPS" gen $seed 450 "$T/$seed"
        for ml in "" --ml-position-sizing; do
            for ex in "" --extreme-leverage; do
                for lim in "" "--limits $D/pairs.jsonl"; do
                    kml-size --config "$T/$seed/config.json" $ml $ex $lim "$T/$seed/decisions.jsonl" \
                        >"$T/o.jsonl" 2>"$T/err"
                    run /usr/bin/python3 "$PROPS" check "$T/$seed" "$T/o.jsonl" $lim ${ex:+--extreme}
                    [ "$status" -eq 0 ] || { echo "seed $seed $ml $ex $lim: $output"; false; }
                    # long, short and flat orders all occur
                    [[ "$output" != *'"buy": 0'* && "$output" != *'"sell": 0'* && "$output" != *'"flat": 0'* ]]
                done
            done
        done
    done
}

@test "size: kml-predict's decisions go straight in (rule strategies on a synthetic market)" {
    export OPENBLAS_NUM_THREADS=1 KML_LOG_DIR="$T/logs"
    kml-fetch sim --pair SOL/USD --bars 1300 --seed 3 2>/dev/null | kml-features >"$T/f0.csv"
    /usr/bin/python3 "$FIXTURES/predict_regime.py" "$T/f0.csv" >"$T/feat.csv"
    /usr/bin/python3 "$FIXTURES/predict_ens.py" "trend,meanrev,hold" >"$T/rules.json"
    kml-predict -e "$T/rules.json" "$T/feat.csv" >"$T/decisions.jsonl" 2>/dev/null
    n=$(wc -l <"$T/decisions.jsonl")
    [ "$n" -gt 100 ]
    cat >"$T/config.json" <<'JSON'
{"assets": {"SOL/USD": {"allocation": 1, "leverage": {"default": [3, 20], "extreme": [20, 125]}}},
 "risk": {"max_position": 1}, "margin": {"margin_stop": 0.4},
 "sizing": {"stop_buffer": 0.25, "entry_threshold": 0.1, "min_confidence": 0.1}}
JSON
    for ml in "" --ml-position-sizing; do
        for ex in "" --extreme-leverage; do
            kml-size --config "$T/config.json" $ml $ex "$T/decisions.jsonl" >"$T/o.jsonl"
            run /usr/bin/python3 "$PROPS" check "$T" "$T/o.jsonl" ${ex:+--extreme}
            [ "$status" -eq 0 ] || { echo "$ml $ex: $output"; false; }
            [[ "$output" != *'"buy": 0'* ]]
        done
    done
    # and with the ensemble's own thresholds (-e), every decision gets its order
    run --separate-stderr kml-size -e "$T/rules.json" --ml-position-sizing "$T/decisions.jsonl"
    assert_success
    [ "$(echo "$output" | wc -l)" -eq "$n" ]
}

@test "size: the same input gives byte-identical orders" {
    /usr/bin/python3 "$PROPS" gen 5 300 "$T"
    kml-size --ml-position-sizing --config "$T/config.json" "$T/decisions.jsonl" >"$T/a"
    kml-size --ml-position-sizing --config "$T/config.json" <"$T/decisions.jsonl" >"$T/b"
    cmp "$T/a" "$T/b"
    [ "$(wc -l <"$T/a")" -eq 300 ]
}

@test "size: Kraken's limits clamp the leverage, warn once per pair, and mark orders checked" {
    { dec 1700000000 SOL/USD 100 0.9 0.95 0.001; dec 1700003600 SOL/USD 100 -0.9 0.95 0.001
      dec 1700000000 BTC/USD 40000 0.9 0.95 0.001; } >"$T/d.jsonl"
    run --separate-stderr kml-size --extreme-leverage --ml-position-sizing --limits "$D/pairs.jsonl" "$T/d.jsonl"
    assert_success
    [ "$(echo "$output" | grep -c '"exchange_checked":true')" -eq 3 ]
    [ "$(field "$(sed -n 1p <<<"$output")" leverage)" = 3 ]   # SOL/USD: Kraken offers 2-3x
    [ "$(field "$(sed -n 2p <<<"$output")" leverage)" = 3 ]
    [ "$(field "$(sed -n 3p <<<"$output")" leverage)" = 5 ]   # BTC/USD: 2-5x
    [[ "$(sed -n 1p <<<"$output")" == *"clamped to Kraken's maximum 3x"* ]]
    # one warning per pair, naming what was asked and what Kraken allows
    [ "$(grep -c 'SOL/USD: the extreme leverage range asks up to 125x; Kraken allows 3x long and 3x short' <<<"$stderr")" -eq 1 ]
    [ "$(grep -c 'BTC/USD: the extreme leverage range asks up to 85x; Kraken allows 5x long and 5x short' <<<"$stderr")" -eq 1 ]
    [ "$(echo "$stderr" | wc -l)" -eq 2 ]
    # Kraken's margin_stop (40) gives the liquidation: 100 * (1 - 0.6 / 3)
    [ "$(field "$(sed -n 1p <<<"$output")" liquidation_price)" = 80 ]
}

@test "size: a pair without margin on Kraken trades long at 1x and never short" {
    /usr/bin/python3 -c '
import json, sys
for x in open(sys.argv[1]):
    o = json.loads(x)
    if o["pair"] == "SOL/USD": o["leverage_buy"] = []; o["leverage_sell"] = []
    print(json.dumps(o))' "$D/pairs.jsonl" >"$T/p.jsonl"
    { dec 1700000000 SOL/USD 100 0.9 0.95 0.01; dec 1700003600 SOL/USD 100 -0.9 0.95 0.01; } >"$T/d.jsonl"
    run --separate-stderr kml-size --limits "$T/p.jsonl" "$T/d.jsonl"
    assert_success
    l1=$(sed -n 1p <<<"$output") l2=$(sed -n 2p <<<"$output")
    [ "$(field "$l1" leverage)" = 1 ] && [ "$(field "$l1" liquidation_price)" = 0 ]
    [[ "$l1" == *"Kraken allows no margin long on SOL/USD: 1x (spot)"* ]]
    [ "$(field "$l2" side)" = '"flat"' ]
    [[ "$l2" == *"flat: Kraken allows no margin short on SOL/USD"* ]]
    [[ "$stderr" == *"Kraken allows 1x long and no short"* ]]
}

@test "size: without --limits the orders say exchange_checked false and keep the configured range" {
    run --separate-stderr kml-size --extreme-leverage --ml-position-sizing < <(dec 1700000000 SOL/USD 100 0.9 0.95 0.0005)
    assert_success
    [ "$(field "$output" exchange_checked)" = false ]
    L=$(field "$output" leverage)
    awk -v l="$L" 'BEGIN { exit !(l >= 20 && l <= 125) }'
    [ -z "$stderr" ]
}

@test "size: the configuration's leverage_mode extreme is --extreme-leverage" {
    /usr/bin/python3 "$PROPS" gen 4 90 "$T"
    /usr/bin/python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["leverage_mode"] = "extreme"; json.dump(c, open(sys.argv[2], "w"))' \
        "$T/config.json" "$T/x.json"
    kml-size --config "$T/config.json" --extreme-leverage "$T/decisions.jsonl" >"$T/a"
    kml-size --config "$T/x.json" "$T/decisions.jsonl" >"$T/b"
    kml-size --config "$T/config.json" "$T/decisions.jsonl" >"$T/c"
    cmp "$T/a" "$T/b"
    ! cmp -s "$T/a" "$T/c"
    grep -q 'extreme range' "$T/b"
}

@test "size: a volatile bar lowers the leverage until the stop fits before liquidation, and says so" {
    run --separate-stderr kml-size --extreme-leverage < <(dec 1700000000 SOL/USD 100 0.9 0.95 0.02)
    assert_success
    # stop 6 % away; liquidation must be >= 8 % away: (1 - 0.4) / 0.08 = 7.5x, below the 20x bottom
    [ "$(field "$output" leverage)" = 7.5 ]
    [[ "$output" == *"leverage lowered from 20 to 7.5"* ]]
}

@test "size: thresholds come from -e ensemble.json, per walk-forward window, else the configuration" {
    { dec 1700000000 SOL/USD 100 0.4 0.8 0.01; dec 1700003600 SOL/USD 100 0.4 0.8 0.01; } >"$T/d.jsonl"
    run --separate-stderr kml-size "$T/d.jsonl"
    [ "$(grep -c '"side":"buy"' <<<"$output")" -eq 2 ]   # the config's entry 0.2
    echo '{"thresholds": {"entry": 0.5, "min_confidence": 0.3}}' >"$T/e.json"
    run --separate-stderr kml-size -e "$T/e.json" "$T/d.jsonl"
    assert_success
    [ "$(grep -c '"side":"flat"' <<<"$output")" -eq 2 ]
    [[ "$output" == *"below the entry threshold 0.5"* ]]
    # a window's own entry applies to the bars inside it
    echo '{"thresholds": {"entry": 0.5, "min_confidence": 0.3}, "windows": [{"from": 1700003600, "to": 1700007200, "entry": 0.3}]}' >"$T/w.json"
    run --separate-stderr kml-size -e "$T/w.json" "$T/d.jsonl"
    [ "$(field "$(sed -n 1p <<<"$output")" side)" = '"flat"' ]
    [ "$(field "$(sed -n 2p <<<"$output")" side)" = '"buy"' ]
    # without thresholds: the configuration's, and a warning says so
    echo '{"weights": {}}' >"$T/n.json"
    run --separate-stderr kml-size -e "$T/n.json" "$T/d.jsonl"
    assert_success
    [ "$(grep -c '"side":"buy"' <<<"$output")" -eq 2 ]
    [[ "$stderr" == *"n.json: no thresholds.entry: using the configuration's sizing.entry_threshold 0.2"* ]]
}

@test "size: ML sizing shrinks after the pair's own decisions lost" {
    # ten longs each followed by a 2 % fall, then the decision under test
    for i in $(seq 0 9); do
        dec $((1700000000 + 3600 * i)) ETH/USD "$(awk -v i=$i 'BEGIN { printf "%.10g", 2000 * 0.98 ^ i }')" 0.8 0.9 0.01
    done >"$T/lose.jsonl"
    last='{"time":1700036000,"pair":"ETH/USD","close":1600,"signal":0.8,"confidence":0.9,"volatility":0.01,"source":"real"}'
    echo "$last" >>"$T/lose.jsonl"
    fresh=$(echo "$last" | kml-size --ml-position-sizing)
    hist=$(kml-size --ml-position-sizing "$T/lose.jsonl" | tail -1)
    e1=$(field "$fresh" exposure) e2=$(field "$hist" exposure)
    awk -v a="$e1" -v b="$e2" 'BEGIN { exit !(b < a) }'
    [[ "$hist" == *"hit rate 0.08333"* ]]   # (0 wins + 1) / (10 + 2)
}

@test "size: --state continues a run where the last one stopped and emits nothing twice" {
    /usr/bin/python3 "$PROPS" gen 7 240 "$T"
    kml-size --ml-position-sizing --config "$T/config.json" --state "$T/full.state" "$T/decisions.jsonl" >"$T/full"
    head -100 "$T/decisions.jsonl" >"$T/first"
    kml-size --ml-position-sizing --config "$T/config.json" --state "$T/s" "$T/first" >"$T/part1"
    # the whole input again: the first 100 are skipped, the rest continue the track record
    run --separate-stderr kml-size --ml-position-sizing --config "$T/config.json" --state "$T/s" "$T/decisions.jsonl"
    assert_success
    echo "$output" >"$T/part2"
    [[ "$stderr" == *"100 decisions already sized by an earlier run (--state) skipped"* ]]
    cat "$T/part1" "$T/part2" | cmp - "$T/full"
    cmp "$T/s" "$T/full.state"
    # a third run has nothing to do: no output, exit 0, and it says why
    run --separate-stderr kml-size --ml-position-sizing --config "$T/config.json" --state "$T/s" "$T/decisions.jsonl"
    assert_success
    [ -z "$output" ]
    [[ "$stderr" == *"all 240 decisions were sized by an earlier run"* ]]
}

@test "size: a run killed between printing an order and saving the state neither repeats nor loses it (>>)" {
    /usr/bin/python3 "$PROPS" gen 8 150 "$T"
    opts=(--ml-position-sizing --config "$T/config.json")
    kml-size "${opts[@]}" --state "$T/full.state" "$T/decisions.jsonl" >"$T/full"
    head -99 "$T/decisions.jsonl" >"$T/d99"
    head -100 "$T/decisions.jsonl" >"$T/d100"
    kml-size "${opts[@]}" --state "$T/s" "$T/d99" >/dev/null      # the state as of order 99 ...
    kml-size "${opts[@]}" --state "$T/lost" "$T/d100" >"$T/out"   # ... but order 100 was printed
    # the restart appends to its own output: order 100 is replayed, not printed again
    kml-size "${opts[@]}" --state "$T/s" "$T/decisions.jsonl" >>"$T/out"
    cmp "$T/out" "$T/full"
    cmp "$T/s" "$T/full.state"
}

@test "size: a damaged state file is a located error (65)" {
    echo '{"format": "something-else"}' >"$T/s"
    run --separate-stderr kml-size --state "$T/s" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"s: \$.format: expected \"kml-size-state\""* ]]
    echo '{"format": "kml-size-state", "pairs": {"SOL/USD": {"time": 1}}}' >"$T/s"
    run --separate-stderr kml-size --state "$T/s" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"\$.pairs.SOL/USD: expected time, close, side, exposure and returns"* ]]
    echo '{"format": "kml-size-state", "pairs": {"SOL/USD": {"time": 1, "close": 5, "side": 0, "exposure": 0, "returns": [1, "x"]}}}' >"$T/s"
    run --separate-stderr kml-size --state "$T/s" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"\$.pairs.SOL/USD.returns[1]: expected a number"* ]]
}

@test "size: every malformed decision names the line and key (65)" {
    good=$(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    base='"time":1700003600,"pair":"SOL/USD","close":100,"signal":0.5,"confidence":0.8,"volatility":0.01,"source":"real"'
    while IFS='|' read -r line want; do
        printf '%s\n%s\n' "$good" "$line" >"$T/in"
        run --separate-stderr kml-size <"$T/in"
        [ "$status" -eq 65 ] || { echo "$line: exit $status"; false; }
        [ "$stderr" = "kml-size: <stdin>:2: $want" ] || { echo "$line: got '$stderr', want '$want'"; false; }
        # the good first line was written before the error
        [ "$(echo "$output" | grep -c '"side":"buy"')" -eq 1 ]
    done <<EOF
{${base/\"confidence\":0.8/\"confidence\":\"high\"}}|key 'confidence': expected a number in [0,1], got "high"
{${base/\"confidence\":0.8/\"confidence\":1.5}}|key 'confidence': expected a number in [0,1], got 1.5
{${base/\"confidence\":0.8,/}}|missing key 'confidence'
{${base/\"signal\":0.5/\"signal\":-2}}|key 'signal': expected a number in [-1,1], got -2
{${base/\"signal\":0.5/\"signal\":null}}|key 'signal': expected a number in [-1,1], got null
{${base/\"signal\":0.5,/}}|missing key 'signal'
{${base/\"volatility\":0.01/\"volatility\":-0.01}}|key 'volatility': expected a number >= 0, got -0.01
{${base/\"volatility\":0.01/\"volatility\":1e999}}|key 'volatility': expected a number >= 0, got null
{${base/\"volatility\":0.01,/}}|missing key 'volatility'
{${base/\"close\":100/\"close\":0}}|key 'close': expected a positive price, got 0
{${base/\"close\":100/\"close\":\"100\"}}|key 'close': expected a positive price, got "100"
{${base/\"close\":100,/}}|missing key 'close'
{${base/\"time\":1700003600/\"time\":1700003600.5}}|key 'time': expected an integer time in Unix seconds, got 1700003600.5
{${base/\"time\":1700003600/\"time\":\"now\"}}|key 'time': expected an integer time in Unix seconds, got "now"
{${base/\"time\":1700003600,/}}|missing key 'time'
{${base/\"time\":1700003600/\"time\":1700000000}}|key 'time': 1700000000 is not after the previous decision of SOL/USD (1700000000)
{${base/\"time\":1700003600/\"time\":1699999999}}|key 'time': 1699999999 is not after the previous decision of SOL/USD (1700000000)
{${base/\"pair\":\"SOL\/USD\"/\"pair\":\"ADA/USD\"}}|key 'pair': "ADA/USD" is not in the configuration's assets (SOL/USD, ETH/USD, BTC/USD)
{${base/\"pair\":\"SOL\/USD\"/\"pair\":\"nonsense\"}}|key 'pair': expected a pair name such as "SOL/USD", got "nonsense"
{${base/\"pair\":\"SOL\/USD\"/\"pair\":7}}|key 'pair': expected a pair name such as "SOL/USD", got 7
{${base/\"pair\":\"SOL\/USD\",/}}|missing key 'pair'
{${base/\"source\":\"real\"/\"source\":\"paper\"}}|key 'source': expected "real" or "synthetic", got "paper"
{${base/,\"source\":\"real\"/}}|missing key 'source'
[1, 2]|expected a JSON object (a decision)
{"time": 17|column 12: invalid JSON
EOF
}

@test "size: pairs interleave freely; BTC/USD may be written XBT/USD" {
    { dec 1700003600 SOL/USD 100 0.5 0.8 0.01; dec 1700000000 ETH/USD 2000 0.5 0.8 0.01
      dec 1700000000 XBT/USD 40000 0.5 0.8 0.01; } >"$T/d.jsonl"
    run --separate-stderr kml-size "$T/d.jsonl"
    assert_success
    [ "$(field "$(sed -n 3p <<<"$output")" pair)" = '"BTC/USD"' ]
}

@test "size: an empty input says so: an error (65), or with --state a note (0)" {
    run --separate-stderr kml-size </dev/null
    [ "$status" -eq 65 ]
    [ "$stderr" = "kml-size: <stdin>: no decisions in the input" ]
    # a live loop's iteration with no new decision
    run --separate-stderr kml-size --state "$T/s" </dev/null
    assert_success
    [ -z "$output" ]
    [ "$stderr" = "kml-size: <stdin>: no decisions in the input: nothing to do" ]
    [ ! -e "$T/s" ]
}

@test "size: a decision for a pair --limits does not list is an error (65)" {
    grep -v SOL "$D/pairs.jsonl" >"$T/p.jsonl"
    run --separate-stderr kml-size --limits "$T/p.jsonl" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 65 ]
    [ "$stderr" = "kml-size: <stdin>:1: key 'pair': SOL/USD has no entry in --limits $T/p.jsonl" ]
}

@test "size: malformed --limits lines are located errors (65)" {
    while IFS='|' read -r line want; do
        printf '%s\n' "$line" >"$T/p.jsonl"
        run --separate-stderr kml-size --limits "$T/p.jsonl" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
        [ "$status" -eq 65 ] || { echo "$line: exit $status"; false; }
        [ "$stderr" = "kml-size: $T/p.jsonl:1: $want" ] || { echo "got '$stderr', want '$want'"; false; }
    done <<'EOF'
{"pair": "SOL/USD", "leverage_buy": "3", "leverage_sell": []}|key 'leverage_buy': expected an array of leverages, got "3"
{"pair": "SOL/USD", "leverage_buy": [2, 0.5], "leverage_sell": []}|key 'leverage_buy': expected an array of leverages >= 1, got [2,0.5]
{"pair": "SOL/USD", "margin_call": 80, "margin_stop": 90}|key 'margin_stop': 90 is not in (0, margin_call 80)
{"pair": "SOL/USD", "margin_call": 80}|key 'margin_stop': missing (margin_call and margin_stop go together)
{"pair": "SOL/USD", "margin_call": "80", "margin_stop": 40}|key 'margin_call': expected a percentage, got "80"
{"leverage_buy": [2]}|missing key 'pair'
{"pair": "moon", "leverage_buy": [2]}|key 'pair': expected a pair name, got "moon"
[]|expected a JSON object
EOF
}

@test "size: malformed ensemble thresholds are errors naming the file and key (65)" {
    while IFS='|' read -r json want; do
        echo "$json" >"$T/e.json"
        run --separate-stderr kml-size -e "$T/e.json" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
        [ "$status" -eq 65 ] || { echo "$json: exit $status"; false; }
        [ "$stderr" = "kml-size: $T/e.json: $want" ] || { echo "got '$stderr', want '$want'"; false; }
    done <<'EOF'
{"thresholds": {"entry": "high"}}|$.thresholds.entry: expected a number in [0, 1], got "high"
{"thresholds": {"entry": 0.2, "min_confidence": 2}}|$.thresholds.min_confidence: expected a number in [0, 1], got 2
{"thresholds": [0.2]}|$.thresholds: expected an object
{"windows": {}}|$.windows: expected an array
{"windows": [{"from": 1}]}|$.windows[0]: expected numbers 'from' and 'to'
[1]|$: expected an object
EOF
    echo '{"thresholds": ' >"$T/e.json"
    run --separate-stderr kml-size -e "$T/e.json" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 65 ]
}

@test "size: bad sizing and margin configuration exits 78 naming the key" {
    echo '{"sizing": {"stop_buffer": 2}}' >"$T/c.json"
    run --separate-stderr kml-size --config "$T/c.json" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 78 ]
    [[ "$stderr" == *"c.json: \$.sizing.stop_buffer: 2 is out of range [0, 0.9]"* ]]
    echo '{"margin": {"margin_stop": 0.9}}' >"$T/c.json"
    run --separate-stderr kml-size --config "$T/c.json" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 78 ]
    [[ "$stderr" == *"\$.margin.margin_stop: 0.9 is not below margin_call 0.8"* ]]
    echo '{"sizing": {"track_window": 2.5}}' >"$T/c.json"
    run --separate-stderr kml-size --config "$T/c.json" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 78 ]
    echo '{"sizing": {"kelly": 1}}' >"$T/c.json"
    run --separate-stderr kml-size --config "$T/c.json" < <(dec 1700000000 SOL/USD 100 0.5 0.8 0.01)
    [ "$status" -eq 78 ]
    [[ "$stderr" == *'unknown key "kelly"'* ]]
}

@test "size: a closed stdout fails the stage" {
    /usr/bin/python3 "$PROPS" gen 3 3000 "$T"
    run bash -c 'set -o pipefail; kml-size --config "$1/config.json" "$1/decisions.jsonl" | head -1 >/dev/null' _ "$T"
    [ "$status" -ne 0 ]
}
