#!/usr/bin/python3
"""Random decisions and configurations for kml-size, and the contract check of
its orders (tests/size.bats). Standard library only.

  size_props.py gen SEED N DIR      DIR/decisions.jsonl and DIR/config.json
  size_props.py check DIR ORDERS [--limits PAIRS.jsonl] [--extreme]

The check re-derives what it can independently of the C code: the margin
model's liquidation price (docs/margin.md), the thresholds, the ranges and
Kraken's leverages, and compares each order with its decision."""
import json
import math
import random
import sys

PAIRS = ["SOL/USD", "ETH/USD", "BTC/USD"]


def gen(seed, n, d):
    r = random.Random(seed)
    assets = {}
    for p, alloc in zip(PAIRS, (0.4, 0.35, 0.25)):
        lo = r.choice([1, 2, 3, 5])
        hi = lo + r.choice([0, 2, 10, 40])
        elo = hi + r.choice([0, 5])
        ehi = elo + r.choice([0, 20, 100])
        assets[p] = {"allocation": alloc, "leverage": {"default": [lo, hi], "extreme": [elo, ehi]}}
    stop = r.uniform(0.1, 0.6)
    cfg = {
        "assets": assets,
        "fees": {"taker": r.choice([0.0026, 0.001, 0.004])},
        "risk": {"risk_per_trade": r.uniform(0.002, 0.05), "max_position": r.uniform(0.3, 4)},
        "margin": {"margin_stop": stop, "margin_call": min(1, stop + r.uniform(0.05, 0.4))},
        "sizing": {"stop_buffer": r.uniform(0, 0.6), "stop_vol": r.uniform(0.5, 5),
                   "take_profit_vol": r.uniform(0.5, 8), "entry_threshold": r.uniform(0, 0.4),
                   "min_confidence": r.uniform(0, 0.6), "kelly_fraction": r.uniform(0.05, 1),
                   "track_window": r.randint(1, 60)},
    }
    json.dump(cfg, open(f"{d}/config.json", "w"))
    t0 = 1700000000
    price = {p: r.uniform(0.5, 60000) for p in PAIRS}
    with open(f"{d}/decisions.jsonl", "w") as f:
        for i in range(n):
            p = PAIRS[i % 3]
            price[p] *= math.exp(r.gauss(0, 0.02))
            s = r.uniform(-1, 1)
            if i % 17 == 0:
                s = r.choice([-1.0, 1.0, 0.0])
            vol = math.exp(r.uniform(-9, -1.5))
            if i % 23 == 0:
                vol = 0.0
            dec = {"time": t0 + 3600 * (i // 3), "pair": p, "close": price[p], "regime": "ranging",
                   "models": {"gru": [0.2, 0.3, 0.5]}, "signals": {"trend": s}, "weights": {"trend": 1},
                   "signal": s, "confidence": r.random(), "volatility": vol,
                   "source": "synthetic" if i % 2 else "real"}
            f.write(json.dumps(dec) + "\n")


def check(d, orders_path, limits_path, extreme):
    cfg = json.load(open(f"{d}/config.json"))
    decs = [json.loads(x) for x in open(f"{d}/decisions.jsonl")]
    orders = [json.loads(x) for x in open(orders_path)]
    assert len(orders) == len(decs), (len(orders), len(decs))
    lim = {}
    if limits_path:
        for x in open(limits_path):
            o = json.loads(x)
            lim[o["pair"]] = o
    sz, rk = cfg["sizing"], cfg["risk"]
    b = sz["stop_buffer"]
    stats = {"buy": 0, "sell": 0, "flat": 0, "lowered": 0, "kraken": 0}
    for i, (dc, o) in enumerate(zip(decs, orders)):
        where = f"line {i + 1}: {o}"
        for k in ("time", "pair", "signal", "confidence", "volatility", "source"):
            assert o[k] == dc[k], (k, where)
        assert o["price"] == dc["close"], where
        assert o["exchange_checked"] is bool(limits_path), where
        stats[o["side"]] += 1
        s, c = dc["signal"], dc["confidence"]
        if abs(s) < sz["entry_threshold"] or c < sz["min_confidence"] or s == 0:
            assert o["side"] == "flat", where
        if o["side"] == "flat":
            assert o["exposure"] == 0 and o["stop"] is None and o["liquidation_price"] is None, where
            assert "flat: " in o["reason"], where
            continue
        side = 1 if o["side"] == "buy" else -1
        assert side == (1 if s > 0 else -1), where
        e, L, P, st, lq, tp = o["exposure"], o["leverage"], o["price"], o["stop"], o["liquidation_price"], o["take_profit"]
        assert e * side > 0 and abs(e) <= rk["max_position"] and abs(e) <= L, where
        rng = cfg["assets"][o["pair"]]["leverage"]["extreme" if extreme else "default"]
        assert 1 <= L <= rng[1], where
        if L < rng[0]:
            assert "lowered" in o["reason"] or "Kraken" in o["reason"], where
        stats["lowered"] += "lowered" in o["reason"]
        mstop = cfg["margin"]["margin_stop"]
        if limits_path:
            k = lim[o["pair"]]
            allowed = k["leverage_buy" if side > 0 else "leverage_sell"]
            assert L in allowed or (side > 0 and L == 1), where
            assert L <= max(allowed + [1]), where
            mstop = k["margin_stop"] / 100
            stats["kraken"] += "Kraken's maximum" in o["reason"]
        if side > 0 and L == 1:
            assert lq == 0 and 0 < st < P, where
        else:
            want = P * (1 - side * (1 - mstop) / L)
            assert abs(lq - want) <= 1e-12 * want, (want, where)
            if side > 0:
                assert lq < st < P and st - lq >= b * (P - lq), where
            else:
                assert P < st < lq and lq - st >= b * (lq - P), where
        assert side * (tp - P) > 0, where
    print(json.dumps(stats))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "gen":
        gen(int(a[1]), int(a[2]), a[3])
    else:
        lp = a[a.index("--limits") + 1] if "--limits" in a else None
        check(a[1], a[2], lp, "--extreme" in a)
