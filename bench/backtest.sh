#!/usr/bin/env bash
# bench/backtest.sh: the trading part of a backtest, bars per second: per pair
# `kml-predict --predictions | kml-size`, then one `kml-execute --sandbox
# --no-state` account over the three pairs, on 3 pairs x 2 years of hourly
# bars (kml-fetch sim, 730 days after the features' warm-up). What it trades
# on (features, regimes, linear walk-forward predictions, walk-forward
# ensemble) is made once by kml-backtest itself and not timed. The Python
# side, timed in the same run and interleaved: bench/backtest_ref.py (the
# same predict and fixed-fraction sizing in Python, written from the docs)
# then bench/execute_ref.py (the paper account) on its orders; its loading
# and loops are counted, its interpreter start-up and imports not. It also
# says how far the Python decisions and orders are from the C ones and
# whether the two accounts end with the same events and cash. CPU seconds,
# KML_BENCH_ROUNDS rounds (default 3), median (or best). Never fails on time.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
bin=${KML_EXECUTE:-$(command -v kml-execute || echo bin/kml-execute)}
bdir=$(cd "$(dirname "$bin")" && pwd)
export KML_EXEC_PATH=$bdir
bench_init backtest
tmp=$bench_tmp
export KML_LOG_DIR="$tmp/logs"
bench_header backtest "not used" 1 "3 pairs x 730 days, hourly"
"$bdir/kml-fetch" sim --days 770 --dir "$tmp/hd" --seed 7 2>/dev/null
bt="$tmp/bt"
# Walk-forward fits of 60 days refitted every 30: the first trades come
# about 120 days after the first feature row.
# The risk limits wide, so that the account trades for the whole two years.
echo '{"risk": {"max_drawdown": 0.99, "daily_loss_limit": 0.99}}' >"$tmp/cfg.json"
bin/kml-backtest -q -d "$tmp/hd" --archs linear --train-days 60 --step-days 30 --source synthetic -c "$tmp/cfg.json" -o "$bt"
"$bdir/kml-config" show -c "$tmp/cfg.json" >"$tmp/effective.json"
alts="SOLUSD ETHUSD XBTUSD"
bars=0
for a in $alts; do bars=$((bars + $(wc -l <"$bt/$a/decisions.jsonl"))); done
cands=(--candles SOL/USD="$bt/SOLUSD/candles.csv" --candles ETH/USD="$bt/ETHUSD/candles.csv"
    --candles BTC/USD="$bt/XBTUSD/candles.csv")

# The chain as kml-backtest runs it, timed as one process tree.
cat >"$tmp/chain.sh" <<EOF
set -e
for a in $alts; do
    "$bdir/kml-predict" --predictions "$bt/\$a/wf.csv" -e "$bt/\$a/ensemble.json" --source synthetic \
        "$bt/\$a/trade_features.csv" 2>/dev/null | "$bdir/kml-size" -c "$tmp/cfg.json" -e "$bt/\$a/ensemble.json" \
        >"$tmp/\$a.orders"
done
"$bdir/kml-execute" --sandbox --quiet --no-state -c "$tmp/cfg.json" ${cands[*]} $tmp/SOLUSD.orders $tmp/ETHUSD.orders $tmp/XBTUSD.orders
EOF
ours() {
    local cpu
    cpu=$(bench_cpu_seconds "$tmp/ev.jsonl" bash "$tmp/chain.sh")
    echo "cpu=$cpu events=$(wc -l <"$tmp/ev.jsonl")"
}
account() {
    local cpu
    cpu=$(bench_cpu_seconds "$tmp/ev2.jsonl" "$bdir/kml-execute" --sandbox --quiet --no-state -c "$tmp/cfg.json" \
        "${cands[@]}" "$tmp/SOLUSD.orders" "$tmp/ETHUSD.orders" "$tmp/XBTUSD.orders")
    echo "cpu=$cpu"
}
ref() {
    /usr/bin/python3 bench/backtest_ref.py "$tmp/effective.json" "$tmp/py.orders" "$bt/SOLUSD" "$bt/ETHUSD" \
        "$bt/XBTUSD" >"$tmp/ref1.json"
    /usr/bin/python3 bench/execute_ref.py "$tmp/effective.json" "$tmp/py.orders" \
        SOL/USD="$bt/SOLUSD/candles.csv" ETH/USD="$bt/ETHUSD/candles.csv" BTC/USD="$bt/XBTUSD/candles.csv" >"$tmp/ref.json"
    /usr/bin/python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("cpu=%.6f chain=%.6f account=%.6f events=%d" % (a["load_cpu"] + a["run_cpu"] + b["load_cpu"] + b["run_cpu"],
      a["load_cpu"] + a["run_cpu"], b["load_cpu"] + b["run_cpu"], b["events"]))' "$tmp/ref1.json" "$tmp/ref.json"
}
have_pandas=0
/usr/bin/python3 -c 'import pandas' 2>/dev/null && have_pandas=1
ours >/dev/null # the orders files the account sides read
if [ $have_pandas = 1 ]; then bench_interleave ours account ref; else bench_interleave ours account; fi
t=$(bench_stat ours cpu lo) ta=$(bench_stat account cpu lo)
printf 'backtest: predict | size | execute over %d pair-bars (%d events): %s CPU s (%s; rounds %s): %s bars/s\n' \
    "$bars" "$(bench_stat ours events hi)" "$(bench_fmt %.3f "$t")" "$bench_stat_kind" "$(bench_range ours cpu %.3f)" \
    "$(bench_fmt %.0f "$(bench_ratio "$bars" "$t" %.6f)")"
printf 'backtest: of which kml-execute (the account alone): %s CPU s: %s bars/s\n' "$(bench_fmt %.3f "$ta")" \
    "$(bench_fmt %.0f "$(bench_ratio "$bars" "$ta" %.6f)")"
if [ $have_pandas = 1 ]; then
    tr=$(bench_stat ref cpu lo) tc=$(bench_stat ref chain lo) tx=$(bench_stat ref account lo)
    printf 'backtest: Python (bench/backtest_ref.py + bench/execute_ref.py) over the same bars: %s CPU s (rounds %s; predict and size %s, account %s): %s bars/s\n' \
        "$(bench_fmt %.3f "$tr")" "$(bench_range ref cpu %.3f)" "$(bench_fmt %.3f "$tc")" "$(bench_fmt %.3f "$tx")" \
        "$(bench_fmt %.0f "$(bench_ratio "$bars" "$tr" %.6f)")"
    printf 'backtest: the C chain is %sx the Python one (per round %sx); kml-execute %sx the Python account\n' \
        "$(bench_ratio "$tr" "$t" %.1f)" "$(bench_round_ratios ref ours cpu)" "$(bench_ratio "$tx" "$ta" %.1f)"
    /usr/bin/python3 bench/backtest_ref.py "$tmp/effective.json" "$tmp/cmp.orders" "$bt/SOLUSD" "$bt/ETHUSD" "$bt/XBTUSD" \
        --compare >"$tmp/cmp.json"
    echo "backtest: cross-check of the Python predict and size against kml-predict | kml-size (kml-backtest's files): $(jq -c .compare "$tmp/cmp.json")"
    same=$(/usr/bin/python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))
print("agree" if len(ev) == ref["events"] and abs(ev[-1]["cash"] - ref["cash"]) <= 1e-9 * abs(ref["cash"]) else
      "DISAGREE (%d events, cash %r against %d, %r)" % (len(ev), ev[-1]["cash"], ref["events"], ref["cash"]))' \
        "$tmp/ev.jsonl" "$tmp/ref.json")
    # Cash, not equity: the last event's equity is marked when it happened
    # (a fill at the open), the reference's final equity at the last close.
    echo "backtest: the C and Python accounts' event count and final cash: $same"
else
    echo "backtest: python3-pandas absent: the Python side was not timed"
fi
