#!/usr/bin/env bats
# bench/common.bash (the rounds, statistics and first line every ratio bench
# shares) and bench/model.sh's interleaving, with stand-in programs whose
# rates change from round to round, so each statistic has one right answer.
load helper

setup() {
    W=$(mktemp -d)
    cd "$KML_ROOT"
}
teardown() {
    rm -rf "$W"
}

# A bench script sourcing common.bash with two sides: ours prints rate R[r]
# and us U[r] of round r, ref likewise; every call is logged in order.
make_bench() {
    cat >"$W/b.sh" <<EOF
set -eu
cd "$KML_ROOT"
. bench/common.bash
bench_init t
ours() { echo "ours \$1" >>"$W/log"; set -- \$1 $1; shift \$1; echo "rate=\$1 us=\$((\$1 / 10))"; }
ref() { echo "ref \$1" >>"$W/log"; set -- \$1 $2; shift \$1; [ "\$1" != fail ] || return 1; echo "rate=\$1"; }
bench_interleave ours ref
echo "stat ours=\$(bench_stat ours rate hi) us=\$(bench_stat ours us lo) ref=\$(bench_stat ref rate hi)"
echo "range \$(bench_range ours rate) failed \$(bench_failed ours) \$(bench_failed ref)"
echo "rounds \$(bench_round_ratios ours ref rate)"
echo "ratio \$(bench_ratio "\$(bench_stat ours rate hi)" "\$(bench_stat ref rate hi)")"
EOF
}

@test "bench: sides run interleaved, ours then the reference, once a round" {
    make_bench "10 30 20" "5 6 7"
    run bash "$W/b.sh"
    assert_success
    run cat "$W/log"
    assert_output "$(printf 'ours 1\nref 1\nours 2\nref 2\nours 3\nref 3')"
}

@test "bench: the median of each side (odd and even rounds), the range, the per-round ratios" {
    make_bench "10 30 20" "5 6 2"
    run bash "$W/b.sh"
    assert_success
    assert_line "stat ours=20 us=2 ref=5"
    assert_line "range 10-30 failed 0 0"
    assert_line "rounds 2.00-10.00"
    assert_line "ratio 4.00"
    rm -f "$W/log"
    make_bench "10 40 20 30" "1 2 3 4"
    KML_BENCH_ROUNDS=4 run bash "$W/b.sh"
    assert_success
    assert_line "stat ours=25 us=2.5 ref=2.5"
    [ "$(wc -l <"$W/log")" -eq 8 ]
}

@test "bench: KML_BENCH_STAT=best takes the largest rate and the smallest time" {
    make_bench "10 30 20" "5 6 2"
    KML_BENCH_STAT=best run bash "$W/b.sh"
    assert_success
    assert_line "stat ours=30 us=1 ref=6"
    assert_line "ratio 5.00"
}

@test "bench: a failed round is counted and left out of the statistics and the per-round ratios" {
    make_bench "10 30 20" "5 fail 4"
    run bash "$W/b.sh"
    assert_success
    assert_line "stat ours=20 us=2 ref=4.5"
    assert_line "range 10-30 failed 0 1"
    assert_line "rounds 2.00-5.00"
}

@test "bench: bad KML_BENCH_ROUNDS or KML_BENCH_STAT stop the bench with exit 64 and say why" {
    make_bench "1 2 3" "1 2 3"
    KML_BENCH_ROUNDS=0 run --separate-stderr bash "$W/b.sh"
    assert_failure 64
    [[ "$stderr" == *"KML_BENCH_ROUNDS must be a positive integer, not '0'"* ]]
    KML_BENCH_ROUNDS=two run --separate-stderr bash "$W/b.sh"
    assert_failure 64
    KML_BENCH_STAT=mean run --separate-stderr bash "$W/b.sh"
    assert_failure 64
    [[ "$stderr" == *"KML_BENCH_STAT must be median or best, not 'mean'"* ]]
    [ ! -e "$W/log" ]
}

@test "bench: the header names the CPU model from /proc/cpuinfo, the kernels, threads, rounds and statistic" {
    [ -r /proc/cpuinfo ] || skip "no /proc/cpuinfo"
    cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
    [ -n "$cpu" ] || skip "no model name in /proc/cpuinfo"
    run bash -c ". bench/common.bash; bench_header t FakeCore 7"
    assert_success
    [[ "$output" == "t: CPU $cpu ("* ]]
    [[ "$output" == *"; OpenBLAS kernels FakeCore; threads 7; 3 interleaved rounds, median of each side; load "* ]]
    KML_BENCH_ROUNDS=5 KML_BENCH_STAT=best run bash -c ". bench/common.bash; bench_header t K 1"
    [[ "$output" == *"; 5 interleaved rounds, best of each side; "* ]]
}

# Stand-ins for kml-model and torch_models.py: round r of ours trains at
# 1000, 3000, 2000 samples/s with 100, 300, 200 us; PyTorch at 500, 400,
# 1000 with 1000, 2000, 3000 us. Medians: 2000/500 = 4.00x, 200/2000 = 0.100;
# per-round ratios 2.00, 7.50, 2.00.
fake_model() {
    cat >"$W/kml-model" <<EOF
#!/bin/sh
case \$1 in
sgemm-peak) echo "sgemm_gflops=100.00 core=FakeCore" ;;
bench)
    a=\$3 n=\$((\$(cat "$W/n_ours" 2>/dev/null || echo 0) + 1)); echo \$n >"$W/n_ours"; echo "ours \$n \$a" >>"$W/log"
    set -- 1000 3000 2000; shift \$((n - 1)); r=\$1
    echo "\$a params=1 train_samples_per_s=\$r infer_us=\$((r / 10)) train_gflop_s=20.00" ;;
esac
EOF
    chmod +x "$W/kml-model"
    cat >"$W/ref.py" <<EOF
import os, sys
f = "$W/n_torch"
n = int(open(f).read()) + 1 if os.path.exists(f) else 1
open(f, "w").write(str(n))
open("$W/log", "a").write("torch %d %s %s\n" % (n, sys.argv[2], sys.argv[3]))
r, u = [(500, 1000), (400, 2000), (1000, 3000)][n - 1]
print("%s params=1 train_samples_per_s=%d infer_us=%d" % (sys.argv[3], r, u))
EOF
}

@test "bench: model.sh interleaves kml-model and PyTorch per round and reports medians, ratios and targets" {
    need_torch
    fake_model
    KML_MODEL="$W/kml-model" KML_TORCH_REF="$W/ref.py" KML_BENCH_ARCHS=gru KML_BENCH_THREADS=1 KML_BENCH_CORES=env \
        run bench/model.sh
    assert_success
    [[ "${lines[0]}" == "model: CPU "*"OpenBLAS kernels FakeCore"*"threads 1; 3 interleaved rounds, median of each side"* ]]
    assert_output --partial "sgemm peak 100.00 GFLOP/s (best of 3 1024^3 products)"
    assert_output --regexp "  gru +2000 +500 +4.00 +2.00-7.50 +200.0 +2000.0 +0.100 +20.0 +20%"
    assert_output --partial "targets env (FakeCore) at 1 thread, median ratios: 2 of 2 met"
    run cat "$W/log"
    assert_output "$(printf 'ours 1 gru\ntorch 1 1 gru\nours 2 gru\ntorch 2 1 gru\nours 3 gru\ntorch 3 1 gru')"
}

@test "bench: model.sh with KML_BENCH_STAT=best reports the best of each side and names the misses" {
    need_torch
    fake_model
    KML_BENCH_STAT=best KML_MODEL="$W/kml-model" KML_TORCH_REF="$W/ref.py" KML_BENCH_ARCHS=gru KML_BENCH_THREADS=1 \
        KML_BENCH_CORES=env run bench/model.sh
    assert_success
    # best: ours 3000/s and 100 us, PyTorch 1000/s and 1000 us: 3.00x, 0.100
    assert_output --regexp "  gru +3000 +1000 +3.00 +2.00-7.50 +100.0 +1000.0 +0.100 "
    assert_output --partial "targets env (FakeCore) at 1 thread, best ratios: 2 of 2 met"
    rm -f "$W/n_ours" "$W/n_torch"
    KML_BENCH_ROUNDS=1 KML_MODEL="$W/kml-model" KML_TORCH_REF="$W/ref.py" KML_BENCH_ARCHS=gru KML_BENCH_THREADS=1 \
        KML_BENCH_CORES=env run bench/model.sh
    assert_success
    # one round: ours 1000/s against 500/s is 2.00x, below 3
    assert_output --partial "at 1 thread, median ratios: 1 of 2 met; missed: gru train 2.00x"
}
