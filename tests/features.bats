#!/usr/bin/env bats
# kml-features: the CLI, its errors, the features against the independent
# pandas reference (tests/features_ref.py) on real Kraken data, the warm-up,
# gaps, --fill, labels and the look-ahead check on every real candles file.
load helper

REF="$KML_ROOT/tests/features_ref.py"
K="$KML_SHARED_DATA/kraken"
ALLGAPS=1000000000

setup() {
    T=$(mktemp -d)
    # n hourly bars of a deterministic zig-zag walk (awk, no dependency)
    gen() {
        awk -v n="$1" -v t0="${2:-1672531200}" 'BEGIN {
            print "time,open,high,low,close,vwap,volume,count"; c = 100
            for (i = 0; i < n; i++) {
                o = c; c = o * (1 + 0.01 * sin(i * 0.7) + 0.003 * cos(i * 1.3))
                h = (o > c ? o : c) * 1.002; l = (o < c ? o : c) * 0.998
                printf "%d,%.6f,%.6f,%.6f,%.6f,,%.4f,%d\n", t0 + 3600 * i, o, h, l, c, 1 + (i % 17), i % 9 + 1
            }
        }'
    }
}

teardown() {
    rm -rf "$T"
}

@test "features: --help prints the usage on stdout and exits 0" {
    run --separate-stderr kml-features --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--labels"* && "$output" == *"--check-lookahead FILE"* && "$output" == *"--max-gap N"* ]]
    [ -z "$stderr" ]
}

@test "features: --list gives every feature with its lookback and warm-up" {
    run kml-features --list
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "name,lookback,warmup,default" ]
    [[ "$output" == *$'\nrsi_14,14,'* ]]
    [[ "$output" == *$'\nema_ratio_200,199,'*',0'* ]]
    # at least 32 columns in the default set
    [ "$(printf '%s\n' "$output" | awk -F, 'NR > 1 && $4 == 1' | wc -l)" -ge 32 ]
}

@test "features: the header is time,close then the features; extra input columns are not copied" {
    gen 900 > "$T/c.csv"
    run --separate-stderr kml-features "$T/c.csv"
    [ "$status" -eq 0 ]
    head=${lines[0]}
    [[ "$head" == time,close,ret_1,ret_2,* ]]
    [[ "$head" != *count* && "$head" != *volume* && "$head" != *y_* ]]
    [ "$(printf '%s' "$head" | tr , '\n' | wc -l)" -ge 33 ]
    # every row has as many fields as the header and no empty field
    printf '%s\n' "$output" | awk -F, 'NR == 1 { n = NF } NF != n || /,,|,$/ { bad++ } END { exit bad > 0 }'
    # rows start after the warm-up: 900 bars, first row at the max lookback + warm-up
    first=$(kml-features --list | awk -F, 'NR > 1 && $4 == 1 && $2 + $3 > m { m = $2 + $3 } END { print m }')
    [ "$(( ${#lines[@]} - 1 ))" -eq $(( 900 - first )) ]
}

@test "features: --features picks and orders columns; stdin works" {
    gen 500 > "$T/c.csv"
    run --separate-stderr kml-features --features rsi_14,ret_1 < "$T/c.csv"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "time,close,rsi_14,ret_1" ]
    # rsi_14 waits for its lookback and warm-up (--list): 500 bars give 500 - 418 rows
    need=$(kml-features --list | awk -F, '$1 == "rsi_14" { print $2 + $3 }')
    [ "$(( ${#lines[@]} - 1 ))" -eq $(( 500 - need )) ]
}

@test "features: fewer candles than the warm-up exit 65 with one line saying how many are needed" {
    # the numbers come from --list: max lookback + warm-up of the default set, plus the row itself
    need=$(kml-features --list | awk -F, 'NR > 1 && $4 == 1 && $2 + $3 > m { m = $2 + $3 } END { print m + 1 }')
    gen 720 > "$T/c.csv"
    run --separate-stderr kml-features < "$T/c.csv"
    [ "$status" -eq 65 ]
    [ "$output" = "time,close,$(kml-features --list | awk -F, 'NR > 1 && $4 == 1 { printf "%s%s", s, $1; s = "," }')" ]
    # hourly: $need bars are ceil($need / 24) days, and one more for the candle still forming
    days=$(( (need + 23) / 24 + 1 ))
    [ "$stderr" = "kml-features: <stdin>: 720 candles, the default features need at least $need (warm-up); fetch more history: kml-fetch update --days $days" ]
    # labels look h bars further; a chosen set says so; exactly the bars needed give one row
    run --separate-stderr kml-features --labels --horizon 6 "$T/c.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == "kml-features: $T/c.csv: 720 candles, the default features with labels need at least $((need + 6)) (warm-up);"* ]]
    run --separate-stderr kml-features --features ret_1,rsi_14 "$T/c.csv"
    [ "$status" -eq 0 ]
    gen $((need - 1)) > "$T/short.csv"
    run --separate-stderr kml-features --features all "$T/short.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == "kml-features: $T/short.csv: $((need - 1)) candles, all the features need at least "*" (warm-up); fetch more history: kml-fetch update --days "* ]]
    gen "$need" > "$T/just.csv"
    run --separate-stderr kml-features "$T/just.csv"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    # an empty input (a header only) too
    head -1 "$T/c.csv" > "$T/h.csv"
    run --separate-stderr kml-features --interval 15 "$T/h.csv"
    [ "$status" -eq 65 ]
    [ "$stderr" = "kml-features: $T/h.csv: 0 candles, the default features need at least $need (warm-up); fetch more history: kml-fetch update --days $(( (need * 15 + 1439) / 1440 + 1 ))" ]
}

@test "features: stretches between gaps shorter than the warm-up are counted once; with none long enough, 65" {
    need=$(kml-features --list | awk -F, 'NR > 1 && $4 == 1 && $2 + $3 > m { m = $2 + $3 } END { print m + 1 }')
    t0=1672531200
    # 1000 bars, a gap, 300 bars, a gap, 200 bars, a gap, 1000 bars: the 300 and the 200 give no row
    { gen 1000 $t0; gen 300 $((t0 + 1010 * 3600)) | tail -n +2; gen 200 $((t0 + 1320 * 3600)) | tail -n +2
      gen 1000 $((t0 + 1530 * 3600)) | tail -n +2; } > "$T/g.csv"
    run --separate-stderr kml-features --interval 60 "$T/g.csv"
    [ "$status" -eq 0 ]
    [ "$stderr" = "kml-features: $T/g.csv: 500 candles skipped: 2 stretches between gaps are shorter than the $need candles the default features need (warm-up) and gave no row; --max-gap N bridges gaps, --fill fills them" ]
    [ "$(( ${#lines[@]} - 1 ))" -eq $(( 2 * (1000 - need + 1) )) ]
    run --separate-stderr kml-features --interval 60 --quiet "$T/g.csv"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    # 1500 candles, none of the three stretches long enough
    { gen 500 $t0; gen 500 $((t0 + 510 * 3600)) | tail -n +2; gen 500 $((t0 + 1020 * 3600)) | tail -n +2; } > "$T/s.csv"
    run --separate-stderr kml-features --interval 60 --max-gap 3 "$T/s.csv"
    [ "$status" -eq 65 ]
    [ "$stderr" = "kml-features: $T/s.csv: 1500 candles, but 2 gaps of more than 3 missing bars (--max-gap) restart the warm-up and no stretch between them reaches the $need candles the default features need; bridge gaps with --max-gap N or fill them with --fill" ]
    # bridged, the same candles are enough
    run --separate-stderr kml-features --interval 60 --max-gap 10 "$T/s.csv"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
}

@test "features: an unknown feature is a usage error listing the names (64)" {
    run --separate-stderr kml-features --features ret_1,rsi_99 /dev/null
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"no feature 'rsi_99'"*"rsi_14"* ]]
    run --separate-stderr kml-features --features ret_1,ret_1 /dev/null
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"'ret_1' is listed twice"* ]]
}

@test "features: bad options exit 64 with one line and a hint" {
    run --separate-stderr kml-features --frobnicate
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"try 'kml-features --help'"* ]]
    run --separate-stderr kml-features --horizon 0
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"--horizon"* ]]
    run --separate-stderr kml-features --barrier
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"need --labels"* ]]
    run --separate-stderr kml-features --labels --upper 2
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"--upper"*"1.5v"* ]]
    run --separate-stderr kml-features --labels --leverage 10 --margin-stop 1
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"--margin-stop: 1 is out of range [0, 0.99]"* ]]
    run --separate-stderr kml-features --labels --leverage 10 --lower 0.1
    [ "$status" -eq 64 ]
    run --separate-stderr kml-features a.csv b.csv
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"unexpected operand 'b.csv'"* ]]
}

@test "features: a missing file exits 66 naming it" {
    run --separate-stderr kml-features "$T/nope.csv"
    [ "$status" -eq 66 ]
    [[ "$stderr" == "kml-features: $T/nope.csv:"* ]]
    run --separate-stderr kml-features --check-lookahead "$T/nope.csv"
    [ "$status" -eq 66 ]
}

# expect_bad INPUT LINE COLUMN TEXT: exit 65, one located line
expect_bad() {
    printf "$1" > "$T/bad.csv"
    run --separate-stderr kml-features --features ret_1 "$T/bad.csv"
    [ "$status" -eq 65 ] || { echo "status $status: $stderr"; return 1; }
    [[ "$stderr" == "kml-features: $T/bad.csv:$2: column '$3': "*"$4"* ]] || { echo "got: $stderr"; return 1; }
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

H="time,open,high,low,close,vwap,volume\n"

@test "features: malformed numbers name file, line and column (65)" {
    expect_bad "${H}3600,1,1,1,1,,1\n7200,1,1,1,abc,,1\n" 3 close "not a number"
    expect_bad "${H}3600,1,1,1,1,,1\n7200,1,1,1,nan,,1\n" 3 close ""
    expect_bad "${H}3600,1,1,1,1,,1\n7200,1,1,1,,,1\n" 3 close ""
    expect_bad "${H}3600,1,1,1,1,,1\n7200,1,1,1,1,,1e999\n" 3 volume ""
    expect_bad "${H}36x0,1,1,1,1,,1\n" 2 time ""
}

@test "features: impossible bars are refused, not repaired (65)" {
    expect_bad "${H}3600,1,1,1,1,,1\n7200,2,1.5,1,1.2,,1\n" 3 high "below the bar's open or close"
    expect_bad "${H}3600,1,1,1,1,,1\n7200,1,2,1.1,1.5,,1\n" 3 low "above the bar's open or close"
    expect_bad "${H}3600,1,1,1,1,,-1\n" 2 volume "must not be negative"
    expect_bad "${H}3600,1,1,0,1,,1\n" 2 low "must be positive"
    expect_bad "${H}3600,1,1,1,1,-3,1\n" 2 vwap "must be positive"
}

@test "features: time must increase and stay on the bar grid (65)" {
    expect_bad "${H}7200,1,1,1,1,,1\n3600,1,1,1,1,,1\n" 3 time ""
    expect_bad "${H}7200,1,1,1,1,,1\n7200,1,1,1,1,,1\n" 3 time ""
    printf "${H}3600,1,1,1,1,,1\n7200,1,1,1,1,,1\n9000,1,1,1,1,,1\n" > "$T/grid.csv"
    run --separate-stderr kml-features --interval 60 --features ret_1 "$T/grid.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == "kml-features: $T/grid.csv:4: column 'time': 9000 is not a whole number of 60-minute bars"* ]]
    run --separate-stderr kml-features --interval 60 --check-lookahead "$T/grid.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"grid.csv:4: column 'time'"* ]]
}

@test "features: a missing column, a ragged row, an empty input (65)" {
    printf "time,open,high,low,volume\n3600,1,1,1,1\n" > "$T/nc.csv"
    run --separate-stderr kml-features "$T/nc.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"nc.csv"*"close"*"time,open,high,low,volume"* ]]
    printf "${H}3600,1,1,1,1,,1\n7200,1,1,1\n" > "$T/rag.csv"
    run --separate-stderr kml-features --features ret_1 "$T/rag.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"rag.csv:3"* ]]
    : > "$T/empty.csv"
    run --separate-stderr kml-features "$T/empty.csv"
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"empty.csv"* ]]
}

@test "features: a closed stdout fails the stage" {
    gen 2000 > "$T/c.csv"
    run bash -c "set -o pipefail; kml-features '$T/c.csv' | head -c 10 > /dev/null"
    [ "$status" -ne 0 ]
}

@test "features: TA-Lib-defined and formula features match the pandas reference to 1e-9 on XBTUSD_60" {
    need_data XBTUSD_60.csv
    need_pandas
    # every gap bridged, so the whole file is one series (as TA-Lib sees it)
    kml-features --features all --max-gap $ALLGAPS "$K/XBTUSD_60.csv" > "$T/f.csv"
    run /usr/bin/python3 "$REF" compare "$K/XBTUSD_60.csv" "$T/f.csv" --features all --max-gap $ALLGAPS --rtol 1e-9
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"rows compared: 6"[0-9][0-9][0-9][0-9]* ]]
    for f in rsi_14 natr_14 adx_14 plus_di_14 minus_di_14 cci_20 willr_14 mfi_14 roc_10 stoch_k stoch_d \
        bb_pctb_20 bb_width_20 macd_n macd_signal_n macd_hist_n ema_ratio_12 ema_ratio_26 ema_ratio_50 \
        ema_ratio_200 ret_24 rv_72 park_4 park_24 gk_24 obv_z_24 vol_z_24 vwap_dev donchian_pos_20 dow_cos; do
        [[ "$output" == *$'\n'"$f "* ]]
    done
}

@test "features: with the default gap handling the rows are exactly the reference's segments" {
    need_data XBTUSD_60.csv
    need_pandas
    kml-features "$K/XBTUSD_60.csv" > "$T/f.csv"
    run /usr/bin/python3 "$REF" compare "$K/XBTUSD_60.csv" "$T/f.csv" --rtol 1e-9
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"rows differ"* ]]
}

@test "features: after the warm-up, values match a run started 40000 bars earlier to 1e-9" {
    need_data XBTUSD_60.csv
    need_pandas
    kml-features --features all --max-gap $ALLGAPS "$K/XBTUSD_60.csv" > "$T/early.csv"
    { head -1 "$K/XBTUSD_60.csv"; tail -n +40001 "$K/XBTUSD_60.csv"; } |
        kml-features --features all --max-gap $ALLGAPS > "$T/late.csv"
    run /usr/bin/python3 "$REF" diff "$T/late.csv" "$T/early.csv" --rtol 1e-9
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"rows in common: 2"[0-9][0-9][0-9][0-9]" of "* ]]
}

@test "features: a gap restarts the indicators: rows after it equal a run on the data after it" {
    gen 1000 > "$T/a.csv"
    gen 1000 $((1672531200 + 1005 * 3600)) | tail -n +2 > "$T/b.rows"
    cat "$T/a.csv" "$T/b.rows" > "$T/gap.csv"
    { head -1 "$T/a.csv"; cat "$T/b.rows"; } > "$T/after.csv"
    kml-features "$T/gap.csv" > "$T/out.csv"
    kml-features "$T/after.csv" > "$T/fresh.csv"
    t0=$((1672531200 + 1005 * 3600))
    # the rows after the gap are exactly those of the fresh start
    diff <(awk -F, -v t="$t0" 'NR > 1 && $1 >= t' "$T/out.csv") <(tail -n +2 "$T/fresh.csv")
    [ "$(tail -n +2 "$T/fresh.csv" | wc -l)" -gt 0 ]
    # up to --max-gap 5 the 5 missing bars are bridged instead: more rows, not a restart
    n0=$(wc -l < "$T/out.csv")
    n5=$(kml-features --max-gap 5 "$T/gap.csv" | wc -l)
    [ "$n5" -gt "$n0" ]
    n4=$(kml-features --max-gap 4 "$T/gap.csv" | wc -l)
    [ "$n4" -eq "$n0" ]
}

@test "features: --fill carries the close with zero volume, says so, and writes no invented row" {
    gen 1000 > "$T/a.csv"
    gen 1000 $((1672531200 + 1003 * 3600)) | tail -n +2 > "$T/b.rows"
    cat "$T/a.csv" "$T/b.rows" > "$T/gap.csv"
    run --separate-stderr kml-features --fill --features ret_1,vol_z_24 "$T/gap.csv"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"filled 3 missing bars in 1 gaps"* ]]
    # no row at the filled times
    for k in 1000 1001 1002; do
        ! printf '%s\n' "$output" | grep -q "^$((1672531200 + k * 3600)),"
    done
    # the first real bar after the gap: its return is against the carried close
    t=$((1672531200 + 1003 * 3600))
    last_close=$(tail -n 1 "$T/a.csv" | cut -d, -f5)
    c=$(grep "^$t," "$T/gap.csv" | cut -d, -f5)
    got=$(printf '%s\n' "$output" | grep "^$t," | cut -d, -f3)
    awk -v g="$got" -v a="$last_close" -v b="$c" 'BEGIN { e = log(b / a); exit !(g - e < 1e-12 && e - g < 1e-12) }'
    run --separate-stderr kml-features --fill --quiet --features ret_1 "$T/gap.csv"
    [ "$status" -eq 0 ] && [ -z "$stderr" ]
    # with --max-gap 2 the gap of 3 is not filled but restarts
    run --separate-stderr kml-features --fill --max-gap 2 --features ret_1 "$T/gap.csv"
    [ -z "$stderr" ]
}

@test "features: --fill matches the reference's explicit flat bars on SOLUSD_60" {
    need_data SOLUSD_60.csv
    need_pandas
    kml-features --fill --max-gap 5 "$K/SOLUSD_60.csv" > "$T/f.csv" 2> "$T/err"
    grep -q "filled" "$T/err"
    run /usr/bin/python3 "$REF" compare "$K/SOLUSD_60.csv" "$T/f.csv" --fill --max-gap 5
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "features: labels (class by fee and by volatility, triple barrier) match the reference on ETHUSD_60" {
    need_data ETHUSD_60.csv
    need_pandas
    kml-features --labels --barrier --flat-vol 0.5 --upper 0.02 --lower 1.5v --horizon 6 "$K/ETHUSD_60.csv" > "$T/f.csv"
    head -1 "$T/f.csv" | grep -q ',y_ret_6,y_class,y_tb,y_tb_bars$'
    run /usr/bin/python3 "$REF" compare "$K/ETHUSD_60.csv" "$T/f.csv" --labels --barrier --flat-vol 0.5 \
        --upper 0.02 --lower 1.5v --horizon 6
    echo "$output"
    [ "$status" -eq 0 ]
    kml-features --labels "$K/ETHUSD_60.csv" > "$T/g.csv"
    run /usr/bin/python3 "$REF" compare "$K/ETHUSD_60.csv" "$T/g.csv" --labels
    [ "$status" -eq 0 ]
    # the three classes all occur
    [ "$(tail -n +2 "$T/g.csv" | awk -F, '{ print $NF }' | sort -u | tr '\n' ' ')" = "0 1 2 " ]
}

@test "features: the liquidation barrier at --leverage 50 matches the reference on XBTUSD_15" {
    need_data XBTUSD_15.csv
    need_pandas
    kml-features --labels --leverage 50 --max-gap 3 "$K/XBTUSD_15.csv" > "$T/f.csv"
    head -1 "$T/f.csv" | grep -q ',y_ret_4,y_class,y_tb_lev50,y_tb_lev50_bars$'
    run /usr/bin/python3 "$REF" compare "$K/XBTUSD_15.csv" "$T/f.csv" --labels --leverage 50 --max-gap 3
    echo "$output"
    [ "$status" -eq 0 ]
    # the margin model's margin_stop from the configuration moves the barrier
    echo '{"margin": {"margin_stop": 0.3}}' > "$T/cfg.json"
    kml-features --config "$T/cfg.json" --labels --leverage 50 --max-gap 3 "$K/XBTUSD_15.csv" > "$T/g.csv"
    run /usr/bin/python3 "$REF" compare "$K/XBTUSD_15.csv" "$T/g.csv" --labels --leverage 50 --max-gap 3 --margin-stop 0.3
    [ "$status" -eq 0 ]
    ! cmp -s "$T/f.csv" "$T/g.csv"
    # --margin-stop gives the same labels as the configuration's margin_stop
    kml-features --labels --leverage 50 --margin-stop 0.3 --max-gap 3 "$K/XBTUSD_15.csv" | cmp - "$T/g.csv"
}

@test "features: labelled rows stop h bars before the end; features are the same with and without labels" {
    gen 1200 > "$T/c.csv"
    kml-features "$T/c.csv" > "$T/nol.csv"
    kml-features --labels --horizon 7 "$T/c.csv" > "$T/lab.csv"
    [ "$(wc -l < "$T/lab.csv")" -eq $(( $(wc -l < "$T/nol.csv") - 7 )) ]
    nf=$(head -1 "$T/nol.csv" | tr , '\n' | wc -l)
    diff <(head -n -7 "$T/nol.csv" | tail -n +2) <(tail -n +2 "$T/lab.csv" | cut -d, -f1-"$nf")
}

@test "features: truncating the input file never changes an earlier row (process level)" {
    need_data XBTUSD_60.csv
    kml-features --labels "$K/XBTUSD_60.csv" > "$T/full.csv"
    kml-features "$K/XBTUSD_60.csv" > "$T/fullnl.csv"
    for cut in 30001 50000 50001 72000; do
        head -n "$cut" "$K/XBTUSD_60.csv" | kml-features > "$T/cut.csv"
        last=$(tail -n 1 "$T/cut.csv" | cut -d, -f1)
        # every feature row of the prefix is byte-identical to the full run's
        diff <(tail -n +2 "$T/cut.csv") <(awk -F, -v t="$last" 'NR > 1 && $1 <= t' "$T/fullnl.csv")
    done
}

@test "features: --check-lookahead passes on every real candles file in kraken/" {
    need_data XBTUSD_60.csv
    n=0
    for f in "$K"/*.csv; do
        head -1 "$f" | grep -q '^time,open,high,low,close' || continue # the trades file is not candles
        opts="--labels --barrier"
        # the 1-minute file has a hole every other bar: fill them (the fill path is checked too)
        case "$f" in *_1.csv) opts="$opts --fill --max-gap 60" ;; esac
        echo "$f $opts"
        n=$((n + 1))
    done > "$T/list"
    [ "$n" -ge 8 ]
    # two at a time; each: truncation at every bar, 4 prefixes from scratch, the
    # future changed after 500 even cuts and at and one bar after 10 chosen rows
    run bash -c "xargs -P 2 -L 1 sh -c 'kml-features --check-lookahead \"\$0\" --cuts 500 \$@ > \"$T/\$(basename \"\$0\").out\" || echo \"FAILED \$0\"' < '$T/list'"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *FAILED* ]]
    for f in "$T"/*.out; do
        grep -q '^PASS$' "$f"
        grep -q 'features bitwise identical: yes' "$f"
        grep -q 'labels changed in [1-9][0-9]* of the' "$f"
    done
}

@test "features: --check-lookahead fails loudly when no row can be written" {
    gen 300 > "$T/short.csv"
    run --separate-stderr kml-features --check-lookahead "$T/short.csv"
    [ "$status" -eq 1 ]
    [[ "$output" == *"FAIL: no row was written"* ]]
}
