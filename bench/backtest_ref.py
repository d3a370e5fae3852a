#!/usr/bin/python3
"""The trading part of a backtest in Python (numpy/pandas): kml-predict
--predictions (rule strategies with their bands, model signals, walk-forward
window weights mixed by the filtered regime probabilities, Hedge
adaptation, confidence, thresholds) and kml-size's fixed-fraction sizing,
written from docs/ensemble.md, docs/predict.md and docs/sizing.md (no code
shared with lib/strategy, lib/ml or lib/market). bench/backtest.sh times it
beside the C chain, then runs bench/execute_ref.py on its orders for the
account; it also reports how far its decisions and orders are from the C
ones (a cross-check).

usage: backtest_ref.py CONFIG.json OUT_ORDERS.jsonl DIR/ALT... [--compare]
DIR/ALT is a kml-backtest pair directory (trade_features.csv, wf.csv,
ensemble.json, and with --compare decisions.jsonl / orders.jsonl made with
the same CONFIG). Prints one JSON line: bars, load_cpu, run_cpu, and with
--compare the largest differences.
"""
import json
import math
import sys
import time

import numpy as np
import pandas as pd

t0 = time.process_time()
cfg = json.load(open(sys.argv[1]))
out_path = sys.argv[2]
dirs = [a for a in sys.argv[3:] if not a.startswith("--")]
compare = "--compare" in sys.argv
taker = cfg["fees"]["taker"]
sz, mg, rk = cfg["sizing"], cfg["margin"], cfg["risk"]


def sgn(x):
    return (x > 0) - (x < 0)


def band_step(prev, target, band):
    """Keep the previous position while the target is within the band of it
    on the same side; 0 always closes, a change of sign always moves."""
    if not math.isfinite(target) or target == 0:
        return 0.0
    if sgn(target) != sgn(prev):
        return target
    return prev if abs(target - prev) <= band else target


def load(d):
    f = pd.read_csv(f"{d}/trade_features.csv")
    wf = pd.read_csv(f"{d}/wf.csv")
    ens = json.load(open(f"{d}/ensemble.json"))
    pair = ens["data"]["pair"]
    archs = sorted(set(wf["arch"]))
    probs = {}
    for a in archs:
        w = wf[wf["arch"] == a]
        probs[a] = dict(zip(w["time"].tolist(), zip(w["p_down"].tolist(), w["p_up"].tolist())))
    return f, probs, ens, pair


loaded = [load(d) for d in dirs]
t1 = time.process_time()

orders = []
diffs = {"signal": 0.0, "confidence": 0.0, "exposure": 0.0, "decisions": 0, "orders_differ": 0}
for (f, probs, ens, pair), d in zip(loaded, dirs):
    strats = ens["strategies"]
    regimes = ens["regimes"]
    windows = ens["windows"]
    ad = ens["adaptation"]
    eta, mmin, mmax, fee = ad["rate"], ad["min"], ad["max"], ens["fee"]
    min_conf = ens["thresholds"]["min_confidence"]
    asset = cfg["assets"][pair]
    lev_lo = asset["leverage"]["default"][0]
    first_pred = min(min(p) for p in probs.values())
    cols = {c: f[c].tolist() for c in f.columns if c not in ("regime",)}
    times = cols["time"]
    close = cols["close"]
    reg = f["regime"].tolist()
    n = len(times)
    pos = {s: 0.0 for s in strats}
    prev1 = {s: math.nan for s in strats}  # the signal at t-1 (NaN: none)
    prev2 = {s: math.nan for s in strats}  # at t-2
    mult = {s: 1.0 for s in strats}
    started = False
    ref_dec = [json.loads(l) for l in open(f"{d}/decisions.jsonl")] if compare else []
    ref_ord = [json.loads(l) for l in open(f"{d}/orders.jsonl")] if compare else []
    k = 0
    wi = 0
    for i in range(n):
        t = int(times[i])
        # Hedge on the previous bar's outcome: each strategy that had a
        # signal there is judged by its after-fee return over the bar (from
        # the input's first row; a model before its first prediction is not).
        if started:
            lr = math.log(close[i] / close[i - 1])
            judged = [s for s in strats if not math.isnan(prev1[s])]
            r = {s: prev1[s] * lr - fee * abs(prev1[s] - (0.0 if math.isnan(prev2[s]) else prev2[s])) for s in judged}
            if judged:
                rbar = sum(r.values()) / len(judged)
                for s in judged:
                    x = mult[s] * math.exp(eta * (r[s] - rbar))
                    mult[s] = min(max(x, mmin), mmax)
        started = True
        # Signals.
        g = lambda c: cols[c][i]
        sig = {}
        for s in strats:
            if s == "hold":
                tgt, band = 1.0, 0.0
            elif s == "trend":
                e = (g("ema_ratio_12") + g("ema_ratio_26") + g("ema_ratio_50")) / 3
                rv = g("rv_24")
                tgt = 0.0 if rv <= 0 else math.tanh(2 * e / (rv * math.sqrt(24)))
                if sgn(g("macd_hist_n")) == -sgn(e) and sgn(e) != 0:
                    tgt /= 2
                band = 0.25
            elif s == "meanrev":
                m = ((1 - 2 * g("bb_pctb_20")) + (50 - g("rsi_14")) / 20) / 2
                if abs(m) > 0.5:
                    tgt = sgn(m) * min(abs(m) - 0.5, 1)
                else:
                    tgt = pos[s] if pos[s] != 0 and sgn(m) == sgn(pos[s]) else 0.0
                band = 0.25
            elif s == "breakout":
                dd = 2 * g("donchian_pos_20") - 1
                gg = min(max((g("adx_14") - 20) / 15, 0), 1)
                if abs(dd) >= 0.9 and gg > 0:
                    tgt = sgn(dd) * gg
                else:
                    tgt = pos[s] if pos[s] != 0 and sgn(dd) == sgn(pos[s]) else 0.0
                band = 0.25
            elif s == "momentum":
                rv = g("rv_24")
                tgt = 0.0 if rv <= 0 else math.tanh(
                    sum(g(f"ret_{h}") / (rv * math.sqrt(h)) for h in (4, 8, 16, 24)) / 4)
                band = 0.25
            elif s == "voltrend":
                rv = g("rv_24")
                tgt = 0.0 if rv <= 0 else math.tanh(g("ret_24") / (rv * math.sqrt(24))) * min(
                    max(2 - g("rv_12") / g("rv_72"), 0), 1)
                band = 0.25
            else:
                q = probs[s.split(":", 1)[1]].get(t)
                if q is None:  # before the model's first prediction: no signal
                    sig[s] = math.nan
                    continue
                tgt, band = q[1] - q[0], 0.25
            pos[s] = band_step(pos[s], tgt, band)
            sig[s] = pos[s]
        for s in strats:
            prev2[s], prev1[s] = prev1[s], sig[s]
        # The walk-forward window of this bar.
        while wi < len(windows) and windows[wi]["to"] <= t:
            wi += 1
        if wi == len(windows) or t < windows[wi]["from"] or t < first_pred:
            continue
        w = windows[wi]
        base = {s: 0.0 for s in strats}
        for rname in regimes:
            row = w["global"] if rname in w.get("fallback", []) or rname not in w["weights"] else w["weights"][rname]
            pr = g(f"p_{rname}")
            for s in strats:
                base[s] += pr * row.get(s, 0.0)
        wts = {s: base[s] * mult[s] for s in strats}
        tot = sum(wts.values())
        wts = {s: (x / tot if tot > 0 else 0.0) for s, x in wts.items()}
        raw = sum(wts[s] * sig[s] for s in strats)
        A = abs(sum(wts[s] * sgn(sig[s]) for s in strats))
        models = [s for s in strats if s.startswith("model:")]
        wm = sum(wts[s] for s in models)
        M = sum(wts[s] * abs(probs[s[6:]][t][1] - probs[s[6:]][t][0]) for s in models) / wm if wm > 0 else 0.0
        P = g(f"p_{reg[i]}")
        conf = A * (1 + M) / 2 * (1 + P) / 2
        entry = w.get("entry", ens["thresholds"]["entry"])
        signal = raw if abs(raw) >= entry and conf >= min_conf else 0.0
        vol = g("rv_24")
        # kml-size, fixed fraction.
        o = {"time": t, "pair": pair, "price": close[i]}
        if signal == 0 or abs(signal) < entry or conf < min_conf:
            o.update(side="flat", exposure=0.0, leverage=0.0)
        else:
            side = sgn(signal)
            base_v = max(vol, 2 * taker / sz["stop_vol"])
            d_stop = sz["stop_vol"] * base_v
            strength = (abs(signal) - entry) / (1 - entry)
            d_tp = sz["take_profit_vol"] * base_v * (1 + strength)
            L = lev_lo
            lim = (1 - sz["stop_buffer"]) * (1 - mg["margin_stop"])
            if d_stop > lim / L:
                L = lim / d_stop
            if L < 1 and side < 0:
                o.update(side="flat", exposure=0.0, leverage=0.0)
            else:
                if L < 1:
                    L = 1.0
                costs = 2 * taker + mg["opening_fee"]
                ex = min(rk["risk_per_trade"] / (d_stop + costs), rk["max_position"], L)
                o.update(side="buy" if side > 0 else "sell", exposure=side * ex, leverage=L,
                         stop=close[i] * (1 - side * d_stop), take_profit=close[i] * (1 + side * d_tp))
        orders.append(o)
        if compare and k < len(ref_dec):
            rd, ro = ref_dec[k], ref_ord[k]
            if rd["time"] == t:
                diffs["signal"] = max(diffs["signal"], abs(rd["signal"] - signal))
                diffs["confidence"] = max(diffs["confidence"], abs(rd["confidence"] - conf))
                diffs["exposure"] = max(diffs["exposure"], abs(ro["exposure"] - o["exposure"]))
                diffs["orders_differ"] += ro["side"] != o["side"]
                diffs["decisions"] += 1
            k += 1
t2 = time.process_time()
orders.sort(key=lambda o: o["time"])  # stable: pairs in the given order within a bar
with open(out_path, "w") as fo:
    for o in orders:
        fo.write(json.dumps(o) + "\n")
res = {"bars": len(orders), "load_cpu": t1 - t0, "run_cpu": t2 - t1}
if compare:
    res["compare"] = diffs
print(json.dumps(res))
