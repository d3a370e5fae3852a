#!/usr/bin/env bash
# bench/model.sh: lib/nn against PyTorch, per architecture, at 1 and 2 threads.
#
# Ours: `kml-model bench --arch A --gflops` (forward + backward + Adam on a
# batch of 64 random windows T=64, F=32, H=64: 3 untimed and 30 timed steps;
# then one-window inference, 5 untimed and 100 timed calls), threads from
# OPENBLAS_NUM_THREADS. Reference: `torch_models.py bench N A`, which measures
# the same way with torch.set_num_threads(N), in the same run, right after ours.
# train x: our training samples/s over PyTorch's (target >= 3);
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
bin=${KML_MODEL:-$(command -v kml-model || echo bin/kml-model)}
ref=${KML_TORCH_REF:-$(cd .. && pwd)/shared/reference/torch_models.py}
archs=${KML_BENCH_ARCHS:-lstm gru tcn cnn transformer hybrid}
threads=${KML_BENCH_THREADS:-1 2}
cores=${KML_BENCH_CORES:-env native}
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$ref" ] && have_torch=1
[ $have_torch = 1 ] || echo "(no python3-torch or $ref: our numbers only)"

field() { # line key
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

summary=$(mktemp "${TMPDIR:-/tmp}/kml-bench-model.XXXXXX")
trap 'rm -f "$summary"' EXIT

for core in $cores; do
    if [ "$core" = native ]; then
        if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
            [ "$cores" = native ] || continue # the env pass was already the native one
            pre=(env)
        else
            pre=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
        fi
    else
        pre=(env)
    fi
    for n in $threads; do
        export OPENBLAS_NUM_THREADS=$n OMP_NUM_THREADS=$n
        p=$("${pre[@]}" "$bin" sgemm-peak --n 1024)
        peak=$(field "$p" sgemm_gflops) kname=$(field "$p" core)
        echo "pass=$core threads=$n  OpenBLAS kernels $kname, sgemm peak ${peak} GFLOP/s"
        printf '  %-12s %10s %10s %8s   %9s %9s %9s   %8s %6s\n' arch 'ours/s' 'torch/s' 'train x' 'ours us' \
            'torch us' 'latency x' 'GFLOP/s' '%peak'
        for a in $archs; do
            o=$("${pre[@]}" "$bin" bench --arch "$a" --gflops)
            os=$(field "$o" train_samples_per_s) ou=$(field "$o" infer_us) og=$(field "$o" train_gflop_s)
            ts=- tu=- rs=- ru=-
            if [ $have_torch = 1 ]; then
                t=$("${pre[@]}" /usr/bin/python3 "$ref" bench "$n" "$a" 2>/dev/null | grep "^$a ") || t=
                if [ -n "$t" ]; then
                    ts=$(field "$t" train_samples_per_s) tu=$(field "$t" infer_us)
                    rs=$(awk -v a="$os" -v b="$ts" 'BEGIN { printf "%.2f", a / b }')
                    ru=$(awk -v a="$ou" -v b="$tu" 'BEGIN { printf "%.3f", a / b }')
                    echo "$core $kname $n $a $rs $ru" >>"$summary"
                fi
            fi
            pp=$(awk -v a="$og" -v b="$peak" 'BEGIN { printf "%.0f%%", 100 * a / b }')
            printf '  %-12s %10s %10s %8s   %9s %9s %9s   %8s %6s\n' "$a" "$os" "$ts" "$rs" "$ou" "$tu" "$ru" "$og" "$pp"
        done
    done
done

# Targets per pass: training >= 3x PyTorch's, latency <= 0.2 of PyTorch's.
awk '{ k = $1 " (" $2 ")"; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
       tot[k] += 2; met[k] += ($5 >= 3) + ($6 <= 0.2)
       if ($5 < 3) miss[k] = miss[k] " " $4 "@" $3 "t:train " $5 "x"
       if ($6 > 0.2) miss[k] = miss[k] " " $4 "@" $3 "t:latency " $6 }
     END { for (i = 1; i <= n; i++) { k = order[i]
             printf "targets %s: %d of %d met%s\n", k, met[k], tot[k], miss[k] == "" ? "" : ";" miss[k] } }' "$summary"
