#!/usr/bin/python3
"""The paper account's accounting in Python (numpy/pandas): the reference that
bench/execute.sh times beside `kml-execute --no-state`, and that
tests/execute.bats compares with it (same events count, same final cash and
equity). Written from docs/execution.md and docs/margin.md, not from the C:
fill at the next open with slippage (bps of the price + a fraction of the
bar's range), taker fee on every fill, margin opening fee, liquidation / stop
/ take-profit from the range in that order (the whole margin lost at a
liquidation), rollover per full 4 h at the bar's end, mark at the close, the
drawdown kill switch, the daily loss limit, max_open_positions, ordermin /
costmin, lot rounding.

usage: execute_ref.py CONFIG.json ORDERS.jsonl PAIR=CANDLES.csv...
CONFIG.json is `kml-config show`'s output. Prints one JSON line: events,
cash, equity, per-pair totals, and the CPU seconds of loading and running.
"""
import json
import math
import sys
import time

import numpy as np
import pandas as pd

t_start = time.process_time()
cfg = json.load(open(sys.argv[1]))
pairs = list(cfg["assets"].keys())
alloc = [cfg["assets"][p]["allocation"] for p in pairs]
taker = cfg["fees"]["taker"]
open_fee, roll_rate, mstop = cfg["margin"]["opening_fee"], cfg["margin"]["rollover_rate"], cfg["margin"]["margin_stop"]
ex = cfg["execution"]
bps, frac = ex["slippage_bps"], ex["range_fraction"]
ordermin, costmin, lot = ex["ordermin"], ex["costmin"], int(ex["lot_decimals"])
max_dd, daily, max_open = cfg["risk"]["max_drawdown"], cfg["risk"]["daily_loss_limit"], cfg["risk"]["max_open_positions"]
initial = cfg["initial_capital"]

# Candles: numpy arrays per pair.
bars = {}
for arg in sys.argv[3:]:
    pair, path = arg.split("=", 1)
    df = pd.read_csv(path, usecols=["time", "open", "high", "low", "close"])
    bars[pairs.index(pair)] = (df["time"].to_numpy(np.int64), df[["open", "high", "low", "close"]].to_numpy(np.float64))

# Orders, merged by (time, pair).
od = pd.read_json(sys.argv[2], lines=True)
od["pi"] = od["pair"].map(pairs.index)
od = od.sort_values(["time", "pi"], kind="stable")
orders = list(zip(od["time"].astype(np.int64), od["pi"], od["exposure"].astype(float), od["leverage"].astype(float),
                  od["price"].astype(float), od["stop"].astype(float) if "stop" in od else [math.nan] * len(od),
                  od["take_profit"].astype(float) if "take_profit" in od else [math.nan] * len(od)))
horizon = int(od["time"].max())

# The bar schedule: every traded pair's bars after its first order up to the horizon, by (time, pair).
first = od.groupby("pi")["time"].min()
ts, ps, ks = [], [], []
for pi, t0 in first.items():
    t, _ = bars[pi]
    k = np.nonzero((t > t0) & (t <= horizon))[0]
    ts.append(t[k]); ps.append(np.full(len(k), pi)); ks.append(k)
ts, ps, ks = np.concatenate(ts), np.concatenate(ps), np.concatenate(ks)
sched = np.lexsort((ps, ts))
interval = {pi: int(pd.Series(np.diff(bars[pi][0])).mode().min()) for pi in bars}
t_loaded = time.process_time()

n = len(pairs)
S = {"cash": initial, "peak": initial, "day": None, "day_start": initial, "blocked": False, "killed": False,
     "events": 0}
pos = [dict(side=0, vol=0.0, entry=0.0, margin=0.0, lev=0.0, liq=0.0, stop=math.nan, tp=math.nan, roll_fee=0.0,
            spot=False, opened=0, rolls=0, realised=0.0, fees=0.0, rollover=0.0, mark=math.nan, pending=None)
       for _ in range(n)]


def lot_floor(v):
    s = 10.0 ** lot
    return math.copysign(math.floor(abs(v) * s * (1 + 1e-12)) / s, v)


def lot_round(v):
    s = 10.0 ** lot
    x = v * s
    return math.copysign(math.floor(abs(x) + 0.5), x) / s  # C's round(): halves away from zero


def sgn(x):
    return (x > 0) - (x < 0)


def equity():
    e = S["cash"]
    for p in pos:
        e += p["side"] * p["vol"] * (p["mark"] - p["entry"]) if p["side"] else 0
    return e


def event():
    S["events"] += 1


def clear(p):
    p.update(side=0, spot=False, vol=0.0, entry=0.0, margin=0.0, lev=0.0, liq=0.0, roll_fee=0.0, stop=math.nan,
             tp=math.nan, opened=0, rolls=0)


def close(p, v, px):
    pnl = p["side"] * v * (px - p["entry"])
    fee = taker * v * px
    p["realised"] += pnl
    p["fees"] += fee
    S["cash"] += pnl - fee
    left = lot_round(p["vol"] - v)
    if left <= 0:
        clear(p)
    else:
        k = left / p["vol"]
        p["margin"] *= k
        p["roll_fee"] *= k
        p["vol"] = left


def slip(o, h, l, ref, d):
    return ref + d * (bps * 1e-4 * ref + frac * (h - l))


def liq_price(side, lev, entry):
    if side == 1 and lev == 1:
        return 0.0
    return entry * (1 - side * ((1 - mstop) / lev))


def add(p, side, v, px, lev, t):
    notional = px * v
    spot_slice = side == 1 and lev == 1
    fee = taker * notional + (0 if spot_slice else open_fee * notional)
    V = lot_round(p["vol"] + v)
    entry = (p["vol"] * p["entry"] + v * px) / V if p["side"] else px
    M = p["margin"] + notional / lev
    L = max(V * entry / M, 1.0)  # 1x slices: a rounding below 1
    spot = (p["spot"] and spot_slice) if p["side"] else spot_slice
    if spot:
        L = 1.0
    if not p["side"]:
        p["opened"], p["rolls"] = t, 0
    p.update(side=side, spot=spot, vol=V, entry=entry, margin=M, lev=L, liq=liq_price(side, L, entry),
             roll_fee=0.0 if spot else roll_rate * (entry * V))
    p["fees"] += fee
    S["cash"] -= fee


def refusal(p, v, px, lev):
    if S["killed"] or S["blocked"]:
        return True
    if p["side"] == 0 and sum(q["side"] != 0 for q in pos) >= max_open:
        return True
    if v < ordermin or v * px < costmin:
        return True
    return v * px / lev > equity() - sum(q["margin"] for q in pos)


def exits(p, o, ref):
    k = ref / o[4]
    p["stop"], p["tp"] = o[5] * k, o[6] * k


def fill(pi, t, o_, h, l):
    p = pos[pi]
    o = p["pending"]
    p["pending"] = None
    ref = o_
    exposure = 0.0 if S["killed"] else o[2]
    cur = p["side"] * p["vol"]
    eq = equity()
    want = exposure * alloc[pi] * eq if eq > 0 else 0.0
    d = sgn(want / ref - cur)
    if S["killed"] and o[2] != 0 and not o[7] and p["side"] == 0:
        event()  # reject
        return
    if d == 0:
        if p["side"] and sgn(exposure) == p["side"]:
            exits(p, o, ref)
        return
    px = slip(o_, h, l, ref, d)
    tgt = sgn(want) * lot_floor(abs(want) / px)
    trade = lot_round(tgt - cur)
    if sgn(trade) != d:
        if p["side"] and sgn(exposure) == p["side"]:
            exits(p, o, ref)
        return
    if p["side"] and sgn(tgt) != p["side"]:
        close(p, p["vol"], px)
        event()
    elif p["side"] and abs(tgt) < p["vol"]:
        v = lot_round(p["vol"] - abs(tgt))
        if v >= ordermin and v * px >= costmin:
            close(p, v, px)
        event()
        if p["side"]:
            exits(p, o, ref)
        return
    if tgt == 0:
        return
    v = lot_round(abs(tgt) - p["vol"]) if p["side"] else abs(tgt)
    if v <= 0:
        return
    if not refusal(p, v, px, o[3]):
        add(p, sgn(tgt), v, px, o[3], t)
    event()
    if p["side"]:
        exits(p, o, ref)


def run_bar(pi, t, o_, h, l, c):
    p = pos[pi]
    day = t // 86400
    if day != S["day"]:
        S["day"], S["day_start"], S["blocked"] = day, equity(), False
    p["mark"] = o_
    if p["pending"] is not None and p["pending"][0] < t:
        fill(pi, t, o_, h, l)
    s = p["side"]
    if s:
        adverse, favour = (l, h) if s > 0 else (h, l)
        beyond = (lambda x, y: x <= y) if s > 0 else (lambda x, y: x >= y)
        if not p["spot"] and beyond(adverse, p["liq"]):
            px = o_ if beyond(o_, p["liq"]) else p["liq"]
            loss = min(s * p["vol"] * (px - p["entry"]), -p["margin"])
            p["realised"] += loss
            S["cash"] += loss
            clear(p)
            event()
        elif not math.isnan(p["stop"]) and beyond(adverse, p["stop"]):
            base = o_ if beyond(o_, p["stop"]) else p["stop"]
            close(p, p["vol"], slip(o_, h, l, base, -s))
            event()
        elif not math.isnan(p["tp"]) and (favour >= p["tp"] if s > 0 else favour <= p["tp"]):
            close(p, p["vol"], o_ if (o_ >= p["tp"] if s > 0 else o_ <= p["tp"]) else p["tp"])
            event()
    if p["side"] and not p["spot"]:
        nroll = (t + interval[pi] - p["opened"]) // 14400 - p["rolls"]
        if nroll > 0:
            fee = nroll * p["roll_fee"]
            p["rolls"] += nroll
            p["rollover"] += fee
            S["cash"] -= fee
            event()
    p["mark"] = c
    eq = equity()
    if eq > S["peak"]:
        S["peak"] = eq
    if not S["killed"] and eq < S["peak"] * (1 - max_dd):
        S["killed"] = True
        event()
        for q in pos:
            if q["pending"] is not None:
                event()  # cancel
            q["pending"] = (0, 0, 0.0, 1.0, 1.0, math.nan, math.nan, True) if q["side"] else None
    if not S["blocked"] and eq < S["day_start"] * (1 - daily):
        S["blocked"] = True


def submit(o):
    p = pos[o[1]]
    if p["pending"] is not None:
        event()  # cancel
    p["pending"] = (o[0], o[1], o[2], o[3], o[4], o[5], o[6], False)


oi, no = 0, len(orders)
sched_t, sched_p, sched_k = ts[sched], ps[sched], ks[sched]
for j in range(len(sched)):
    t, pi, k = int(sched_t[j]), int(sched_p[j]), int(sched_k[j])
    while oi < no and orders[oi][0] < t:
        submit(orders[oi])
        oi += 1
    o_, h, l, c = bars[pi][1][k]
    run_bar(pi, t, float(o_), float(h), float(l), float(c))
while oi < no:
    submit(orders[oi])
    oi += 1
t_end = time.process_time()
print(json.dumps({"bars": len(sched), "events": S["events"], "cash": S["cash"], "equity": equity(),
                  "killed": S["killed"],
                  "pairs": {pairs[i]: {"realised": pos[i]["realised"], "fees": pos[i]["fees"],
                                       "rollover_paid": pos[i]["rollover"]} for i in range(n) if i in bars},
                  "load_cpu": t_loaded - t_start, "run_cpu": t_end - t_loaded}))
