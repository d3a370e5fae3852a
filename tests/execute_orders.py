#!/usr/bin/python3
"""Seeded random orders (DESIGN.md orders JSONL) over candles files, for the
kml-execute tests and bench: one target per pair and bar, about one change in
four bars, exposures in [-1.5, 1.5] (a fifth flat), leverage from 1 to the
given maximum, stop and take-profit on the right sides, strictly before the
liquidation price (margin_stop 0.4) of the order's leverage.

usage: execute_orders.py SEED MAXLEV BARS PAIR=CANDLES.csv... > orders.jsonl
Orders of all pairs, merged by time (stdlib only)."""
import csv
import json
import random
import sys

seed, maxlev, nbars = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
rows = []
for arg in sys.argv[4:]:
    pair, path = arg.split("=", 1)
    x, lev = 0.0, 1.0
    with open(path) as f:
        for i, r in enumerate(csv.DictReader(f)):
            if i >= nbars:
                break
            close = float(r["close"])
            if rng.random() < 0.25:
                x = 0.0 if rng.random() < 0.2 else round(rng.uniform(-1.5, 1.5), 4)
                lev = float(rng.randint(1, int(maxlev)))
            s = (x > 0) - (x < 0)
            o = {"time": int(r["time"]), "pair": pair, "side": ["flat", "buy", "sell"][s],
                 "exposure": x, "leverage": lev, "price": close}
            if s:
                d = 0.6 / lev * rng.uniform(0.2, 0.9)
                o["stop"] = close * (1 - s * d) if rng.random() < 0.8 else None
                o["take_profit"] = close * (1 + s * min(2 * d, 0.45))
                o["liquidation_price"] = close * (1 - s * 0.6 / lev)
            else:
                o["stop"] = o["take_profit"] = o["liquidation_price"] = None
            o["reason"] = "test"
            o["source"] = "synthetic"
            rows.append((o["time"], len(rows), o))
rows.sort()
for _, _, o in rows:
    print(json.dumps(o))
