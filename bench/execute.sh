#!/usr/bin/env bash
# bench/execute.sh: the paper account's speed, bars per second of
# `kml-execute --sandbox --no-state` over 3 pairs x 2 years of hourly bars
# (kml-fetch sim --days 730, 52 560 pair-bars) from one orders file (a target
# for every pair and bar, tests/execute_orders.py, leverage 1-10x), beside
# bench/execute_ref.py, the same accounting in Python (numpy/pandas), timed
# in the same run on the same files. The two run interleaved over
# KML_BENCH_ROUNDS rounds (default 5); each side's best (KML_BENCH_STAT=median: median) CPU
# seconds are reported: kml-execute's whole process (reading candles and
# orders, the run, writing the events), the reference's loading (pandas) and
# its accounting loop separately (its interpreter start-up and imports not
# counted). The risk limits are set wide so that the account trades for the
# whole two years. Also measured once: the cost of --state (one atomic commit,
# two fsyncs, per bar time) over the first 500 bar times. Prints ratios;
# never fails on time.
set -eu
cd "$(dirname "$0")/.."
bench_default_rounds=5
: "${KML_BENCH_STAT:=best}" # the brief asks for the best of each side
. bench/common.bash
bin=${KML_EXECUTE:-$(command -v kml-execute || echo bin/kml-execute)}
fetch=$(dirname "$bin")/kml-fetch
config=$(dirname "$bin")/kml-config
bench_init execute
tmp=$bench_tmp
"$fetch" sim --days 730 --dir "$tmp/hd" --seed 7 2>/dev/null
pairs="SOL/USD=$tmp/hd/SOLUSD_60.csv ETH/USD=$tmp/hd/ETHUSD_60.csv BTC/USD=$tmp/hd/XBTUSD_60.csv"
# shellcheck disable=SC2086
/usr/bin/python3 tests/execute_orders.py 1 10 100000 $pairs >"$tmp/orders.jsonl"
echo '{"risk": {"max_drawdown": 0.99, "daily_loss_limit": 0.99}}' >"$tmp/cfg.json"
"$config" show -c "$tmp/cfg.json" >"$tmp/effective.json"
export KML_LOG_DIR="$tmp/logs"
norders=$(wc -l <"$tmp/orders.jsonl")
have_pandas=0
/usr/bin/python3 -c 'import pandas' 2>/dev/null && have_pandas=1
bench_header execute "not used" "1"

ours() {
    rm -f "$tmp/ev.jsonl"
    local cpu
    cpu=$(bench_cpu_seconds "$tmp/ev.jsonl" "$bin" --quiet -c "$tmp/cfg.json" --no-state \
        --candles SOL/USD="$tmp/hd/SOLUSD_60.csv" --candles ETH/USD="$tmp/hd/ETHUSD_60.csv" \
        --candles BTC/USD="$tmp/hd/XBTUSD_60.csv" "$tmp/orders.jsonl")
    echo "cpu=$cpu events=$(wc -l <"$tmp/ev.jsonl")"
}
ref() {
    # shellcheck disable=SC2086
    /usr/bin/python3 bench/execute_ref.py "$tmp/effective.json" "$tmp/orders.jsonl" $pairs >"$tmp/ref.json"
    /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("cpu=%.6f load=%.6f run=%.6f events=%d bars=%d equity=%r" % (d["load_cpu"] + d["run_cpu"], d["load_cpu"],
      d["run_cpu"], d["events"], d["bars"], d["equity"]))' "$tmp/ref.json"
}
if [ $have_pandas = 1 ]; then
    bench_interleave ours ref
else
    bench_interleave ours
fi
bars=$((3 * 17520 - 3)) # every pair's bars after its first order
t_c=$(bench_stat ours cpu lo)
ev=$(bench_stat ours events hi)
printf 'execute: kml-execute --no-state  %d pair-bars, %d orders -> %d events in %s CPU s (%s; rounds %s s): %s bars/s\n' \
    "$bars" "$norders" "$ev" "$(bench_fmt %.3f "$t_c")" "$bench_stat_kind" "$(bench_range ours cpu %.3f)" \
    "$(bench_fmt %.0f "$(bench_ratio "$bars" "$t_c" %.6f)")"
if [ $have_pandas = 1 ]; then
    t_p=$(bench_stat ref cpu lo) t_r=$(bench_stat ref run lo) t_l=$(bench_stat ref load lo)
    printf 'execute: Python reference       %d pair-bars -> %d events in %s CPU s (%s; rounds %s s; pandas loading %s s, accounting loop %s s): %s bars/s\n' \
        "$(bench_stat ref bars hi)" "$(bench_stat ref events hi)" "$(bench_fmt %.3f "$t_p")" "$bench_stat_kind" \
        "$(bench_range ref cpu %.3f)" "$(bench_fmt %.3f "$t_l")" "$(bench_fmt %.3f "$t_r")" \
        "$(bench_fmt %.0f "$(bench_ratio "$bars" "$t_p" %.6f)")"
    printf 'execute: kml-execute is %sx the reference (whole process against loading + loop; per round %sx); %sx its accounting loop alone\n' \
        "$(bench_ratio "$t_p" "$t_c" %.1f)" "$(bench_round_ratios ref ours cpu)" "$(bench_ratio "$t_r" "$t_c" %.1f)"
    same=$(/usr/bin/python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))
print("agree" if len(ev) == ref["events"] and abs(ev[-1]["cash"] - ref["cash"]) <= 1e-9 * abs(ref["cash"]) else "DISAGREE")' \
        "$tmp/ev.jsonl" "$tmp/ref.json")
    echo "execute: event count and cash after the last event of the two: $same"
else
    echo "execute: pandas absent: no reference"
fi

# --state: one atomic commit per bar time, over the first 500 bar times
head -n 1500 "$tmp/orders.jsonl" >"$tmp/o500.jsonl"
t0=$(date +%s.%N)
"$bin" --quiet -c "$tmp/cfg.json" --state "$tmp/st" --candles SOL/USD="$tmp/hd/SOLUSD_60.csv" \
    --candles ETH/USD="$tmp/hd/ETHUSD_60.csv" --candles BTC/USD="$tmp/hd/XBTUSD_60.csv" "$tmp/o500.jsonl" >/dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "execute: with --state, 500 bar times (1497 pair-bars) in %.2f s wall: %.1f ms a bar time (its atomic state commit: write, fsync, rename, fsync of the directory)\n", b - a, (b - a) / 500 * 1000 }'
