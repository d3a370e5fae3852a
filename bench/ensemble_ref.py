#!/usr/bin/python3
"""bench/ensemble_ref.py: the reference of bench/ensemble.sh, a numpy
implementation of `kml-ensemble fit --walk-forward` written from
docs/ensemble.md (not from the C): the rule strategies with their bands,
model:<arch> from predictions files, after-fee bar returns, and per window and
regime the Ledoit-Wolf shrunk covariance (breaks in the data restart the
strategies, as there), the tangency start and the projected
gradient ascent on the simplex with the equal-weight penalty, the fallback,
the entry threshold. Prints "secs=<CPU seconds of the fit>" and, given the C
tool's ensemble.json, "maxdiff=<largest |weight difference| over every window>".

usage: ensemble_ref.py LABELLED.csv TRAIN_DAYS STEP_DAYS FEE MIN_SAMPLES PENALTY [WF.csv ...] [--compare ENSEMBLE.json]
"""
import csv
import json
import math
import sys
import time

import numpy as np

args = sys.argv[1:]
cmp_path = None
if "--compare" in args:
    i = args.index("--compare")
    cmp_path = args[i + 1]
    del args[i:i + 2]
path, train_days, step_days, fee, min_samples, penalty = args[:6]
train_days, step_days, fee, min_samples, penalty = float(train_days), float(step_days), float(fee), int(min_samples), float(penalty)
pred_files = args[6:]

with open(path) as f:
    rows = list(csv.reader(f))
head, rows = rows[0], rows[1:]
col = {c: i for i, c in enumerate(head)}
regimes = [c[2:] for c in head if c.startswith("p_")]
t0 = time.process_time()
time_ = np.array([int(r[col["time"]]) for r in rows])
close = np.array([float(r[col["close"]]) for r in rows])
reg = np.array([regimes.index(r[col["regime"]]) for r in rows])


def c(name):
    return np.array([float(r[col[name]]) for r in rows])


RULES = [("hold", 0.0), ("trend", 0.25), ("meanrev", 0.25), ("breakout", 0.25), ("momentum", 0.25), ("voltrend", 0.25)]
n = len(rows)
with np.errstate(divide="ignore", invalid="ignore"):
    rv24 = c("rv_24")
    e = (c("ema_ratio_12") + c("ema_ratio_26") + c("ema_ratio_50")) / 3
    trend = np.where(rv24 > 0, np.tanh(2 * e / (rv24 * math.sqrt(24))) * np.where(c("macd_hist_n") * e > 0, 1, 0.5), 0)
    mom = np.where(rv24 > 0, np.tanh(sum(c(f"ret_{h}") / (rv24 * math.sqrt(h)) for h in (4, 8, 16, 24)) / 4), 0)
    rv12, rv72 = c("rv_12"), c("rv_72")
    volt = np.where((rv24 > 0) & (rv72 > 0),
                    np.tanh(c("ret_24") / (rv24 * math.sqrt(24))) * np.clip(2 - rv12 / rv72, 0, 1), 0)
mr_m = ((1 - 2 * c("bb_pctb_20")) + (50 - c("rsi_14")) / 20) / 2
bo_d, bo_g = 2 * c("donchian_pos_20") - 1, np.clip((c("adx_14") - 20) / 15, 0, 1)


def banded(prev, target, band):
    if target == 0:
        return 0.0
    if prev != 0 and (prev > 0) == (target > 0) and abs(target - prev) < band:
        return prev
    return target


# breaks (kml-predict's rule, max gap 3): a bar more than 4 intervals after
# the previous one, the interval the smallest spacing so far
brk = np.zeros(n, bool)
iv = 0
for t in range(1, n):
    dt = time_[t] - time_[t - 1]
    if iv == 0 or dt < iv:
        iv = dt
    brk[t] = dt > 4 * iv
sigs = []
for name, band in RULES:
    s = np.zeros(n)
    pos = 0.0
    for t in range(n):
        if brk[t]:
            pos = 0.0
        if name == "hold":
            x = 1.0
        elif name == "trend":
            x = trend[t]
        elif name == "momentum":
            x = mom[t]
        elif name == "voltrend":
            x = volt[t]
        elif name == "meanrev":
            m = mr_m[t]
            a = abs(m) - 0.5
            x = math.copysign(min(a, 1.0), m) if a > 0 else (pos if pos != 0 and pos * m > 0 else 0.0)
        else:
            d, g = bo_d[t], bo_g[t]
            x = math.copysign(g, d) if abs(d) >= 0.9 and g > 0 else (pos if pos != 0 and pos * d > 0 else 0.0)
        pos = banded(pos, max(-1.0, min(1.0, x)), band)
        s[t] = pos
    sigs.append(s)
names = [r[0] for r in RULES]
lo, hi = 0, n
for pf in pred_files:
    with open(pf) as f:
        pr = list(csv.reader(f))[1:]
    arch = pr[0][1]
    p = {int(r[0]): (float(r[2]), float(r[4])) for r in pr}
    s = np.zeros(n)
    pos = 0.0
    has = np.zeros(n, bool)
    for t in range(n):
        if brk[t]:
            pos = 0.0
        if time_[t] in p:
            dn, up = p[time_[t]]
            x, has[t] = up - dn, True
        else:
            x = 0.0
        pos = banded(pos, max(-1.0, min(1.0, x)), 0.25)
        s[t] = pos
    sigs.append(s)
    names.append("model:" + arch)
    idx = np.nonzero(has)[0]
    lo, hi = max(lo, idx[0]), min(hi, idx[-1] + 1)
sig = np.array(sigs).T[lo:hi]
time_, close, reg, n = time_[lo:hi], close[lo:hi], reg[lo:hi], hi - lo
S = sig.shape[1]
lr = np.log(close[1:] / close[:-1])
prev = np.vstack([np.zeros(S), sig[:-1]])
R = sig[:-1] * lr[:, None] - fee * np.abs(sig[:-1] - prev[:-1])


def simplex(v):
    u = np.sort(v)[::-1]
    css = np.cumsum(u)
    k = np.arange(1, len(v) + 1)
    ok = u - (css - 1) / k > 0
    theta = ((css - 1) / k)[ok][-1]
    return np.maximum(v - theta, 0)


def weights(X):
    w = np.zeros(S)
    m = len(X)
    if m < 2:
        return w
    mu_all = X.mean(0)
    E = np.nonzero(mu_all > 0)[0]
    if len(E) == 0:
        return w
    if len(E) == 1:
        w[E[0]] = 1
        return w
    k = len(E)
    mu = mu_all[E]
    Y = X[:, E] - mu
    Sm = Y.T @ Y / m
    mt = np.trace(Sm) / k
    d2 = ((Sm - mt * np.eye(k)) ** 2).sum()
    b2 = min(sum(((np.outer(y, y) - Sm) ** 2).sum() for y in Y) / m / m, d2)
    delta = b2 / d2 if d2 > 0 else 1
    sig = (1 - delta) * Sm + delta * mt * np.eye(k)
    scale = max(mu / np.sqrt(np.diag(sig)))
    u = np.full(k, 1 / k)

    def J(w):
        a, q = w @ mu, w @ sig @ w
        b = math.sqrt(q)
        g = (mu / b - a * (sig @ w) / b ** 3) / scale - 2 * penalty * (w - u)
        return a / b / scale - penalty * ((w - u) ** 2).sum(), g

    z = np.linalg.solve(sig, mu)
    z = np.where(z > 0, z, 0)
    x = z / z.sum() if z.sum() > 0 else u.copy()
    step = 0.5
    f, g = J(x)
    for _ in range(20000):
        xn = simplex(x + step * g)
        fn, gn = J(xn)
        if fn > f:
            gain = fn - f
            x, f, g = xn, fn, gn
            if step < 1e3:
                step *= 2
            if gain < 1e-14:
                break
        else:
            step *= 0.5
            if step < 1e-14:
                break
    w[E] = x / x.sum()
    return w


def fit(idx):
    W = np.zeros((len(regimes) + 1, S))
    W[-1] = weights(R[idx])
    for r in range(len(regimes)):
        ir = idx[reg[idx] == r]
        W[r] = W[-1] if len(ir) < min_samples else weights(R[ir])
    best, entry = -np.inf, 0.0
    for e in (0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5):
        cmb = np.clip((W[reg[idx]] * sig[idx]).sum(1), -1, 1)
        cmb = np.where(np.abs(cmb) < e, 0, cmb)
        pv = np.concatenate([[0], cmb[:-1]])
        rr = cmb * lr[idx] - fee * np.abs(cmb - pv)
        sd = rr.std(ddof=1) if len(rr) > 1 else 0
        sc = rr.mean() / sd if sd > 0 else 0
        if sc > best:
            best, entry = sc, e
    return W, entry


D, St = round(train_days * 86400), round(step_days * 86400)
wins = []
k = 0
while True:
    P = time_[0] + D + k * St
    k += 1
    if P > time_[-1]:
        break
    inwin = (time_ >= P) & (time_ < P + St)
    if not inwin.any():
        continue
    idx = np.nonzero((time_[:-1] >= P - D) & (time_[1:] < P))[0]
    wins.append(fit(idx))
secs = time.process_time() - t0
print("secs=%.4f" % secs)
if cmp_path:
    doc = json.load(open(cmp_path))
    diff = 0.0
    assert len(doc["windows"]) == len(wins), (len(doc["windows"]), len(wins))
    for w, (W, entry) in zip(doc["windows"], wins):
        for r, rn in enumerate(regimes):
            for s, sn in enumerate(names):
                diff = max(diff, abs(w["weights"][rn][sn] - W[r, s]))
        for s, sn in enumerate(names):
            diff = max(diff, abs(w["global"][sn] - W[-1, s]))
        if w["entry"] != entry:
            diff = max(diff, 1.0)
    print("maxdiff=%.3g" % diff)
