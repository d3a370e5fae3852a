#!/usr/bin/env bash
# bench/model.sh: lib/nn against PyTorch, per architecture, at 1 and 2 threads.
#
# Ours: `kml-model bench --arch A --gflops` (forward + backward + Adam on a
# batch of 64 random windows T=64, F=32, H=64: 3 untimed and 30 timed steps;
# then one-window inference, 5 untimed and 100 timed calls), threads from
# OPENBLAS_NUM_THREADS. Reference: `torch_models.py bench N A`, which measures
# the same way with torch.set_num_threads(N). Per architecture the two run
# interleaved over KML_BENCH_ROUNDS rounds (ours, PyTorch, ours, PyTorch, ...;
# default 3), and each column is the median of its side's rounds (or the best,
# KML_BENCH_STAT=best); the first line names the CPU, the kernel sets, the
# thread counts, the rounds and the statistic (bench/common.bash).
# train x: our training samples/s over PyTorch's (target >= 3), and beside it
# the lowest and highest of the per-round ratios (how much the load moved it);
# latency x: our single-window latency over PyTorch's (target <= 0.2);
# GFLOP/s: the matrix-product work of our training step per second, beside
# the machine's sgemm rate (`kml-model sgemm-peak`, 1024^3) measured in this
# run at the same thread count and OpenBLAS kernel set.
#
# Kernel sets: the first pass runs with the environment as it is. Where the
# environment forces OpenBLAS's kernel set (OPENBLAS_CORETYPE, as some
# sandboxes do to keep old OpenBLAS builds off new processors), a second pass
# unsets it (and OPENBLAS_L2_SIZE) for both programs, so OpenBLAS picks the
# processor's own kernels, as it does on a machine nobody configured. PyTorch
# runs in the same environment as ours in each pass (its BLAS is the same
# OpenBLAS; its convolutions are oneDNN's, which picks its kernels itself).
# KML_BENCH_CORES=env|native narrows the passes; KML_BENCH_ARCHS and
# KML_BENCH_THREADS narrow the rest. Never fails on time; a missing torch only
# drops the reference columns. The last lines count the targets met.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
bin=${KML_MODEL:-$(command -v kml-model || echo bin/kml-model)}
ref=${KML_TORCH_REF:-$(cd .. && pwd)/shared/reference/torch_models.py}
archs=${KML_BENCH_ARCHS:-lstm gru tcn cnn transformer hybrid}
threads=${KML_BENCH_THREADS:-1 2}
cores=${KML_BENCH_CORES:-env native}
bench_init model
summary=$bench_tmp/summary
: >"$summary"
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$ref" ] && have_torch=1

native=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
kset="$(bench_kernels "$bin") in this environment"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    kset="$kset, $(OPENBLAS_CORETYPE='' bench_kernels "$bin" "${native[@]}") natively"
fi
bench_header model "$kset" "${threads// /, }" "passes: $cores"
[ $have_torch = 1 ] || echo "(no python3-torch or $ref: our numbers only)"

ours() { "${pre[@]}" "$bin" bench --arch "$a" --gflops; }
torch() { "${pre[@]}" /usr/bin/python3 "$ref" bench "$n" "$a" 2>/dev/null | grep "^$a "; }
sides=(ours)
[ $have_torch = 1 ] && sides+=(torch)

for core in $cores; do
    if [ "$core" = native ]; then
        if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
            [ "$cores" = native ] || continue # the env pass was already the native one
            pre=(env)
        else
            pre=("${native[@]}")
        fi
    else
        pre=(env)
    fi
    for n in $threads; do
        export OPENBLAS_NUM_THREADS=$n OMP_NUM_THREADS=$n
        peak=0
        for ((r = 1; r <= bench_rounds; r++)); do # a peak: the best of the rounds
            p=$("${pre[@]}" "$bin" sgemm-peak --n 1024)
            kname=$(bench_field "$p" core)
            peak=$(awk -v a="$peak" -v b="$(bench_field "$p" sgemm_gflops)" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
        done
        echo "pass=$core threads=$n  OpenBLAS kernels $kname, sgemm peak ${peak} GFLOP/s (best of $bench_rounds 1024^3 products)"
        printf '  %-12s %10s %10s %8s %11s   %9s %9s %9s   %8s %6s\n' arch 'ours/s' 'torch/s' 'train x' 'x rounds' \
            'ours us' 'torch us' 'latency x' 'GFLOP/s' '%peak'
        for a in $archs; do
            bench_interleave "${sides[@]}"
            os=$(bench_stat ours train_samples_per_s hi) ou=$(bench_stat ours infer_us lo)
            og=$(bench_stat ours train_gflop_s hi)
            ts=- tu=- rs=- ru=- rr=-
            if [ $have_torch = 1 ]; then
                ts=$(bench_stat torch train_samples_per_s hi) tu=$(bench_stat torch infer_us lo)
                rs=$(bench_ratio "$os" "$ts") ru=$(bench_ratio "$ou" "$tu" %.3f)
                rr=$(bench_round_ratios ours torch train_samples_per_s)
                [ "$rs" = - ] || [ "$ru" = - ] || echo "$core $kname $n $a $rs $ru" >>"$summary"
            fi
            pp=$(bench_ratio "$og" "$peak" | awk '$1 == "-" { print; next } { printf "%.0f%%\n", 100 * $1 }')
            printf '  %-12s %10s %10s %8s %11s   %9s %9s %9s   %8s %6s\n' "$a" "$(bench_fmt %.0f "$os")" \
                "$(bench_fmt %.0f "$ts")" "$rs" "$rr" "$(bench_fmt %.1f "$ou")" "$(bench_fmt %.1f "$tu")" "$ru" \
                "$(bench_fmt %.1f "$og")" "$pp"
            for s in "${sides[@]}"; do
                f=$(bench_failed "$s")
                [ "$f" = 0 ] || echo "  ($a: $f of $bench_rounds rounds of $s printed nothing)"
            done
        done
    done
done

# Targets per pass and thread count: training >= 3x PyTorch's, latency <= 0.2
# of PyTorch's. With more threads than idle cores, PyTorch's OpenMP threads
# wait for each other and its rates collapse (by 10-100x when measured), far
# more than ours: such rows measure the load, and the last line says so.
awk -v stat="$bench_stat_kind" '{ k = $1 " (" $2 ") at " $3 " thread" ($3 == 1 ? "" : "s")
       if (!(k in seen)) { seen[k] = 1; order[++n] = k }
       tot[k] += 2; met[k] += ($5 >= 3) + ($6 <= 0.2)
       if ($5 < 3) miss[k] = miss[k] " " $4 " train " $5 "x"
       if ($6 > 0.2) miss[k] = miss[k] " " $4 " latency " $6 }
     END { for (i = 1; i <= n; i++) { k = order[i]
             printf "targets %s, %s ratios: %d of %d met%s\n", k, stat, met[k], tot[k], miss[k] == "" ? "" : "; missed:" miss[k] } }' "$summary"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
ncpu=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)
multi=0
for n in $threads; do [ "$n" -gt 1 ] && multi=1; done
[ $multi = 1 ] && awk -v l="$load" -v c="$ncpu" 'BEGIN { exit !(l + 0 >= c / 2) }' &&
    echo "load $load at the end on $ncpu CPUs: ratios at more than one thread reflect PyTorch's threads stalling on busy cores more than either program's speed"
true
