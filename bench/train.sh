#!/usr/bin/env bash
# bench/train.sh: kml-train's whole training loop against the bare lib/nn step
# and PyTorch, per architecture, one thread.
#
# Data: 6000 simulated hourly bars (kml-fetch sim --plant 0.3) through
# kml-features --labels (about 38 features). Ours: `kml-train --arch A -T 32
# --hidden 64 --batch 64 --epochs 2`, its samples_per_s: training samples
# over the loop's wall time, which also counts shuffling, gathering windows,
# the validation pass of every epoch and keeping the best epoch. Bare step:
# `kml-model bench` on random windows of the same shape (forward + backward +
# Adam, nothing else). Reference: PyTorch's training step on the same shape
# (torch_models.py's bench, torch.set_num_threads(1)), in the same run.
# loop/step: the share of the bare step rate the whole loop keeps (1 = no
# overhead); ours/torch: the loop's rate over PyTorch's step rate. Per
# architecture the three run interleaved over KML_BENCH_ROUNDS rounds (default
# 3: loop, step, PyTorch, loop, ...); each column is the median (or best,
# KML_BENCH_STAT=best) of its side's rounds, and "x rounds" the lowest and
# highest per-round ours/torch (bench/common.bash). Prints numbers only;
# never fails on time. KML_BENCH_ARCHS narrows the list.
set -eu
cd "$(dirname "$0")/.."
. bench/common.bash
bindir=${KML_BIN:-bin}
ref=${KML_TORCH_MODELS:-$(cd .. && pwd)/shared/reference/torch_models.py}
archs=${KML_BENCH_ARCHS:-lstm gru tcn cnn transformer hybrid}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
bench_init train
tmp=$bench_tmp
export KML_LOG_DIR="$tmp/logs"
bench_header train "$(bench_kernels "$bindir/kml-model")" 1
"$bindir/kml-fetch" sim --pair SOL/USD --bars 6000 --plant 0.3 --seed 1 2>/dev/null >"$tmp/c.csv"
"$bindir/kml-features" --labels "$tmp/c.csv" >"$tmp/f.csv"
F=$(head -1 "$tmp/f.csv" | tr , '\n' | grep -cv '^time$\|^close$\|^y_')
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$ref" ] && have_torch=1
[ $have_torch = 1 ] || echo "(no python3-torch or $ref: no PyTorch column)"
echo "kml-train loop vs bare lib/nn step vs PyTorch step: T=32 F=$F H=64 batch 64, 1 thread"
loop() {
    "$bindir/kml-train" --arch "$a" -T 32 --hidden 64 --batch 64 --epochs 2 --patience 5 -q --force-retrain \
        -o "$tmp/m" "$tmp/f.csv" | jq -r '"rate=\(.samples_per_s)"'
}
step() {
    "$bindir/kml-model" bench --arch "$a" --T 32 --F "$F" --H 64 --batch 64 --steps 30 |
        tr ' ' '\n' | sed -n 's/^train_samples_per_s=/rate=/p'
}
torch() {
    /usr/bin/python3 - "$ref" "$a" "$F" <<'PY' 2>/dev/null | tr ' ' '\n' | sed -n 's/^train_samples_per_s=/rate=/p'
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("tm", sys.argv[1]); tm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tm)
torch.set_num_threads(1)
tm.bench(sys.argv[2], steps=30, B=64, T=32, F=int(sys.argv[3]))
PY
}
sides=(loop step)
[ $have_torch = 1 ] && sides+=(torch)
printf '  %-12s %10s %10s %10s %9s %11s %11s\n' arch 'loop/s' 'step/s' 'torch/s' 'loop/step' 'ours/torch' 'x rounds'
for a in $archs; do
    bench_interleave "${sides[@]}"
    loop_r=$(bench_stat loop rate hi) step_r=$(bench_stat step rate hi) torch_r=- rr=-
    if [ $have_torch = 1 ]; then
        torch_r=$(bench_stat torch rate hi) rr=$(bench_round_ratios loop torch rate)
    fi
    printf '  %-12s %10s %10s %10s %9s %11s %11s\n' "$a" "$(bench_fmt %.0f "$loop_r")" "$(bench_fmt %.0f "$step_r")" \
        "$(bench_fmt %.0f "$torch_r")" "$(bench_ratio "$loop_r" "$step_r")" "$(bench_ratio "$loop_r" "$torch_r")" "$rr"
done
