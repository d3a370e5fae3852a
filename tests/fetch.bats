#!/usr/bin/env bats
# kml-fetch: sim, candles, import, gaps, and the Kraken-facing commands against
# the loopback test server (tests/kraken_server.py).
load helper

T0=1561939200   # 2019-07-01T00:00:00Z, the hour of the real trades file
NOW=1561944600  # the test server's clock: 2019-07-01T01:30:00Z

setup_file() {
    export SRV="$BATS_FILE_TMPDIR/srv"
    mkdir -p "$SRV/data" "$SRV/state"
    local d="$SRV/data"
    cp "$FIXTURES/fetch/AssetPairs.json" "$d/"
    # OHLC fixtures: 800 synthetic hourly candles whose last (forming) one opens at 01:00
    kml-fetch sim --pair SOL/USD --bars 800 --start $((T0 + 3600 - 799 * 3600)) --seed 5 >"$d/SOLUSD_60.csv" 2>/dev/null
    kml-fetch sim --pair BTC/USD --bars 30 --start $((T0 + 3600 - 29 * 3600)) --seed 6 >"$d/XBTUSD_60.csv" 2>/dev/null
    # 2500 generated ETH trades over the 3 hours before T0, some sharing a millisecond
    awk -v t0=$((T0 - 3 * 3600)) 'BEGIN {
        print "time,price,volume,side,type"; ms = t0 * 1000
        for (i = 0; i < 2500; i++) {
            if (i % 7 != 0 && i != 1000) ms += 1 + (i * 37) % 8000
            printf "%d.%03d,%.2f,%.8f,%s,%s\n", int(ms / 1000), ms % 1000, 2000 + 10 * sin(i / 50),
                   ((i % 13) + 1) / 8, (i % 3 ? "buy" : "sell"), (i % 2 ? "limit" : "market")
        } }' >"$d/ETHUSD_trades.csv"
    if [ -f "$KML_SHARED_DATA/kraken/XBTUSD_trades_2019-07-01T00.csv" ]; then
        cp "$KML_SHARED_DATA/kraken/XBTUSD_trades_2019-07-01T00.csv" "$d/XBTUSD_trades.csv"
    fi
    # ADA/USD's and DOT/USD's trades are generated over any span asked for (tests/kraken_gen.py)
    /usr/bin/python3 "$KML_ROOT/tests/kraken_server.py" --dir "$d" --state "$SRV/state" \
        --port-file "$SRV/port" --time $NOW --generate ADAUSD,DOTUSD --gen-rate 100 --gen-seed 3 3>&- &
    echo $! >"$SRV/pid"
    for _ in $(seq 100); do [ -s "$SRV/port" ] && break; sleep 0.1; done
    [ -s "$SRV/port" ] || { echo "the test server did not start" >&2; return 1; }
    export KRAKEN_API_URL="http://127.0.0.1:$(cat "$SRV/port")"
    export KML_HTTP_PACE=0 KML_HTTP_BACKOFF=0.01 KML_HTTP_RETRIES=3 KML_HTTP_TIMEOUT=2
}

teardown_file() {
    [ -f "$SRV/pid" ] && kill "$(cat "$SRV/pid")" 2>/dev/null || true
}

setup() {
    rm -f "$SRV/state/faults" "$SRV/state/requests.log"
    W="$BATS_TEST_TMPDIR"
}

fault() { printf '%s\n' "$@" >"$SRV/state/faults"; }
# Two CSV texts with the same rows, fields compared as numbers where both are numbers.
numeq() {
    awk -F, 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { m = FNR; if (!(FNR in a)) { print "extra row " FNR ": " $0; bad = 1; next }
          k = split(a[FNR], x, ","); if (k != NF) { print "row " FNR ": " NF " fields, want " k; bad = 1; next }
          for (i = 1; i <= NF; i++) if ($i != x[i] && !($i ~ /^[-0-9.e]+$/ && x[i] ~ /^[-0-9.e]+$/ && $i + 0 == x[i] + 0)) {
              print "row " FNR " field " i ": " $i " != " x[i]; bad = 1 } }
        END { if (m != n) { print m " rows, want " n; bad = 1 } exit bad }' "$1" "$2"
}
requests() { grep -c "$1" "$SRV/state/requests.log" || true; }

# ---------------------------------------------------------------- CLI

@test "fetch: --help lists the commands and exits 0" {
    run kml-fetch --help
    assert_success
    assert_output --partial "update"
    assert_output --partial "sim"
    run kml-fetch sim --help
    assert_success
    assert_output --partial "--regimes-out"
}

@test "fetch: an unknown command or option exits 64 with a hint" {
    run --separate-stderr kml-fetch frobnicate
    assert_equal "$status" 64
    assert_equal "$stderr" "kml-fetch: unknown command 'frobnicate' (try 'kml-fetch --help')"
    run --separate-stderr kml-fetch candles --bogus
    assert_equal "$status" 64
    assert_equal "$stderr" "kml-fetch: unknown option '--bogus' (try 'kml-fetch candles --help')"
    run --separate-stderr kml-fetch ohlc --pair NOTAPAIR!
    assert_equal "$status" 64
    [[ "$stderr" == *"--pair: not an asset pair"* ]]
    run --separate-stderr kml-fetch ohlc --pair SOL/USD --interval 7
    assert_equal "$status" 64
    [[ "$stderr" == *"--interval: Kraken has 1, 5, 15"* ]]
    run --separate-stderr kml-fetch trades --pair SOL/USD
    assert_equal "$status" 64
    [[ "$stderr" == *"--since is required"* ]]
}

# ---------------------------------------------------------------- sim

@test "sim: the same seed gives the same bytes, another seed other prices" {
    kml-fetch sim --pair SOL/USD --days 10 --seed 3 >"$W/a.csv" 2>/dev/null
    kml-fetch sim --pair SOL/USD --days 10 --seed 3 >"$W/b.csv" 2>/dev/null
    kml-fetch sim --pair SOL/USD --days 10 --seed 4 >"$W/c.csv" 2>/dev/null
    cmp "$W/a.csv" "$W/b.csv"
    ! cmp -s "$W/a.csv" "$W/c.csv"
    assert_equal "$(wc -l <"$W/a.csv")" 241
    assert_equal "$(head -1 "$W/a.csv")" "time,open,high,low,close,vwap,volume,count"
}

@test "sim: says loudly on stderr that the data is synthetic" {
    run --separate-stderr kml-fetch sim --pair BTC/USD --days 1 --seed 1
    assert_success
    [[ "$stderr" == *"SYNTHETIC market data"* ]]
    [[ "$output" != *SYNTHETIC* ]]
}

@test "sim: several pairs go to DIR/<ALTNAME>_<M>.csv with a regime for every bar" {
    run kml-fetch sim --pairs SOL/USD,ETH/USD,BTC/USD --days 5 --interval 15 --seed 2 --dir "$W/h" --regimes-out "$W/reg.csv"
    assert_success
    for p in SOLUSD ETHUSD XBTUSD; do
        assert_equal "$(wc -l <"$W/h/${p}_15.csv")" 481
    done
    assert_equal "$(head -1 "$W/reg.csv")" "time,pair,regime"
    assert_equal "$(tail -n +2 "$W/reg.csv" | wc -l)" 1440
    # every regime name is one of the four, and each pair has a row per bar
    run sh -c "tail -n +2 '$W/reg.csv' | cut -d, -f3 | sort -u | grep -vxE 'trending_up|trending_down|ranging|volatile'"
    assert_output ""
    assert_equal "$(grep -c ',ETH/USD,' "$W/reg.csv")" 480
    # the times of the regimes are the candle times
    diff <(grep ',SOL/USD,' "$W/reg.csv" | cut -d, -f1) <(tail -n +2 "$W/h/SOLUSD_15.csv" | cut -d, -f1)
    # no temporary files are left
    assert_equal "$(ls "$W/h" | wc -l)" 3
}

@test "sim: one pair alone equals the same pair simulated with others" {
    kml-fetch sim --pairs SOL/USD,BTC/USD --days 3 --seed 8 --dir "$W/h" 2>/dev/null
    kml-fetch sim --pair BTC/USD --days 3 --seed 8 >"$W/btc.csv" 2>/dev/null
    cmp "$W/btc.csv" "$W/h/XBTUSD_60.csv"
}

@test "sim: candles are consistent OHLC without gaps" {
    kml-fetch sim --pair ETH/USD --days 30 --interval 5 --seed 9 --plant 0.5 >"$W/e.csv" 2>/dev/null
    run awk -F, 'NR > 1 && !($3 >= $2 && $3 >= $5 && $4 <= $2 && $4 <= $5 && $6 >= $4 && $6 <= $3 && $7 > 0 && $8 >= 1) { print NR": "$0 }' "$W/e.csv"
    assert_output ""
    run --separate-stderr kml-fetch gaps --interval 5 "$W/e.csv"
    assert_success
    assert_output "from,to,missing"
}

@test "sim: several pairs without --dir is a usage error" {
    run --separate-stderr kml-fetch sim --pairs SOL/USD,ETH/USD --days 1
    assert_equal "$status" 64
    [[ "$stderr" == *"several pairs need --dir"* ]]
    run --separate-stderr kml-fetch sim --pairs SOL/USD,SOL/USD --days 1 --dir "$W/x"
    assert_equal "$status" 64
    [[ "$stderr" == *"given twice"* ]]
}

# ---------------------------------------------------------------- candles, import, gaps

@test "candles: Kraken's trades through the test server reproduce Kraken's 2019-07-01 00:00 candle" {
    need_data XBTUSD_trades_2019-07-01T00.csv
    need_data XBTUSD_60.csv
    kml-fetch trades --pair BTC/USD --since $T0 --until $((T0 + 3600)) | kml-fetch candles --interval 60 >"$W/c.csv"
    assert_equal "$(wc -l <"$W/c.csv")" 2
    # open, high, low, close, volume and count compared as numbers with Kraken's own row
    want=$(grep "^$T0," "$KML_SHARED_DATA/kraken/XBTUSD_60.csv")
    got=$(tail -1 "$W/c.csv")
    run awk -F, -v w="$want" -v g="$got" 'BEGIN { split(w, a, ","); split(g, b, ",")
        for (i = 1; i <= 8; i++) if (i != 6 && a[i] + 0 != b[i] + 0) print "column " i ": " b[i] " != " a[i] }'
    assert_output ""
    # the volume text is exact, not a binary-float sum
    assert_equal "$(cut -d, -f7 <<<"$got")" "903.65604099"
    # Trades was paged: 2671 trades are 3 pages of at most 1000, then an empty one
    assert_equal "$(requests /0/public/Trades)" 4
}

@test "candles: an interval without trades gets no row, columns found by name" {
    printf 'volume,time,price\n1,100,10\n2,110,11\n1,400,9\n' | kml-fetch candles --interval 1 >"$W/c.csv"
    run cat "$W/c.csv"
    assert_line --index 1 "60,10,11,10,11,10.666666666666666,3,2"
    assert_line --index 2 "360,9,9,9,9,9,1,1"
    assert_equal "$(wc -l <"$W/c.csv")" 3
}

@test "candles: a trade out of time order is a located error (65)" {
    run --separate-stderr kml-fetch candles --interval 1 <<<$'time,price,volume\n100,1,1\n99.5,1,1'
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: <stdin>:3: column 'time': time 99.5 is before the previous trade's (trades must be in time order)"
    run --separate-stderr kml-fetch candles --interval 1 <<<$'time,price,volume\n100,x,1'
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: <stdin>:2: column 'price': not a number: \"x\""
    run --separate-stderr kml-fetch candles "$W/missing.csv"
    assert_equal "$status" 66
}

@test "import: overlapping quarterly OHLCVT files merge back into Kraken's file" {
    need_data XBTUSD_60.csv
    tail -n +2 "$KML_SHARED_DATA/kraken/XBTUSD_60.csv" | awk -F, -v OFS=, '{ print $1, $2, $3, $4, $5, $7, $8 }' >"$W/all"
    head -n 40000 "$W/all" >"$W/q1.csv"
    tail -n +39000 "$W/all" >"$W/q2.csv"
    run --separate-stderr kml-fetch import "$W/q2.csv" "$W/q1.csv"
    assert_success
    [[ "$stderr" == *"72259 rows, 1001 duplicate rows dropped"* ]]
    diff <(echo "$output") "$KML_SHARED_DATA/kraken/XBTUSD_60.csv"
}

@test "import: a conflicting duplicate, disorder or bad field is a located error (65)" {
    printf '60,1,2,1,2,5,3\n120,2,2,2,2,1,1\n' >"$W/a.csv"
    printf '120,2,2,2,2,1.5,1\n' >"$W/b.csv"
    run --separate-stderr kml-fetch import "$W/a.csv" "$W/b.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: $W/b.csv:1: column 'volume': 1.5 differs from 1 at $W/a.csv:2 for time 120"
    printf '120,2,2,2,2,1,1\n60,1,2,1,2,5,3\n' >"$W/c.csv"
    run --separate-stderr kml-fetch import "$W/c.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: $W/c.csv:2: column 'time': time 60 is not after the previous row's 120"
    printf '60,1,2,1,2,5,many\n' >"$W/d.csv"
    run --separate-stderr kml-fetch import "$W/d.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: $W/d.csv:1: column 'trades': not an integer: \"many\""
    run --separate-stderr kml-fetch import "$W/none.csv"
    assert_equal "$status" 66
    run --separate-stderr kml-fetch import
    assert_equal "$status" 64
}

@test "gaps: the real hourly files have the gaps the data README counts" {
    need_data XBTUSD_60.csv
    run --separate-stderr kml-fetch gaps "$KML_SHARED_DATA/kraken/XBTUSD_60.csv"
    assert_success
    [[ "$stderr" == *"72259 rows, 3254 gaps, 10856 missing candles"* ]]
    assert_equal "$(echo "$output" | tail -n +2 | wc -l)" 3254
    assert_equal "$(echo "$output" | awk -F, 'NR > 1 { s += $3 } END { print s }')" 10856
}

@test "gaps: the interval must be known; bad times are located errors" {
    printf 'time,open\n0,1\n' >"$W/candles.csv"
    run --separate-stderr kml-fetch gaps "$W/candles.csv"
    assert_equal "$status" 64
    [[ "$stderr" == *"--interval is needed"* ]]
    printf 'time,open\n0,1\n90,1\n' >"$W/X_1.csv"
    run --separate-stderr kml-fetch gaps "$W/X_1.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: $W/X_1.csv:3: column 'time': time 90 is not a multiple of the interval (1 minutes)"
}

# ---------------------------------------------------------------- ohlc, trades, pairs

@test "ohlc: the forming last candle is dropped unless --include-partial" {
    run --separate-stderr kml-fetch ohlc --pair SOL/USD --interval 60
    assert_success
    # Kraken serves the latest 720, the last of them still forming
    assert_equal "$(echo "$output" | wc -l)" 720
    numeq <(echo "$output" | tail -n +2) <(tail -n 720 "$SRV/data/SOLUSD_60.csv" | head -n 719)
    run kml-fetch ohlc --pair SOL/USD --interval 60 --include-partial
    assert_equal "$(echo "$output" | tail -1 | cut -d, -f1)" $((T0 + 3600))
}

@test "ohlc: --since keeps later candles; the XXBTZUSD result key is found for BTC/USD" {
    run kml-fetch ohlc --pair BTC/USD --interval 60 --since $((T0 - 3 * 3600))
    assert_success
    assert_equal "$(echo "$output" | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" "$((T0 - 7200)) $((T0 - 3600)) $T0 "
    grep -q "pair=XBTUSD&interval=60&since=$((T0 - 10800))" "$SRV/state/requests.log"
}

@test "trades: pages through 2500 trades without losing or repeating one" {
    run --separate-stderr kml-fetch trades --pair ETH/USD --since $((T0 - 3 * 3600))
    assert_success
    numeq <(echo "$output") "$SRV/data/ETHUSD_trades.csv"
    # each page resumes from the previous page's `last`, a nanosecond string
    assert_equal "$(requests /0/public/Trades)" 4
    run sed -n 2p "$SRV/state/requests.log"
    assert_output --regexp '^/0/public/Trades\?pair=ETHUSD&since=15619[0-9]{14}$'
}

@test "trades: --until stops at the given second" {
    until=$((T0 - 2 * 3600))
    run kml-fetch trades --pair ETH/USD --since $((T0 - 3 * 3600)) --until $until
    assert_success
    want=$(awk -F, -v u=$until 'NR > 1 && $1 + 0 < u' "$SRV/data/ETHUSD_trades.csv" | wc -l)
    assert_equal "$(echo "$output" | tail -n +2 | wc -l)" "$want"
    # it stopped paging there: fewer requests than the 4 of the whole span
    [ "$(requests /0/public/Trades)" -lt 4 ]
}

@test "pairs: order limits and leverage of a pair, as JSON lines" {
    run kml-fetch pairs --pair BTC/USD
    assert_success
    assert_equal "$(echo "$output" | wc -l)" 1
    run /usr/bin/python3 -c '
import json, sys
got = json.loads(sys.argv[1]); want = json.load(open(sys.argv[2]))["XXBTZUSD"]
assert got["pair"] == "BTC/USD" and got["altname"] == want["altname"], got
for k in ("pair_decimals", "lot_decimals", "margin_call", "margin_stop", "leverage_buy", "leverage_sell"):
    assert got[k] == want[k], k
for k in ("tick_size", "ordermin", "costmin"):
    assert got[k] == float(want[k]), k
print("ok")' "$output" "$SRV/data/AssetPairs.json"
    assert_output ok
    run kml-fetch pairs
    assert_equal "$(echo "$output" | wc -l)" 3
}

# ---------------------------------------------------------------- faults

@test "fault: HTTP 500 twice, then an answer: retried and succeeds" {
    fault "OHLC 500 2"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_success
    assert_equal "$(echo "$output" | wc -l)" 720
    assert_equal "$(requests OHLC)" 3
    [[ "$stderr" == *"HTTP 500; retry 1 of 3"* ]]
}

@test "fault: HTTP 502 that does not stop: 69 after the bounded retries" {
    fault "OHLC 502 -1"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_equal "$status" 69
    assert_equal "$(requests OHLC)" 4
    [[ "$stderr" == *"kml-fetch: /0/public/OHLC: HTTP 502 (after 4 attempts)" ]]
}

@test "fault: rate limit the first 2 times is waited out; a lasting one exits 75" {
    fault "Trades ratelimit 2"
    run --separate-stderr kml-fetch trades --pair ETH/USD --since $((T0 - 3 * 3600))
    assert_success
    assert_equal "$(echo "$output" | wc -l)" 2501
    [[ "$stderr" == *"EAPI:Rate limit exceeded; retry"* ]]
    fault "* ratelimit -1"
    run --separate-stderr kml-fetch pairs
    assert_equal "$status" 75
    [[ "$stderr" == *"Kraken error: EAPI:Rate limit exceeded (after 4 attempts)" ]]
}

@test "fault: too many requests, busy and unavailable are retried" {
    for k in toomany busy unavailable 503 429; do
        fault "AssetPairs $k 1"
        run kml-fetch pairs --pair SOL/USD
        assert_success
        [[ "$output" == *'"altname":"SOLUSD"'* ]]
    done
}

@test "fault: a response slower than the timeout is retried; a lasting one exits 75" {
    fault "Time slow:2 1"
    export KML_HTTP_TIMEOUT=0.5
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h"
    assert_success
    [[ "$stderr" == *"Timeout was reached; retry 1 of 3"* ]]
    fault "Time slow:1 -1"
    export KML_HTTP_RETRIES=1
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h2"
    assert_equal "$status" 75
    [[ "$stderr" == *"Timeout was reached (after 2 attempts)" ]]
    [ ! -e "$W/h2/SOLUSD_60.csv" ]
}

@test "fault: malformed JSON and a truncated body exit 69 after retries" {
    fault "OHLC malformed -1"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_equal "$status" 69
    [[ "$stderr" == *"malformed response (not a Kraken JSON object"*"(after 4 attempts)" ]]
    fault "OHLC truncated -1"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_equal "$status" 69
    [[ "$stderr" == *"(truncated response) (after 4 attempts)" ]]
    fault "OHLC malformed 1"
    run kml-fetch ohlc --pair SOL/USD
    assert_success
}

@test "fault: permanent exchange errors are not retried and exit 69 with Kraken's message" {
    fault "OHLC unknownpair -1"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_equal "$status" 69
    assert_equal "$stderr" "kml-fetch: /0/public/OHLC: Kraken error: EQuery:Unknown asset pair"
    assert_equal "$(requests OHLC)" 1
    fault "OHLC invalid -1"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_equal "$status" 69
    assert_equal "$stderr" "kml-fetch: /0/public/OHLC: Kraken error: EGeneral:Invalid arguments"
    run --separate-stderr kml-fetch pairs --pair DOGE/USD
    assert_equal "$status" 69
    [[ "$stderr" == *"EQuery:Unknown asset pair" ]]
}

@test "fault: an error beside a result is a failure" {
    fault "Time errresult -1"
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h"
    assert_equal "$status" 69
    assert_equal "$stderr" "kml-fetch: /0/public/Time: Kraken error: EGeneral:Internal error"
}

@test "fault: a malformed row in a valid response is a located error (65)" {
    fault "OHLC badrow 1"
    run --separate-stderr kml-fetch ohlc --pair SOL/USD
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: OHLC: result.SOLUSD[0][1]: not a number: \"abc\""
    fault "Trades badrow 1"
    run --separate-stderr kml-fetch trades --pair ETH/USD --since $((T0 - 3 * 3600))
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: Trades: result.XETHZUSD[0][0]: not a number: \"abc\""
}

@test "fault: no server listening exits 69; a bad timeout setting exits 78" {
    port=$(cat "$SRV/port")
    KRAKEN_API_URL="http://127.0.0.1:1" run --separate-stderr kml-fetch pairs
    assert_equal "$status" 69
    [[ "$stderr" == *"/0/public/AssetPairs: Couldn't connect to server (after 4 attempts)"* ]]
    KML_HTTP_TIMEOUT=soon run --separate-stderr kml-fetch pairs
    assert_equal "$status" 78
    [[ "$stderr" == *"KML_HTTP_TIMEOUT: \"soon\" is not a number of seconds"* ]]
}

# ---------------------------------------------------------------- update

@test "update: a new file gets the 719 committed candles of OHLC; a second run adds none" {
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h"
    assert_success
    [[ "$stderr" == *"719 rows added via OHLC"* ]]
    numeq <(tail -n +2 "$W/h/SOLUSD_60.csv") <(tail -n 720 "$SRV/data/SOLUSD_60.csv" | head -n 719)
    cp "$W/h/SOLUSD_60.csv" "$W/before.csv"
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h"
    assert_success
    [[ "$stderr" == *"up to date"* ]]
    cmp "$W/before.csv" "$W/h/SOLUSD_60.csv"
}

@test "update: resumes after the last stored candle, without duplicates" {
    mkdir -p "$W/h"
    # the stored file stops 5 hours before the forming candle
    head -n 716 <(tail -n 720 "$SRV/data/SOLUSD_60.csv" | sed '1i time,open,high,low,close,vwap,volume,count') >"$W/h/SOLUSD_60.csv"
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h"
    assert_success
    [[ "$stderr" == *"4 rows added via OHLC, 0 new gaps"* ]]
    assert_equal "$(wc -l <"$W/h/SOLUSD_60.csv")" 720
    assert_equal "$(cut -d, -f1 "$W/h/SOLUSD_60.csv" | sort | uniq -d)" ""
    grep -q "since=$((T0 - 4 * 3600))" "$SRV/state/requests.log"
}

@test "update: via trades, Kraken's candle is appended to the stored hours" {
    need_data XBTUSD_trades_2019-07-01T00.csv
    need_data XBTUSD_60.csv
    mkdir -p "$W/h"
    awk -F, -v t=$T0 'NR == 1 || ($1 < t && $1 >= t - 48 * 3600)' "$KML_SHARED_DATA/kraken/XBTUSD_60.csv" >"$W/h/XBTUSD_60.csv"
    run --separate-stderr kml-fetch update --pair BTC/USD --dir "$W/h" --via trades
    assert_success
    [[ "$stderr" == *"1 rows added via trades (2671 trades)"* ]]
    assert_equal "$(tail -1 "$W/h/XBTUSD_60.csv" | cut -d, -f1-5,7,8)" "$T0,10749.4,11041.8,10600,11014.3,903.65604099,2671"
    assert_equal "$(wc -l <"$W/h/XBTUSD_60.csv")" 50
}

@test "update: an update interrupted by a failure keeps every row; the rerun loses and repeats none" {
    mkdir -p "$W/h"
    # the stored ETH file ends 1000 hours back: more than OHLC's 720, so trades are used
    printf 'time,open,high,low,close,vwap,volume,count\n%s,1,1,1,1,,1,1\n' $((T0 - 1000 * 3600)) >"$W/h/ETHUSD_60.csv"
    cp "$W/h/ETHUSD_60.csv" "$W/before.csv"
    fault "Trades 502 -1 2"   # the third page and after fail
    run --separate-stderr kml-fetch update --pair ETH/USD --dir "$W/h" --via trades
    assert_equal "$status" 69
    cmp "$W/before.csv" "$W/h/ETHUSD_60.csv"
    # no temporary left beside it (the lock files stay, empty)
    assert_equal "$(ls -A "$W/h" | grep -v '\.lock$')" ETHUSD_60.csv
    rm -f "$SRV/state/faults"
    run --separate-stderr kml-fetch update --pair ETH/USD --dir "$W/h" --via trades
    assert_success
    [[ "$stderr" == *"3 rows added via trades (2500 trades), 1 new gaps (996 missing candles)"* ]]
    # the new rows are exactly the candles of the trades
    kml-fetch candles --interval 60 "$SRV/data/ETHUSD_trades.csv" | tail -n +2 >"$W/want.csv"
    diff <(tail -n +3 "$W/h/ETHUSD_60.csv") "$W/want.csv"
    assert_equal "$(cut -d, -f1 "$W/h/ETHUSD_60.csv" | sort | uniq -d)" ""
}

@test "update: killed in the middle, the stored file is untouched and the rerun completes it" {
    mkdir -p "$W/h"
    printf 'time,open,high,low,close,vwap,volume,count\n%s,1,1,1,1,,1,1\n' $((T0 - 1000 * 3600)) >"$W/h/ETHUSD_60.csv"
    cp "$W/h/ETHUSD_60.csv" "$W/before.csv"
    fault "Trades slow:5 1 1"
    kml-fetch update --pair ETH/USD --dir "$W/h" --via trades 2>/dev/null 3>&- &
    pid=$!
    for _ in $(seq 50); do [ "$(requests Trades)" -ge 2 ] && break; sleep 0.1; done
    kill -9 $pid
    wait $pid || true
    cmp "$W/before.csv" "$W/h/ETHUSD_60.csv"
    rm -f "$SRV/state/faults"
    run --separate-stderr kml-fetch update --pair ETH/USD --dir "$W/h" --via trades
    assert_success
    assert_equal "$(wc -l <"$W/h/ETHUSD_60.csv")" 5
}

# ---------------------------------------------------------------- update --days (generated ADA/USD trades)

rows_of() { if [ -f "$1" ]; then echo $(($(wc -l <"$1") - 1)); else echo 0; fi; }
# kml-fetch update in the background; its pid in $pid
bg_update() { kml-fetch update --pair ADA/USD --quiet "$@" 2>/dev/null 3>&- & pid=$!; }

@test "update --days: a new store is filled from trades, then OHLC, byte-identical to a fill from trades alone" {
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h"
    assert_success
    # 40 days of hours before the forming one (01:00): 700 via OHLC, the rest rebuilt from trades
    [[ "$stderr" == *"260 rows added via trades ("*" trades) and 700 via OHLC, 0 new gaps"*"960 rows"* ]]
    assert_equal "$(sed -n 2p "$W/h/ADAUSD_60.csv" | cut -d, -f1)" $((T0 + 3600 - 40 * 86400))
    assert_equal "$(tail -1 "$W/h/ADAUSD_60.csv" | cut -d, -f1)" $T0
    [ "$(requests OHLC)" -eq 1 ]
    [ "$(requests Trades)" -ge 26 ]
    kml-fetch update --pair ADA/USD --days 40 --dir "$W/t" --via trades --quiet 2>/dev/null
    cmp "$W/t/ADAUSD_60.csv" "$W/h/ADAUSD_60.csv"
    # the trades the test server generates, rebuilt by kml-fetch candles, are the stored candles
    kml-fetch trades --pair ADA/USD --since $((T0 + 3600 - 40 * 86400)) --until $((T0 + 3600)) --quiet | kml-fetch candles >"$W/c.csv"
    cmp "$W/c.csv" "$W/h/ADAUSD_60.csv"
    cp "$W/h/ADAUSD_60.csv" "$W/before.csv"
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h"
    assert_success
    [[ "$stderr" == *"up to date"* ]]
    cmp "$W/before.csv" "$W/h/ADAUSD_60.csv"
}

@test "update --days: killed (kill -9) three times during a fill, the reruns complete it byte-identical to an uninterrupted fill" {
    kml-fetch update --pair ADA/USD --days 40 --dir "$W/ref" --quiet 2>/dev/null
    # two cuts at known places: a run's Trades request k+1 hangs (page k is committed before it is
    # sent, with --checkpoint 0), and the run is killed while it waits
    prev=0
    for k in 4 9; do
        rm -f "$SRV/state/requests.log"
        fault "Trades slow:5 1 $k"
        KML_HTTP_TIMEOUT=20 bg_update --days 40 --dir "$W/h" --checkpoint 0
        for _ in $(seq 200); do [ "$(requests Trades)" -gt $k ] && break; sleep 0.05; done
        kill -9 $pid
        wait $pid || true
        [ "$(requests Trades)" -eq $((k + 1)) ]
        n=$(rows_of "$W/h/ADAUSD_60.csv")
        # what is stored is the uninterrupted fill's first n rows: no candle half built, missing or
        # repeated, and not the one still forming at the cut
        [ "$n" -gt "$prev" ]
        [ "$n" -lt 260 ]
        cmp <(head -n $((n + 1)) "$W/ref/ADAUSD_60.csv") "$W/h/ADAUSD_60.csv"
        prev=$n
    done
    rm -f "$SRV/state/faults"
    # and one at a random moment (between pages, in a commit, in a request)
    KML_HTTP_PACE=0.05 bg_update --days 40 --dir "$W/h" --checkpoint 0
    sleep 0.$((RANDOM % 8 + 1))
    kill -9 $pid
    wait $pid || true
    n=$(rows_of "$W/h/ADAUSD_60.csv")
    [ "$n" -ge "$prev" ]
    cmp <(head -n $((n + 1)) "$W/ref/ADAUSD_60.csv") "$W/h/ADAUSD_60.csv"
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h" --quiet
    assert_success
    cmp "$W/ref/ADAUSD_60.csv" "$W/h/ADAUSD_60.csv"
    # the kills' temporaries are gone (the lock files stay, empty)
    assert_equal "$(ls -A "$W/h" | grep -v '\.lock$')" ADAUSD_60.csv
}

@test "update --days: a store too short is filled back in front through a side file, resumable after kill -9" {
    kml-fetch update --pair ADA/USD --days 40 --dir "$W/ref" --quiet 2>/dev/null
    kml-fetch update --pair ADA/USD --dir "$W/h" --quiet 2>/dev/null    # the latest 719 candles, as before --days
    cp "$W/h/ADAUSD_60.csv" "$W/short.csv"
    assert_equal "$(rows_of "$W/short.csv")" 719
    rm -f "$SRV/state/requests.log"
    fault "Trades slow:5 1 10"   # killed while the 11th page is awaited: 10 are committed
    KML_HTTP_TIMEOUT=20 bg_update --days 40 --dir "$W/h" --checkpoint 0
    for _ in $(seq 200); do [ "$(requests Trades)" -gt 10 ] && break; sleep 0.05; done
    kill -9 $pid
    wait $pid || true
    rm -f "$SRV/state/faults"
    n=$(rows_of "$W/h/ADAUSD_60.csv.backfill")
    [ "$n" -ge 60 ]
    [ "$n" -lt 241 ]
    cmp "$W/short.csv" "$W/h/ADAUSD_60.csv"             # the store is untouched until the merge
    cmp <(head -n $((n + 1)) "$W/ref/ADAUSD_60.csv") "$W/h/ADAUSD_60.csv.backfill"
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h"
    assert_success
    [[ "$stderr" == *"(resumed)"* ]]
    [[ "$stderr" == *"241 rows filled back to "*"960 rows"* ]]
    cmp "$W/ref/ADAUSD_60.csv" "$W/h/ADAUSD_60.csv"
    [ ! -e "$W/h/ADAUSD_60.csv.backfill" ]
    # killed after the merge but before the side file was removed: the next run drops it, the store as it was
    head -n 100 "$W/h/ADAUSD_60.csv" >"$W/h/ADAUSD_60.csv.backfill"
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h"
    assert_success
    [ ! -e "$W/h/ADAUSD_60.csv.backfill" ]
    cmp "$W/ref/ADAUSD_60.csv" "$W/h/ADAUSD_60.csv"
}

@test "update --days: a store that ends before the days asked for is continued from N days back, the span between left a gap" {
    mkdir -p "$W/h"
    old=$((T0 + 3600 - 200 * 86400))
    printf 'time,open,high,low,close,vwap,volume,count\n%s,1,1,1,1,1,1,1\n' $old >"$W/h/ADAUSD_60.csv"
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h" --quiet
    assert_success
    [[ "$stderr" == *"the store ends at 2018-12-13T01:00:00.000Z, before the 40 days asked for: filling from 2019-05-22T01:00:00.000Z and leaving the span between as a gap"* ]]
    [[ "$stderr" == *"1 new gaps ($((160 * 24 - 1)) missing candles)"*"961 rows"* ]]
    kml-fetch update --pair ADA/USD --days 40 --dir "$W/ref" --quiet 2>/dev/null
    cmp <(tail -n +3 "$W/h/ADAUSD_60.csv") <(tail -n +2 "$W/ref/ADAUSD_60.csv")
    # no trade before the 40 days was asked for
    [ "$(grep -c "Trades?pair=ADAUSD&since=$((old + 3600 - 1))" "$SRV/state/requests.log")" -eq 0 ]
}

@test "update --days: rate limits are waited out; progress lines without a terminal, none with --quiet" {
    fault "Trades ratelimit 2 3"
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h"
    assert_success
    [ "$(grep -c 'Trades' "$SRV/state/requests.log")" -ge 28 ]    # the two refused pages were asked again
    kml-fetch update --pair ADA/USD --days 40 --dir "$W/ref" --quiet 2>/dev/null
    cmp "$W/ref/ADAUSD_60.csv" "$W/h/ADAUSD_60.csv"
    # a line every 5 % or more: the day reached, pages, trades and the time left
    lines=$(grep -c 'fill .*ADAUSD_60.csv: [0-9]*%: reached 2019-0[56]-[0-9]*, [0-9]* pages, [0-9]* trades, about .* left' <<<"$stderr")
    [ "$lines" -ge 5 ]
    [ "$lines" -le 21 ]
    run --separate-stderr kml-fetch update --pair ADA/USD --days 41 --dir "$W/q" --quiet
    assert_success
    [[ "$stderr" != *"%:"* ]]
}

@test "update --days: on a terminal, a bar of days with the day reached, pages, trades and the time left" {
    command -v script >/dev/null || skip "script (util-linux) absent"
    KML_HTTP_PACE=0.01 script -qec "kml-fetch update --pair ADA/USD --days 40 --dir '$W/h'" /dev/null >"$W/tty.out"
    tr '\r' '\n' <"$W/tty.out" >"$W/lines"
    # 40 days asked, the first 260 hours from trades (the rest from OHLC): the bar counts those 11 days
    grep -qE '^fill \[#*-*\] +[0-9]+% [0-9]+/11 days, reached 2019-0[56]-[0-9]+, [0-9]+ pages, [0-9]+ trades, eta [0-9]+s' "$W/lines"
    # no line-per-5 % text on a terminal, and --quiet draws nothing
    [ "$(grep -c '%: reached' "$W/lines")" -eq 0 ]
    KML_HTTP_PACE=0.01 script -qec "kml-fetch update --pair ADA/USD --days 40 --dir '$W/q' --quiet" /dev/null >"$W/q.out"
    [ "$(grep -c 'fill \[' "$W/q.out")" -eq 0 ]
    cmp "$W/h/ADAUSD_60.csv" "$W/q/ADAUSD_60.csv"
}

@test "update --days: trades fills of two pairs in one directory take turns (Kraken's limit is per address)" {
    fault "Trades slow:2 1 3"   # ADA's fourth page comes late: DOT's update arrives while ADA fills
    KML_HTTP_TIMEOUT=20 kml-fetch update --pair ADA/USD --days 40 --dir "$W/h" --quiet 2>/dev/null 3>&- &
    pid=$!
    for _ in $(seq 200); do [ "$(requests Trades)" -ge 4 ] && break; sleep 0.05; done
    run --separate-stderr kml-fetch update --pair DOT/USD --days 40 --dir "$W/h" --quiet
    wait $pid
    assert_success
    [[ "$stderr" == *"fill $W/h/DOTUSD_60.csv: waiting for another kml-fetch update's trades fill in $W/h to end"* ]]
    # every ADA page before the first DOT page
    assert_equal "$(grep -o 'Trades?pair=[A-Z]*' "$SRV/state/requests.log" | uniq)" "$(printf 'Trades?pair=ADAUSD\nTrades?pair=DOTUSD')"
    assert_equal "$(rows_of "$W/h/ADAUSD_60.csv")" 960
    assert_equal "$(rows_of "$W/h/DOTUSD_60.csv")" 960
}

@test "update --days: a second update of the same store while one runs exits 75 and changes nothing" {
    fault "Trades slow:5 1 1"   # the first holds the lock, waiting for its second page
    KML_HTTP_TIMEOUT=20 bg_update --days 40 --dir "$W/h"
    for _ in $(seq 100); do [ "$(requests Trades)" -ge 2 ] && break; sleep 0.05; done
    run --separate-stderr kml-fetch update --pair ADA/USD --days 40 --dir "$W/h"
    kill -9 $pid
    wait $pid || true
    assert_equal "$status" 75
    assert_equal "$stderr" "kml-fetch: $W/h/ADAUSD_60.csv: another kml-fetch update is writing it; try again later"
}

@test "update --days: conflicting or out-of-range options are usage errors (64)" {
    run --separate-stderr kml-fetch update --pair ADA/USD --days 10 --since 0
    assert_equal "$status" 64
    [[ "$stderr" == *"--days and --since both set the start"* ]]
    run --separate-stderr kml-fetch update --pair ADA/USD --days 0
    assert_equal "$status" 64
    [[ "$stderr" == *"--days"* ]]
    run --separate-stderr kml-fetch update --pair ADA/USD --days 10 --via ohlc
    assert_equal "$status" 64
    [[ "$stderr" == *"--days needs Kraken's trades"* ]]
    [ ! -e "$SRV/state/requests.log" ]
}

@test "update: a corrupt stored file is a located error and is left as it was" {
    mkdir -p "$W/h"
    printf 'time,open,high,low,close,vwap,volume,count\n3600,1,1,1,1,,1,1\n3600,1,1,1,1,,1,1\n' >"$W/h/SOLUSD_60.csv"
    cp "$W/h/SOLUSD_60.csv" "$W/before.csv"
    run --separate-stderr kml-fetch update --pair SOL/USD --dir "$W/h"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-fetch: $W/h/SOLUSD_60.csv:3: column 'time': time 3600 is not after the previous row's 3600"
    cmp "$W/before.csv" "$W/h/SOLUSD_60.csv"
}
