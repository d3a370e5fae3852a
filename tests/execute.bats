#!/usr/bin/env bats
# kml-execute --sandbox: the paper account as a program. Orders are generated
# (tests/execute_orders.py, seeded) over synthetic candles (kml-fetch sim).
# The hand-worked numbers are in tests/unit/test_account.c.
bats_require_minimum_version 1.5.0
load helper

T0=1672531200 # the simulator's first bar, 2023-01-01T00:00:00Z

setup_file() {
    export HD="$BATS_FILE_TMPDIR/hd"
    kml-fetch sim --days 40 --dir "$HD" --seed 11 2>/dev/null
    export ORDERS="$BATS_FILE_TMPDIR/orders.jsonl"
    /usr/bin/python3 "$KML_ROOT/tests/execute_orders.py" 5 20 300 SOL/USD="$HD/SOLUSD_60.csv" \
        ETH/USD="$HD/ETHUSD_60.csv" BTC/USD="$HD/XBTUSD_60.csv" >"$ORDERS"
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    export KML_LOG_DIR="$BATS_TEST_TMPDIR/logs"
    unset KML_CONFIG KML_EXECUTE_KILL_AT
}

x() { kml-execute -d "$HD" "$@"; }

# The final state's identities: cash = initial + realised - fees - rollover,
# equity = cash + unrealised, nothing left unlogged.
check_state() {
    /usr/bin/python3 - "$1" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ps = s["pairs"].values()
want = s["initial"] + sum(p["realised"] - p["fees"] - p["rollover_paid"] for p in ps)
assert abs(s["cash"] - want) < 0.01, (s["cash"], want)
assert abs(s["equity"] - s["cash"] - sum(p["unrealised"] for p in ps)) < 0.01
assert s["unlogged"] == [], s["unlogged"]
for p in ps:
    if p["side"]:
        assert p["volume"] > 0 and p["margin"] > 0, p
EOF
}

# kml-execute's events against bench/execute_ref.py's summary: the same number
# of events, the same cash after the last one, and per pair the realised P&L
# and the fees (trading, opening, rollover) summed over the events equal to
# the reference's totals (within 1e-9 relative).
compare_ref() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))
close = lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1)
assert len(ev) == ref["events"], (len(ev), ref["events"])
assert close(ev[-1]["cash"], ref["cash"]), (ev[-1]["cash"], ref["cash"])
for pair, r in ref["pairs"].items():
    pnl = sum(e.get("pnl", 0) for e in ev if e.get("pair") == pair)
    fee = sum(e.get("fee", 0) for e in ev if e.get("pair") == pair)
    assert close(pnl, r["realised"]), (pair, pnl, r["realised"])
    assert close(fee, r["fees"] + r["rollover_paid"]), (pair, fee, r["fees"] + r["rollover_paid"])
PY
}

@test "execute: --help prints the synopsis and exits 0" {
    run kml-execute --help
    assert_success
    assert_output --partial "usage: kml-execute [--sandbox]"
    assert_output --partial "--state DIR"
}

@test "execute: a bad option is a usage error (64)" {
    run --separate-stderr kml-execute --bogus
    assert_failure 64
    assert_equal "$stderr" "kml-execute: unknown option '--bogus' (try 'kml-execute --help')"
    run --separate-stderr kml-execute --candles SOLUSD
    assert_failure 64
    assert_equal "$stderr" "kml-execute: --candles: expected PAIR=FILE, got 'SOLUSD' (try 'kml-execute --help')"
}

@test "execute: --live goes to live mode, never together with --sandbox (64)" {
    run kml-execute --live --help
    assert_success
    assert_line --index 0 --partial "usage: kml-execute --live"
    run --separate-stderr kml-execute --sandbox --live "$ORDERS"
    assert_failure 64
    assert_equal "$stderr" "kml-execute: --live and --sandbox exclude each other (try 'kml-execute --help')"
}

@test "execute: events go to stdout and the log, one line each, with DESIGN.md's fields" {
    run --separate-stderr x --state st "$ORDERS"
    assert_success
    [ "$output" = "$(cat logs/bot_manager_integration.log)" ]
    [ "$(echo "$output" | wc -l)" -gt 100 ]
    echo "$output" >ev.jsonl
    /usr/bin/python3 - ev.jsonl <<'EOF'
import json, sys
seq, kinds = 0, set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    for k in ("ts", "time", "mode", "event", "seq", "cash", "equity"):
        assert k in e, (k, e)
    assert e["mode"] == "sandbox"
    assert e["seq"] == seq + 1; seq = e["seq"]
    kinds.add(e["event"])
    if e["event"] == "fill":
        for k in ("pair", "cl_ord_id", "txid", "side", "volume", "price", "fee", "position"):
            assert k in e, (k, e)
        assert e["side"] in ("buy", "sell") and e["volume"] > 0 and e["fee"] > 0
assert {"fill", "stop", "rollover"} <= kinds, kinds
EOF
    check_state st/account.json
    assert_regex "$stderr" "^kml-execute: [0-9]+ bars, 900 orders, [0-9]+ events, equity "
}

@test "execute: fills come at the open of the pair's next bar, never inside the deciding bar" {
    x --no-state "$ORDERS" >ev.jsonl
    /usr/bin/python3 - ev.jsonl "$HD" <<'EOF'
import csv, json, sys
bars = {}
for pair, alt in (("SOL/USD", "SOLUSD"), ("ETH/USD", "ETHUSD"), ("BTC/USD", "XBTUSD")):
    bars[pair] = {int(r["time"]): r for r in csv.DictReader(open(f"{sys.argv[2]}/{alt}_60.csv"))}
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] != "fill": continue
    decided = int(e["cl_ord_id"].split("-")[1])
    assert e["time"] == decided + 3600, e            # the next bar (no gaps in the simulator)
    b = bars[e["pair"]][e["time"]]
    o, h, l = float(b["open"]), float(b["high"]), float(b["low"])
    slip = 0.0002 * o + 0.1 * (h - l)                # the default slippage
    assert abs(abs(e["price"] - o) - slip) < 1e-9 * o, (e, o, slip)
    assert (e["price"] > o) == (e["side"] == "buy")  # always against the trader
    n += 1
assert n > 100, n
EOF
}

@test "execute: --no-state writes no state; the same orders give the same events" {
    x --no-state "$ORDERS" >a.jsonl
    [ ! -e state ]
    x --no-state <"$ORDERS" >b.jsonl
    cmp a.jsonl b.jsonl
    x --state st "$ORDERS" >c.jsonl
    cmp a.jsonl c.jsonl
}

@test "execute: one orders file per pair, merged by time, runs like the merged file" {
    x --no-state "$ORDERS" >merged.jsonl
    for p in SOL ETH BTC; do grep "\"pair\": \"$p/USD\"" "$ORDERS" >"$p.jsonl"; done
    x --no-state BTC.jsonl SOL.jsonl ETH.jsonl >split.jsonl
    cmp merged.jsonl split.jsonl
    # the same pair and bar in two streams is an error naming both places
    head -n 3 "$ORDERS" >a.jsonl
    head -n 1 "$ORDERS" >b.jsonl
    run --separate-stderr x --no-state a.jsonl b.jsonl
    assert_failure 65
    assert_equal "$stderr" "kml-execute: b.jsonl:1: key 'time': SOL/USD already has an order at 1672531200 (a.jsonl:1)"
}

@test "execute: a rerun over orders already run changes nothing and emits nothing" {
    x --state st "$ORDERS" >/dev/null
    cp st/account.json before.json
    cp logs/bot_manager_integration.log log.before
    run --separate-stderr x --state st "$ORDERS"
    assert_success
    assert_output ""
    cmp st/account.json before.json
    cmp logs/bot_manager_integration.log log.before
    assert_regex "$stderr" "no event: every order was run before"
    assert_regex "$stderr" "0 orders, 0 events"
    # an older part of the file, with the candles given on the command line (this crashed once)
    head -n 30 "$ORDERS" >old.jsonl
    run --separate-stderr kml-execute --state st --candles SOL/USD="$HD/SOLUSD_60.csv" --candles ETH/USD="$HD/ETHUSD_60.csv" \
        --candles BTC/USD="$HD/XBTUSD_60.csv" old.jsonl
    assert_success
    assert_output ""
    cmp st/account.json before.json
}

@test "execute: one bar per run with --state gives the events and state of one run over the whole file" {
    head -n 180 "$ORDERS" >orders.jsonl # 60 bars of three pairs
    x --state whole orders.jsonl >/dev/null
    mv logs/bot_manager_integration.log whole.log
    # paper trading: each run sees the orders of one bar and the candles up to that bar
    for t in $(/usr/bin/python3 -c 'import json,sys; print(*sorted({json.loads(l)["time"] for l in open(sys.argv[1])}))' orders.jsonl); do
        grep "\"time\": $t," orders.jsonl >bar.jsonl
        for alt in SOLUSD ETHUSD XBTUSD; do
            awk -F, -v t="$t" 'NR == 1 || $1 <= t' "$HD/${alt}_60.csv" >"$alt.csv"
        done
        kml-execute --quiet --state daily --candles SOL/USD=SOLUSD.csv --candles ETH/USD=ETHUSD.csv \
            --candles BTC/USD=XBTUSD.csv bar.jsonl >/dev/null
    done
    cmp whole.log logs/bot_manager_integration.log
    cmp whole/account.json daily/account.json
    # the last bar's targets wait as pending in the state
    grep -q '"pending":	{' daily/account.json
}

@test "execute: kill -9 at random points, then a restart, gives the uninterrupted log and state" {
    x --state ref "$ORDERS" >/dev/null
    mv logs/bot_manager_integration.log ref.log
    total=$(wc -l <ref.log)
    RANDOM=${KML_TEST_SEED:-4242}
    for k in 1 2 3 4 5 6; do
        # the N-th durable step (a state commit or an event line): before commits,
        # between a commit and its events, in the middle of a bar's events
        n=$((1 + RANDOM % total)) # there are more steps than events: every n kills
        [ $k -eq 1 ] && n=2 # right after the first commit, before its events
        rm -rf st logs
        KML_EXECUTE_KILL_AT=$n run x --quiet --state st "$ORDERS"
        assert_equal "$status" 137 # killed (128 + SIGKILL)
        run x --quiet --state st "$ORDERS"
        assert_success
        cmp ref.log logs/bot_manager_integration.log || fail "kill point $n: logs differ"
        cmp ref/account.json st/account.json || fail "kill point $n: states differ"
    done
}

@test "execute: a restart finds the crashed run's events after other writers' lines, and rewrites them into a lost log" {
    x --state ref "$ORDERS" >/dev/null
    mv logs/bot_manager_integration.log ref.log
    # killed in the middle of a bar's events; another process appends a line meanwhile
    n=$(grep -n '"seq":40,' ref.log | cut -d: -f1)
    KML_EXECUTE_KILL_AT=$((n + 150)) run x --quiet --state st "$ORDERS"
    assert_equal "$status" 137
    echo '{"other":"writer"}' >>logs/bot_manager_integration.log
    x --quiet --state st "$ORDERS" >/dev/null
    grep -vx '{"other":"writer"}' logs/bot_manager_integration.log >mine.log
    cmp ref.log mine.log
    cmp ref/account.json st/account.json
    # a log removed after the crash gets the committed events again, once
    rm -rf st logs
    KML_EXECUTE_KILL_AT=2 run x --quiet --state st "$ORDERS"
    assert_equal "$status" 137
    rm -rf logs
    x --quiet --state st "$ORDERS" >out.jsonl
    cmp logs/bot_manager_integration.log out.jsonl
    [ "$(head -c 60 out.jsonl)" = "$(head -c 60 ref.log)" ]
    [ "$(wc -l <out.jsonl)" -eq "$(wc -l <ref.log)" ]
}

@test "execute: a real kill -9 from outside during a run, then a restart, loses and repeats nothing" {
    x --state ref "$ORDERS" >/dev/null
    mv logs/bot_manager_integration.log ref.log
    for delay in 0.05 0.2; do
        rm -rf st logs
        kml-execute -d "$HD" --quiet --state st "$ORDERS" >/dev/null &
        pid=$!
        sleep $delay
        kill -9 $pid 2>/dev/null || true
        wait $pid || true
        x --quiet --state st "$ORDERS" >/dev/null
        cmp ref.log logs/bot_manager_integration.log
        cmp ref/account.json st/account.json
    done
}

# Bad orders: one located line, exit 65, the state and the log untouched.
bad_order() { # $1: the line appended to valid orders; $2: the message expected
    head -n 30 "$ORDERS" >good.jsonl
    x --quiet --state st good.jsonl >/dev/null
    cp st/account.json state.before
    cp logs/bot_manager_integration.log log.before
    { head -n 60 "$ORDERS"; echo "$1"; } >bad.jsonl
    run --separate-stderr x --state st bad.jsonl
    assert_failure 65
    assert_equal "$stderr" "$2"
    assert_output ""
    cmp st/account.json state.before
    cmp logs/bot_manager_integration.log log.before
}

@test "execute: an order missing a key is refused, state untouched" {
    bad_order '{"time": 1672747200, "pair": "SOL/USD", "side": "buy", "leverage": 2, "price": 20}' \
        "kml-execute: bad.jsonl:61: missing key 'exposure'"
}

@test "execute: an exposure that is not a finite number is refused" {
    bad_order '{"time": 1672747200, "pair": "SOL/USD", "side": "buy", "exposure": 1e999, "leverage": 2, "price": 20}' \
        "kml-execute: bad.jsonl:61: key 'exposure': expected a number"
    bad_order '{"time": 1672747200, "pair": "SOL/USD", "side": "buy", "exposure": "2", "leverage": 2, "price": 20}' \
        "kml-execute: bad.jsonl:61: key 'exposure': expected a number"
}

@test "execute: an unknown pair is refused" {
    bad_order '{"time": 1672747200, "pair": "DOGE/USD", "side": "flat", "exposure": 0}' \
        "kml-execute: bad.jsonl:61: key 'pair': DOGE/USD is not one of the configuration's assets"
    bad_order '{"time": 1672747200, "pair": "nonsense", "side": "flat", "exposure": 0}' \
        "kml-execute: bad.jsonl:61: key 'pair': not an asset pair: \"nonsense\""
}

@test "execute: time going backwards within a pair is refused" {
    bad_order '{"time": 1672531200, "pair": "SOL/USD", "side": "flat", "exposure": 0}' \
        "kml-execute: bad.jsonl:61: key 'time': 1672531200 is not after the previous order of SOL/USD (line 58)"
}

@test "execute: side and exposure that disagree, a leverage below 1, a stop on the wrong side are refused" {
    bad_order '{"time": 1672747200, "pair": "SOL/USD", "side": "sell", "exposure": 1, "leverage": 2, "price": 20}' \
        "kml-execute: bad.jsonl:61: key 'exposure': 1 does not match side \"sell\""
    bad_order '{"time": 1672747200, "pair": "SOL/USD", "side": "buy", "exposure": 1, "leverage": 0.5, "price": 20}' \
        "kml-execute: bad.jsonl:61: key 'leverage': expected a number >= 1, got 0.5"
    bad_order '{"time": 1672747200, "pair": "SOL/USD", "side": "buy", "exposure": 1, "leverage": 2, "price": 20, "stop": 21}' \
        "kml-execute: bad.jsonl:61: key 'stop': 21 is not on the losing side of price 20 for a buy"
    bad_order 'not json' "kml-execute: bad.jsonl:61: column 1: invalid JSON"
}

@test "execute: a pair without candles is refused" {
    mkdir hd2
    cp "$HD/SOLUSD_60.csv" "$HD/ETHUSD_60.csv" hd2/
    head -n 30 "$ORDERS" >o.jsonl
    run --separate-stderr kml-execute -d hd2 --state st o.jsonl
    assert_failure 65
    assert_equal "$stderr" "kml-execute: o.jsonl:3: key 'pair': BTC/USD has no candles (give --candles BTC/USD=FILE or put hd2/XBTUSD_60.csv)"
    [ ! -e st/account.json ]
    [ ! -e logs/bot_manager_integration.log ]
}

@test "execute: missing files exit 66, bad candles 65 with the line" {
    run --separate-stderr x --candles SOL/USD=nope.csv "$ORDERS"
    assert_failure 66
    assert_regex "$stderr" "nope.csv"
    run --separate-stderr x --state st nope.jsonl
    assert_failure 66
    awk -F, 'NR == 5 { $3 = $4 - 1 } 1' OFS=, "$HD/SOLUSD_60.csv" >bad.csv
    run --separate-stderr x --state st --candles SOL/USD=bad.csv "$ORDERS"
    assert_failure 65
    assert_regex "$stderr" "^kml-execute: bad.csv:5: column 'high': high .* is below low"
    [ ! -e st/account.json ]
}

@test "execute: --limits' ordermin turns a small target into a reject event with the reason" {
    echo '{"pair":"SOL/USD","altname":"SOLUSD","lot_decimals":8,"ordermin":1000000,"costmin":0.5,"margin_call":80,"margin_stop":40}' >pairs.jsonl
    x --no-state --limits pairs.jsonl "$ORDERS" >ev.jsonl
    grep -q '"event":"reject","pair":"SOL/USD".*"reason":"volume .* is below ordermin 1000000"' ev.jsonl
    ! grep -q '"event":"fill","pair":"SOL/USD"' ev.jsonl
    grep -q '"event":"fill","pair":"ETH/USD"' ev.jsonl
}

@test "execute: the drawdown kill switch trips, closes, refuses; --reset-kill clears it" {
    printf '{"risk": {"max_drawdown": 0.02}}\n' >cfg.json
    run --separate-stderr x --config cfg.json --state st "$ORDERS"
    assert_success
    assert_output --partial '"event":"kill"'
    assert_regex "$stderr" "kill switch on"
    grep -q '"killed":	true' st/account.json
    # after the kill no position opens
    echo "$output" | /usr/bin/python3 -c '
import json, sys
killed = False
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "kill": killed = True
    elif killed and e["event"] == "fill": assert e["position"] == 0 or e["reason"] == "kill switch", e
'
    : >none.jsonl
    x --quiet --config cfg.json --state st --reset-kill none.jsonl >reset.jsonl
    grep -q '"event":"kill".*"reason":"reset"' reset.jsonl
    grep -q '"killed":	false' st/account.json
}

@test "execute: a second run on a state another run holds is refused (75)" {
    command -v flock >/dev/null || skip "flock(1) not installed"
    mkdir st
    flock st/.lock sleep 3 &
    sleep 0.3
    run --separate-stderr x --state st "$ORDERS"
    assert_failure 75
    assert_equal "$stderr" "kml-execute: st: another kml-execute is using this state"
    wait
}

@test "execute: the account agrees with the Python reference (bench/execute_ref.py) on random runs" {
    need_pandas
    for seed in 1 2; do
        for lev in 1 125; do
            /usr/bin/python3 "$KML_ROOT/tests/execute_orders.py" $seed $lev 600 SOL/USD="$HD/SOLUSD_60.csv" \
                ETH/USD="$HD/ETHUSD_60.csv" BTC/USD="$HD/XBTUSD_60.csv" >o.jsonl
            for c in '{}' '{"risk": {"max_drawdown": 0.99, "daily_loss_limit": 0.99, "max_open_positions": 2}, "execution": {"ordermin": 0.5, "lot_decimals": 3}}'; do
                echo "$c" >c.json
                kml-config show -c c.json >cfg.json
                x --quiet -c c.json --no-state o.jsonl >ev.jsonl
                /usr/bin/python3 "$KML_ROOT/bench/execute_ref.py" cfg.json o.jsonl SOL/USD="$HD/SOLUSD_60.csv" \
                    ETH/USD="$HD/ETHUSD_60.csv" BTC/USD="$HD/XBTUSD_60.csv" >ref.json
                compare_ref ev.jsonl ref.json
            done
        done
    done
}

@test "execute: an order arriving after its pair's next bar was run fills at the next bar still to run, with a warning" {
    grep '"pair": "SOL/USD"' "$ORDERS" | head -n 50 >sol.jsonl
    grep '"pair": "ETH/USD"' "$ORDERS" | head -n 50 >eth.jsonl
    head -n 20 eth.jsonl >eth20.jsonl
    x --quiet --state st sol.jsonl eth20.jsonl >/dev/null
    run --separate-stderr x --state st sol.jsonl eth.jsonl
    assert_success
    assert_regex "$stderr" "^kml-execute: eth.jsonl:21: the order of ETH/USD's bar [0-9]+ comes after bar [0-9]+ was run: it fills at the next bar"
    # the late targets replace each other (cancel events); the last one waits for ETH/USD's next bar
    [ "$(echo "$output" | grep -c '"event":"cancel","pair":"ETH/USD"')" -eq 29 ]
    grep -q '"pending":	{' st/account.json
}

@test "execute: on real Kraken candles with gaps, fills come at each pair's next bar and the reference agrees" {
    need_data SOLUSD_60.csv
    need_data ETHUSD_60.csv
    need_data XBTUSD_60.csv
    need_pandas
    # 2021-06-17 .. 2021-08-03 of the real hourly files: the three overlap there, with gaps
    for alt in SOLUSD ETHUSD XBTUSD; do
        awk -F, 'NR == 1 || ($1 >= 1623945600 && $1 < 1628000000)' "$KML_SHARED_DATA/kraken/${alt}_60.csv" >"$alt.csv"
    done
    /usr/bin/python3 "$KML_ROOT/tests/execute_orders.py" 9 20 100000 SOL/USD=SOLUSD.csv ETH/USD=ETHUSD.csv \
        BTC/USD=XBTUSD.csv >o.jsonl
    echo '{"risk": {"max_drawdown": 0.9, "daily_loss_limit": 0.5}}' >c.json
    kml-config show -c c.json >cfg.json
    kml-execute --quiet -c c.json --no-state --candles SOL/USD=SOLUSD.csv --candles ETH/USD=ETHUSD.csv \
        --candles BTC/USD=XBTUSD.csv o.jsonl >ev.jsonl
    /usr/bin/python3 "$KML_ROOT/bench/execute_ref.py" cfg.json o.jsonl SOL/USD=SOLUSD.csv ETH/USD=ETHUSD.csv \
        BTC/USD=XBTUSD.csv >ref.json
    compare_ref ev.jsonl ref.json
    /usr/bin/python3 - ev.jsonl ref.json <<'PY'
import bisect, csv, json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))
times = {p: [int(r["time"]) for r in csv.DictReader(open(f + ".csv"))]
         for p, f in (("SOL/USD", "SOLUSD"), ("ETH/USD", "ETHUSD"), ("BTC/USD", "XBTUSD"))}
gaps = 0
for e in ev:
    if e["event"] != "fill": continue
    t = times[e["pair"]]
    decided = int(e["cl_ord_id"].split("-")[1])
    nxt = t[bisect.bisect_right(t, decided)]
    assert e["time"] == nxt, (e, nxt)
    gaps += nxt - decided > 3600
assert gaps > 0, "no fill across a gap: the test does not test gaps"
print(f"# {len(ev)} events, {gaps} fills across a gap", file=sys.stderr)
PY
}

@test "execute: --limits' margin levels and lot decimals reach the position (liquidation at margin_stop)" {
    t=$(head -n 2 "$HD/SOLUSD_60.csv" | tail -n 1 | cut -d, -f1)
    printf '{"time": %s, "pair": "SOL/USD", "side": "buy", "exposure": 1, "leverage": 5, "price": 20}\n' "$t" >o.jsonl
    # the position opens at the next bar; the run goes to the last order's bar, so give one more (flat) order of ETH
    printf '{"time": %s, "pair": "ETH/USD", "side": "flat", "exposure": 0}\n' $((t + 3600)) >>o.jsonl
    echo '{"pair":"SOL/USD","lot_decimals":2,"ordermin":0.1,"costmin":0.5,"margin_call":90,"margin_stop":80}' >pairs.jsonl
    x --quiet --state st --limits pairs.jsonl o.jsonl >ev.jsonl
    /usr/bin/python3 - st/account.json ev.jsonl <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["pairs"]["SOL/USD"]
fill = [json.loads(l) for l in open(sys.argv[2]) if '"event":"fill"' in l][0]
assert p["side"] == 1 and p["leverage"] == 5, p
assert abs(p["liquidation"] - p["entry"] * (1 - 0.2 / 5)) < 1e-9 * p["entry"], p  # margin_stop 80 %
assert round(fill["volume"], 2) == fill["volume"], fill                           # 2 lot decimals
PY
}

@test "execute: random chunks of the orders, cut candles, crashes and reruns of old parts give one run's log and state" {
    for seed in 3 8; do
        RANDOM=$seed
        rm -rf w i wl il
        /usr/bin/python3 "$KML_ROOT/tests/execute_orders.py" $seed 50 120 SOL/USD="$HD/SOLUSD_60.csv" \
            ETH/USD="$HD/ETHUSD_60.csv" BTC/USD="$HD/XBTUSD_60.csv" >o.jsonl
        KML_LOG_DIR=wl x --quiet --state w o.jsonl >/dev/null
        times=($(/usr/bin/python3 -c 'import json,sys; print(*sorted({json.loads(l)["time"] for l in open(sys.argv[1])}))' o.jsonl))
        n=${#times[@]} k=0
        while [ $k -lt $n ]; do
            k=$((k + 1 + RANDOM % 20))
            [ $k -gt $n ] && k=$n
            t=${times[$((k - 1))]}
            awk -v t="$t" '{ match($0, /"time": [0-9]+/); if (substr($0, RSTART + 8, RLENGTH - 8) + 0 <= t) print }' o.jsonl >part.jsonl
            args=(-d "$HD")
            if [ $((RANDOM % 2)) = 0 ]; then # the candles known at that bar only
                for alt in SOLUSD ETHUSD XBTUSD; do awk -F, -v t="$t" 'NR == 1 || $1 <= t' "$HD/${alt}_60.csv" >"$alt.csv"; done
                args=(--candles SOL/USD=SOLUSD.csv --candles ETH/USD=ETHUSD.csv --candles BTC/USD=XBTUSD.csv)
            fi
            if [ $((RANDOM % 3)) = 0 ]; then
                KML_EXECUTE_KILL_AT=$((1 + RANDOM % 40)) KML_LOG_DIR=il run kml-execute --quiet --state i "${args[@]}" part.jsonl
            fi
            KML_LOG_DIR=il kml-execute --quiet --state i "${args[@]}" part.jsonl >/dev/null
            if [ $((RANDOM % 4)) = 0 ]; then
                head -n $((1 + RANDOM % 100)) o.jsonl >old.jsonl
                KML_LOG_DIR=il x --quiet --state i old.jsonl >/dev/null
            fi
        done
        cmp wl/bot_manager_integration.log il/bot_manager_integration.log || fail "seed $seed: logs differ"
        cmp w/account.json i/account.json || fail "seed $seed: states differ"
    done
}

@test "execute: option errors: --reset-kill without a state, --candles of an unknown or repeated pair (64)" {
    run --separate-stderr x --no-state --reset-kill "$ORDERS"
    assert_failure 64
    assert_equal "$stderr" "kml-execute: --reset-kill needs a state (not --no-state) (try 'kml-execute --help')"
    run --separate-stderr x --candles DOGE/USD=a.csv "$ORDERS"
    assert_failure 64
    assert_equal "$stderr" "kml-execute: --candles: DOGE/USD is not one of the configuration's assets (try 'kml-execute --help')"
    run --separate-stderr x --candles SOL/USD="$HD/SOLUSD_60.csv" --candles SOLUSD="$HD/SOLUSD_60.csv" "$ORDERS"
    assert_failure 64
    assert_equal "$stderr" "kml-execute: --candles: SOL/USD given twice (try 'kml-execute --help')"
}

@test "execute: a corrupt state, a state pair without candles, an events log that cannot be written" {
    head -n 30 "$ORDERS" >o.jsonl
    x --quiet --state st o.jsonl >/dev/null
    cp st/account.json good.json
    head -c 100 good.json >st/account.json
    run --separate-stderr x --state st o.jsonl
    assert_failure 65
    assert_regex "$stderr" "^kml-execute: st/account.json:[0-9]+:[0-9]+: invalid JSON$"
    sed 's/"cash":/"cassh":/' good.json >st/account.json
    run --separate-stderr x --state st o.jsonl
    assert_failure 65
    assert_equal "$stderr" "kml-execute: st/account.json: \$.cash: missing"
    # the state trades SOL/USD; a later run without its candles cannot mark it
    cp good.json st/account.json
    mkdir hd2
    cp "$HD/ETHUSD_60.csv" "$HD/XBTUSD_60.csv" hd2/
    grep -v SOL/USD "$ORDERS" | head -n 60 >later.jsonl
    run --separate-stderr kml-execute -d hd2 --state st later.jsonl
    assert_failure 66
    assert_equal "$stderr" "kml-execute: hd2/SOLUSD_60.csv: no candles for SOL/USD, which the state holds (give --candles SOL/USD=FILE)"
    cmp st/account.json good.json
    # the events log is the ledger: a run that cannot write it stops (73)
    touch notadir
    KML_LOG_DIR=notadir run --separate-stderr x --no-state o.jsonl
    assert_failure 73
    assert_regex "$stderr" "notadir"
}

@test "execute: a bad limits file is a located error (65)" {
    echo '{"altname": 3}' >l1.jsonl
    run --separate-stderr x --no-state --limits l1.jsonl "$ORDERS"
    assert_failure 65
    assert_equal "$stderr" "kml-execute: l1.jsonl:1: missing key 'pair'"
    echo '{"pair": "SOL/USD", "lot_decimals": 2.5}' >l2.jsonl
    run --separate-stderr x --no-state --limits l2.jsonl "$ORDERS"
    assert_failure 65
    assert_equal "$stderr" "kml-execute: l2.jsonl:1: key 'lot_decimals': expected an integer in [0, 12]"
    echo '{"pair": "SOL/USD", "margin_call": 40, "margin_stop": 80}' >l3.jsonl
    run --separate-stderr x --no-state --limits l3.jsonl "$ORDERS"
    assert_failure 65
    assert_equal "$stderr" "kml-execute: l3.jsonl:1: keys 'margin_call', 'margin_stop': expected percentages with 0 < stop < call < 100"
    echo '{"pair": "SOL/USD", "ordermin": "x"}' >l4.jsonl
    run --separate-stderr x --no-state --limits l4.jsonl "$ORDERS"
    assert_failure 65
    assert_equal "$stderr" "kml-execute: l4.jsonl:1: key 'ordermin': expected a number"
}
