#!/usr/bin/env bats
# kml-ensemble: planted edges per regime, losers at zero weight, the thin-regime
# fallback, walk-forward windows unchanged by truncation (synthetic and real
# data), determinism, show/list, the log, and every malformed input (one
# located line, exit 65, nothing written).
load helper
bats_require_minimum_version 1.5.0

setup_file() {
    export D="$BATS_FILE_TMPDIR"
    /usr/bin/python3 "$FIXTURES/ensemble_gen.py" "$D" 6000 1 60
    export MODELS="--predictions $D/gru.csv --predictions $D/lstm.csv --predictions $D/bad.csv"
    export KML_LOG_DIR="$D/logs"
}

setup() {
    W="$BATS_TEST_TMPDIR"
    export KML_LOG_DIR="$W/logs"
}

fit_models() { # extra options...
    # shellcheck disable=SC2086
    kml-ensemble fit --quiet --strategies model:gru,model:lstm,model:bad $MODELS --min-samples 100 "$@" "$D/labelled.csv"
}

@test "help, usage errors" {
    run kml-ensemble --help
    assert_success
    assert_output --partial "fit"
    run kml-ensemble fit --help
    assert_success
    assert_output --partial "--walk-forward"
    run kml-ensemble
    assert_failure 64
    run kml-ensemble fit --bogus -o x.json "$D/labelled.csv"
    assert_failure 64
    run kml-ensemble fit "$D/labelled.csv"
    assert_failure 64
    assert_output --partial "needs -o"
    run kml-ensemble fit --objective best -o "$W/e.json" "$D/labelled.csv"
    assert_failure 64
    run kml-ensemble fit --train-days 30 -o "$W/e.json" "$D/labelled.csv"
    assert_failure 64
    assert_output --partial "need --walk-forward"
    run kml-ensemble frobnicate
    assert_failure 64
    [ ! -e "$W/e.json" ]
}

@test "planted edge: each regime's weight on the model that earns there (models only, input without rule columns)" {
    fit_models -o "$W/e.json"
    # regime A: gru knows the next move; B: lstm does; bad is wrong everywhere
    run jq -r '[.weights.A["model:gru"], .weights.A["model:lstm"], .weights.B["model:lstm"], .weights.B["model:gru"]] | @tsv' "$W/e.json"
    read -r a_gru a_lstm b_lstm b_gru <<<"$output"
    awk -v a="$a_gru" -v b="$b_lstm" 'BEGIN { exit !(a > 0.8 && b > 0.8) }'
    awk -v a="$a_lstm" -v b="$b_gru" 'BEGIN { exit !(a < 0.2 && b < 0.2) }'
    # the statistics agree: the earner's after-fee Sharpe is positive where it earns, negative elsewhere
    run jq -e '.stats.A["model:gru"].sharpe > 1 and .stats.B["model:gru"].sharpe < 0 and .stats.B["model:lstm"].sharpe > 1' "$W/e.json"
    assert_success
    run jq -r '.strategies | join(",")' "$W/e.json"
    assert_output "model:gru,model:lstm,model:bad"
    run jq -r '.regimes | join(",")' "$W/e.json"
    assert_output "A,B,C"
}

@test "a strategy that only loses gets zero weight in every regime, globally and in every window" {
    fit_models --walk-forward --train-days 60 --step-days 15 -o "$W/e.json"
    run jq -r '[.weights[]["model:bad"], .global["model:bad"], (.windows[] | .weights[]["model:bad"], .global["model:bad"])] | unique | join(",")' "$W/e.json"
    assert_output "0"
    run jq -e '.stats.all["model:bad"].sharpe < 0 and (.windows | length) > 5' "$W/e.json"
    assert_success
    # every regime's weights sum to 1 or are all 0
    run jq -r '[.weights[], .global, (.windows[] | .weights[], .global)] | map(add) | map(if . == 0 then 0 elif (. - 1 | fabs) < 1e-12 then 1 else . end) | unique | join(",")' "$W/e.json"
    [[ "$output" == "0,1" || "$output" == "1" || "$output" == "0" ]]
}

@test "a regime with fewer bars than --min-samples takes the global weights, and the file says so" {
    fit_models -o "$W/e.json"
    run jq -c '.fallback' "$W/e.json"
    assert_output '["C"]'
    run jq -e '.weights.C == .global and .stats.C["model:gru"].bars == 60' "$W/e.json"
    assert_success
    run jq -e '.min_samples == 100 and .shrinkage.C == null' "$W/e.json"
    assert_success
    # with a lower bar C gets weights of its own
    kml-ensemble fit --quiet --strategies model:gru,model:lstm $MODELS --min-samples 50 -o "$W/e2.json" "$D/labelled.csv"
    run jq -c '.fallback' "$W/e2.json"
    assert_output '[]'
    run kml-ensemble show "$W/e.json"
    assert_success
    assert_output --partial "fallback to global (fewer than 100 bars): C"
}

# Windows of a walk-forward fit on the first N rows of FILE whose end is at or
# before the last kept bar, one compact JSON a line.
windows_upto() { # FILE N outfile opts...
    local f=$1 n=$2 o=$3
    shift 3
    head -n $((n + 1)) "$f" >"$W/cut.csv"
    kml-ensemble fit --quiet --walk-forward "$@" -o "$W/cut.json" "$W/cut.csv"
    local last
    last=$(tail -n 1 "$W/cut.csv" | cut -d, -f1)
    jq -c --argjson t "$last" '.windows[] | select(.to <= $t)' "$W/cut.json" >"$o"
}

@test "truncating the input after bar t leaves every walk-forward window ending by t identical (synthetic, models; also --joint)" {
    for joint in "" --joint; do
    opts=(--strategies model:gru,model:lstm,model:bad $MODELS --min-samples 100 --train-days 40 --step-days 10 $joint)
    kml-ensemble fit --quiet --walk-forward "${opts[@]}" -o "$W/full.json" "$D/labelled.csv"
    for n in 2500 3700 5999; do
        windows_upto "$D/labelled.csv" $n "$W/part.txt" "${opts[@]}"
        k=$(wc -l <"$W/part.txt")
        [ "$k" -ge 3 ]
        jq -c '.windows[]' "$W/full.json" | head -n "$k" >"$W/fullk.txt"
        cmp "$W/part.txt" "$W/fullk.txt"
        # no window's fit reaches its own start
        run jq -e 'all(.windows[] | select(.fitted_last != null); .fitted_last < .from)' "$W/cut.json"
        assert_success
    done
    done
}

@test "truncation leaves walk-forward windows identical on real SOL/USD hourly data (rule strategies)" {
    need_data SOLUSD_60.csv
    kml-features "$KML_SHARED_DATA/kraken/SOLUSD_60.csv" | kml-regime label --method rules >"$W/sol.csv"
    opts=(--train-days 120 --step-days 30)
    kml-ensemble fit --quiet --walk-forward "${opts[@]}" --pair SOL/USD --source real -o "$W/full.json" "$W/sol.csv"
    rows=$(($(wc -l <"$W/sol.csv") - 1))
    for n in 6000 $((rows / 2 + 17)) $((rows - 500)); do
        windows_upto "$W/sol.csv" $n "$W/part.txt" "${opts[@]}"
        k=$(wc -l <"$W/part.txt")
        [ "$k" -ge 2 ]
        jq -c '.windows[]' "$W/full.json" | head -n "$k" >"$W/fullk.txt"
        cmp "$W/part.txt" "$W/fullk.txt"
    done
    # the file: every rule strategy, the rules' regimes, real data, out-of-sample statistics beside buy and hold
    run jq -r '.strategies | join(",")' "$W/full.json"
    assert_output "hold,trend,meanrev,breakout,momentum,voltrend"
    run jq -e '.data.pair == "SOL/USD" and .data.source == "real" and .interval == 3600 and (.oos.hold.all.bars > 10000) and (.oos.ensemble.all.bars == .oos.hold.all.bars) and (.regimes | length) >= 3' "$W/full.json"
    assert_success
}

@test "deterministic: the same input gives a byte-identical file; --seed changes nothing" {
    fit_models --walk-forward --train-days 60 --step-days 15 -o "$W/a.json"
    fit_models --walk-forward --train-days 60 --step-days 15 --seed 7 -o "$W/b.json"
    cmp "$W/a.json" "$W/b.json"
    run jq -e '.joint == false' "$W/a.json"
    assert_success
    # --joint: recorded, deterministic, weights still on each regime's simplex with the loser at 0
    fit_models --joint --walk-forward --train-days 60 --step-days 15 -o "$W/j1.json"
    fit_models --joint --walk-forward --train-days 60 --step-days 15 -o "$W/j2.json"
    cmp "$W/j1.json" "$W/j2.json"
    run jq -e '.joint == true and ([.weights[]["model:bad"], (.windows[] | .weights[]["model:bad"])] | all(. == 0))' "$W/j1.json"
    assert_success
    # numbers round-trip: a value read back prints the same shortest text
    run jq -e '.weights.A["model:gru"] | type == "number"' "$W/a.json"
    assert_success
}

@test "rule strategies and models together; objectives; default selection adds model:<arch> per arch" {
    kml-ensemble fit --quiet --predictions "$D/gru.csv" --min-samples 100 -o "$W/e.json" "$D/rules.csv"
    run jq -r '.strategies | join(",")' "$W/e.json"
    assert_output "hold,trend,meanrev,breakout,momentum,voltrend,model:gru"
    run jq -e '.weights.A["model:gru"] > 0.5' "$W/e.json"
    assert_success
    for ob in sortino return; do
        kml-ensemble fit --quiet --objective $ob --predictions "$D/gru.csv" --min-samples 100 -o "$W/$ob.json" "$D/rules.csv"
        run jq -e --arg ob $ob '.objective == $ob and .weights.A["model:gru"] > 0.5' "$W/$ob.json"
        assert_success
    done
    # --fee is what every return was charged
    kml-ensemble fit --quiet --fee 0.001 --predictions "$D/gru.csv" -o "$W/f.json" "$D/rules.csv"
    run jq -e '.fee == 0.001 and .data.bars > 5000' "$W/f.json"
    assert_success
}

@test "show: regimes down, strategies across, each cell the weight and the Sharpe of the file" {
    fit_models -o "$W/e.json"
    run kml-ensemble show "$W/e.json"
    assert_success
    assert_line --index 2 --regexp '^regime +model:gru +model:lstm +model:bad$'
    w=$(jq -r '.weights.A["model:gru"]' "$W/e.json")
    s=$(jq -r '.stats.A["model:gru"].sharpe' "$W/e.json")
    want=$(awk -v w="$w" -v s="$s" 'BEGIN { printf "%.3f %+.2f", w, s }')
    line=$(printf '%s\n' "${lines[@]}" | grep '^A ')
    [[ "$line" == *" $want "* ]]
    assert_line --regexp '^global '
    # a walk-forward file adds the out-of-sample table, its numbers from oos
    fit_models --walk-forward --train-days 60 --step-days 15 -o "$W/wf.json"
    run kml-ensemble show "$W/wf.json"
    assert_success
    assert_output --partial "walk-forward: $(jq '.windows | length' "$W/wf.json") windows"
    e=$(jq -r '.oos.ensemble.all.sharpe' "$W/wf.json")
    h=$(jq -r '.oos.hold.all.sharpe' "$W/wf.json")
    want=$(awk -v e="$e" -v h="$h" 'BEGIN { printf "%.2f +%.2f$", e, h }')
    line=$(printf '%s\n' "${lines[@]}" | grep '^all ')
    [[ "$line" =~ $want ]]
}

@test "list names every rule strategy with its columns" {
    run kml-ensemble list
    assert_success
    assert_line --index 0 "strategy,band,warmup,columns,summary"
    assert_output --partial 'trend,0.25,0,"ema_ratio_12,ema_ratio_26,ema_ratio_50,macd_hist_n,rv_24"'
    assert_output --partial "model:<arch>"
}

@test "the fit is logged to logs/ml_training.log" {
    fit_models -o "$W/e.json"
    run jq -r 'select(.msg == "ensemble fit") | [.component, .output, .strategies, .regimes] | @tsv' "$W/logs/ml_training.log"
    assert_output "$(printf 'kml-ensemble\t%s\t3\t3' "$W/e.json")"
}

@test "settings come from the configuration's ensemble section and fees; options override them" {
    printf '{"ensemble": {"objective": "return", "min_samples": 70, "penalty": 0.5, "min_confidence": 0.3, "adaptation_rate": 0.02, "adaptation_max": 3}, "fees": {"taker": 0.001}, "sizing": {"min_confidence": 0.7}}\n' >"$W/cfg.json"
    kml-ensemble fit --quiet --config "$W/cfg.json" --strategies model:gru --predictions "$D/gru.csv" -o "$W/c.json" "$D/labelled.csv"
    run jq -c '[.objective, .min_samples, .penalty, .fee, .adaptation.rate, .adaptation.max, .thresholds.min_confidence]' "$W/c.json"
    assert_output '["return",70,0.5,0.001,0.02,3,0.3]'
    run jq -c '.fallback' "$W/c.json"
    assert_output '["C"]'
    kml-ensemble fit --quiet --config "$W/cfg.json" --objective sortino --min-samples 50 --fee 0.002 --penalty 0 --strategies model:gru --predictions "$D/gru.csv" -o "$W/c.json" "$D/labelled.csv"
    run jq -c '[.objective, .min_samples, .penalty, .fee, .fallback]' "$W/c.json"
    assert_output '["sortino",50,0,0.002,[]]'
    printf '{"ensemble": {"objective": "best"}}\n' >"$W/bad.json"
    run kml-ensemble fit --config "$W/bad.json" --strategies model:gru --predictions "$D/gru.csv" -o "$W/c2.json" "$D/labelled.csv"
    assert_failure 78
    assert_output --partial '$.ensemble.objective'
    [ ! -e "$W/c2.json" ]
}

@test "a break in the data (more than --max-gap + 1 intervals) restarts the strategies' state" {
    # 4 hourly bars, 10 missing, 6 more; a model at p_up - p_down = 0.3, then 0.4
    # (within its 0.25 band: held at 0.3 unless the break restarted it)
    printf 'time,close,regime,p_A\n' >"$W/l.csv"
    printf 'time,arch,p_down,p_flat,p_up\n' >"$W/p.csv"
    for i in 0 1 2 3 14 15 16 17 18 19; do
        printf '%d,%s,A,1\n' $((1600000000 + 3600 * i)) $((100 + i)) >>"$W/l.csv"
        if [ "$i" -lt 10 ]; then p='0.2,0.3,0.5'; else p='0.1,0.4,0.5'; fi
        printf '%d,x,%s\n' $((1600000000 + 3600 * i)) "$p" >>"$W/p.csv"
    done
    # turnover: 0.3 to enter, 0.1 more where the restarted model says 0.4
    kml-ensemble fit --quiet --strategies model:x --predictions "$W/p.csv" --min-samples 2 -o "$W/b.json" "$W/l.csv"
    run jq -e '.data.breaks == 1 and .data.bars == 9 and ((.stats.all["model:x"].turnover * 9 - 0.4) | fabs) < 1e-12' "$W/b.json"
    assert_success
    # bridged at --max-gap 20: no break, the band holds 0.3
    kml-ensemble fit --quiet --max-gap 20 --strategies model:x --predictions "$W/p.csv" --min-samples 2 -o "$W/nb.json" "$W/l.csv"
    run jq -e '.data.breaks == 0 and ((.stats.all["model:x"].turnover * 9 - 0.3) | fabs) < 1e-12' "$W/nb.json"
    assert_success
    # the return across the break is earned by the position held before it
    run jq -e '.stats.all["model:x"].bars == 9' "$W/b.json"
    assert_success
    run kml-ensemble fit --max-gap -1 -o "$W/x.json" "$W/l.csv"
    assert_failure 64
}

# ---- malformed inputs: one located line, exit 65, the old file untouched ----

expect_65() { # message-substring, then the command
    local msg=$1
    shift
    echo old >"$W/e.json"
    run "$@"
    assert_failure 65
    assert_output --partial "$msg"
    [ "${#lines[@]}" -eq 1 ]
    [ "$(cat "$W/e.json")" = old ]
    [ -z "$(ls "$W" | grep -v -e '^e.json$' -e '^logs$' -e '\.csv$')" ] # no temporary left
}

@test "error: no regime column" {
    cut -d, -f1-2 "$D/labelled.csv" >"$W/noreg.csv"
    expect_65 "noreg.csv:1: column 'regime': not in the header" \
        kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" -o "$W/e.json" "$W/noreg.csv"
}

@test "error: unknown strategy" {
    expect_65 "unknown strategy 'trendy'" kml-ensemble fit --strategies trendy,model:gru $MODELS -o "$W/e.json" "$D/labelled.csv"
}

@test "error: a selected strategy's columns missing, named with the strategy" {
    expect_65 "labelled.csv:1: strategy 'trend' needs columns 'ema_ratio_12', 'ema_ratio_26', 'ema_ratio_50', 'macd_hist_n', 'rv_24'" \
        kml-ensemble fit $MODELS -o "$W/e.json" "$D/labelled.csv"
}

@test "error: a model strategy without predictions" {
    expect_65 "strategy 'model:gnn': no predictions for arch 'gnn'" \
        kml-ensemble fit --strategies model:gnn $MODELS -o "$W/e.json" "$D/labelled.csv"
    expect_65 "(give --predictions FILE)" kml-ensemble fit --strategies model:gru -o "$W/e.json" "$D/labelled.csv"
}

@test "error: a predictions file with a bad row" {
    awk -F, -v OFS=, 'NR == 50 { $5 = "abc" } 1' "$D/gru.csv" >"$W/p1.csv"
    expect_65 "p1.csv:50: column 'p_up': not a number: \"abc\"" \
        kml-ensemble fit --strategies model:gru --predictions "$W/p1.csv" -o "$W/e.json" "$D/labelled.csv"
    awk -F, -v OFS=, 'NR == 60 { $4 += 0.1 } 1' "$D/gru.csv" >"$W/p2.csv"
    expect_65 "p2.csv:60: column 'p_up': p_down + p_flat + p_up = 1.1" \
        kml-ensemble fit --strategies model:gru --predictions "$W/p2.csv" -o "$W/e.json" "$D/labelled.csv"
    awk -F, -v OFS=, 'NR == 70 { $3 = -0.05 } 1' "$D/gru.csv" >"$W/p3.csv"
    expect_65 "p3.csv:70: column 'p_down': probability -0.05 outside [0, 1]" \
        kml-ensemble fit --strategies model:gru --predictions "$W/p3.csv" -o "$W/e.json" "$D/labelled.csv"
    sed '80s/$/,1/' "$D/gru.csv" >"$W/p4.csv"
    expect_65 "p4.csv:80: row has 6 fields, expected 5" \
        kml-ensemble fit --strategies model:gru --predictions "$W/p4.csv" -o "$W/e.json" "$D/labelled.csv"
}

@test "error: an arch missing for some bars" {
    sed '200d' "$D/lstm.csv" >"$W/lstm.csv"
    t=$(sed -n 200p "$D/lstm.csv" | cut -d, -f1)
    expect_65 "gru.csv:200: time $t has a prediction for arch 'gru' but none for arch 'lstm'" \
        kml-ensemble fit --strategies model:gru,model:lstm --predictions "$D/gru.csv" --predictions "$W/lstm.csv" -o "$W/e.json" "$D/labelled.csv"
    # the same arch in two files
    expect_65 "arch 'gru' is also in" \
        kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" --predictions "$D/gru.csv" -o "$W/e.json" "$D/labelled.csv"
}

@test "error: non-increasing time (labelled and predictions)" {
    sed '30{h;d};31G' "$D/labelled.csv" >"$W/swap.csv"
    expect_65 "swap.csv:31: column 'time': time" \
        kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" -o "$W/e.json" "$W/swap.csv"
    sed '30{h;d};31G' "$D/gru.csv" >"$W/pswap.csv"
    expect_65 "pswap.csv:31: column 'time': time" \
        kml-ensemble fit --strategies model:gru --predictions "$W/pswap.csv" -o "$W/e.json" "$D/labelled.csv"
}

@test "error: a prediction for a time that is not a bar; a regime without its p_ column; no rows" {
    awk -F, '{ print } NR == 40 { print $1 + 1800 ",gru,0.2,0.3,0.5" }' "$D/gru.csv" >"$W/odd.csv"
    expect_65 "odd.csv:41: time $(($(sed -n 40p "$D/gru.csv" | cut -d, -f1) + 1800)) is not a bar of" \
        kml-ensemble fit --strategies model:gru --predictions "$W/odd.csv" -o "$W/e.json" "$D/labelled.csv"
    sed '500s/,A,/,Z,/' "$D/labelled.csv" >"$W/z.csv"
    expect_65 "z.csv:500: column 'regime': regime 'Z' has no p_Z column" \
        kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" -o "$W/e.json" "$W/z.csv"
    head -n 1 "$D/labelled.csv" >"$W/empty.csv"
    expect_65 "empty.csv: no rows" \
        kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" -o "$W/e.json" "$W/empty.csv"
    sed '700s/^\([0-9]*\),[^,]*,/\1,-3,/' "$D/labelled.csv" >"$W/neg.csv"
    expect_65 "neg.csv:700: column 'close': price -3 is not positive" \
        kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" -o "$W/e.json" "$W/neg.csv"
}

@test "error: too few bars; too many strategies" {
    head -n 3 "$D/rules.csv" >"$W/two.csv"
    expect_65 "two.csv: 2 bars, too few to fit (need at least 3)" \
        kml-ensemble fit --strategies hold -o "$W/e.json" "$W/two.csv"
    awk -F, 'NR == 1 { print "time,arch,p_down,p_flat,p_up"; next }
        NR <= 201 { for (a = 1; a <= 60; a++) print $1 ",m" a ",0.2,0.3,0.5" }' "$D/rules.csv" >"$W/many.csv"
    expect_65 "66 strategies selected; at most 64" kml-ensemble fit --predictions "$W/many.csv" -o "$W/e.json" "$D/rules.csv"
}

@test "error: missing input 66; show on a malformed file 65 naming the key" {
    run kml-ensemble fit --strategies model:gru --predictions "$D/gru.csv" -o "$W/e.json" "$W/nope.csv"
    assert_failure 66
    run kml-ensemble show "$W/nope.json"
    assert_failure 66
    echo '{"format": "kml-ensemble", "strategies": ["a"], "regimes": ["r"], "weights": {"r": {"a": "x"}}, "global": {"a": 1}}' >"$W/bad.json"
    run kml-ensemble show "$W/bad.json"
    assert_failure 65
    assert_output --partial "bad.json: key 'weights.r.a': expected a number"
    echo '{"format": "kml-ensemble", "strategies": ["a"], "regimes": ["r"], "global": {"a": 1}}' >"$W/bad2.json"
    run kml-ensemble show "$W/bad2.json"
    assert_failure 65
    assert_output --partial "bad2.json: key 'weights': missing"
    echo '{"format": ' >"$W/bad3.json"
    run kml-ensemble show "$W/bad3.json"
    assert_failure 65
    assert_output --partial "bad3.json:"
}
