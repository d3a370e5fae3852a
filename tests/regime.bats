#!/usr/bin/env bats
# kml-regime: fit/label/score on kml-fetch sim data with known regimes, causal
# labels (HMM and rules), the regime.json contract, and every error path.
load helper
bats_require_minimum_version 1.5.0

# Features computed here from candles, so most of the suite does not depend on
# kml-features: ret_1 and ret_8 (log returns over 1 and 8 bars), log_park_4
# (the log of kml-features' park_4, the Parkinson volatility of the last 4
# bars), and for the rules ret_24, rv_24 (root mean square of the last 24
# one-bar returns) and trend_24 (|ret_24| in units of rv_24 * sqrt(24), times
# 25: a stand-in for ADX). Every value of a row uses that bar and earlier ones
# only. The test of the default columns runs the real chain through kml-features.
feats() {
    awk 'BEGIN { FS = OFS = ","; c = 1 / (4 * log(2)); print "time,close,ret_1,ret_8,log_park_4,ret_24,rv_24,trend_24" }
        NR > 1 { n = NR - 1; cl[n % 25] = $5; q[n % 4] = log($3 / $4) ^ 2
            if (n > 1) r2[n % 24] = log($5 / cl[(n - 1) % 25]) ^ 2
            if (n >= 25) {
                s = 0; for (j = 0; j < 4; j++) s += q[j]
                v = 0; for (j = 0; j < 24; j++) v += r2[j]; rv = sqrt(v / 24)
                r24 = log($5 / cl[(n - 24) % 25]); tr = 25 * (r24 < 0 ? -r24 : r24) / (rv * sqrt(24))
                printf "%s,%s,%.10g,%.10g,%.10g,%.10g,%.10g,%.6g\n", $1, $5, log($5 / cl[(n - 1) % 25]),
                       log($5 / cl[(n - 8) % 25]), log(sqrt(c * s / 4)), r24, rv, tr } }'
}

setup_file() {
    export D="$BATS_FILE_TMPDIR"
    for s in 1 2 3; do
        kml-fetch sim --pair SOL/USD --bars 4000 --seed $s --regimes-out "$D/truth$s.csv" 2>/dev/null >"$D/candles$s.csv"
        feats <"$D/candles$s.csv" >"$D/f$s.csv"
    done
    kml-regime fit --columns ret_8,log_park_4 -o "$D/m1.json" "$D/f1.csv" 2>/dev/null
}

setup() {
    W="$BATS_TEST_TMPDIR"
}

# Lines that break the stated tolerances between a fitted regime.json (stdin)
# and the generating parameters of lib/sim.c (docs/data.md) for an asset with
# volatility multiple $1, given the state matching of score line $2. Per state
# matched to regime s (mu, vol per bar; k the multiple):
#   the state's name is s (the naming rule recovers the true names);
#   ret_8 mean within 0.3 generating ret_8 sd of 8 mu k;
#   ret_8 sd within 25 % of sqrt(8) vol k (GARCH and Student-t noise on top);
#   log_park_4 mean within 0.25 of log(vol k) (log of a 4-bar estimate: biased low);
#   every transition probability within 0.04 of the generating one
#   (p_stay on the diagonal, (1 - p_stay) x the leave matrix off it). The
#   Gaussian HMM reads some GARCH swings inside a regime as short switches, so
#   its persistence comes out lower: 0.955 for p_stay 0.99 at worst in 18 runs.
recovery_errors() {
    jq -r --argjson k "$1" --argjson sc "$2" '
        def gen: {trending_up: {mu: 0.0018, vol: 0.005, stay: 0.99, leave: {trending_down: 0.25, ranging: 0.50, volatile: 0.25}},
                  trending_down: {mu: -0.0018, vol: 0.008, stay: 0.99, leave: {trending_up: 0.25, ranging: 0.45, volatile: 0.30}},
                  ranging: {mu: 0, vol: 0.0025, stay: 0.985, leave: {trending_up: 0.35, trending_down: 0.35, volatile: 0.30}},
                  volatile: {mu: 0, vol: 0.02, stay: 0.97, leave: {trending_up: 0.30, trending_down: 0.30, ranging: 0.40}}};
        . as $m | gen as $g | [range(0; $m.states)] as $ks
        | $ks[] as $i | $m.names[$i] as $n | $sc.matching[$n] as $t | $g[$t] as $p
        | $m.means[$i][0] as $m8 | (8 * $p.mu * $k) as $g8 | ((8 | sqrt) * $p.vol * $k) as $s8
        | ($m.variances[$i][0] | sqrt) as $f8 | ($p.vol * $k | log) as $lv
        | (if $n != $t then "state \($n) matched regime \($t)" else empty end),
          (if (($m8 - $g8) | fabs) > 0.3 * $s8 then "\($n): ret_8 mean \($m8), generating \($g8)" else empty end),
          (if (($f8 / $s8 - 1) | fabs) > 0.25 then "\($n): ret_8 sd \($f8), generating \($s8)" else empty end),
          (if (($m.means[$i][1] - $lv) | fabs) > 0.25 then "\($n): log_park_4 mean \($m.means[$i][1]), log(vol k) \($lv)" else empty end),
          ($ks[] as $j | $sc.matching[$m.names[$j]] as $u
           | (if $i == $j then $p.stay else (1 - $p.stay) * $p.leave[$u] end) as $q
           | if (($m.trans_prob[$i][$j] - $q) | fabs) > 0.04
             then "\($n)->\($m.names[$j]): \($m.trans_prob[$i][$j]), generating \($q)" else empty end)'
}

# ---------------------------------------------------------------- accuracy

@test "regime: filtered labels match the sim's regimes on >= 85 % of bars and recover its parameters (3 seeds)" {
    for s in 1 2 3; do
        kml-regime fit --columns ret_8,log_park_4 --seed 7 -o "$W/m$s.json" "$D/f$s.csv" 2>/dev/null
        kml-regime label -m "$W/m$s.json" "$D/f$s.csv" >"$W/l$s.csv"
        run kml-regime score --truth "$D/truth$s.csv" --pair SOL/USD "$W/l$s.csv"
        assert_success
        echo "seed $s: $output"
        sc=$output
        run jq -e '.rows > 3900 and .accuracy >= 0.85' <<<"$sc"
        assert_success
        run recovery_errors 1.7 "$sc" <"$W/m$s.json"
        assert_success
        assert_output ""
    done
}

@test "regime: the smoothed --viterbi path is more accurate than the causal filter, and differs from it" {
    kml-regime label -m "$D/m1.json" "$D/f1.csv" >"$W/filt.csv"
    kml-regime label --viterbi -m "$D/m1.json" "$D/f1.csv" >"$W/vit.csv"
    run cmp -s "$W/filt.csv" "$W/vit.csv"
    assert_failure
    a_f=$(kml-regime score --truth "$D/truth1.csv" "$W/filt.csv" | jq .accuracy)
    a_v=$(kml-regime score --truth "$D/truth1.csv" "$W/vit.csv" | jq .accuracy)
    echo "filtered $a_f viterbi $a_v"
    run jq -en "$a_v > $a_f"
    assert_success
    # same columns; the smoothed posteriors sum to 1 per row
    assert_equal "$(head -1 "$W/vit.csv")" "$(head -1 "$W/filt.csv")"
    run awk -F, 'NR > 1 { s = $(NF-3) + $(NF-2) + $(NF-1) + $NF; if (s < 1 - 1e-9 || s > 1 + 1e-9) { print NR ": " s; exit 1 } }' "$W/vit.csv"
    assert_success
}

# ---------------------------------------------------------------- causality

@test "regime: removing every row after t leaves the filtered labels up to t unchanged" {
    kml-regime label -m "$D/m1.json" "$D/f1.csv" >"$W/whole.csv"
    for n in 2 3 100 1001 2500 3975; do
        head -n "$n" "$D/f1.csv" | kml-regime label -m "$D/m1.json" >"$W/part.csv"
        assert_equal "$(wc -l <"$W/part.csv")" "$n"
        run cmp "$W/part.csv" <(head -n "$n" "$W/whole.csv")
        assert_success
    done
}

@test "regime: the --viterbi labels do look ahead (what the causal check would catch)" {
    kml-regime label --viterbi -m "$D/m1.json" "$D/f1.csv" >"$W/whole.csv"
    head -n 1001 "$D/f1.csv" | kml-regime label --viterbi -m "$D/m1.json" >"$W/part.csv"
    run cmp -s "$W/part.csv" <(head -n 1001 "$W/whole.csv")
    assert_failure
}

@test "regime: the rules labels are causal too" {
    args=(--method rules --adx-col trend_24 --trend-col ret_24 --vol-col rv_24 --window 200)
    kml-regime label "${args[@]}" "$D/f1.csv" >"$W/whole.csv"
    for n in 2 150 201 2000 3975; do
        head -n "$n" "$D/f1.csv" | kml-regime label "${args[@]}" >"$W/part.csv"
        run cmp "$W/part.csv" <(head -n "$n" "$W/whole.csv")
        assert_success
    done
}

# ---------------------------------------------------------------- rules

@test "regime: --method rules appends regime and one-hot p_ columns for the four classes" {
    run kml-regime label --method rules --adx-col trend_24 --trend-col ret_24 --vol-col rv_24 "$D/f1.csv"
    assert_success
    assert_line --index 0 "$(head -1 "$D/f1.csv"),regime,p_trending_up,p_trending_down,p_ranging,p_volatile"
    # every class occurs; the p_ column of the named class is 1 and the others 0
    run awk -F, 'NR > 1 { c[$(NF-4)]++; want = ($(NF-4) == "trending_up") "," ($(NF-4) == "trending_down") "," ($(NF-4) == "ranging") "," ($(NF-4) == "volatile")
                 if ($(NF-3) "," $(NF-2) "," $(NF-1) "," $NF != want) { print NR ": " $0; exit 1 } }
                 END { for (k in c) n++; if (n != 4) { print n " classes"; exit 1 } }' <<<"$output"
    assert_success
    # the rules agree with the regimes better than chance
    kml-regime label --method rules --adx-col trend_24 --trend-col ret_24 --vol-col rv_24 "$D/f1.csv" >"$W/r.csv"
    run jq -e '.accuracy > 0.4' <(kml-regime score --truth "$D/truth1.csv" "$W/r.csv")
    assert_success
}

@test "regime: rules thresholds move rows between classes as documented" {
    local a=(--method rules --adx-col trend_24 --trend-col ret_24 --vol-col rv_24)
    # volatility first: a percentile of at least 0 always holds
    kml-regime label "${a[@]}" --vol-pct 0 "$D/f1.csv" >"$W/v.csv"
    run awk -F, 'NR > 1 && $(NF-4) != "volatile" { print NR; exit 1 }' "$W/v.csv"
    assert_success
    # otherwise a row trends, by the sign of ret_24, when trend_24 >= --adx-min, else it ranges
    for m in 25 40 0; do
        kml-regime label "${a[@]}" --adx-min $m "$D/f1.csv" >"$W/t.csv"
        run awk -F, -v m=$m 'NR > 1 && $(NF-4) != "volatile" { n++
                 want = $8 >= m && $6 > 0 ? "trending_up" : $8 >= m && $6 < 0 ? "trending_down" : "ranging"
                 if ($(NF-4) != want) { print NR ": " $0; exit 1 } }
                 END { if (n < 2000) { print n " rows not volatile"; exit 1 } }' "$W/t.csv"
        assert_success
    done
}

# ---------------------------------------------------------------- regime.json

@test "regime: regime.json holds the documented keys in the units of the columns" {
    run jq -e '.states == 4 and .columns == ["ret_8","log_park_4"] and (.names | sort) == ["ranging","trending_down","trending_up","volatile"]
        and (.start_prob | length) == 4 and ((.start_prob | add) - 1 | fabs) < 1e-9
        and (.trans_prob | length) == 4 and all(.trans_prob[]; length == 4 and ((add - 1) | fabs) < 1e-9)
        and (.means | length) == 4 and all(.means[]; length == 2) and all(.variances[]; length == 2 and all(.[]; . > 0))
        and (.log_likelihood | type) == "number" and (.bic | type) == "number"
        and .iterations >= 1 and (.converged | type) == "boolean" and .covariance_type == "diag"
        and (.scaler.mean | length) == 2 and (.scaler.std | length) == 2
        and .naming.return_column == "ret_8" and .naming.volatility_column == "log_park_4"
        and .bic == -2 * .log_likelihood + .n_params * (.rows | log)' "$D/m1.json"
    assert_success
    # units of the input: the states' log_park_4 means lie within the column's range and
    # the scaler is the column's mean; states are stored by volatility, low to high
    read -r lo hi mean < <(awk -F, 'NR > 1 { v = $5; if (NR == 2 || v < lo) lo = v; if (NR == 2 || v > hi) hi = v; s += v; n++ }
                                    END { printf "%.17g %.17g %.17g\n", lo, hi, s / n }' "$D/f1.csv")
    run jq -e --argjson lo "$lo" --argjson hi "$hi" --argjson mu "$mean" \
        'all(.means[]; .[1] > $lo and .[1] < $hi) and ((.scaler.mean[1] - $mu) | fabs) < 1e-6
         and ([.means[][1]] == ([.means[][1]] | sort))' "$D/m1.json"
    assert_success
}

@test "regime: a fit is byte-identical for a seed, whatever --threads" {
    kml-regime fit --columns ret_8,log_park_4 --restarts 4 --seed 3 --threads 1 -o "$W/a.json" "$D/f2.csv" 2>/dev/null
    kml-regime fit --columns ret_8,log_park_4 --restarts 4 --seed 3 --threads 3 -o "$W/b.json" "$D/f2.csv" 2>/dev/null
    run cmp "$W/a.json" "$W/b.json"
    assert_success
    kml-regime label -m "$W/a.json" "$D/f2.csv" >"$W/a.csv"
    kml-regime label -m "$W/b.json" "$D/f2.csv" >"$W/b.csv"
    run cmp "$W/a.csv" "$W/b.csv"
    assert_success
}

@test "regime: --states auto chooses K from 2 to 5 by the smallest BIC" {
    run kml-regime fit --states auto --columns ret_8,log_park_4 --restarts 4 -o "$W/auto.json" "$D/f1.csv"
    assert_success
    assert_output --partial "states (by BIC)"
    run jq -e '.fit.auto_states and (.fit.bic_by_states | keys) == ["2","3","4","5"]
               and .bic == ([.fit.bic_by_states[]] | min) and .fit.bic_by_states[.states | tostring] == .bic' "$W/auto.json"
    assert_success
}

@test "regime: full covariances are fitted, stored symmetric, and label" {
    run kml-regime fit --covariance full --columns ret_8,log_park_4 --restarts 2 -o "$W/full.json" "$D/f1.csv"
    assert_success
    run jq -e '.covariance_type == "full" and (has("variances") | not) and (.covariances | length) == 4
               and all(.covariances[]; .[0][1] == .[1][0] and .[0][0] > 0 and .[1][1] > 0 and .[0][0] * .[1][1] > .[0][1] * .[0][1])' "$W/full.json"
    assert_success
    kml-regime label -m "$W/full.json" "$D/f1.csv" >"$W/l.csv"
    run jq -e '.accuracy >= 0.8' <(kml-regime score --truth "$D/truth1.csv" "$W/l.csv")
    assert_success
}

@test "regime: stable on 100k rows: finite parameters, likelihood and probabilities" {
    kml-fetch sim --pair BTC/USD --bars 100024 --seed 11 --regimes-out "$W/truth.csv" 2>/dev/null | feats >"$W/big.csv"
    run kml-regime fit --columns ret_8,log_park_4 --restarts 2 --max-iter 60 -o "$W/big.json" "$W/big.csv"
    assert_success
    assert_output --partial "100000 rows, 4 states"
    run jq -e '.rows == 100000 and (.log_likelihood | isnormal) and all(.means[][], .variances[][], .trans_prob[][]; isnormal or . == 0)
               and all(.variances[][]; . > 0)' "$W/big.json"
    assert_success
    kml-regime label -m "$W/big.json" "$W/big.csv" >"$W/big_l.csv"
    run awk -F, 'NR > 1 { for (i = NF - 3; i <= NF; i++) if ($i == "" || $i !~ /^[0-9.e+-]+$/) { print NR ": " $i; exit 1 } n++ }
                 END { if (n != 100000) { print n " rows"; exit 1 } }' "$W/big_l.csv"
    assert_success
    run jq -e '.accuracy >= 0.85' <(kml-regime score --truth "$W/truth.csv" "$W/big_l.csv")
    assert_success
}

@test "regime: the real chain kml-fetch sim | kml-features | kml-regime, default columns ret_8,park_4: >= 85 % on 2 of 3 seeds" {
    set -o pipefail
    good=0
    for s in 1 2 3; do
        kml-fetch sim --pair SOL/USD --bars 4000 --seed $s --regimes-out "$W/truth$s.csv" 2>/dev/null | kml-features |
            tee "$W/kf$s.csv" | kml-regime fit -o "$W/d$s.json" 2>/dev/null
        run jq -e '.columns == ["ret_8","park_4"] and .naming.volatility_column == "park_4" and .rows > 3000' "$W/d$s.json"
        assert_success
        sc=$(kml-regime label -m "$W/d$s.json" "$W/kf$s.csv" | kml-regime score --truth "$W/truth$s.csv" --pair SOL/USD)
        echo "seed $s: $sc"
        jq -e '.accuracy >= 0.85' <<<"$sc" >/dev/null && good=$((good + 1))
    done
    [ "$good" -ge 2 ]
    # the awk log_park_4 of this suite is the log of kml-features' park_4
    run awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "park_4") p = i; next }
                 NR == FNR { lp[$1] = log($p); next }
                 $1 in lp { n++; d = lp[$1] - $5; if (d < -1e-8 || d > 1e-8) { print $1 ": " lp[$1] " vs " $5; exit 1 } }
                 END { if (n < 3000) { print n " rows compared"; exit 1 } }' "$W/kf1.csv" "$D/f1.csv"
    assert_success
}

@test "regime: fit and label read stdin; input columns, quoted ones included, pass through" {
    { echo 'time,close,note,ret_8,log_park_4'; awk -F, 'NR > 1 { printf "%s,%s,\"a,b\",%s,%s\n", $1, $2, $4, $5 }' "$D/f1.csv"; } >"$W/q.csv"
    kml-regime fit --columns ret_8,log_park_4 -o "$W/q.json" <"$W/q.csv" 2>/dev/null
    run kml-regime label -m "$W/q.json" <"$W/q.csv"
    assert_success
    assert_line --index 0 --regexp '^time,close,note,ret_8,log_park_4,regime,p_[a-z_]+,p_[a-z_]+,p_[a-z_]+,p_[a-z_]+$'
    assert_line --index 1 --regexp "^$(sed -n 2p "$W/q.csv" | sed 's/[.]/[.]/g'),(trending_up|trending_down|ranging|volatile),"
}

# ---------------------------------------------------------------- CLI

@test "regime: --help of the tool and of each command goes to stdout, exit 0" {
    run --separate-stderr kml-regime --help
    assert_success
    assert_output --partial "fit|label|score"
    assert_output --partial "causal"
    for c in fit label score; do
        run --separate-stderr kml-regime $c --help
        assert_success
        assert_output --partial "usage: kml-regime $c"
        assert_equal "$stderr" ""
    done
    run kml-regime fit --help
    assert_output --partial "--states K|auto"
    assert_output --partial "reads every row"
    run kml-regime label --help
    assert_output --partial "--viterbi"
    assert_output --partial "--method hmm|rules"
}

@test "regime: usage errors are one line with a hint, exit 64" {
    local cases=(
        "|a command is needed: fit, label or score"
        "bogus|unknown command 'bogus'"
        "fit --bogus -o x.json|unknown option '--bogus'"
        "fit|fit needs -o FILE"
        "fit --states 7 -o x.json|states"
        "fit --states many -o x.json|states"
        "fit --covariance tied -o x.json|--covariance: expected diag or full, not 'tied'"
        "fit --columns ret_8,ret_8 -o x.json|--columns: 'ret_8' given twice"
        "fit --restarts 0 -o x.json|restarts"
        "fit -o x.json a.csv b.csv|unexpected operand 'b.csv'"
        "label|label needs -m regime.json (or --method rules)"
        "label --method rules -m x.json|--method rules takes no model (-m)"
        "label --method rules --viterbi|--viterbi applies to --method hmm only"
        "label --method kmeans|--method: expected hmm or rules, not 'kmeans'"
        "label --method rules --vol-pct 2|vol-pct"
        "score|score needs --truth FILE"
    )
    for c in "${cases[@]}"; do
        read -r -a argv <<<"${c%%|*}"
        run --separate-stderr kml-regime "${argv[@]}"
        echo "case: ${c%%|*}"
        assert_equal "$status" 64
        assert_equal "$output" ""
        [[ "$stderr" == "kml-regime: "*"${c#*|}"*"--help"* ]] || { echo "stderr: $stderr"; false; }
        assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
    done
}

@test "regime: a missing input, model or truth file exits 66 naming it" {
    run --separate-stderr kml-regime fit -o "$W/m.json" "$W/none.csv"
    assert_equal "$status" 66
    assert_equal "$stderr" "kml-regime: $W/none.csv: No such file or directory"
    run --separate-stderr kml-regime label -m "$W/none.json" "$D/f1.csv"
    assert_equal "$status" 66
    assert_equal "$stderr" "kml-regime: $W/none.json: No such file or directory"
    run --separate-stderr kml-regime label -m "$D/m1.json" "$W/none.csv"
    assert_equal "$status" 66
    assert_output ""
    run --separate-stderr kml-regime score --truth "$W/none.csv" "$D/f1.csv"
    assert_equal "$status" 66
    [ ! -e "$W/m.json" ]
}

@test "regime: a missing column is a located error at the header, exit 65" {
    run --separate-stderr kml-regime fit --columns ret_8,adx_14 -o "$W/m.json" "$D/f1.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $D/f1.csv:1: column 'adx_14': not in the header (columns: time,close,ret_1,ret_8,log_park_4,ret_24,rv_24,trend_24)"
    cut -d, -f1-3 "$D/f1.csv" >"$W/narrow.csv"
    run --separate-stderr kml-regime label -m "$D/m1.json" "$W/narrow.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/narrow.csv:1: column 'ret_8': not in the header (columns: time,close,ret_1)"
    assert_output ""
    run --separate-stderr kml-regime label --method rules <"$W/narrow.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: <stdin>:1: column 'adx_14': not in the header (columns: time,close,ret_1)"
}

@test "regime: a constant column is a located error, not NaN, exit 65" {
    awk -F, 'BEGIN { OFS = "," } NR > 1 { $5 = "-4.5" } 1' "$D/f1.csv" >"$W/const.csv"
    run --separate-stderr kml-regime fit --columns ret_8,log_park_4 -o "$W/m.json" "$W/const.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/const.csv:2: column 'log_park_4': constant (-4.5 on all 3976 rows); a regime model needs it to vary"
    [ ! -e "$W/m.json" ]
}

@test "regime: too few rows for K states is a located error, exit 65" {
    # 5 rows per free parameter: 4 states over 2 columns have 31, 2 states 11
    head -n 50 "$D/f1.csv" >"$W/few.csv"
    run --separate-stderr kml-regime fit --columns ret_8,log_park_4 -o "$W/m.json" "$W/few.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/few.csv:50: 49 rows are too few for 4 states over 2 columns (need at least 155)"
    run --separate-stderr kml-regime fit --states auto --columns ret_8,log_park_4 -o "$W/m.json" <"$W/few.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: <stdin>:50: 49 rows are too few for 2 states over 2 columns (need at least 55)"
    head -n 1 "$D/f1.csv" >"$W/empty.csv"
    run --separate-stderr kml-regime fit --columns ret_8,log_park_4 -o "$W/m.json" "$W/empty.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/empty.csv:1: 0 rows are too few for 4 states over 2 columns (need at least 155)"
    [ ! -e "$W/m.json" ]
}

@test "regime: a non-numeric field and a labelled input are located errors, exit 65" {
    awk -F, 'BEGIN { OFS = "," } NR == 8 { $4 = "n/a" } 1' "$D/f1.csv" >"$W/bad.csv"
    run --separate-stderr kml-regime fit --columns ret_8,log_park_4 -o "$W/m.json" "$W/bad.csv"
    assert_equal "$status" 65
    [[ "$stderr" == "kml-regime: $W/bad.csv:8: column 'ret_8': "* ]] || { echo "$stderr"; false; }
    run --separate-stderr kml-regime label -m "$D/m1.json" "$W/bad.csv"
    assert_equal "$status" 65
    [[ "$stderr" == "kml-regime: $W/bad.csv:8: column 'ret_8': "* ]] || { echo "$stderr"; false; }
    kml-regime label -m "$D/m1.json" "$D/f1.csv" >"$W/l.csv"
    run --separate-stderr kml-regime label -m "$D/m1.json" "$W/l.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/l.csv:1: column 'regime': already present (is the input labelled already?)"
}

@test "regime: a malformed regime.json names the file and the key, exit 65" {
    jq '.trans_prob[0][0] += 0.5' "$D/m1.json" >"$W/t.json"
    run --separate-stderr kml-regime label -m "$W/t.json" "$D/f1.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/t.json: key 'trans_prob': a probability outside [0, 1]"
    jq 'del(.means)' "$D/m1.json" >"$W/m.json"
    run --separate-stderr kml-regime label -m "$W/m.json" "$D/f1.csv"
    assert_equal "$status" 65
    assert_equal "$stderr" "kml-regime: $W/m.json: key 'means': missing"
    printf '{"format": "kml-regime-hmm",\n "states": }\n' >"$W/s.json"
    run --separate-stderr kml-regime label -m "$W/s.json" "$D/f1.csv"
    assert_equal "$status" 65
    [[ "$stderr" == "kml-regime: $W/s.json:2:"* ]] || { echo "$stderr"; false; }
}

@test "regime: score: a time missing from the truth is located; a market-wide truth of several pairs needs no --pair" {
    kml-fetch sim --pairs SOL/USD,ETH/USD --bars 50 --seed 4 --regimes-out "$W/t2.csv" -o "$W" 2>/dev/null
    head -n 3 "$D/truth1.csv" >"$W/short.csv" # bars 0 and 1; the labels start at bar 24
    kml-regime label -m "$D/m1.json" "$D/f1.csv" >"$W/l.csv"
    run --separate-stderr kml-regime score --truth "$W/short.csv" "$W/l.csv"
    assert_equal "$status" 65
    t=$(sed -n 2p "$W/l.csv" | cut -d, -f1)
    assert_equal "$stderr" "kml-regime: $W/l.csv:2: column 'time': time $t is not in $W/short.csv"
    # the same times for two pairs, each with one regime: consistent, so no error without --pair
    run kml-regime score --truth "$W/t2.csv" <(echo "time,regime"; sed -n '2,40p' "$W/t2.csv" | awk -F, '$2 == "SOL/USD" { print $1 ",x" }')
    assert_success
    assert_output --partial '"rows":'
}

@test "regime: -o is replaced atomically: a failed fit keeps the old file and leaves no temporary" {
    mkdir "$W/out"
    echo '{"old": true}' >"$W/out/regime.json"
    run kml-regime fit --columns ret_8,nope -o "$W/out/regime.json" "$D/f1.csv"
    assert_equal "$status" 65
    assert_equal "$(cat "$W/out/regime.json")" '{"old": true}'
    assert_equal "$(ls -A "$W/out")" "regime.json"
    run kml-regime fit --columns ret_8,log_park_4 --restarts 2 -o "$W/out/regime.json" "$D/f1.csv"
    assert_success
    run jq -e '.format == "kml-regime-hmm"' "$W/out/regime.json"
    assert_success
    assert_equal "$(ls -A "$W/out")" "regime.json"
    run --separate-stderr kml-regime fit --columns ret_8,log_park_4 -o "$W/nodir/regime.json" "$D/f1.csv"
    assert_equal "$status" 73
    [[ "$stderr" == "kml-regime: "*"$W/nodir/"* ]] || { echo "$stderr"; false; }
}

@test "regime: label output to a full disk fails, exit 74" {
    [ -w /dev/full ] || skip "no /dev/full"
    run --separate-stderr bash -c 'kml-regime label -m "$1" "$2" >/dev/full' _ "$D/m1.json" "$D/f1.csv"
    assert_equal "$status" 74
    [[ "$stderr" == "kml-regime: "* ]]
}
