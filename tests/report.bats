#!/usr/bin/env bats
# kml-report: metrics against an independent pandas computation, the HTML
# page rendered in headless Chromium, determinism and every error path.
load helper
bats_require_minimum_version 1.5.0

setup() {
    W="$BATS_TEST_TMPDIR"
    export KML_LOG_DIR="$W/logs"
}

# A random two-pair account (candles, events, decisions) from the reference.
gen() {
    need_pandas
    /usr/bin/python3 "$KML_ROOT/tests/report_ref.py" gen "$W" "$1"
}

report() {
    kml-report --candles SOL/USD="$W/candles_SOLUSD.csv" --candles ETH/USD="$W/candles_ETHUSD.csv" \
        --decisions "$W/decisions.jsonl" "$@"
}

# Renders $1 (an HTML file) in headless Chromium with a script appended that
# reports, once the page has loaded, how many images there are, how many
# decoded (naturalWidth > 0) and how many rows the headline table has.
render() {
    command -v chromium >/dev/null || skip "chromium not installed (Debian package chromium; make deps)"
    cp "$1" "$W/render.html"
    cat >>"$W/render.html" <<'EOF'
<script>
window.addEventListener('load', function () {
  var im = document.images, ok = 0;
  for (var i = 0; i < im.length; i++) if (im[i].complete && im[i].naturalWidth > 0) ok++;
  var h = document.getElementById('headline');
  var p = document.createElement('pre'); p.id = 'kml-check';
  p.textContent = 'images=' + im.length + ' decoded=' + ok + ' headline_rows=' + (h ? h.tBodies[0].rows.length : 0);
  document.body.appendChild(p);
});
</script>
EOF
    local ud
    ud=$(mktemp -d "$W/chromium.XXXXXX")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$ud" \
        --virtual-time-budget=5000 --dump-dom "file://$W/render.html" 2>"$W/chromium.err" |
        grep -o 'images=[0-9]* decoded=[0-9]* headline_rows=[0-9]*'
}

@test "report: metrics, equity curve and trades equal an independent pandas computation (3 seeds)" {
    for seed in 1 2 3; do
        gen $seed
        run report --no-plots -o "$W/out$seed" "$W/events.jsonl"
        assert_success
        run /usr/bin/python3 "$KML_ROOT/tests/report_ref.py" check "$W" "$W/out$seed"
        assert_success
        assert_output --partial "every metric within 1e-9"
    done
}

@test "report: the pandas check notices a metric off by 1e-8 relative" {
    gen 4
    report --no-plots -o "$W/out" "$W/events.jsonl"
    jq '.strategy.sharpe *= (1 + 1e-8)' "$W/out/metrics.json" >"$W/m.json" && mv "$W/m.json" "$W/out/metrics.json"
    run /usr/bin/python3 "$KML_ROOT/tests/report_ref.py" check "$W" "$W/out"
    assert_failure
    assert_output --partial "strategy.sharpe"
}

@test "report: report.html renders in headless Chromium with every image decoded and the headline table" {
    gen 5
    run report -o "$W/out" "$W/events.jsonl"
    assert_success
    # equity, drawdown, two price plots, two weight plots
    [ "$(ls "$W"/out/*.png | wc -l)" -eq 6 ]
    run render "$W/out/report.html"
    assert_success
    assert_output "images=6 decoded=6 headline_rows=10"
}

@test "report: the rendering check notices an image that does not decode" {
    gen 5
    report -o "$W/out" "$W/events.jsonl"
    # Corrupt the first image's data (keep it valid base64).
    sed -i '0,/base64,iVBORw0KGgo/s//base64,AAAAAAAAAAAA/' "$W/out/report.html"
    run render "$W/out/report.html"
    assert_success
    assert_output "images=6 decoded=5 headline_rows=10"
}

@test "report: report.html is self-contained and says in a sentence whether it beat buy and hold" {
    gen 6
    report -o "$W/out" "$W/events.jsonl"
    run grep -Ec '(src|href)="(https?:)?//' "$W/out/report.html"
    assert_output 0
    run grep -c 'src="data:image/png;base64,' "$W/out/report.html"
    assert_output 6
    beat=$(jq -r .beat_benchmark "$W/out/metrics.json")
    if [ "$beat" = true ]; then word="<b>beat</b>"; else word="<b>did not beat</b>"; fi
    run grep -c "the strategy $word buy and hold of the same allocation" "$W/out/report.html"
    assert_output 1
    # The headline's first row is the strategy's and the benchmark's total return from metrics.json.
    sr=$(jq -r '.strategy.total_return * 100 | . * 100 | round / 100' "$W/out/metrics.json")
    grep -q "<tr><th>Total return</th><td>$(printf '%.2f' "$sr")%</td>" "$W/out/report.html"
}

@test "report: deterministic: a second run writes the same bytes" {
    gen 7
    report -o "$W/a" "$W/events.jsonl"
    report -o "$W/b" "$W/events.jsonl"
    for f in metrics.json equity.csv trades.csv report.html; do cmp "$W/a/$f" "$W/b/$f"; done
}

@test "report: events from stdin, without decisions: no regime or strategy section" {
    gen 8
    run kml-report --no-plots --candles SOL/USD="$W/candles_SOLUSD.csv" --candles ETH/USD="$W/candles_ETHUSD.csv" \
        -o "$W/out" <"$W/events.jsonl"
    assert_success
    run jq -c '[has("regimes"), has("strategies"), .data.source, .data.mode, (.pairs | keys)]' "$W/out/metrics.json"
    assert_output '[false,false,"unknown","sandbox",["ETH/USD","SOL/USD"]]'
}

@test "report: candles found in --data-dir by the pair's altname" {
    gen 9
    mkdir -p "$W/hd"
    cp "$W/candles_SOLUSD.csv" "$W/hd/SOLUSD_60.csv"
    cp "$W/candles_ETHUSD.csv" "$W/hd/ETHUSD_60.csv"
    run kml-report --no-plots --data-dir "$W/hd" -o "$W/out" "$W/events.jsonl"
    assert_success
    kml-report --no-plots --candles ETH/USD="$W/candles_ETHUSD.csv" --candles SOL/USD="$W/candles_SOLUSD.csv" \
        -o "$W/ref" "$W/events.jsonl"
    cmp "$W/out/equity.csv" "$W/ref/equity.csv"
    cmp "$W/out/metrics.json" "$W/ref/metrics.json"
}

@test "report: usage errors exit 64" {
    run --separate-stderr kml-report "$W/x"
    assert_equal "$status" 64
    [[ "$stderr" == *"needs -o DIR"* ]]
    run --separate-stderr kml-report --benchmark momentum -o "$W/o" "$W/x"
    assert_equal "$status" 64
    [[ "$stderr" == *"--benchmark: only buy-and-hold"* ]]
    run --separate-stderr kml-report --candles SOLUSD -o "$W/o" "$W/x"
    assert_equal "$status" 64
    [[ "$stderr" == *"expected PAIR=FILE"* ]]
    run --separate-stderr kml-report --nope
    assert_equal "$status" 64
    run kml-report --help
    assert_success
    assert_output --partial "kml-report [--benchmark buy-and-hold]"
}

# One bad line appended to a good events file: message and exit code.
bad_event() {
    gen 10
    cp "$W/events.jsonl" "$W/bad.jsonl"
    echo "$1" >>"$W/bad.jsonl"
    n=$(wc -l <"$W/bad.jsonl")
    run --separate-stderr report --no-plots -o "$W/out" "$W/bad.jsonl"
}

@test "report: an unknown event kind names file, line and key (65)" {
    bad_event '{"time": 1701435600, "event": "teleport", "pair": "SOL/USD"}'
    assert_equal "$status" 65
    [[ "$stderr" == "kml-report: $W/bad.jsonl:$n: key 'event': unknown event \"teleport\"" ]]
}

@test "report: an event without time, with time going back, with a bad side or no price (65)" {
    bad_event '{"event": "fill", "pair": "SOL/USD"}'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: missing key 'time'" ]]
    bad_event '{"time": 1600000000, "event": "fill", "pair": "SOL/USD"}'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: key 'time': 1600000000 is before the previous event's"* ]]
    bad_event '{"time": 1701435600, "event": "fill", "pair": "SOL/USD", "side": "long", "volume": 1, "price": 5}'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: key 'side': expected \"buy\" or \"sell\"" ]]
    bad_event '{"time": 1701435600, "event": "fill", "pair": "SOL/USD", "side": "buy", "volume": 1}'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: key 'price': expected a positive number for a fill" ]]
    bad_event '{"time": 1701435600, "event": "fill", "pair": "SOL/USD", "fee": "high"}'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: key 'fee': expected a number" ]]
    bad_event '{"time": 1701435600, "event": "fill", "pair": "DOGGY"}'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: key 'pair': not a pair: \"DOGGY\"" ]]
    bad_event 'not json'
    assert_equal "$status" 65
    [[ "$stderr" == *"bad.jsonl:$n: column 1: invalid JSON" ]]
}

@test "report: an event outside the candles (65); no candles for a pair (66); missing events file (66)" {
    gen 11
    head -n 3 "$W/candles_SOLUSD.csv" >"$W/short.csv"
    run --separate-stderr kml-report --no-plots --candles SOL/USD="$W/short.csv" \
        --candles ETH/USD="$W/candles_ETHUSD.csv" -o "$W/out" "$W/events.jsonl"
    assert_equal "$status" 65
    [[ "$stderr" == *"is after the last candle"* ]]
    run --separate-stderr kml-report --no-plots --data-dir "$W/none" -o "$W/out" "$W/events.jsonl"
    assert_equal "$status" 66
    [[ "$stderr" =~ $W/none/(SOL|ETH)USD_60.csv:\ no\ candles\ for\ (SOL|ETH)/USD\ \(give\ --candles ]]
    run --separate-stderr report -o "$W/out" "$W/nope.jsonl"
    assert_equal "$status" 66
    [ ! -e "$W/out/metrics.json" ]
}

@test "report: a decision with a weight but no signal names the key (65)" {
    gen 12
    echo '{"time": 1700100000, "pair": "SOL/USD", "regime": "ranging", "weights": {"trend": 1}, "signals": {}}' \
        >>"$W/decisions.jsonl"
    n=$(wc -l <"$W/decisions.jsonl")
    run --separate-stderr report --no-plots -o "$W/out" "$W/events.jsonl"
    assert_equal "$status" 65
    [[ "$stderr" == "kml-report: $W/decisions.jsonl:$n: key 'signals.trend': expected a number for the weighted strategy" ]]
}

@test "report: kml help lists report" {
    run kml help
    assert_line --regexp '^  report +summarise logs and backtests, with plots'
}

@test "report: a live reconciliation adopting a position without a price is taken at the bar's close" {
    gen 13
    t=$(tail -n 1 "$W/candles_SOLUSD.csv" | cut -d, -f1)
    c=$(tail -n 1 "$W/candles_SOLUSD.csv" | cut -d, -f5)
    pos=$(jq -s '[.[] | select(.pair == "SOL/USD")] | last | .position' "$W/events.jsonl")
    echo "{\"time\": $t, \"mode\": \"live\", \"event\": \"reconcile\", \"pair\": \"SOL/USD\", \"position\": $(awk -v p="$pos" 'BEGIN { printf "%.17g", p + 5 }')}" >>"$W/events.jsonl"
    run report --no-plots -o "$W/out" "$W/events.jsonl"
    assert_success
    head -n -1 "$W/events.jsonl" >"$W/e2.jsonl"
    report --no-plots -o "$W/out2" "$W/e2.jsonl"
    # The same equity at every bar (to rounding): the adopted units were bought at the close they are marked at ...
    paste -d, <(cut -d, -f2 "$W/out/equity.csv") <(cut -d, -f2 "$W/out2/equity.csv") |
        awk -F, 'NR > 1 { d = $1 - $2; if (d > 1e-9 * $2 || d < -1e-9 * $2) exit 1 }'
    # ... and 5 units more were traded, at that close.
    n1=$(jq '.pairs["SOL/USD"].traded_notional' "$W/out/metrics.json")
    n2=$(jq '.pairs["SOL/USD"].traded_notional' "$W/out2/metrics.json")
    awk -v a="$n1" -v b="$n2" -v c="$c" 'BEGIN { d = a - b - 5 * c; exit !(d < 1e-6 && d > -1e-6) }'
}

@test "report: events whose own equity disagrees with the marked curve are warned about" {
    gen 14 # the reference's events carry a made-up equity (10000 plus noise)
    run --separate-stderr report --no-plots -o "$W/out" "$W/events.jsonl"
    assert_success
    [[ "$stderr" == *"kml-report: the events' own equity differs from the marked curve by up to"*"relative at bars ending flat"* ]]
    jq -e '.data.equity_checked_bars > 0 and .data.equity_max_rel_diff > 1e-6' "$W/out/metrics.json"
}
