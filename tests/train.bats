#!/usr/bin/env bats
# kml-train: honest evaluation (purged split, train-only scaler, class-prior
# baseline), reproducibility, skipping unchanged models, --days, --optimize,
# --extreme-leverage, --visualize and walk-forward, for the linear baseline
# and lib/nn's deep models. The data: tests/fixtures/train_gen.py (hourly bars
# with a planted momentum pattern, features computed in Python) and
# kml-fetch sim --plant through kml-features (the product's own pipeline).
# Models are tiny (T 8, H 16, a few epochs) so the suite stays fast.
load helper
bats_require_minimum_version 1.5.0

GEN="$KML_ROOT/tests/fixtures/train_gen.py"
FAST=(--epochs 8 --patience 3 -T 8 --lr 0.01 -q)
DEEP=(--epochs 8 --patience 3 -T 8 --hidden 16 --lr 0.01 -q)
ARCHS="linear lstm gru tcn cnn transformer hybrid"

setup_file() {
    export D="$BATS_FILE_TMPDIR"
    # one BLAS thread: the machine is shared, and these models are too small to gain from more
    export OPENBLAS_NUM_THREADS=1
    /usr/bin/python3 "$GEN" 3000 1 0.3 >"$D/plant.csv"
    /usr/bin/python3 "$GEN" 3000 1 0.3 --shuffle >"$D/shuffled.csv"
    /usr/bin/python3 "$GEN" 2000 2 0.3 --tb 125 >"$D/tb.csv"
    # the product's pipeline: simulated candles with a planted momentum, kml-features' labels
    kml-fetch sim --pair SOL/USD --bars 3300 --plant 0.5 --seed 3 >"$D/sim_candles.csv" 2>/dev/null
    kml-features --labels --leverage 125 "$D/sim_candles.csv" >"$D/sim.csv"
    /usr/bin/python3 "$GEN" --shuffle-labels "$D/sim.csv" 5 >"$D/sim_shuffled.csv"
    # every architecture once on each; the tests below read these results
    KML_LOG_DIR="$D/logs" kml-train --arch all -o "$D/all" "${DEEP[@]}" --source synthetic "$D/sim.csv" >"$D/all.json"
    KML_LOG_DIR="$D/logs_shuffled" kml-train --arch all -o "$D/all_shuffled" "${DEEP[@]}" "$D/sim_shuffled.csv" >"$D/all_shuffled.json"
}

setup() {
    export KML_LOG_DIR="$BATS_TEST_TMPDIR/logs" OPENBLAS_NUM_THREADS=1
    cd "$BATS_TEST_TMPDIR"
}

# jq on the one JSON line of $output
j() { printf '%s\n' "$output" | jq -r "$1"; }

@test "train: --help prints the usage and exits 0" {
    run kml-train --help
    assert_success
    assert_output --partial "kml-train [options] [FILE]"
    assert_output --partial "--walk-forward"
}

@test "train: an unknown option exits 64 with a hint" {
    run --separate-stderr kml-train --bogus "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"--help"* ]]
}

@test "train: an unknown architecture exits 64 naming it" {
    run --separate-stderr kml-train --arch rnn "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"unknown architecture 'rnn'"* ]]
}

@test "train: bad option values exit 64" {
    run --separate-stderr kml-train --arch linear --split 90,20 "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"leaves no test split"* ]]
    run --separate-stderr kml-train --arch linear --source simulated "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"--source"* ]]
    run --separate-stderr kml-train --arch linear --purge 2 "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"shorter than the label horizon 4"* ]]
}

@test "train: a missing input file exits 66" {
    run --separate-stderr kml-train --arch linear "$BATS_TEST_TMPDIR/none.csv"
    assert_failure 66
    [[ "$stderr" == *"none.csv"* ]]
}

@test "train: a bad label is a located error 65" {
    head -5 "$D/plant.csv" >bad.csv
    sed -i '4s/,[0-9]$/,7/' bad.csv
    run --separate-stderr kml-train --arch linear -o m bad.csv
    assert_failure 65
    [[ "$stderr" == *"bad.csv:4: column 'y_class': label 7"* ]]
}

@test "train: a missing label column says how to make labels" {
    cut -d, -f1-8 "$D/plant.csv" >nolabel.csv
    run --separate-stderr kml-train --arch linear -o m nolabel.csv
    assert_failure 65
    [[ "$stderr" == *"no label column 'y_class'"*"kml-features --labels"* ]]
}

@test "train: too few rows for the split is a clear error 65" {
    head -20 "$D/plant.csv" >short.csv
    run --separate-stderr kml-train --arch linear -o m -T 16 short.csv
    assert_failure 65
    [[ "$stderr" == *"too few"* ]]
}

@test "train: linear learns the planted pattern and beats the class prior on test" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --source synthetic "$D/plant.csv"
    assert_success
    # chance is 1/3; the prior's log-loss is the bar to beat
    awk -v a="$(j .metrics.test.accuracy)" 'BEGIN { exit !(a > 0.45) }'
    awk -v i="$(j .metrics.test.improvement)" 'BEGIN { exit !(i > 0.01) }'
    awk -v i="$(j .metrics.test.ic)" 'BEGIN { exit !(i > 0.1) }'
    [ "$(j .source)" = synthetic ]
    for s in train val test; do
        for k in log_loss baseline_log_loss accuracy balanced_accuracy macro_f1 brier ece hit_rate ic; do
            [ "$(j ".metrics.$s.$k | type")" = number ]
        done
    done
    [ -s m/linear.safetensors ]
}

@test "train: with labels shuffled in time the linear model does not beat the class prior" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" "$D/shuffled.csv"
    assert_success
    # no leak: the test log-loss is not better than the prior's (0.005 of slack for noise)
    awk -v i="$(j .metrics.test.improvement)" 'BEGIN { exit !(i < 0.005) }'
    awk -v a="$(j .metrics.test.ic)" 'BEGIN { exit !(a < 0.1 && a > -0.1) }'
}

@test "train: the split is chronological with a purge gap of the label horizon" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" "$D/plant.csv"
    assert_success
    # hourly bars, horizon 4: at least 4 bars strictly between the parts
    [ $(( $(j .train_window.val.first) - $(j .train_window.train.last) )) -ge $(( 5 * 3600 )) ]
    [ $(( $(j .train_window.test.first) - $(j .train_window.val.last) )) -ge $(( 5 * 3600 )) ]
    [ "$(j .train_window.purge)" = 4 ]
    tr=$(j .train_window.train.rows); va=$(j .train_window.val.rows); te=$(j .train_window.test.rows)
    # 70/15/15 of the samples
    awk -v a=$tr -v b=$va -v c=$te 'BEGIN { n = a + b + c; exit !(a / n > 0.69 && a / n < 0.71 && c / n > 0.14) }'
}

@test "train: the scaler in the model is fitted on the training rows only" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" "$D/plant.csv"
    assert_success
    last=$(j .train_window.train.last)
    /usr/bin/python3 - m/linear.safetensors "$D/plant.csv" "$last" <<'PY'
import csv, json, struct, sys, statistics
path, data, last = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    meta = json.loads(f.read(n))["__metadata__"]
sc = json.loads(meta["scaler"]); feats = json.loads(meta["features"])
assert feats == ["ret_1", "ret_4", "ret_8", "rv_12", "noise", "hour_sin"], feats
rows = [r for r in csv.DictReader(open(data)) if int(r["time"]) <= last]
allrows = list(csv.DictReader(open(data)))
for k, name in enumerate(feats):
    xs = [float(r[name]) for r in rows]
    mu = statistics.fmean(xs); sd = statistics.pstdev(xs)
    assert abs(sc["mean"][k] - mu) <= 1e-12 * max(1, abs(mu)), (name, sc["mean"][k], mu)
    assert abs(sc["std"][k] - sd) <= 1e-9 * sd, (name, sc["std"][k], sd)
    # and it differs from the whole file's statistics
    allx = [float(r[name]) for r in allrows]
    assert statistics.fmean(allx) != mu
for key in ["config", "features", "scaler", "labels", "train_window", "metrics", "data_hash", "config_hash", "calibration"]:
    assert key in meta, key
cfg = json.loads(meta["config"]); assert cfg["arch"] == "linear" and cfg["F"] == 6, cfg
m = json.loads(meta["metrics"]); assert set(m) == {"train", "val", "test"}
PY
}

@test "train: the linear model file holds linear.weight [3,F] and linear.bias [3]" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" "$D/plant.csv"
    assert_success
    /usr/bin/python3 - m/linear.safetensors <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
assert n % 8 == 0
assert h["linear.weight"]["shape"] == [3, 6] and h["linear.weight"]["dtype"] == "F32"
assert h["linear.bias"]["shape"] == [3]
end = max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__")
assert len(b) == 8 + n + end, (len(b), n, end)
PY
}

@test "train: the same seed gives a byte-identical model file, another seed a different one" {
    kml-train --arch linear -o a "${FAST[@]}" --seed 7 "$D/plant.csv" >/dev/null
    kml-train --arch linear -o b "${FAST[@]}" --seed 7 "$D/plant.csv" >/dev/null
    kml-train --arch linear -o c "${FAST[@]}" --seed 8 "$D/plant.csv" >/dev/null
    cmp a/linear.safetensors b/linear.safetensors
    ! cmp -s a/linear.safetensors c/linear.safetensors
}

@test "train: an unchanged model is kept; --force-retrain and changed data train again" {
    kml-train --arch linear -o m "${FAST[@]}" "$D/plant.csv" >/dev/null
    touch -d '2001-01-01' m/linear.safetensors
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" "$D/plant.csv"
    assert_success
    [ "$(j .skipped)" = true ]
    [[ "$stderr" == *"unchanged: model kept"* ]]
    [ "$(stat -c %Y m/linear.safetensors)" = "$(date -d 2001-01-01 +%s)" ]
    awk -v a="$(j .metrics.test.accuracy)" 'BEGIN { exit !(a > 0) }'
    grep -q '"msg":"model unchanged, kept"' "$KML_LOG_DIR/ml_training.log"
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --force-retrain "$D/plant.csv"
    [ "$(j .skipped)" = false ]
    [ "$(stat -c %Y m/linear.safetensors)" != "$(date -d 2001-01-01 +%s)" ]
    # a changed configuration retrains
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --lr 0.02 "$D/plant.csv"
    [ "$(j .skipped)" = false ]
    # changed data retrains
    head -2900 "$D/plant.csv" >less.csv
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --lr 0.02 less.csv
    [ "$(j .skipped)" = false ]
}

@test "train: --days N trains on the last N days only" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --days 50 "$D/plant.csv"
    assert_success
    last=$(tail -1 "$D/plant.csv" | cut -d, -f1)
    [ "$(j .time_range.last)" = "$last" ]
    [ "$(j .time_range.first)" -gt $(( last - 50 * 86400 )) ]
    [ "$(j .time_range.first)" -le $(( last - 50 * 86400 + 3600 )) ]
    [ "$(j .data.rows)" = 1200 ]
}

@test "train: every epoch and the result are JSON lines in logs/ml_training.log" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --epochs 4 --patience 10 "$D/plant.csv"
    assert_success
    log="$KML_LOG_DIR/ml_training.log"
    jq -e . "$log" >/dev/null
    [ "$(grep -c '"msg":"epoch"' "$log")" = 4 ]
    [ "$(grep '"msg":"result"' "$log" | jq -r .metrics.test.accuracy)" = "$(j .metrics.test.accuracy)" ]
    [ "$(grep '"msg":"epoch"' "$log" | jq -r '.val_loss | type' | sort -u)" = number ]
}

@test "train: --visualize writes valid PNG files and lists them in the JSON" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --visualize "$D/plant.csv"
    assert_success
    [ "$(j '.plots | length')" = 4 ]
    for p in $(j '.plots[]'); do
        [ -s "$p" ]
        [ "$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
        [[ "$stderr" == *"wrote $p"* ]]
    done
    for w in loss confusion reliability edge; do [ -f "m/linear_$w.png" ]; done
}

@test "train: --extreme-leverage learns the triple-barrier labels to the pair's liquidation" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --extreme-leverage --pair SOL/USD "$D/tb.csv"
    assert_success
    [ "$(j .labels.column)" = y_tb_lev125 ]
    [ "$(j .labels.leverage)" = 125 ]
    [ "$(j .labels.extreme_leverage)" = true ]
    # the margin model's liquidation move at 125x: (1 - margin_stop 0.4) / 125 (docs/margin.md)
    awk -v m="$(j .labels.liquidation_move)" 'BEGIN { exit !(m > 0.00479 && m < 0.00481) }'
    [ "$(j .labels.margin_stop)" = 0.4 ]
    /usr/bin/python3 - m/linear.safetensors <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
lab = json.loads(json.loads(b[8:8 + n])["__metadata__"]["labels"])
assert lab["column"] == "y_tb_lev125" and lab["kind"] == "triple_barrier", lab
PY
}

@test "train: --extreme-leverage without matching labels says how to make them" {
    run --separate-stderr kml-train --arch linear -o m --extreme-leverage --pair BTC/USD "$D/tb.csv"
    assert_failure 65
    [[ "$stderr" == *"no column 'y_tb_lev85'"*"kml-features --labels --barrier --leverage 85"* ]]
    run --separate-stderr kml-train --arch linear -o m --extreme-leverage "$D/tb.csv"
    assert_failure 64
    [[ "$stderr" == *"needs --pair"* ]]
}

@test "train: --optimize writes the trial table and best config, and never looks at the test split" {
    run --separate-stderr kml-train --arch linear -o m --epochs 9 -q --optimize --trials 9 --space T=4:8 --jobs 2 "$D/plant.csv"
    assert_success
    head -1 m/linear_trials.csv | grep -qx 'trial,rung,epochs,H,layers,dropout,lr,weight_decay,T,batch,val_loss'
    # 9 trials at rung 0, 3 at rung 1, 1 at rung 2 (successive halving, eta 3)
    [ "$(awk -F, 'NR > 1 && $2 == 0' m/linear_trials.csv | wc -l)" = 9 ]
    [ "$(awk -F, 'NR > 1 && $2 == 1' m/linear_trials.csv | wc -l)" = 3 ]
    [ "$(awk -F, 'NR > 1 && $2 == 2' m/linear_trials.csv | wc -l)" = 1 ]
    best=$(jq -r .trial m/linear_best.json)
    [ "$(awk -F, 'NR > 1 && $2 == 2 { print $1 }' m/linear_trials.csv)" = "$best" ]
    [ "$(j .arch)" = linear ]
    [ "$(j '.metrics.test.accuracy | type')" = number ]
    # the same seed gives the same table with one job
    kml-train --arch linear -o m1 --epochs 9 -q --optimize --trials 9 --space T=4:8 --jobs 1 "$D/plant.csv" >/dev/null
    cmp m/linear_trials.csv m1/linear_trials.csv
    # scrambling the last 10 % of the rows (inside the test split) changes no trial
    n=$(wc -l <"$D/plant.csv")
    awk -F, -v OFS=, -v cut=$((n - n / 10)) 'NR > cut { $3 = -$3; $10 = 2 - $10 } 1' "$D/plant.csv" >scrambled.csv
    ! cmp -s scrambled.csv "$D/plant.csv"
    kml-train --arch linear -o m2 --epochs 9 -q --optimize --trials 9 --space T=4:8 --jobs 2 scrambled.csv >/dev/null
    cmp m/linear_trials.csv m2/linear_trials.csv
}

@test "train: --optimize rejects a bad search space" {
    run --separate-stderr kml-train --arch linear -o m --optimize --space 'depth=1:2' "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"unknown parameter 'depth'"* ]]
}

@test "train: walk-forward predicts every bar after the first window, never with a model that saw it" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --walk-forward --train-days 40 --step-days 10 "$D/plant.csv"
    assert_success
    printf '%s\n' "$output" >wf.csv
    head -1 wf.csv | grep -qx 'time,arch,p_down,p_flat,p_up'
    first=$(sed -n 2p "$D/plant.csv" | cut -d, -f1)
    # every bar from first + 40 days on, once
    expected=$(awk -F, -v t=$((first + 40 * 86400)) 'NR > 1 && $1 >= t' "$D/plant.csv" | wc -l)
    [ "$(tail -n +2 wf.csv | wc -l)" = "$expected" ]
    [ "$(tail -n +2 wf.csv | cut -d, -f1 | sort -u | wc -l)" = "$expected" ]
    # probabilities sum to 1
    tail -n +2 wf.csv | awk -F, '{ s = $3 + $4 + $5; if (s < 0.999999 || s > 1.000001) exit 1 }'
    # each prediction lies in its fold's range, after the last bar the fold's model saw
    grep '"msg":"walk-forward fold"' "$KML_LOG_DIR/ml_training.log" |
        jq -r '[.seen_last, .predict_first, .predict_last] | @csv' >folds.csv
    [ "$(wc -l <folds.csv)" -ge 4 ]
    awk -F, 'NR == FNR { s[NR] = $1; a[NR] = $2; b[NR] = $3; n = NR; next }
             FNR > 1 { ok = 0; for (k = 1; k <= n; k++) if ($1 >= a[k] && $1 <= b[k]) { ok = 1; if (s[k] >= $1) exit 1 }
                       if (!ok) exit 2 }' folds.csv wf.csv
}

@test "train: walk-forward is causal: changing later bars changes no earlier prediction" {
    kml-train --arch linear -o m "${FAST[@]}" --walk-forward --train-days 40 --step-days 10 "$D/plant.csv" >a.csv
    first=$(sed -n 2p "$D/plant.csv" | cut -d, -f1)
    cut=$((first + 75 * 86400))
    awk -F, -v OFS=, -v cut=$cut 'NR > 1 && $1 >= cut { $3 = $3 * 3; $10 = 2 - $10 } 1' "$D/plant.csv" >later.csv
    kml-train --arch linear -o m2 "${FAST[@]}" --walk-forward --train-days 40 --step-days 10 later.csv >b.csv
    diff <(awk -F, -v c=$cut 'NR > 1 && $1 < c' a.csv) <(awk -F, -v c=$cut 'NR > 1 && $1 < c' b.csv)
    ! diff -q <(awk -F, -v c=$cut 'NR > 1 && $1 >= c' a.csv) <(awk -F, -v c=$cut 'NR > 1 && $1 >= c' b.csv) >/dev/null
}

@test "train: walk-forward with a window longer than the data is an error 65" {
    run --separate-stderr kml-train --arch linear -o m "${FAST[@]}" --walk-forward --train-days 400 "$D/plant.csv"
    assert_failure 65
    [[ "$stderr" == *"less than --train-days"* ]]
}

@test "train: every architecture learns the planted pattern of kml-fetch sim data, well above chance and the prior" {
    r="$D/all.json"
    [ "$(jq -r .arch "$r")" = all ]
    [ "$(jq -r '[.comparison[].arch] | join(" ")' "$r")" = "$ARCHS" ]
    [ "$(jq -r '[.results[].arch] | join(" ")' "$r")" = "$ARCHS" ]
    for a in $ARCHS; do
        t=$(jq -c --arg a "$a" '.results[] | select(.arch == $a)' "$r")
        acc=$(jq -r .metrics.test.accuracy <<<"$t")
        majority=$(jq -r '.run.class_prior | max' <<<"$t")
        # chance is 1/3 and always answering the commonest class scores `majority`
        awk -v a="$acc" -v m="$majority" 'BEGIN { exit !(a > 0.6 && a > m + 0.15) }' || { echo "$a: accuracy $acc, majority $majority"; false; }
        awk -v b="$(jq -r .metrics.test.balanced_accuracy <<<"$t")" 'BEGIN { exit !(b > 0.45) }'
        awk -v i="$(jq -r .metrics.test.improvement <<<"$t")" 'BEGIN { exit !(i > 0.1) }' || { echo "$a: no improvement over the prior"; false; }
        awk -v i="$(jq -r .metrics.test.ic <<<"$t")" 'BEGIN { exit !(i > 0.2) }'
        [ "$(jq -r .source <<<"$t")" = synthetic ]
        [ -s "$D/all/$a.safetensors" ]
        # the comparison row is the result's test metrics
        [ "$(jq -r --arg a "$a" '.comparison[] | select(.arch == $a) | .log_loss' "$r")" = "$(jq -r .metrics.test.log_loss <<<"$t")" ]
        awk -v s="$(jq -r .samples_per_s <<<"$t")" 'BEGIN { exit !(s > 0) }'
    done
}

@test "train: with the labels shuffled in time no architecture beats the class prior on test (no leak)" {
    r="$D/all_shuffled.json"
    for a in $ARCHS; do
        t=$(jq -c --arg a "$a" '.results[] | select(.arch == $a)' "$r")
        i=$(jq -r .metrics.test.improvement <<<"$t")
        awk -v i="$i" 'BEGIN { exit !(i < 0.005) }' || { echo "$a: improvement $i over the prior on shuffled labels"; false; }
        awk -v c="$(jq -r .metrics.test.ic <<<"$t")" 'BEGIN { exit !(c < 0.15 && c > -0.15) }'
    done
}

@test "train: deep model files load in PyTorch's reference and reproduce kml-train's metrics and best epoch" {
    need_torch
    ref="$KML_SHARED_DATA/../reference/torch_models.py"
    [ -f "$ref" ] || skip "the PyTorch reference $ref is absent"
    /usr/bin/python3 - "$ref" "$D/all" "$D/sim.csv" <<'PY'
import csv, importlib.util, json, subprocess, sys
import numpy as np, torch
ref, mdir, data = sys.argv[1:]
spec = importlib.util.spec_from_file_location("tm", ref); tm = importlib.util.module_from_spec(spec); spec.loader.exec_module(tm)
rows = list(csv.DictReader(open(data)))
times = np.array([int(r["time"]) for r in rows])
for arch in ["lstm", "gru", "tcn", "cnn", "transformer", "hybrid"]:
    path = f"{mdir}/{arch}.safetensors"
    tensors, meta = tm.read_safetensors(path)
    for key in ["config", "features", "scaler", "labels", "train_window", "metrics", "run", "calibration", "training"]:
        assert key in meta, (arch, key)
    cfg = json.loads(meta["config"]); feats = json.loads(meta["features"]); sc = json.loads(meta["scaler"])
    tw = json.loads(meta["train_window"]); run = json.loads(meta["run"]); met = json.loads(meta["metrics"])
    lab = json.loads(meta["labels"]); off = np.array(json.loads(meta["calibration"])["logit_offset"])
    assert cfg["arch"] == arch and cfg["T"] == 8 and cfg["H"] == 16 and cfg["F"] == len(feats), cfg
    assert set(met) == {"train", "val", "test"}
    T = cfg["T"]
    X = np.array([[float(r[f]) for f in feats] for r in rows])
    X = ((X - np.array(sc["mean"])) / np.array(sc["std"])).astype(np.float32)
    y = np.array([int(r[lab["column"]]) for r in rows])
    m = tm.build(arch, T, cfg["F"], cfg["H"]); m.load_state_dict(tensors, strict=True); m.eval()
    def logits(split):
        idx = np.nonzero((times >= tw[split]["first"]) & (times <= tw[split]["last"]))[0]
        assert len(idx) == tw[split]["rows"], (arch, split)
        W = np.stack([X[i - T + 1:i + 1] for i in idx])
        with torch.no_grad():
            return m(torch.from_numpy(W)).double().numpy(), y[idx], W
    # the file holds the best epoch: its weighted validation loss is the best one seen
    z, yv, _ = logits("val")
    w = np.array(run["class_weights"])
    lp = z - z.max(1, keepdims=True); lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    wl = -(w[yv] * lp[np.arange(len(yv)), yv]).sum() / w[yv].sum()
    assert abs(wl - run["best_val_loss"]) <= 2e-5 * abs(wl), (arch, wl, run["best_val_loss"])
    assert 1 <= run["best_epoch"] <= run["epochs"]
    # the test metrics follow from the file alone (offset, softmax)
    z, yt, W = logits("test")
    q = z + off; q = q - q.max(1, keepdims=True); p = np.exp(q); p /= p.sum(1, keepdims=True)
    ll = -np.log(p[np.arange(len(yt)), yt]).mean()
    assert abs(ll - met["test"]["log_loss"]) <= 2e-5, (arch, ll, met["test"]["log_loss"])
    acc = (p.argmax(1) == yt).mean()
    assert abs(acc - met["test"]["accuracy"]) <= 2.0 / len(yt), (arch, acc, met["test"]["accuracy"])
    if arch == "lstm":
        # and the reference's own command loads it and prints the same logits
        W[:5].astype("<f4").tofile(f"{mdir}/w.f32")
        out = subprocess.run([sys.executable, ref, "check", path, f"{mdir}/w.f32"], check=True, capture_output=True, text=True).stdout
        got = np.loadtxt(out.splitlines())
        assert np.abs(got - z[:5]).max() <= 1e-5, (got, z[:5])
PY
}

@test "train: some architecture stopped early and kept an earlier epoch than its last" {
    n=$(jq '[.results[] | select(.run.best_epoch < .epochs)] | length' "$D/all.json")
    [ "$n" -ge 1 ]
    # each epoch of each model is a log line; the kept epoch has the lowest validation loss
    log="$D/logs/ml_training.log"
    for a in lstm tcn; do
        best=$(jq -r --arg a "$a" '.results[] | select(.arch == $a) | .run.best_val_loss' "$D/all.json")
        min=$(grep '"msg":"epoch"' "$log" | jq -s --arg a "$a" '[.[] | select(.arch == $a and .run == "train") | .val_loss] | min')
        awk -v b="$best" -v m="$min" 'BEGIN { exit !(b == m) }' || { echo "$a: kept $best, lowest $min"; false; }
    done
}

@test "train: deep models are byte-identical for a seed (dropout on), different for another" {
    for a in lstm transformer; do
        kml-train --arch $a -o a "${DEEP[@]}" --epochs 3 --dropout 0.2 --seed 7 "$D/plant.csv" >/dev/null
        kml-train --arch $a -o b "${DEEP[@]}" --epochs 3 --dropout 0.2 --seed 7 "$D/plant.csv" >/dev/null
        kml-train --arch $a -o c "${DEEP[@]}" --epochs 3 --dropout 0.2 --seed 8 "$D/plant.csv" >/dev/null
        cmp a/$a.safetensors b/$a.safetensors
        ! cmp -s a/$a.safetensors c/$a.safetensors
    done
    # nothing but the model files is left in the output directory
    [ -z "$(ls -A a | grep -v '\.safetensors$')" ]
}

@test "train: --arch all keeps every unchanged model and says so" {
    cp -r "$D/all" m
    before=$(sha256sum m/*.safetensors)
    run --separate-stderr kml-train --arch all -o m "${DEEP[@]}" --source synthetic "$D/sim.csv"
    assert_success
    [ "$(j '[.results[] | select(.skipped)] | length')" = 7 ]
    [ "$(grep -c 'unchanged: model kept' <<<"$stderr")" = 7 ]
    [ "$(sha256sum m/*.safetensors)" = "$before" ]
    # the kept models report the metrics they were trained with
    [ "$(j '.results[] | select(.arch == "gru") | .metrics.test.log_loss')" = \
      "$(jq -r '.results[] | select(.arch == "gru") | .metrics.test.log_loss' "$D/all.json")" ]
    # a changed hyper-parameter retrains that model
    run --separate-stderr kml-train --arch tcn -o m "${DEEP[@]}" --hidden 8 --source synthetic "$D/sim.csv"
    [ "$(j .skipped)" = false ]
}

@test "train: an invalid deep configuration exits 64 naming the problem" {
    run --separate-stderr kml-train --arch transformer -o m "${DEEP[@]}" --hidden 6 "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"--arch transformer: heads (4) must divide H (6)"* ]]
    run --separate-stderr kml-train --arch cnn -o m "${DEEP[@]}" -T 1 "$D/plant.csv"
    assert_failure 64
    [[ "$stderr" == *"too short for the CNN"* ]]
    [ ! -e m/cnn.safetensors ]
}

@test "train: --extreme-leverage on kml-features' liquidation labels trains a deep model that says which labels it learnt" {
    run --separate-stderr kml-train --arch gru -o m "${DEEP[@]}" --extreme-leverage --pair SOL/USD "$D/sim.csv"
    assert_success
    [ "$(j .labels.column)" = y_tb_lev125 ]
    [ "$(j .labels.kind)" = triple_barrier ]
    # the liquidation move of 125x under Kraken's margin_stop of 40 %: 0.6 / 125
    awk -v m="$(j .labels.liquidation_move)" 'BEGIN { exit !(m > 0.00479 && m < 0.00481) }'
    # the prior is the triple-barrier classes' frequencies, not y_class's
    col=$(head -1 "$D/sim.csv" | tr , '\n' | grep -nx y_tb_lev125 | cut -d: -f1)
    first=$(j .train_window.train.first); last=$(j .train_window.train.last)
    p0=$(awk -F, -v c=$col -v a=$first -v b=$last 'NR > 1 && $1 >= a && $1 <= b { n++; k += ($c == 0) } END { printf "%.17g", k / n }' "$D/sim.csv")
    awk -v p="$p0" -v q="$(j '.run.class_prior[0]')" 'BEGIN { exit !(p - q < 1e-12 && q - p < 1e-12) }'
    /usr/bin/python3 - m/gru.safetensors <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
meta = json.loads(b[8:8 + n])["__metadata__"]
lab = json.loads(meta["labels"])
assert lab["column"] == "y_tb_lev125" and lab["extreme_leverage"] is True and lab["leverage"] == 125, lab
assert json.loads(meta["config"])["arch"] == "gru"
PY
}

@test "train: --visualize draws a deep model's plots as valid PNG" {
    run --separate-stderr kml-train --arch tcn -o m "${DEEP[@]}" --epochs 3 --visualize "$D/plant.csv"
    assert_success
    [ "$(j '.plots | length')" = 4 ]
    for w in loss confusion reliability edge; do
        p="m/tcn_$w.png"
        [ -s "$p" ]
        [ "$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    done
}

@test "train: --optimize searches a deep model's space on a small budget, never on the test split" {
    opt=(--arch gru -o m --epochs 3 -q --optimize --trials 3 --space 'H=8:16,T=4:8,layers=1:2,batch=64:128' --jobs 2)
    run --separate-stderr kml-train "${opt[@]}" "$D/plant.csv"
    assert_success
    [ "$(awk -F, 'NR > 1 && $2 == 0' m/gru_trials.csv | wc -l)" = 3 ]
    [ "$(awk -F, 'NR > 1 && $2 == 1' m/gru_trials.csv | wc -l)" = 1 ]
    # every trial stays in the space
    awk -F, 'NR > 1 && ($4 < 8 || $4 > 16 || $5 < 1 || $5 > 2 || $9 < 4 || $9 > 8 || $10 < 64 || $10 > 128) { exit 1 }' m/gru_trials.csv
    # the final model has the best trial's configuration
    /usr/bin/python3 - m/gru.safetensors m/gru_best.json <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
meta = json.loads(b[8:8 + n])["__metadata__"]; cfg = json.loads(meta["config"]); best = json.load(open(sys.argv[2]))
assert (cfg["H"], cfg["T"], cfg["layers"]) == (best["H"], best["T"], best["layers"]), (cfg, best)
assert json.loads(meta["training"])["batch"] == best["batch"]
PY
    n=$(wc -l <"$D/plant.csv")
    awk -F, -v OFS=, -v cut=$((n - n / 10)) 'NR > cut { $3 = -$3; $10 = 2 - $10 } 1' "$D/plant.csv" >scrambled.csv
    kml-train "${opt[@]}" -o m2 scrambled.csv >/dev/null
    cmp m/gru_trials.csv m2/gru_trials.csv
}

@test "train: deep walk-forward: no prediction from a model that saw its bar" {
    run --separate-stderr kml-train --arch tcn -o m "${DEEP[@]}" --epochs 3 --walk-forward --train-days 60 --step-days 20 "$D/plant.csv"
    assert_success
    printf '%s\n' "$output" >wf.csv
    head -1 wf.csv | grep -qx 'time,arch,p_down,p_flat,p_up'
    [ "$(tail -n +2 wf.csv | cut -d, -f2 | sort -u)" = tcn ]
    first=$(sed -n 2p "$D/plant.csv" | cut -d, -f1)
    expected=$(awk -F, -v t=$((first + 60 * 86400)) 'NR > 1 && $1 >= t' "$D/plant.csv" | wc -l)
    [ "$(tail -n +2 wf.csv | wc -l)" = "$expected" ]
    grep '"msg":"walk-forward fold"' "$KML_LOG_DIR/ml_training.log" | jq -r '[.seen_last, .predict_first, .predict_last] | @csv' >folds.csv
    [ "$(wc -l <folds.csv)" -ge 3 ]
    awk -F, 'NR == FNR { s[NR] = $1; a[NR] = $2; b[NR] = $3; n = NR; next }
             FNR > 1 { ok = 0; for (k = 1; k <= n; k++) if ($1 >= a[k] && $1 <= b[k]) { ok = 1; if (s[k] >= $1) exit 1 }
                       if (!ok) exit 2 }' folds.csv wf.csv
    # causal: scrambling the bars from day 100 on changes no earlier prediction
    cut=$((first + 100 * 86400))
    awk -F, -v OFS=, -v cut=$cut 'NR > 1 && $1 >= cut { $3 = $3 * 3; $10 = 2 - $10 } 1' "$D/plant.csv" >later.csv
    kml-train --arch tcn -o m2 "${DEEP[@]}" --epochs 3 --walk-forward --train-days 60 --step-days 20 later.csv >wf2.csv
    diff <(awk -F, -v c=$cut 'NR > 1 && $1 < c' wf.csv) <(awk -F, -v c=$cut 'NR > 1 && $1 < c' wf2.csv)
    ! diff -q <(awk -F, -v c=$cut 'NR > 1 && $1 >= c' wf.csv) <(awk -F, -v c=$cut 'NR > 1 && $1 >= c' wf2.csv) >/dev/null
}

@test "train: a window never crosses a restart in the data (a gap longer than --max-gap)" {
    # drop 30 bars after day 90: a restart, as kml-features leaves after a long gap
    first=$(sed -n 2p "$D/plant.csv" | cut -d, -f1)
    g0=$((first + 90 * 86400)); g1=$((g0 + 30 * 3600))
    awk -F, -v a=$g0 -v b=$g1 'NR == 1 || $1 < a || $1 >= b' "$D/plant.csv" >gap.csv
    run --separate-stderr kml-train --arch linear -o m "${DEEP[@]}" --epochs 2 --walk-forward --train-days 60 --step-days 40 -T 8 gap.csv
    assert_success
    printf '%s\n' "$output" >wf.csv
    # the 7 bars after the gap have no whole window of 8: not predicted; the 8th is
    after=$(awk -F, -v b=$g1 'NR > 1 && $1 >= b { print $1 }' gap.csv | head -8)
    for t in $(head -7 <<<"$after"); do ! grep -q "^$t," wf.csv; done
    grep -q "^$(tail -1 <<<"$after")," wf.csv
    # the bars before the gap are predicted
    grep -q "^$((g0 - 3600))," wf.csv
    # with --max-gap 30 the gap is bridged and every bar is predicted
    kml-train --arch linear -o m "${DEEP[@]}" --epochs 2 --walk-forward --train-days 60 --step-days 40 -T 8 --max-gap 30 gap.csv >wf30.csv
    for t in $after; do grep -q "^$t," wf30.csv; done
    # training counts only whole windows: 7 fewer samples than rows beyond the first window
    run --separate-stderr kml-train --arch gru -o m "${DEEP[@]}" --epochs 1 --split 80,10 gap.csv
    assert_success
    run2=$(kml-train --arch gru -o m2 "${DEEP[@]}" --epochs 1 --split 80,10 --max-gap 30 gap.csv)
    [ $(( $(jq .train_window.train.rows <<<"$run2") - $(j .train_window.train.rows) )) = 7 ]
}
