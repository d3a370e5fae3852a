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
# overhead); ours/torch: the loop's rate over PyTorch's step rate. Prints
# numbers only; never fails on time. KML_BENCH_ARCHS narrows the list.
set -eu
cd "$(dirname "$0")/.."
bindir=${KML_BIN:-bin}
ref=${KML_TORCH_MODELS:-$(cd .. && pwd)/shared/reference/torch_models.py}
archs=${KML_BENCH_ARCHS:-lstm gru tcn cnn transformer hybrid}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KML_LOG_DIR="$tmp/logs"
"$bindir/kml-fetch" sim --pair SOL/USD --bars 6000 --plant 0.3 --seed 1 2>/dev/null >"$tmp/c.csv"
"$bindir/kml-features" --labels "$tmp/c.csv" >"$tmp/f.csv"
F=$(head -1 "$tmp/f.csv" | tr , '\n' | grep -cv '^time$\|^close$\|^y_')
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$ref" ] && have_torch=1
[ $have_torch = 1 ] || echo "(no python3-torch or $ref: no PyTorch column)"
echo "kml-train loop vs bare lib/nn step vs PyTorch step: T=32 F=$F H=64 batch 64, 1 thread"
printf '  %-12s %10s %10s %10s %9s %11s\n' arch 'loop/s' 'step/s' 'torch/s' 'loop/step' 'ours/torch'
for a in $archs; do
    loop=$("$bindir/kml-train" --arch "$a" -T 32 --hidden 64 --batch 64 --epochs 2 --patience 5 -q --force-retrain \
        -o "$tmp/m" "$tmp/f.csv" | jq -r .samples_per_s)
    step=$("$bindir/kml-model" bench --arch "$a" --T 32 --F "$F" --H 64 --batch 64 --steps 30 |
        tr ' ' '\n' | sed -n 's/^train_samples_per_s=//p')
    torch=-
    if [ $have_torch = 1 ]; then
        torch=$(/usr/bin/python3 - "$ref" "$a" "$F" <<'PY' 2>/dev/null | tr ' ' '\n' | sed -n 's/^train_samples_per_s=//p'
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("tm", sys.argv[1]); tm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tm)
torch.set_num_threads(1)
tm.bench(sys.argv[2], steps=30, B=64, T=32, F=int(sys.argv[3]))
PY
) || torch=-
    fi
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
    printf '  %-12s %10.0f %10.0f %10s %9s %11s\n' "$a" "$loop" "$step" "${torch%%.*}" "$(ratio "$loop" "$step")" \
        "$(ratio "$loop" "$torch")"
done
