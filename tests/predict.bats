#!/usr/bin/env bats
# kml-predict: decisions from models and strategies (docs/predict.md).
# The data: kml-fetch sim through kml-features (the product's pipeline), the
# regime columns from tests/fixtures/predict_regime.py, ensemble.json files
# from tests/fixtures/predict_ens.py, and tiny models of every architecture
# (T 8, H 8, 2 epochs) from kml-train, so the suite stays fast.
load helper
bats_require_minimum_version 1.5.0

REG="$KML_ROOT/tests/fixtures/predict_regime.py"
ENS="$KML_ROOT/tests/fixtures/predict_ens.py"
ALL="trend,meanrev,hold,model:linear,model:lstm,model:gru,model:tcn,model:cnn,model:transformer,model:hybrid"
SMALL="trend,hold,model:linear,model:gru"

setup_file() {
    export D="$BATS_FILE_TMPDIR" OPENBLAS_NUM_THREADS=1 KML_LOG_DIR="$BATS_FILE_TMPDIR/logs"
    kml-fetch sim --pair SOL/USD --bars 1300 --seed 3 >"$D/candles.csv" 2>/dev/null
    kml-features --labels "$D/candles.csv" >"$D/lab.csv"
    kml-features "$D/candles.csv" >"$D/f0.csv"
    /usr/bin/python3 "$REG" "$D/f0.csv" >"$D/feat.csv"
    /usr/bin/python3 "$REG" "$D/lab.csv" >"$D/labreg.csv"
    kml-train --arch all -T 8 --hidden 8 --epochs 2 -q -o "$D/models" "$D/lab.csv" >/dev/null
    /usr/bin/python3 "$ENS" "$ALL" >"$D/ens.json"
    /usr/bin/python3 "$ENS" "$SMALL" >"$D/small.json"
    kml-predict -m "$D/models" -e "$D/ens.json" "$D/feat.csv" >"$D/all.jsonl"
    kml-predict -m "$D/models" -e "$D/small.json" "$D/feat.csv" >"$D/small.jsonl" 2>/dev/null
}

setup() {
    export KML_LOG_DIR="$BATS_TEST_TMPDIR/logs" OPENBLAS_NUM_THREADS=1
    cd "$BATS_TEST_TMPDIR"
}

# the first n data rows of $D/feat.csv (with the header)
first() { head -n $(($1 + 1)) "$D/feat.csv"; }
# rows a..b (1-based data rows) with the header
rows() { { head -n 1 "$D/feat.csv"; sed -n "$(($1 + 1)),$(($2 + 1))p" "$D/feat.csv"; }; }

@test "predict: --help prints the usage and exits 0" {
    run kml-predict --help
    assert_success
    assert_output --partial "kml-predict -m MODEL... -e ensemble.json"
    assert_output --partial "--hard-regime"
}

@test "predict: usage errors exit 64 with a hint" {
    run --separate-stderr kml-predict --bogus
    assert_failure 64
    [[ "$stderr" == *"--help"* ]]
    run --separate-stderr kml-predict -m "$D/models" "$D/feat.csv"
    assert_failure 64
    [[ "$stderr" == *"missing -e ensemble.json"* ]]
    run --separate-stderr kml-predict -e "$D/ens.json" "$D/feat.csv"
    assert_failure 64
    [[ "$stderr" == *"missing -m MODEL (or --predictions WF.csv): "*"ens.json has model strategies"* ]]
    # rule strategies alone need no model
    /usr/bin/python3 "$ENS" "trend,meanrev,hold" >rules.json
    run --separate-stderr kml-predict -e rules.json "$D/feat.csv"
    assert_success
    [ "$(printf '%s\n' "$output" | wc -l)" -eq $(($(wc -l <"$D/feat.csv") - 1)) ]
    printf '%s\n' "$output" | jq -e '.models == {} and (.weights | keys) == ["hold", "meanrev", "trend"]' >/dev/null
    run --separate-stderr kml-predict -m "$D/models" --predictions x.csv -e "$D/ens.json"
    assert_failure 64
    [[ "$stderr" == *"exclude each other"* ]]
    /usr/bin/python3 "$ENS" "$SMALL" pair=null >nopair.json
    run --separate-stderr kml-predict -m "$D/models" -e nopair.json "$D/feat.csv"
    assert_failure 64
    [[ "$stderr" == *"no --pair, and nopair.json names no pair"* ]]
    run --separate-stderr kml-predict -m "$D/models/gru.safetensors" -m "$D/models/gru.safetensors" -m "$D/models" -e "$D/small.json" "$D/feat.csv"
    assert_failure 64
    [[ "$stderr" == *"two gru models"* ]]
}

# PyTorch's probabilities for the windows of the decisions in $4 (rows of
# $3, models in directory $2 as <arch>.safetensors, or $2/<prefix><arch> with
# PREFIX set) equal those kml-predict wrote, to 1e-5. Archs: the rest.
parity() { # mdir features decisions arch...
    need_torch
    /usr/bin/python3 - "$KML_TORCH_REF" "${PREFIX:-}" "$@" <<'PY'
import csv, json, subprocess, sys
import numpy as np
ref, prefix, mdir, data, dec, *archs = sys.argv[1:]
sys.path.insert(0, ref.rsplit("/", 1)[0]); import torch_models as tm
rows = list(csv.DictReader(open(data)))
index = {int(r["time"]): i for i, r in enumerate(rows)}
decisions = [json.loads(l) for l in open(dec)]
assert len(decisions) > 400, len(decisions)
for arch in archs:
    path = f"{mdir}/{prefix}{arch}.safetensors"
    tensors, meta = tm.read_safetensors(path)
    cfg = json.loads(meta["config"]); feats = json.loads(meta["features"]); sc = json.loads(meta["scaler"])
    off = np.array(json.loads(meta["calibration"])["logit_offset"], dtype=np.float64)
    T = cfg["T"]
    X = np.array([[float(r[f]) for f in feats] for r in rows])
    X = ((X - np.array(sc["mean"])) / np.array(sc["std"])).astype(np.float32)
    idx = [index[d["time"]] for d in decisions]
    W = np.stack([X[i - T + 1:i + 1] for i in idx])
    if arch == "linear":
        z = W[:, -1].astype(np.float64) @ tensors["linear.weight"].double().numpy().T + tensors["linear.bias"].double().numpy()
    else:
        W.astype("<f4").tofile("w.f32")
        out = subprocess.run([sys.executable, ref, "check", path, "w.f32"], check=True, capture_output=True, text=True).stdout
        z = np.loadtxt(out.splitlines())
    q = z + off; q -= q.max(1, keepdims=True); p = np.exp(q); p /= p.sum(1, keepdims=True)
    got = np.array([d["models"][arch] for d in decisions])
    err = np.abs(got - p).max()
    print(arch, len(idx), "windows, max |p - torch|", err)
    assert err <= 1e-5, (arch, err)
PY
}

@test "predict: every architecture's probabilities equal PyTorch's on windows of the same rows and scaler, to 1e-5" {
    parity "$D/models" "$D/feat.csv" "$D/all.jsonl" linear lstm gru tcn cnn transformer hybrid
}

@test "predict: model files kml-train wrote before lib/ml still load and give PyTorch's probabilities" {
    /usr/bin/python3 "$ENS" "hold,model:linear,model:gru" >e.json
    kml-predict -m "$FIXTURES/predict" -e e.json "$D/feat.csv" >old.jsonl 2>err.txt
    PREFIX=old_ parity "$FIXTURES/predict" "$D/feat.csv" old.jsonl linear gru
}

@test "predict: a decision has DESIGN.md's fields; weights sum to 1, signal and confidence in range, volatility is rv_24" {
    /usr/bin/python3 - "$D/feat.csv" "$D/all.jsonl" <<'PY'
import csv, json, sys
rows = {int(r["time"]): r for r in csv.DictReader(open(sys.argv[1]))}
n = 0
for line in open(sys.argv[2]):
    d = json.loads(line); n += 1
    keys = ["time", "pair", "close", "regime", "models", "signals", "weights", "signal", "confidence", "volatility", "source", "missing", "raw_signal"]
    assert list(d) == keys, list(d)
    r = rows[d["time"]]
    assert d["pair"] == "SOL/USD" and d["source"] == "synthetic"
    assert d["close"] == float(r["close"]) and d["volatility"] == float(r["rv_24"]) and d["regime"] == r["regime"]
    assert abs(sum(d["weights"].values()) - 1) < 1e-12, d["weights"]
    assert -1 <= d["signal"] <= 1 and 0 <= d["confidence"] <= 1
    assert d["signal"] == 0 or d["signal"] == d["raw_signal"]
    assert abs(d["raw_signal"] - sum(d["weights"][k] * s for k, s in d["signals"].items())) < 1e-12
    for a, p in d["models"].items():
        assert len(p) == 3 and abs(sum(p) - 1) < 1e-12 and d["signals"]["model:" + a] is not None
    assert d["missing"] == []
assert n > 400
PY
    # the first decision is at the first bar where the longest window (8 rows) is full
    [ "$(head -1 "$D/all.jsonl" | jq .time)" = "$(sed -n 9p "$D/feat.csv" | cut -d, -f1)" ]
}

@test "predict: deterministic; truncating the input after bar t leaves every decision up to t byte-identical" {
    kml-predict -m "$D/models" -e "$D/ens.json" "$D/feat.csv" >again.jsonl
    cmp again.jsonl "$D/all.jsonl"
    for n in 8 9 40 333 480; do
        first $n | kml-predict -m "$D/models" -e "$D/ens.json" >cut.jsonl 2>/dev/null || true
        k=$(wc -l <cut.jsonl)
        [ "$k" -eq $((n - 7)) ]
        head -n "$k" "$D/all.jsonl" | cmp - cut.jsonl
    done
}

@test "predict: fed as growing prefixes with --state, the decisions are the whole run's bytes, none twice" {
    total=$(($(wc -l <"$D/feat.csv") - 1))
    for n in 3 8 9 10 57 58 300 301 302 555 $total; do
        first $n | kml-predict -m "$D/models" -e "$D/ens.json" --state s.json >>out.jsonl 2>/dev/null
    done
    cmp out.jsonl "$D/all.jsonl"
    # a rerun over rows already processed emits nothing and says so
    run --separate-stderr kml-predict -m "$D/models" -e "$D/ens.json" --state s.json "$D/feat.csv"
    assert_success
    [ -z "$output" ]
    [[ "$stderr" == *"already processed"* ]]
}

@test "predict: fed as consecutive pieces (only the new rows) with --state, the decisions are the whole run's bytes" {
    total=$(($(wc -l <"$D/feat.csv") - 1))
    a=1
    for b in 2 7 8 9 20 21 200 450 451 $total; do
        rows $a $b | kml-predict -m "$D/models" -e "$D/ens.json" --state s.json >>out.jsonl 2>/dev/null
        a=$((b + 1))
    done
    cmp out.jsonl "$D/all.jsonl"
}

@test "predict: killed with -9 at random moments and restarted, no decision is missing or duplicated" {
    /usr/bin/python3 "$ENS" "$SMALL" >e.json
    kml-predict -m "$D/models" -e e.json "$D/feat.csv" >whole.jsonl 2>/dev/null
    # how long a run with --state takes here: the kills fall inside it
    t0=$(date +%s%N)
    kml-predict -m "$D/models" -e e.json --state probe.json "$D/feat.csv" >/dev/null 2>&1
    ms=$((($(date +%s%N) - t0) / 1000000))
    echo "a run with --state: $ms ms"
    kills=0
    for i in $(seq 1 40); do
        kml-predict -m "$D/models" -e e.json --state s.json "$D/feat.csv" >>out.jsonl 2>/dev/null &
        pid=$!
        sleep "$(awk -v r=$RANDOM -v ms=$ms 'BEGIN { printf "%.3f", (ms * (0.02 + 0.3 * r / 32768) + 1) / 1000 }')"
        if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
        wait "$pid" 2>/dev/null || true
        [ "$(wc -l <out.jsonl)" -lt "$(wc -l <whole.jsonl)" ] || break
    done
    partial=$(wc -l <out.jsonl)
    kml-predict -m "$D/models" -e e.json --state s.json "$D/feat.csv" >>out.jsonl 2>/dev/null || true
    echo "kills: $kills, decisions before the last run: $partial of $(wc -l <whole.jsonl)"
    [ "$kills" -ge 2 ] && [ "$partial" -gt 0 ]
    cmp out.jsonl whole.jsonl
    # without --state, or after another pair's decisions, appending to a file prints every bar
    head -1 whole.jsonl | sed 's/SOL/ETH/' >eth.jsonl
    kml-predict -m "$D/models" -e e.json --pair SOL/USD --state s2.json "$D/feat.csv" >>eth.jsonl 2>/dev/null
    [ "$(wc -l <eth.jsonl)" -eq $(($(wc -l <whole.jsonl) + 1)) ]
    kml-predict -m "$D/models" -e e.json "$D/feat.csv" >>whole.jsonl
    [ "$(wc -l <whole.jsonl)" -eq $((2 * $(wc -l <out.jsonl))) ]
}

@test "predict: weights are ensemble.json's regime rows mixed by p_<regime>, or the labelled row with --hard-regime" {
    /usr/bin/python3 "$ENS" "$SMALL" rate=0 >e.json  # eta 0: no adaptation, the weights are the fitted ones
    kml-predict -m "$D/models" -e e.json "$D/feat.csv" >soft.jsonl
    kml-predict -m "$D/models" -e e.json --hard-regime "$D/feat.csv" >hard.jsonl
    /usr/bin/python3 - e.json "$D/feat.csv" soft.jsonl hard.jsonl <<'PY'
import csv, json, sys
e = json.load(open(sys.argv[1])); rows = {int(r["time"]): r for r in csv.DictReader(open(sys.argv[2]))}
soft = [json.loads(l) for l in open(sys.argv[3])]; hard = [json.loads(l) for l in open(sys.argv[4])]
regimes = {"calm": 0, "wild": 0}
for s, h in zip(soft, hard):
    r = rows[s["time"]]; regimes[r["regime"]] += 1
    mix = {k: float(r["p_calm"]) * e["weights"]["calm"][k] + float(r["p_wild"]) * e["weights"]["wild"][k] for k in e["strategies"]}
    tot = sum(mix.values())
    for k in e["strategies"]:
        assert abs(s["weights"][k] - mix[k] / tot) < 1e-12, (k, s["weights"][k], mix[k] / tot)
        assert abs(h["weights"][k] - e["weights"][r["regime"]][k]) < 1e-12
assert min(regimes.values()) > 20, regimes
PY
}

@test "predict: with walk-forward windows, each bar uses its window's weights; bars before the first window get none" {
    t0=$(sed -n 101p "$D/feat.csv" | cut -d, -f1)
    t1=$(sed -n 301p "$D/feat.csv" | cut -d, -f1)
    /usr/bin/python3 "$ENS" "$SMALL" rate=0 windows=$t0:$t1 >e.json
    run --separate-stderr kml-predict -m "$D/models" -e e.json --hard-regime "$D/feat.csv"
    assert_success
    [[ "$stderr" == *"bars before the first window's from ($t0) have no out-of-sample weights"* ]]
    printf '%s\n' "$output" >w.jsonl
    [ "$(head -1 w.jsonl | jq .time)" = "$t0" ]
    /usr/bin/python3 - e.json w.jsonl "$t1" <<'PY'
import json, sys
e = json.load(open(sys.argv[1])); t1 = int(sys.argv[3]); seen = [0, 0]
for l in open(sys.argv[2]):
    d = json.loads(l)
    src = e["windows"][0] if d["time"] < t1 else e
    seen[d["time"] >= t1] += 1
    for k, w in d["weights"].items():
        assert abs(w - src["weights"][d["regime"]][k]) < 1e-12
assert seen[0] == 200 and seen[1] > 100, seen
PY
}

@test "predict: a window across a break in the data gives that model no probabilities; its weight goes to the others" {
    # 10 bars cut out after data row 400: a break for --max-gap 3
    { first 400; sed -n '412,$p' "$D/feat.csv"; } >gap.csv
    kml-predict -m "$D/models" -e "$D/small.json" gap.csv >g.jsonl
    /usr/bin/python3 - g.jsonl "$(sed -n 412p "$D/feat.csv" | cut -d, -f1)" <<'PY'
import json, sys
after = int(sys.argv[2]); ds = [json.loads(l) for l in open(sys.argv[1])]
i = next(k for k, d in enumerate(ds) if d["time"] == after)
for k, d in enumerate(ds[i:i + 7]):  # T = 8: the gru lacks a window for 7 bars, the linear model (T 1) never
    assert d["missing"] == ["gru"] and "gru" not in d["models"] and "model:gru" not in d["signals"], d
    assert d["weights"]["model:gru"] == 0 and abs(sum(d["weights"].values()) - 1) < 1e-12
    assert "linear" in d["models"]
assert ds[i + 7]["missing"] == [] and "gru" in ds[i + 7]["models"]
assert all(d["missing"] == [] for d in ds[:i])
PY
    # a wider --max-gap bridges it
    kml-predict -m "$D/models" -e "$D/small.json" --max-gap 20 gap.csv | jq -c .missing | sort -u | tr -d '\n' >m.txt
    [ "$(cat m.txt)" = "[]" ]
}

@test "predict: confidence follows its formula (agreement, model margin, regime probability) and 0 when nothing agrees" {
    /usr/bin/python3 - "$D/feat.csv" "$D/all.jsonl" <<'PY'
import csv, json, sys
rows = {int(r["time"]): r for r in csv.DictReader(open(sys.argv[1]))}
for l in open(sys.argv[2]):
    d = json.loads(l); w = d["weights"]; r = rows[d["time"]]
    sgn = lambda x: (x > 0) - (x < 0)
    A = min(1, abs(sum(w[k] * sgn(s) for k, s in d["signals"].items())))
    mw = sum(w["model:" + a] for a in d["models"])
    M = sum(w["model:" + a] * abs(p[2] - p[0]) for a, p in d["models"].items()) / mw if mw > 0 else 0
    P = float(r["p_" + d["regime"]])
    c = A * (1 + M) / 2 * (1 + P) / 2
    assert abs(d["confidence"] - c) < 1e-12, (d["confidence"], c)
PY
    # one strategy that is always flat: nothing agrees, confidence 0 on every bar
    /usr/bin/python3 "$ENS" "model:gru" >e.json
    kml-predict -m "$D/models" -e e.json "$D/feat.csv" | jq -r 'select(.signals["model:gru"] == 0) | .confidence' | sort -u >z.txt
    [ ! -s z.txt ] || [ "$(cat z.txt)" = "0" ]
}

# walk-forward predictions for gru and lstm from data row `from` on: before
# row `switch` both say 1/3 each (signal 0); from it, gru calls the next bar's
# direction right and lstm wrong.
wf_file() { # from switch
    /usr/bin/python3 - "$D/feat.csv" "$1" "$2" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1]))); a, sw = int(sys.argv[2]), int(sys.argv[3])
print("time,arch,p_down,p_flat,p_up")
for i in range(a - 1, len(rows)):
    nxt = float(rows[i + 1]["close"]) > float(rows[i]["close"]) if i + 1 < len(rows) else True
    for arch, right in (("gru", True), ("lstm", False)):
        if i + 1 < sw: p = (1 / 3, 1 / 3, 1 / 3)
        else: p = (0.05, 0.05, 0.9) if nxt == right else (0.9, 0.05, 0.05)
        print(f"{rows[i]['time']},{arch},{p[0]!r},{p[1]!r},{p[2]!r}")
PY
}

@test "predict: adaptive weights move toward the strategy that starts being right, within their bounds" {
    wf_file 50 300 >wf.csv
    /usr/bin/python3 "$ENS" "model:gru,model:lstm" equal=1 rate=3 min=0.5 max=2 entry=0 >e.json
    kml-predict --predictions wf.csv -e e.json "$D/feat.csv" >a.jsonl 2>/dev/null
    /usr/bin/python3 - a.jsonl "$(sed -n 301p "$D/feat.csv" | cut -d, -f1)" "$KML_LOG_DIR/model_collaboration.log" <<'PY'
import json, math, sys
ds = [json.loads(l) for l in open(sys.argv[1])]; sw = int(sys.argv[2])
# the multipliers in the log follow docs/predict.md's Hedge rule, recomputed
# here from the decisions: r = s_(t-1) ln(c_t / c_(t-1)) - fee |s_(t-1) - s_(t-2)|,
# m <- clamp(m exp(eta (r - mean r)), min, max), eta 3, fee 0.0026
logm = [json.loads(l)["adaptation"] for l in open(sys.argv[3])]
assert len(logm) == len(ds)
names = ["model:gru", "model:lstm"]; m = {k: 1.0 for k in names}; prev = {k: 0.0 for k in names}
for i, d in enumerate(ds):
    if i:
        lr = math.log(d["close"] / ds[i - 1]["close"])
        r = {k: ds[i - 1]["signals"][k] * lr - 0.0026 * abs(ds[i - 1]["signals"][k] - prev[k]) for k in names}
        prev = ds[i - 1]["signals"]
        rbar = sum(r.values()) / 2
        m = {k: min(2.0, max(0.5, m[k] * math.exp(3 * (r[k] - rbar)))) for k in names}
    for k in names:
        assert abs(logm[i][k] - m[k]) <= 1e-12 * m[k], (i, k, logm[i][k], m[k])
    tot = sum(0.5 * m[k] for k in names)
    assert abs(d["weights"]["model:gru"] - 0.5 * m["model:gru"] / tot) < 1e-12
before = [d for d in ds if d["time"] < sw]; after = [d for d in ds if d["time"] >= sw]
assert all(d["weights"] == {"model:gru": 0.5, "model:lstm": 0.5} for d in before)
g = [d["weights"]["model:gru"] for d in after]
assert g[0] == 0.5 and g[40] > 0.6 and g[-1] > 0.75, (g[0], g[40], g[-1])
# bounds: multipliers in [0.5, 2], so with equal fitted weights gru's share is at most 2 / (2 + 0.5)
assert max(g) <= 0.8 + 1e-12 and abs(max(g) - 0.8) < 1e-9, max(g)
thirds = [sum(x) / len(x) for x in (g[:len(g) // 3], g[len(g) // 3:2 * len(g) // 3], g[2 * len(g) // 3:])]
assert thirds[0] < thirds[1] < thirds[2], thirds
PY
    # the collaboration log has the multipliers, within the bounds, both reached
    jq -r '.adaptation["model:gru"], .adaptation["model:lstm"]' "$KML_LOG_DIR/model_collaboration.log" | sort -g | sed -n '1p;$p' >f.txt
    [ "$(cat f.txt | tr '\n' ' ')" = "0.5 2 " ]
}

@test "predict: --predictions skips bars before the first prediction (said once); a later missing one is an error" {
    wf_file 100 100 >wf.csv
    /usr/bin/python3 "$ENS" "trend,model:gru,model:lstm" >e.json
    run --separate-stderr kml-predict --predictions wf.csv -e e.json "$D/feat.csv"
    assert_success
    [ "$(printf '%s\n' "$output" | head -1 | jq .time)" = "$(sed -n 101p "$D/feat.csv" | cut -d, -f1)" ]
    [ "$(grep -c "before the first prediction" <<<"$stderr")" -eq 1 ]
    t=$(sed -n 201p "$D/feat.csv" | cut -d, -f1)
    grep -v "^$t,lstm," wf.csv >hole.csv
    run --separate-stderr kml-predict --predictions hole.csv -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"hole.csv: no prediction of arch 'lstm' at time $t"* ]]
    [ "$(printf '%s\n' "$output" | tail -1 | jq .time)" -lt "$t" ]
    # predictions that end early (the last bars have no label to train on): no decision after them, exit 0
    head -n -40 wf.csv >short.csv
    end=$(tail -1 short.csv | cut -d, -f1)
    run --separate-stderr kml-predict --predictions short.csv -e e.json --state s.json "$D/feat.csv"
    assert_success
    [[ "$stderr" == *"short.csv: the predictions end at time $end: no decision from"* ]]
    [ "$(printf '%s\n' "$output" | tail -1 | jq .time)" = "$end" ]
    # and the state stays there: the longer file continues with the bars the short one could not decide
    kml-predict --predictions wf.csv -e e.json --state s.json "$D/feat.csv" >more.jsonl 2>/dev/null
    kml-predict --predictions wf.csv -e e.json "$D/feat.csv" 2>/dev/null | tail -n "$(wc -l <more.jsonl)" | cmp - more.jsonl
    [ "$(head -1 more.jsonl | jq .time)" -gt "$end" ]
}

@test "predict: malformed predictions files are located errors (65)" {
    wf_file 100 100 >wf.csv
    /usr/bin/python3 "$ENS" "model:gru,model:lstm" >e.json
    sed '3s/,0\.[0-9]*$/,abc/' wf.csv >bad.csv
    run --separate-stderr kml-predict --predictions bad.csv -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"bad.csv:3: column 'p_up'"* ]]
    { cat wf.csv; sed -n 2p wf.csv; } >dup.csv
    run --separate-stderr kml-predict --predictions dup.csv -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"a second prediction"* ]]
    sed 's/,gru,/,cnn,/' wf.csv >nogru.csv
    run --separate-stderr kml-predict --predictions nogru.csv -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"nogru.csv: no prediction of arch 'gru' (strategy 'model:gru' of e.json)"* ]]
    printf 'time,arch,p_down,p_flat,p_up\n1,gru,0.5,0.5,0.5\n' >sum.csv
    run --separate-stderr kml-predict --predictions sum.csv -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"sum.csv:2: column 'p_up': p_down + p_flat + p_up = 1.5, not 1"* ]]
}

@test "predict: input problems are located errors (65): labels, missing columns, regimes, strategies, bad numbers, time order" {
    run --separate-stderr kml-predict -m "$D/models" -e "$D/small.json" "$D/labreg.csv"
    assert_failure 65
    [[ "$stderr" == *"labreg.csv:1: column 'y_"*"': a label column"* ]]
    cut -d, -f1-14,16- "$D/feat.csv" >norsi.csv # rsi_14 is the 15th column
    head -1 "$D/feat.csv" | cut -d, -f15 | grep -qx rsi_14
    run --separate-stderr kml-predict -m "$D/models" -e "$D/small.json" norsi.csv
    assert_failure 65
    [[ "$stderr" == *"norsi.csv:1: the linear model needs column 'rsi_14', absent from the input"* ]]
    sed '1s/p_wild/p_stormy/' "$D/feat.csv" >noreg.csv
    run --separate-stderr kml-predict -m "$D/models" -e "$D/small.json" noreg.csv
    assert_failure 65
    [[ "$stderr" == *"noreg.csv:1: "*"small.json names regime 'wild', and the input has no column 'p_wild'"* ]]
    /usr/bin/python3 "$ENS" "meanrev,hold" >e.json
    sed '1s/bb_pctb_20/bb_x/' "$D/feat.csv" >nobb.csv
    run --separate-stderr kml-predict -m "$D/models" -e e.json nobb.csv
    assert_failure 65
    [[ "$stderr" == *"nobb.csv:1: strategy 'meanrev' of e.json needs column(s) 'bb_pctb_20', absent from the input"* ]]
    sed '1s/,rv_24,/,rv_x,/' "$D/feat.csv" >norv.csv
    run --separate-stderr kml-predict -m "$D/models" -e e.json norv.csv
    assert_failure 65
    [[ "$stderr" == *"'rv_24'"* ]]
    sed '30s/^\([0-9]*\),[^,]*,/\1,abc,/' "$D/feat.csv" >badclose.csv
    run --separate-stderr kml-predict -m "$D/models" -e e.json badclose.csv
    assert_failure 65
    [[ "$stderr" == *"badclose.csv:30: column 'close'"* ]]
    awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rsi_14") c = i } NR == 25 { $c = "x1" } 1' "$D/feat.csv" >badrsi.csv
    run --separate-stderr kml-predict -m "$D/models" -e "$D/small.json" badrsi.csv
    assert_failure 65
    [[ "$stderr" == *"badrsi.csv:25: column 'rsi_14'"* ]]
    awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "p_wild") c = i } NR == 40 { $c = "1.5" } 1' "$D/feat.csv" >badp.csv
    run --separate-stderr kml-predict -m "$D/models" -e "$D/small.json" badp.csv
    assert_failure 65
    [[ "$stderr" == *"badp.csv:40: column 'p_wild': not a probability: 1.5"* ]]
    { first 20; sed -n 12p "$D/feat.csv"; } >back.csv
    run --separate-stderr kml-predict -m "$D/models" -e e.json back.csv
    assert_failure 65
    [[ "$stderr" == *"back.csv:22: column 'time': time"*"not after the previous row's"* ]]
    first 5 >short.csv
    run --separate-stderr kml-predict -m "$D/models" -e "$D/small.json" short.csv
    assert_failure 65
    [[ "$stderr" == *"no decision from 5 rows"* ]]
}

@test "predict: ensemble.json and model problems: messages and exit codes" {
    run --separate-stderr kml-predict -m "$D/models" -e nothere.json "$D/feat.csv"
    assert_failure 66
    run --separate-stderr kml-predict -m nothere.safetensors -e "$D/small.json" "$D/feat.csv"
    assert_failure 66
    [[ "$stderr" == *"nothere.safetensors"* ]]
    /usr/bin/python3 "$ENS" "trend,model:gru" >e.json
    jq 'del(.weights.wild)' e.json >nowild.json
    run --separate-stderr kml-predict -m "$D/models" -e nowild.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"nowild.json: key 'weights.wild' missing"* ]]
    jq '.strategies += ["astrology"]' e.json >astro.json
    run --separate-stderr kml-predict -m "$D/models" -e astro.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"astro.json: key 'strategies': unknown strategy 'astrology'"* ]]
    jq '.weights.calm.trend = -1' e.json >neg.json
    run --separate-stderr kml-predict -m "$D/models" -e neg.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"neg.json: key 'weights.calm.trend': negative weight"* ]]
    jq '.adaptation.rate = -0.5' e.json >eta.json
    run --separate-stderr kml-predict -m "$D/models" -e eta.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"eta.json: key 'adaptation.rate': negative"* ]]
    jq '.adaptation.min = 1.5' e.json >lo.json
    run --separate-stderr kml-predict -m "$D/models" -e lo.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"lo.json: keys 'adaptation.min', 'max': need 0 < min <= 1 <= max"* ]]
    jq 'del(.adaptation.rate)' e.json >norate.json
    run --separate-stderr kml-predict -m "$D/models" -e norate.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"norate.json: key 'adaptation.rate' missing"* ]]
    echo '{"strategies": [' >broken.json
    run --separate-stderr kml-predict -m "$D/models" -e broken.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"broken.json:"* ]]
    /usr/bin/python3 "$ENS" "trend,model:tcn" >tcn.json
    run --separate-stderr kml-predict -m "$D/models/gru.safetensors" -e tcn.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"tcn.json: strategy 'model:tcn' needs a tcn model, and no -m model is one"* ]]
    # a network straight from kml-model init has no features: the message names what is missing
    kml-model init --arch gru --T 8 --F 4 --H 8 -o bare.safetensors
    run --separate-stderr kml-predict -m bare.safetensors -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"bare.safetensors: metadata \"features\" missing (not a model file written by kml-train)"* ]]
    printf 'junk' >junk.safetensors
    run --separate-stderr kml-predict -m junk.safetensors -e e.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"junk.safetensors: not a safetensors file (4 bytes)"* ]]
    mkdir empty
    run --separate-stderr kml-predict -m empty -e e.json "$D/feat.csv"
    assert_failure 66
    [[ "$stderr" == *"empty: no *.safetensors model in this directory"* ]]
}

@test "predict: source: synthetic if ensemble.json or a model says so; real models make an unknown ensemble real; --source overrides" {
    src() { kml-predict "$@" "$D/feat.csv" | jq -r .source | sort -u | tr '\n' ' '; }
    for s in synthetic real unknown; do /usr/bin/python3 "$ENS" "hold,model:linear" source=$s >$s.json; done
    kml-train --arch linear --epochs 1 -q --source real -o real "$D/lab.csv" >/dev/null
    kml-train --arch linear --epochs 1 -q --source synthetic -o syn "$D/lab.csv" >/dev/null
    [ "$(src -m "$D/models" -e synthetic.json)" = "synthetic " ] # models of unknown source
    [ "$(src -m "$D/models" -e real.json)" = "real " ]
    [ "$(src -m "$D/models" -e unknown.json)" = "unknown " ]
    [ "$(src -m real -e unknown.json)" = "real " ]
    [ "$(src -m syn -e real.json)" = "synthetic " ]
    [ "$(src -m syn -e real.json --source real)" = "real " ]
}

@test "predict: a state file of other strategies is refused (65), not silently reused" {
    first 30 | kml-predict -m "$D/models" -e "$D/small.json" --state s.json >/dev/null
    /usr/bin/python3 "$ENS" "trend,model:gru" >other.json
    run --separate-stderr kml-predict -m "$D/models" -e other.json --state s.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"s.json: written for strategies"*"start a new state file"* ]]
    echo '{"format": "something"}' >x.json
    run --separate-stderr kml-predict -m "$D/models" -e other.json --state x.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"x.json: not a kml-predict state file"* ]]
    run --separate-stderr kml-predict -m "$D/models" -e other.json --state nodir/s.json "$D/feat.csv"
    assert_failure 73
    [[ "$stderr" == *"nodir/s.json"* ]]
}

@test "predict: a version 1 state (moments, before Hedge) carries over with multipliers at 1; unknown versions and bad multipliers are refused (65)" {
    /usr/bin/python3 "$ENS" "$SMALL" rate=0 >e.json  # no adaptation: the converted run must give the whole run's bytes
    kml-predict -m "$D/models" -e e.json "$D/feat.csv" >whole.jsonl
    first 200 | kml-predict -m "$D/models" -e e.json --state s.json >part.jsonl
    jq -c '.version == 2 and (.multipliers | length) == 4 and has("adapt_mean") == false' s.json | grep -qx true
    # the state as the version before Hedge wrote it
    jq -c '.version = 1 | .adapt_mean = [0.001, 0, -0.002, 0] | .adapt_square = [1e-5, 0, 2e-5, 0] | del(.multipliers)' s.json >v1.json
    cp v1.json s.json
    run --separate-stderr kml-predict -m "$D/models" -e e.json --state s.json "$D/feat.csv"
    assert_success
    [[ "$stderr" == *"s.json: a version 1 state (the adaptation before Hedge): everything but the adaptation carries over; the multipliers start again at 1"* ]]
    printf '%s\n' "$output" >>part.jsonl
    cmp part.jsonl whole.jsonl
    jq -c '[.version, .multipliers]' s.json | grep -qx '\[2,\[1,1,1,1\]\]'
    jq -c '.version = 3' v1.json >v3.json
    run --separate-stderr kml-predict -m "$D/models" -e e.json --state v3.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"v3.json: state version 3; this kml-predict reads versions 1 and 2"* ]]
    first 50 | kml-predict -m "$D/models" -e e.json --state s2.json >/dev/null
    jq -c '.multipliers[1] = -1' s2.json >neg.json
    run --separate-stderr kml-predict -m "$D/models" -e e.json --state neg.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"neg.json: key 'multipliers'[1]: not a positive number"* ]]
    jq -c 'del(.multipliers)' s2.json >none.json
    run --separate-stderr kml-predict -m "$D/models" -e e.json --state none.json "$D/feat.csv"
    assert_failure 65
    [[ "$stderr" == *"none.json: key 'multipliers': not an array of 4 numbers"* ]]
}

@test "predict: model_collaboration.log has one line per decision with weights, signals, adaptation and confidence" {
    first 60 | kml-predict -m "$D/models" -e "$D/small.json" >d.jsonl
    log="$KML_LOG_DIR/model_collaboration.log"
    [ "$(wc -l <"$log")" -eq "$(wc -l <d.jsonl)" ]
    paste -d'\n' <(jq -c '[.time, .weights, .signals, .confidence]' d.jsonl) \
                 <(jq -c '[.time, .weights, .signals, .confidence]' "$log") | uniq | wc -l | grep -qx "$(wc -l <d.jsonl)"
    jq -e '.component == "kml-predict" and (.adaptation | length) == 4' "$log" >/dev/null
}

@test "predict: on real SOL/USD, the backtest chain (regime, walk-forward, ensemble, predict) decides every bar of the windows, and in pieces the same" {
    need_data SOLUSD_60.csv
    command -v kml-regime >/dev/null && command -v kml-ensemble >/dev/null || skip "kml-regime or kml-ensemble not built"
    { head -1 "$KML_SHARED_DATA/kraken/SOLUSD_60.csv"; tail -n 4000 "$KML_SHARED_DATA/kraken/SOLUSD_60.csv"; } >sol.csv
    kml-features --labels sol.csv >lab.csv
    kml-features sol.csv >f.csv
    kml-regime fit -o regime.json lab.csv 2>/dev/null
    kml-regime label -m regime.json lab.csv >labr.csv
    kml-regime label -m regime.json f.csv >fr.csv
    kml-train --walk-forward --arch linear -T 4 --epochs 2 -q --train-days 40 --step-days 20 lab.csv >wf.csv 2>/dev/null
    kml-ensemble fit --predictions wf.csv --walk-forward --train-days 40 --step-days 20 --pair SOL/USD --source real \
        -o ens.json labr.csv 2>/dev/null
    run --separate-stderr kml-predict --predictions wf.csv -e ens.json fr.csv
    assert_success
    printf '%s\n' "$output" >whole.jsonl
    from=$(jq '.windows[0].from' ens.json)
    last=$(tail -1 wf.csv | cut -d, -f1)
    [ "$(head -1 whole.jsonl | jq .time)" = "$(awk -F, -v f="$from" 'NR > 1 && $1 >= f { print $1; exit }' fr.csv)" ]
    [ "$(tail -1 whole.jsonl | jq .time)" = "$last" ]
    [ "$(wc -l <whole.jsonl)" -eq "$(awk -F, -v f="$from" -v l="$last" 'NR > 1 && $1 >= f && $1 <= l' fr.csv | wc -l)" ]
    jq -e '(.weights | add) as $s | ($s == 0 or ($s > 0.999999999 and $s < 1.000000001)) and .source == "real" and .volatility > 0' whole.jsonl >/dev/null
    # the same in three consecutive pieces through --state
    n=$(($(wc -l <fr.csv) - 1))
    a=1
    for b in $((n / 3)) $((2 * n / 3)) $n; do
        { head -1 fr.csv; sed -n "$((a + 1)),$((b + 1))p" fr.csv; } | kml-predict --predictions wf.csv -e ens.json --state s.json >>pieces.jsonl 2>/dev/null
        a=$((b + 1))
    done
    cmp pieces.jsonl whole.jsonl
}
