#!/usr/bin/env bats
# kml-execute --live against the loopback Kraken server's private API
# (tests/kraken_server.py + tests/kraken_private.py). Each test has its own
# server, state and key files; the last test greps everything the suite wrote
# for the secret and the key.
load helper
bats_require_minimum_version 1.5.0

KEY=kmlTESTkey9Zq4
SECRET=$(printf 'kml live test secret 0123456789abcdef0123456789abcdef0123456789ab' | base64 -w0)

setup() {
    W="$BATS_FILE_TMPDIR/t$BATS_TEST_NUMBER"
    rm -rf "$W"
    mkdir -p "$W/data" "$W/srv" "$W/run"
    cp "$FIXTURES/fetch/AssetPairs.json" "$W/data/"
    cat >"$W/data/private.json" <<EOF
{"keys": {"$KEY": "$SECRET"}, "balances": {"ZUSD": "10000"},
 "prices": {"SOLUSD": "150", "XBTUSD": "30000", "ETHUSD": "2000"}${EXTRA_PRIVATE:-}}
EOF
    export KRAKEN_API_KEY=$KEY KRAKEN_API_SECRET=$SECRET
    export KML_NONCE_DIR="$W/nonce" KML_LOG_DIR="$W/logs"
    export KML_HTTP_PACE=0 KML_HTTP_BACKOFF=0.01 KML_HTTP_RETRIES=4 KML_HTTP_TIMEOUT=1 KML_KRAKEN_TIER=100000/100000
    unset KML_CONFIG
    cd "$W/run"
}

start_server() {
    rm -f "$W/srv/port"
    /usr/bin/python3 "$KML_ROOT/tests/kraken_server.py" --dir "$W/data" --state "$W/srv" \
        --port-file "$W/srv/port" 3>&- &
    echo $! >"$W/srv.pid"
    for _ in $(seq 100); do [ -s "$W/srv/port" ] && break; sleep 0.05; done
    [ -s "$W/srv/port" ] || { echo "the test server did not start" >&2; return 1; }
    export KRAKEN_API_URL="http://127.0.0.1:$(cat "$W/srv/port")"
}

teardown() {
    [ -f "$W/srv.pid" ] && kill "$(cat "$W/srv.pid")" 2>/dev/null || true
    [ -f "$W/client.pid" ] && kill -9 "$(cat "$W/client.pid")" 2>/dev/null || true
    cd "$KML_ROOT"
}

fault() { printf '%s\n' "$@" >"$W/srv/faults"; }
live() { kml-execute --live --state "$W/run/st" --poll 0.01 --fill-timeout 5 "$@"; }
# The server's book as one JSON text, and queries over it.
book() { /usr/bin/python3 -c "import json,sys; s=json.load(open('$W/srv/private.json')); print($1)"; }
adds() { book 's["adds"]'; }
# N bars of targets for the three default pairs, exposure cycling through
# longs, shorts, flats and leverage above Kraken's maximum.
gen_orders() { # N FIRST_TIME
    awk -v n="$1" -v t0="${2:-1700000000}" 'BEGIN {
        split("SOL/USD BTC/USD ETH/USD", P, " "); split("150 30000 2000", C, " ")
        for (i = 0; i < n; i++) for (k = 1; k <= 3; k++) {
            x = ((i * 7 + k * 3) % 11 - 5) / 4; lev = 1 + (i + k) % 12
            stop = (x > 0) ? C[k] * 0.9 : C[k] * 1.1
            printf "{\"time\":%d,\"pair\":\"%s\",\"side\":\"%s\",\"exposure\":%.4f,\"leverage\":%d,\"price\":%s,\"stop\":%.2f,\"source\":\"real\"}\n",
                t0 + 3600 * i, P[k], (x > 0 ? "buy" : (x < 0 ? "sell" : "flat")), x, lev, C[k], stop
        } }'
}
# The state's positions against the server's net positions, and the state's
# cash against the server's USD balance: prints differences, fails on any.
same_as_server() {
    /usr/bin/python3 - "$W/srv/private.json" "$W/run/st/live.json" <<'EOF'
import json, sys
srv, st = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
disp = {"SOLUSD": "SOL/USD", "XBTUSD": "BTC/USD", "ETHUSD": "ETH/USD"}
net = {}
for p in srv["positions"].values():
    net[disp[p["alt"]]] = net.get(disp[p["alt"]], 0) + (p["vol"] - p["vol_closed"]) * (1 if p["type"] == "buy" else -1)
bad = 0
for pair in set(net) | set(st["pairs"]):
    a, b = net.get(pair, 0.0), st["pairs"].get(pair, {}).get("position", 0.0)
    if abs(a - b) > 1e-9:
        print("%s: server %r, state %r" % (pair, a, b)); bad = 1
if abs(srv["balances"]["ZUSD"] - st["cash"]) > 1e-6:
    print("cash: server %r, state %r" % (srv["balances"]["ZUSD"], st["cash"])); bad = 1
for a in set(srv["balances"]) | set(st.get("balances", {})):
    x, y = srv["balances"].get(a, 0.0), st.get("balances", {}).get(a, 0.0)
    if abs(x - y) > 1e-9 * max(1, abs(x)):
        print("balance %s: server %r, state %r" % (a, x, y)); bad = 1
sys.exit(bad)
EOF
}
# Every order the server filled has its whole executed volume in the events
# (fill, stop), and no client id was placed twice.
events_match_server() { # EVENTS_FILE...
    /usr/bin/python3 - "$W/srv/private.json" "$@" <<'EOF'
import json, sys
srv = json.load(open(sys.argv[1]))
seen = {}
for path in sys.argv[2:]:
    for line in open(path):
        if not line.startswith("{"):
            continue
        e = json.loads(line)
        if e["event"] in ("fill", "stop") and "txid" in e:
            seen[e["txid"]] = seen.get(e["txid"], 0) + e["volume"]
bad = 0
ids = {}
for o in srv["orders"].values():
    if o["cl_ord_id"]:
        ids[o["cl_ord_id"]] = ids.get(o["cl_ord_id"], 0) + 1
    if abs(seen.get(o["txid"], 0) - o["vol_exec"]) > 1e-9:
        print("%s: server executed %r, events %r" % (o["txid"], o["vol_exec"], seen.get(o["txid"], 0))); bad = 1
dups = [k for k, v in ids.items() if v > 1]
if dups:
    print("duplicate client ids on the server:", dups); bad = 1
print("%d orders, %d with fills" % (len(srv["orders"]), sum(1 for o in srv["orders"].values() if o["vol_exec"] > 0)))
sys.exit(bad)
EOF
}

# ---------------------------------------------------------------- guards

@test "live: --help documents the mode; --live is needed and credentials must exist" {
    run kml-execute --live --help
    assert_success
    assert_output --partial "--validate"
    assert_output --partial "KILL"
    unset KRAKEN_API_KEY KRAKEN_API_SECRET
    start_server
    gen_orders 1 >o.jsonl
    run --separate-stderr live o.jsonl
    assert_equal "$status" 78
    assert_equal "$stderr" "kml-execute: no Kraken credentials: set KRAKEN_API_KEY and KRAKEN_API_SECRET, or put them in .env (mode 0600)"
    [ ! -s "$W/srv/requests.log" ]
}

@test "live: bad options and settings exit 64 or 78; a corrupt state file 65, naming it" {
    start_server
    gen_orders 1 >o.jsonl
    run --separate-stderr kml-execute --live --bogus o.jsonl
    assert_equal "$status" 64
    assert_equal "$stderr" "kml-execute: unknown option '--bogus' (try 'kml-execute --help')"
    run --separate-stderr live --fill-timeout soon o.jsonl
    assert_equal "$status" 64
    [[ "$stderr" == *"--fill-timeout"* ]]
    run --separate-stderr env -u KML_KRAKEN_TIER kml-execute --live --state st --tier whale o.jsonl
    assert_equal "$status" 78
    assert_equal "$stderr" "kml-execute: unknown Kraken tier 'whale' (starter, intermediate, pro, or MAX/DECAY)"
    mkdir -p st
    echo '{"pairs": {' >st/live.json
    run --separate-stderr live o.jsonl
    assert_equal "$status" 65
    [[ "$stderr" == "kml-execute: $W/run/st/live.json:"* || "$stderr" == "kml-execute: st/live.json:"* ]]
    [ ! -s "$W/srv/requests.log" ]
}

@test "live: a .env file others can read is refused naming its mode; mode 0600 is used" {
    unset KRAKEN_API_KEY KRAKEN_API_SECRET
    start_server
    gen_orders 1 >o.jsonl
    printf 'KRAKEN_API_KEY=%s\nKRAKEN_API_SECRET=%s\n' "$KEY" "$SECRET" >.env
    chmod 644 .env
    run --separate-stderr live o.jsonl
    assert_equal "$status" 78
    assert_equal "$stderr" "kml-execute: .env: refused: mode 0644 lets others than its owner read or write it (chmod 600 .env)"
    [ ! -s "$W/srv/requests.log" ]
    chmod 600 .env
    run --separate-stderr live o.jsonl
    assert_success
    [ "$(adds)" -ge 3 ]
}

@test "live: orders from synthetic data are refused before anything is sent" {
    start_server
    gen_orders 2 >o.jsonl
    sed '4s/"source":"real"/"source":"synthetic"/' o.jsonl >s.jsonl
    run --separate-stderr live s.jsonl
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-execute: s.jsonl:4: key 'source': live trading refuses orders from synthetic data"
    [ ! -s "$W/srv/requests.log" ]
    [ ! -e st/live.json ]
}

@test "live: a wrong secret is Kraken's EAPI:Invalid signature, exit 69, nothing placed" {
    start_server
    gen_orders 1 >o.jsonl
    KRAKEN_API_SECRET=$(printf 'another secret of sixty-four bytes, 0123456789abcdef0123456789ab' | base64 -w0) \
        run --separate-stderr live o.jsonl
    assert_equal "$status" 69
    [[ "$stderr" == *"/0/private/OpenPositions: Kraken error: EAPI:Invalid signature"* ]]
    [ "$(adds)" -eq 0 ]
}

# ---------------------------------------------------------------- trading

@test "live: targets become Kraken orders with stops; the state equals Kraken's; a rerun sends nothing" {
    start_server
    gen_orders 4 >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    printf '%s\n' "$output" >ev1
    run same_as_server
    assert_success
    run events_match_server ev1
    assert_success
    # every event is live, and each fill carries Kraken's price and fee
    [ "$(grep -c '"mode":"live"' ev1)" -eq "$(wc -l <ev1)" ]
    grep '"event":"fill"' ev1 | grep -q '"price":150,'
    grep '"event":"fill"' ev1 | grep -q '"fee":'
    # resting stop-loss orders protect the open positions on the exchange
    [ "$(book 'sum(1 for o in s["orders"].values() if o["status"] == "open" and o["ordertype"] == "stop-loss" and o["reduce_only"])')" -ge 1 ]
    n=$(adds)
    run --separate-stderr live o.jsonl
    assert_success
    assert_output ""
    [ "$(adds)" -eq "$n" ]
    [[ "$stderr" == *"0 orders placed, 0 rejected, 12 targets already done"* ]]
    # the events log holds the same lines as stdout
    diff ev1 "$W/logs/bot_manager_integration.log"
}

@test "live: a stop that triggers while the bot is down is a stop event at the next start, not a surprise" {
    start_server
    echo '{"time":1700000000,"pair":"SOL/USD","side":"buy","exposure":1,"leverage":2,"price":150,"stop":140,"source":"real"}' >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    [ "$(book 'len(s["positions"])')" -eq 1 ]
    echo '{"SOLUSD": "130"}' >"$W/srv/prices.json"
    : >none.jsonl
    run --separate-stderr live none.jsonl
    assert_success
    assert_output --partial '"event":"stop","pair":"SOL/USD"'
    assert_output --partial '"price":130,'
    refute_output --partial '"event":"reconcile"'
    [ "$(book 'len(s["positions"])')" -eq 0 ]
    # money moved on Kraken while the bot was down: the asset's balance and the trade balance are reconcile events
    /usr/bin/python3 -c "
import json; p = '$W/srv/private.json'; s = json.load(open(p)); s['balances']['ZUSD'] += 500
json.dump(s, open(p, 'w'))"
    kill "$(cat "$W/srv.pid")"
    start_server
    run --separate-stderr live none.jsonl
    assert_success
    assert_output --partial "balance ZUSD: Kraken has 9947.253333"
    assert_output --partial "trade balance: Kraken's is 9947.253333"
    run same_as_server
    assert_success
    run same_as_server
    assert_success
}

@test "live: leverage above AssetPairs' maximum is clamped and says so, or refused when asked" {
    start_server
    echo '{"time":1700000000,"pair":"SOL/USD","side":"buy","exposure":1,"leverage":20,"price":150,"stop":140,"source":"real"}' >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    assert_output --partial "leverage 20x clamped to Kraken's maximum 3x (AssetPairs leverage_buy)"
    [ "$(book '[o["lev"] for o in s["orders"].values() if o["ordertype"] == "market"]')" = "[3]" ]
    echo '{"time":1700003600,"pair":"SOL/USD","side":"buy","exposure":2,"leverage":5,"price":150,"stop":140,"source":"real"}' >o2.jsonl
    n=$(adds)
    run --separate-stderr live --refuse-over-leverage o2.jsonl
    assert_success
    assert_output --partial '"event":"reject"'
    assert_output --partial "leverage 5x is above Kraken's maximum 3x for buy SOLUSD (refused by the configuration)"
    [ "$(adds)" -eq "$n" ]
}

@test "live: the configuration's live section: refusal of leverage over the maximum, a bad tier exits 78" {
    start_server
    echo '{"live": {"over_max_leverage": "refuse", "tier": "pro", "fill_timeout": 5, "poll": 0.01}}' >cfg.json
    echo '{"time":1700000000,"pair":"SOL/USD","side":"buy","exposure":1,"leverage":20,"price":150,"stop":140,"source":"real"}' >o.jsonl
    run --separate-stderr kml-execute --live --state st --config cfg.json o.jsonl
    assert_success
    assert_output --partial "leverage 20x is above Kraken's maximum 3x for buy SOLUSD (refused by the configuration)"
    [ "$(adds)" -eq 0 ]
    echo '{"live": {"tier": "whale"}}' >bad.json
    run --separate-stderr kml-execute --live --state st --config bad.json o.jsonl
    assert_equal "$status" 78
    [[ "$stderr" == *"bad.json: \$.live.tier: expected \"starter\", \"intermediate\", \"pro\" or \"MAX/DECAY\""* ]]
    echo '{"live": {"over_max_leverage": "yolo"}}' >bad.json
    run --separate-stderr kml-execute --live --state st --config bad.json o.jsonl
    assert_equal "$status" 78
    [[ "$stderr" == *'$.live.over_max_leverage: "yolo" is not one of the allowed values'* ]]
}

@test "live: a pair outside the configuration, or without margin on a side, is a reject event" {
    /usr/bin/python3 -c "
import json; p = json.load(open('$W/data/AssetPairs.json')); p['SOLUSD']['leverage_sell'] = []
json.dump(p, open('$W/data/AssetPairs.json', 'w'))"
    start_server
    echo '{"assets": {"SOL/USD": {"allocation": 1}}}' >cfg.json
    printf '%s\n' '{"time":1700000000,"pair":"SOL/USD","side":"sell","exposure":-1,"leverage":2,"price":150,"source":"real"}' \
        '{"time":1700000000,"pair":"BTC/USD","side":"buy","exposure":1,"leverage":2,"price":30000,"source":"real"}' >o.jsonl
    run --separate-stderr live --config cfg.json o.jsonl
    assert_success
    assert_output --partial '"event":"reject","pair":"SOL/USD"'
    assert_output --partial "SOLUSD has no margin on the sell side (AssetPairs leverage_sell is empty)"
    assert_output --partial '"event":"reject","pair":"BTC/USD"'
    assert_output --partial "the pair is not in the configuration's assets"
    [ "$(adds)" -eq 0 ]
}

@test "live: AddOrder that never gets a certain answer: looked up each time, never duplicated, exit 75" {
    start_server
    gen_orders 1 | head -1 >o.jsonl
    fault "AddOrder 502 -1"
    run --separate-stderr live o.jsonl
    assert_equal "$status" 75
    [[ "$stderr" == *"kml-execute: AddOrder "*": no certain answer after 3 attempts" ]]
    [ "$(echo "$output" | grep -c 'Kraken does not have the order after an ambiguous answer')" -eq 3 ]
    [ "$(adds)" -eq 0 ]
    # the next run, with Kraken answering again, places it once
    rm "$W/srv/faults"
    run --separate-stderr live o.jsonl
    assert_success
    [ "$(book 'sum(1 for o in s["orders"].values() if o["ordertype"] == "market")')" -eq 1 ]
}

@test "live: a leverage Kraken does not list for the pair goes out as the next lower one it lists" {
    /usr/bin/python3 -c "
import json; p = json.load(open('$W/data/AssetPairs.json')); p['SOLUSD']['leverage_buy'] = [2, 3, 5]
json.dump(p, open('$W/data/AssetPairs.json', 'w'))"
    start_server
    echo '{"time":1700000000,"pair":"SOL/USD","side":"buy","exposure":1,"leverage":4,"price":150,"stop":140,"source":"real"}' >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    assert_output --partial "leverage 4x lowered to 3x, the next one Kraken lists"
    [ "$(book '[o["lev"] for o in s["orders"].values() if o["ordertype"] == "market"]')" = "[3]" ]
}

@test "live: --validate sends every order with validate=true: Kraken answers, nothing trades, no state" {
    start_server
    gen_orders 2 >o.jsonl
    run --separate-stderr live --validate o.jsonl
    assert_success
    [ "$(adds)" -eq 0 ]
    [ "$(grep -c 'validate=true' "$W/srv/requests.log")" -eq "$(grep -c AddOrder "$W/srv/requests.log")" ]
    [ "$(echo "$output" | grep -c '"event":"order".*"kraken":"[a-z]* .* @ market.*"validate":true')" -ge 3 ]
    refute_output --partial '"txid"'
    [ ! -e st/live.json ]
    [[ "$stderr" == *"(validate only)"* ]]
}

@test "live: a partial fill is followed to the end: every fill is an event" {
    start_server
    fault "AddOrder partial 2"
    gen_orders 2 >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    printf '%s\n' "$output" >ev
    # two fills for a partly filled order's txid
    [ "$(grep '"event":"fill"' ev | sed 's/.*"txid":"\([^"]*\)".*/\1/' | sort | uniq -c | awk '$1 == 2' | wc -l)" -ge 1 ]
    run events_match_server ev
    assert_success
    run same_as_server
    assert_success
}

@test "live: a few hundred orders with every fault kind: no duplicate, no missing fill, state equals Kraken" {
    start_server
    gen_orders 50 >all.jsonl   # 150 targets, ~370 orders with the stops
    fault "AddOrder timeout:1.3 2 5" "AddOrder after500 2 10" "AddOrder after502 2 10" "AddOrder afterbusy 2 10" \
        "AddOrder malformed 2 10" "AddOrder truncated 2 10" "AddOrder 502 2 10" "AddOrder busy 2 10" \
        "AddOrder partial 6 4" "AddOrder ratelimit 1 5" "AddOrder invalidnonce 1 5" "AddOrder 500 2 10" \
        "QueryOrders 500 3 7" "QueryOrders malformed 2 9" "QueryOrders timeout:1.3 1 15" \
        "OpenPositions busy 2 11" "OpenPositions 502 2 20" "TradeBalance ratelimit 2 13" \
        "TradeBalance unavailable 2 30" "TradeBalance invalidnonce 1 3" "CancelOrder 503 2 5" \
        "OpenOrders truncated 1 0" "ClosedOrders 429 2 0"
    : >events
    # four rounds, the market moving between them so that stops trigger
    for r in 0 1 2 3; do
        sed -n "$((r * 38 + 1)),$((r * 38 + 38))p" all.jsonl >part.jsonl
        run --separate-stderr live part.jsonl
        printf '%s\n' "$stderr" >>stderr.txt
        [ "$status" -eq 0 ] || { echo "round $r: $status $stderr"; false; }
        printf '%s\n' "$output" >>events
        case $r in
        0) echo '{"SOLUSD": "120", "XBTUSD": "34000", "ETHUSD": "2000"}' >"$W/srv/prices.json" ;;
        1) echo '{"SOLUSD": "170", "XBTUSD": "26000", "ETHUSD": "2300"}' >"$W/srv/prices.json" ;;
        2) echo '{"SOLUSD": "150", "XBTUSD": "30000", "ETHUSD": "1700"}' >"$W/srv/prices.json" ;;
        esac
    done
    # every fault line was used up
    run awk '$3 != 0' "$W/srv/faults"
    assert_output ""
    run events_match_server events
    assert_success
    echo "$output"
    run same_as_server
    assert_success
    # the ambiguous answers were resolved by lookup, not by a second order
    [ "$(grep -c 'found by client id after an ambiguous answer' events)" -ge 5 ]
    grep -q '"event":"stop"' events
    [ "$(adds)" -ge 300 ]
}

@test "live: two processes on one key never send a nonce twice or out of order" {
    start_server
    gen_orders 25 | grep SOL/USD >a.jsonl
    gen_orders 25 | grep ETH/USD >b.jsonl
    mkdir -p A B
    (cd A && kml-execute --live --state st --poll 0.01 ../a.jsonl >out 2>err; echo $? >rc) &
    a=$!
    (cd B && kml-execute --live --state st --poll 0.01 ../b.jsonl >out 2>err; echo $? >rc) &
    b=$!
    wait $a $b
    assert_equal "$(cat A/rc) $(cat B/rc)" "0 0"
    run grep -c REJECTED "$W/srv/nonces.log"
    assert_output 0
    # strictly increasing in the order the server accepted them
    run awk '{ if (NR > 1 && $2 <= prev) { print "line " NR ": " $2 " after " prev; bad = 1 } prev = $2 } END { exit bad }' "$W/srv/nonces.log"
    assert_success
    [ "$(wc -l <"$W/srv/nonces.log")" -gt 200 ]
    ! grep -q "Invalid nonce" A/err B/err
    grep -q '"event":"fill"' A/out
    grep -q '"event":"fill"' B/out
}

@test "live: kill -9 between sending an order and recording it: the restart finds it by client id" {
    start_server
    gen_orders 1 | head -1 >o.jsonl
    fault "AddOrder timeout:30 1"
    KML_HTTP_TIMEOUT=20 live o.jsonl >out1 2>err1 &
    echo $! >"$W/client.pid"
    for _ in $(seq 200); do [ "$(adds 2>/dev/null || echo 0)" -ge 1 ] && break; sleep 0.05; done
    [ "$(adds)" -eq 1 ]
    kill -9 "$(cat "$W/client.pid")"
    wait "$(cat "$W/client.pid")" 2>/dev/null || true
    rm -f "$W/client.pid"
    # the state holds the order as sent, its answer unknown
    grep -qP '"status":\s+"sending"' st/live.json
    run --separate-stderr live o.jsonl
    assert_success
    assert_output --partial "found on Kraken by its client id: adopted, not sent again"
    assert_output --partial '"event":"fill"'
    [ "$(book 'sum(1 for o in s["orders"].values() if o["ordertype"] == "market")')" -eq 1 ]
    run same_as_server
    assert_success
}

@test "live: the KILL file cancels open orders, closes positions reduce-only, and stops" {
    start_server
    gen_orders 2 >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    [ "$(book 'len(s["positions"])')" -ge 1 ]
    touch st/KILL
    n=$(adds)
    gen_orders 3 | tail -3 >o3.jsonl
    run --separate-stderr live o3.jsonl
    assert_success
    assert_output --partial '"event":"kill","seq"'
    assert_output --partial '"event":"cancel"'
    assert_output --partial '"reason":"kill switch: reduce-only market close"'
    assert_output --partial "open orders canceled"
    [[ "$stderr" == *"kill switch (KILL file)"* ]]
    [ "$(book 'len(s["positions"])')" -eq 0 ]
    [ "$(book 'sum(1 for o in s["orders"].values() if o["status"] == "open")')" -eq 0 ]
    # the close-outs were reduce-only; no target of o3 was traded
    [ "$(book "all(s['orders'][t]['reduce_only'] and s['orders'][t]['ordertype'] == 'market' for t in s['order_seq'][$n:])")" = True ]
    [ "$(adds)" -gt "$n" ]
    run same_as_server
    assert_success
    ! grep -q '"time":1700007200' <<<"$output"
}

@test "live: SIGTERM is the kill switch too" {
    start_server
    gen_orders 40 >o.jsonl
    fault "AddOrder partial -1"
    kml-execute --live --state st --poll 0.2 --fill-timeout 5 o.jsonl >out 2>err &
    pid=$!
    echo $pid >"$W/client.pid"
    for _ in $(seq 200); do [ "$(adds 2>/dev/null || echo 0)" -ge 3 ] && break; sleep 0.05; done
    kill -TERM $pid
    wait $pid
    rc=$?
    rm -f "$W/client.pid"
    assert_equal "$rc" 0
    grep -q '"event":"kill".*"reason":"SIGTERM"' out
    grep -q "kill switch (SIGTERM)" err
    [ "$(book 'len(s["positions"])')" -eq 0 ]
    [ "$(book 'sum(1 for o in s["orders"].values() if o["status"] == "open")')" -eq 0 ]
    [ "$(adds)" -lt 100 ]
}

@test "live: a position Kraken holds that the state does not know is adopted with a reconcile event" {
    EXTRA_PRIVATE=', "positions": [{"pair": "SOLUSD", "type": "buy", "vol": "5", "price": "140", "leverage": 2}]' setup
    start_server
    echo '{"time":1700000000,"pair":"ETH/USD","side":"buy","exposure":0.5,"leverage":2,"price":2000,"stop":1800,"source":"real"}' >o.jsonl
    run --separate-stderr live o.jsonl
    assert_success
    assert_output --partial '"event":"reconcile","pair":"SOL/USD"'
    assert_output --partial "that the state did not know: adopted"
    run same_as_server
    assert_success
    # a flat target for SOL/USD then closes what was adopted
    echo '{"time":1700003600,"pair":"SOL/USD","side":"flat","exposure":0,"leverage":2,"price":150,"source":"real"}' >o2.jsonl
    run --separate-stderr live o2.jsonl
    assert_success
    assert_output --partial '"reason":"reduce","position":0'
    [ "$(book 'len([p for p in s["positions"].values() if p["alt"] == "SOLUSD"])')" -eq 0 ]
    run same_as_server
    assert_success
}

@test "live: the client-side call counter keeps under Kraken's; without it Kraken's limit is hit" {
    EXTRA_PRIVATE=', "counter": {"max": 4, "decay": 8}' setup
    start_server
    gen_orders 2 >o.jsonl
    KML_KRAKEN_TIER=4/8 run --separate-stderr live o.jsonl
    assert_success
    [[ "$stderr" != *"Rate limit exceeded"* ]]
    [[ "$stderr" =~ private\ calls,\ [1-9][0-9.]*\ s\ waited|private\ calls,\ 0\.[1-9]\ s\ waited ]]
    run same_as_server
    assert_success
    # the same run with a model far above the server's limit meets Kraken's EAPI:Rate limit exceeded
    kill "$(cat "$W/srv.pid")"
    EXTRA_PRIVATE=', "counter": {"max": 4, "decay": 8}' setup
    start_server
    gen_orders 2 >o.jsonl
    run --separate-stderr live o.jsonl
    [[ "$stderr" == *"EAPI:Rate limit exceeded; retry"* ]]
}

@test "live: EAPI:Invalid nonce is retried once with a fresh nonce, never more" {
    start_server
    gen_orders 1 | head -1 >o.jsonl
    fault "OpenPositions invalidnonce 1"
    run --separate-stderr live o.jsonl
    assert_success
    [[ "$stderr" == *"EAPI:Invalid nonce; once more with a fresh nonce"* ]]
    rm -rf st
    fault "OpenPositions invalidnonce 2"
    run --separate-stderr live o.jsonl
    assert_equal "$status" 69
    [[ "$stderr" == *"kml-execute: /0/private/OpenPositions: Kraken error: EAPI:Invalid nonce" ]]
}

@test "live: a lasting rate limit exits 75 after the bounded retries, a lockout 69 at once; a malformed shape names endpoint and key" {
    start_server
    gen_orders 1 | head -1 >o.jsonl
    fault "OpenPositions ratelimit -1"
    run --separate-stderr live o.jsonl
    assert_equal "$status" 75
    [[ "$stderr" == *"kml-execute: /0/private/OpenPositions: Kraken error: EAPI:Rate limit exceeded (after 5 attempts)" ]]
    # a temporary lockout lasts ~15 minutes: one attempt, no retry
    fault "OpenPositions lockout -1"
    run --separate-stderr live o.jsonl
    assert_equal "$status" 69
    [[ "$stderr" == *"kml-execute: /0/private/OpenPositions: Kraken error: EGeneral:Temporary lockout" ]]
    [ "$(grep -c OpenPositions "$W/srv/requests.log")" -eq 6 ]
    fault "QueryOrders badshape 1"
    run --separate-stderr live o.jsonl
    assert_equal "$status" 69
    [[ "$stderr" =~ "kml-execute: QueryOrders: result.O"[0-9A-Z-]+": key 'vol': expected a number or a decimal string" ]]
    # the order was placed before the bad answer: the rerun adopts it, no second order
    run --separate-stderr live o.jsonl
    assert_success
    [ "$(book 'sum(1 for o in s["orders"].values() if o["ordertype"] == "market")')" -eq 1 ]
    run same_as_server
    assert_success
}

# ---------------------------------------------------------------- secrets (keep last)

@test "live: neither the secret nor the key appears in any output, log or state of this suite" {
    start_server
    gen_orders 3 >o.jsonl
    fault "AddOrder after502 1 2" "TradeBalance invalidnonce 1"
    live o.jsonl >out 2>err
    KRAKEN_API_SECRET=$(printf 'wrong' | base64 -w0) live o.jsonl >out2 2>err2 || true
    # everything the suite's tests wrote, except the server's key list and the .env files made on purpose
    run grep -rlF --exclude=private.json --exclude=.env -e "$SECRET" -e "$KEY" "$BATS_FILE_TMPDIR"
    assert_output ""
    # the server's state (not its configuration) has neither either
    run grep -lF -e "$SECRET" -e "$KEY" "$W/srv/private.json" "$W/srv/requests.log" "$W/srv/nonces.log"
    assert_output ""
}
