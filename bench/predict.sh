#!/usr/bin/env bash
# bench/predict.sh: the time kml-predict takes to decide one bar with the
# linear model and all six networks loaded (default sizes T=64, F=32, H=64,
# PyTorch's initialisation: the time does not depend on the weights), at one
# thread, beside PyTorch's time for the same windows, measured in the same run.
#
# Data: the last 2000 hourly candles of ../shared/data/kraken/SOLUSD_60.csv
# (kml-fetch sim when it is absent) through kml-features, the first 32
# feature columns, and regime columns from tests/fixtures/predict_regime.py;
# ensemble.json has `hold` and the seven model:<arch> strategies.
# Ours: CPU seconds of `kml-predict -m DIR -e ensemble.json` on BARS decisions
# minus those on 1 decision (start-up: loading the models, binding the
# header), over BARS - 1: the whole per-bar path (CSV row, scaling, seven
# forward passes, strategies, weights, the JSON line). PyTorch: the same
# model files loaded into torch_models.py's modules, the same windows
# (already scaled, in memory: only the forward passes and the softmax are
# timed, a conservative reference), one window at a time under no_grad,
# torch.set_num_threads(1), CPU seconds over BARS bars after 5 untimed.
# The two sides run interleaved over KML_BENCH_ROUNDS rounds (default 3);
# each side's best round is reported (KML_BENCH_STAT=median for medians).
# Targets: under 2 ms a bar, and at most a fifth of PyTorch's time. Never
# fails on time; without torch only our number is printed.
set -eu
cd "$(dirname "$0")/.."
export KML_BENCH_STAT=${KML_BENCH_STAT:-best}
. bench/common.bash
export OPENBLAS_NUM_THREADS=1 KML_LOG_DIR
predict=${KML_PREDICT:-$(command -v kml-predict || echo bin/kml-predict)}
features=${KML_FEATURES:-$(command -v kml-features || echo bin/kml-features)}
fetch=${KML_FETCH:-$(command -v kml-fetch || echo bin/kml-fetch)}
model=${KML_MODEL:-$(command -v kml-model || echo bin/kml-model)}
ref=${KML_TORCH_REF:-$(cd .. && pwd)/shared/reference/torch_models.py}
data=${KML_SHARED_DATA:-$(cd .. && pwd)/shared/data}/kraken/SOLUSD_60.csv
bars=${KML_BENCH_BARS:-500}
bench_init predict
KML_LOG_DIR=$bench_tmp/logs
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$ref" ] && have_torch=1

if [ -f "$data" ]; then
    { head -1 "$data"; tail -n 2000 "$data"; } >"$bench_tmp/candles.csv"
    what="SOLUSD_60 (real)"
else
    "$fetch" sim --pair SOL/USD --bars 2000 --seed 1 >"$bench_tmp/candles.csv" 2>/dev/null
    what="kml-fetch sim (synthetic: $data absent)"
fi
"$features" "$bench_tmp/candles.csv" >"$bench_tmp/f0.csv"
/usr/bin/python3 tests/fixtures/predict_regime.py "$bench_tmp/f0.csv" >"$bench_tmp/f1.csv"
rows=$(($(wc -l <"$bench_tmp/f1.csv") - 1))
[ "$rows" -ge $((bars + 63)) ] || bars=$((rows - 63))
{ head -1 "$bench_tmp/f1.csv"; tail -n $((bars + 63)) "$bench_tmp/f1.csv"; } >"$bench_tmp/in.csv"
head -n 65 "$bench_tmp/in.csv" >"$bench_tmp/one.csv" # 64 rows: one decision

# the seven model files, written through the same layout kml-train writes
mkdir -p "$bench_tmp/models"
/usr/bin/python3 - "$ref" "$bench_tmp/in.csv" "$bench_tmp/models" "$have_torch" <<'PY'
import csv, json, struct, sys
ref, data, out, have_torch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
rows = list(csv.DictReader(open(data)))
reserved = lambda c: c in ("time", "close", "regime") or c.startswith("p_") or c.startswith("y_")
feats = [c for c in rows[0] if not reserved(c)][:32]
cols = [[float(r[f]) for r in rows] for f in feats]
mean = [sum(c) / len(c) for c in cols]
std = [max((sum((x - m) ** 2 for x in c) / (len(c) - 1)) ** 0.5, 1e-12) for c, m in zip(cols, mean)]
def write(path, cfg, tensors):
    hdr, off, blob = {}, 0, b""
    for name, (shape, vals) in tensors.items():
        b = struct.pack("<%df" % len(vals), *vals)
        hdr[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b); blob += b
    hdr["__metadata__"] = {"config": json.dumps(cfg), "features": json.dumps(feats),
                           "scaler": json.dumps({"mean": mean, "std": std}),
                           "calibration": json.dumps({"logit_offset": [0.1, -0.2, 0.1]}),
                           "labels": json.dumps({"column": "y_class", "horizon": 4, "classes": ["down", "flat", "up"]}),
                           "data": json.dumps({"source": "unknown"})}
    h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + blob)
import random
random.seed(1)
write(f"{out}/linear.safetensors", {"arch": "linear", "T": 1, "F": 32, "H": 0},
      {"linear.weight": ([3, 32], [random.uniform(-0.2, 0.2) for _ in range(96)]),
       "linear.bias": ([3], [0.0, 0.1, -0.1])})
if have_torch:
    import importlib.util, torch
    spec = importlib.util.spec_from_file_location("tm", ref); tm = importlib.util.module_from_spec(spec); spec.loader.exec_module(tm)
    torch.manual_seed(1)
    for arch in tm.ARCHS:
        m = tm.build(arch, 64, 32, 64)
        write(f"{out}/{arch}.safetensors", {"arch": arch, "T": 64, "F": 32, "H": 64},
              {k: (list(v.shape), v.flatten().tolist()) for k, v in m.state_dict().items()})
PY
if [ $have_torch = 0 ]; then # no torch: kml-model writes the networks (PyTorch's initialisation too)
    for a in lstm gru tcn cnn transformer hybrid; do
        "$model" init --arch "$a" --T 64 --F 32 --H 64 --seed 1 -o "$bench_tmp/bare.safetensors"
        /usr/bin/python3 - "$bench_tmp/bare.safetensors" "$bench_tmp/models/linear.safetensors" "$bench_tmp/models/$a.safetensors" <<'PY'
import json, struct, sys
def read(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; return json.loads(b[8:8 + n]), b[8 + n:]
h, blob = read(sys.argv[1]); lin, _ = read(sys.argv[2])
meta = dict(lin["__metadata__"]); meta["config"] = h["__metadata__"]["config"]; h["__metadata__"] = meta
t = json.dumps(h).encode(); t += b" " * (-len(t) % 8)
open(sys.argv[3], "wb").write(struct.pack("<Q", len(t)) + t + blob)
PY
    done
fi
/usr/bin/python3 tests/fixtures/predict_ens.py \
    hold,model:linear,model:lstm,model:gru,model:tcn,model:cnn,model:transformer,model:hybrid pair=SOL/USD >"$bench_tmp/ens.json"

ours() {
    local all one
    all=$(bench_cpu_seconds "$bench_tmp/ours.jsonl" "$predict" -m "$bench_tmp/models" -e "$bench_tmp/ens.json" "$bench_tmp/in.csv")
    one=$(bench_cpu_seconds "$bench_tmp/one.jsonl" "$predict" -m "$bench_tmp/models" -e "$bench_tmp/ens.json" "$bench_tmp/one.csv")
    [ "$(wc -l <"$bench_tmp/ours.jsonl")" -eq "$bars" ] || return 1
    awk -v a="$all" -v o="$one" -v n="$bars" 'BEGIN { printf "us=%.1f startup_ms=%.1f\n", (a - o) / (n - 1) * 1e6, o * 1e3 }'
}
torch() {
    /usr/bin/python3 - "$ref" "$bench_tmp/models" "$bench_tmp/in.csv" "$bars" <<'PY'
import csv, importlib.util, json, sys, time
import numpy as np, torch
ref, mdir, data, bars = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("tm", ref); tm = importlib.util.module_from_spec(spec); spec.loader.exec_module(tm)
rows = list(csv.DictReader(open(data)))
models = []
for arch in ["linear"] + tm.ARCHS:
    tensors, meta = tm.read_safetensors(f"{mdir}/{arch}.safetensors")
    cfg = json.loads(meta["config"]); feats = json.loads(meta["features"]); sc = json.loads(meta["scaler"])
    off = torch.tensor(json.loads(meta["calibration"])["logit_offset"])
    if arch == "linear":
        m = torch.nn.Linear(cfg["F"], 3); m.weight.data = tensors["linear.weight"]; m.bias.data = tensors["linear.bias"]
    else:
        m = tm.build(arch, cfg["T"], cfg["F"], cfg["H"]); m.load_state_dict(tensors, strict=True)
    m.eval()
    X = np.array([[float(r[f]) for f in feats] for r in rows])
    X = torch.from_numpy(((X - np.array(sc["mean"])) / np.array(sc["std"])).astype(np.float32))
    models.append((arch, m, off, X, cfg["T"]))
def bar(i):  # the window ending at row 63 + i, every model
    for arch, m, off, X, T in models:
        x = X[63 + i:64 + i] if arch == "linear" else X[64 + i - T:64 + i].unsqueeze(0)
        torch.softmax(m(x) + off, dim=1)
with torch.no_grad():
    for i in range(5): bar(i)
    t0 = time.process_time()
    for i in range(bars): bar(i)
    dt = time.process_time() - t0
print("us=%.1f" % (dt / bars * 1e6))
PY
}
bench_header predict "$(bench_kernels "$model")" 1 "$bars bars of $what; CPU seconds"
sides=(ours)
[ $have_torch = 1 ] && sides+=(torch)
bench_interleave "${sides[@]}"
o=$(bench_stat ours us lo)
echo "kml-predict: $(bench_fmt %.0f "$o") us a bar (rounds $(bench_range ours us %.0f) us; start-up $(bench_stat ours startup_ms lo) ms), 7 models: linear + 6 networks at T=64 F=32 H=64"
if [ "$o" != - ]; then
    awk -v o="$o" 'BEGIN { printf "target under 2000 us a bar: %s\n", (o < 2000 ? "met" : "NOT met") }'
fi
if [ $have_torch = 1 ]; then
    t=$(bench_stat torch us lo)
    r=$(bench_ratio "$o" "$t")
    echo "PyTorch (1 thread, same windows, forward + softmax only): $(bench_fmt %.0f "$t") us a bar (rounds $(bench_range torch us %.0f) us)"
    echo "ratio ours / PyTorch: $r (per round $(bench_round_ratios ours torch us)); target at most 0.20: $(awk -v r="$r" 'BEGIN { print (r != "-" && r <= 0.2) ? "met" : "NOT met" }')"
else
    echo "(no python3-torch or $ref: PyTorch's side not measured)"
fi
