#!/usr/bin/python3
"""kml-report's independent reference (tests/report.bats).

  report_ref.py gen DIR SEED     write candles_<ALT>.csv, events.jsonl and
                                 decisions.jsonl of a random two-pair account
  report_ref.py check DIR OUT    recompute, with pandas, the equity curve,
                                 trades and metrics from DIR's inputs and
                                 compare them with OUT/equity.csv and
                                 OUT/metrics.json (1e-9 relative; 1e-12 absolute
                                 for ratios, 1e-8 USD for P&L near zero)

The definitions are docs/report.md's; this file shares no code with lib/report.
"""
import json
import math
import sys

import numpy as np
import pandas as pd

CAPITAL = 10000.0
TAKER = 0.0026
ALLOC = {"SOL/USD": 0.40, "ETH/USD": 0.35, "BTC/USD": 0.25}
ALT = {"SOL/USD": "SOLUSD", "ETH/USD": "ETHUSD", "BTC/USD": "XBTUSD"}
YEAR = 365 * 86400.0


def gen(d, seed):
    rng = np.random.default_rng(seed)
    t0, step, n = 1700000000 - 1700000000 % 3600, 3600, 400
    pairs = ["SOL/USD", "ETH/USD"]
    closes = {}
    for k, p in enumerate(pairs):
        times = t0 + step * np.arange(n)
        if k == 1:  # a gap in the second pair: its close is carried over it
            times = np.delete(times, [50, 51, 52, 200])
        px = (100.0 if k == 0 else 2000.0) * np.exp(np.cumsum(rng.normal(0.0002, 0.01, len(times))))
        df = pd.DataFrame({"time": times, "open": px, "high": px * 1.004, "low": px * 0.996, "close": px,
                           "vwap": "", "volume": 1.5, "count": 3})
        df.to_csv(f"{d}/candles_{ALT[p]}.csv", index=False, float_format="%.10g")
        closes[p] = dict(zip(times.tolist(), px.tolist()))
    regimes = ["trending_up", "ranging", "volatile"]
    strats = ["trend", "meanrev", "model:gru"]
    with open(f"{d}/decisions.jsonl", "w") as f:
        for i in range(5, n - 1):
            for p in pairs:
                t = t0 + step * i
                if t not in closes[p]:
                    continue
                w = rng.dirichlet(np.ones(3))
                s = rng.uniform(-1, 1, 3)
                f.write(json.dumps({"time": t, "pair": p, "close": closes[p][t],
                                    "regime": regimes[(i // 37 + (p == "ETH/USD")) % 3],
                                    "signals": dict(zip(strats, s.tolist())),
                                    "weights": dict(zip(strats, w.tolist())),
                                    "signal": float(w @ s), "confidence": 0.5, "volatility": 0.01,
                                    "source": "real"}) + "\n")
    pos = {p: 0.0 for p in pairs}
    seq = 0
    lines = []

    def ev(kind, t, p, **kw):
        nonlocal seq
        seq += 1
        e = {"ts": "2023-01-01T00:00:00.000Z", "time": t, "mode": "sandbox", "event": kind}
        if p:
            e["pair"] = p
        e["seq"] = seq
        e.update(kw)
        if p:
            e["position"] = pos[p]
        e["cash"] = 1234.5
        e["equity"] = CAPITAL + rng.normal(0, 10)
        lines.append(json.dumps(e))

    for i in range(6, n - 1):
        t = t0 + step * i
        for p in pairs:
            if t not in closes[p]:
                continue
            c = closes[p][t]
            u = rng.random()
            if i == 300 and p == "SOL/USD":  # a liquidation of a long
                if pos[p] <= 0:
                    v = 3.0 - pos[p]
                    pos[p] = 3.0
                    ev("fill", t, p, cl_ord_id=f"k{seq}", side="buy", volume=v, price=c, fee=v * c * TAKER)
                v = pos[p]
                pos[p] = 0.0
                ev("liquidation", t, p, side="sell", volume=v, price=c * 0.97, fee=v * c * 0.0002)
                continue
            if u < 0.10:  # a new target: buy or sell some volume (reversals included)
                v = round(rng.uniform(0.5, 4.0) * (1 if p == "SOL/USD" else 0.05), 6)
                side = "buy" if rng.random() < 0.5 else "sell"
                pr = c * (1 + rng.uniform(-0.003, 0.003))
                ev("order", t, p, cl_ord_id=f"o{seq}", side=side, volume=v, price=c)
                pos[p] = round(pos[p] + (v if side == "buy" else -v), 9)
                ev("fill", t, p, cl_ord_id=f"o{seq}", side=side, volume=v, price=pr, fee=v * pr * TAKER)
            elif u < 0.13 and pos[p] != 0:  # a stop closes everything
                v = abs(pos[p])
                side = "sell" if pos[p] > 0 else "buy"
                pos[p] = 0.0
                ev("stop", t, p, side=side, volume=v, price=c * 0.995, fee=v * c * TAKER)
            elif u < 0.16 and pos[p] != 0:
                ev("rollover", t, p, fee=abs(pos[p]) * c * 0.0002)
            elif u < 0.17:
                ev("reject", t, p, side="buy", volume=0.0001, price=c, reason="below ordermin")
        if i == 350:
            ev("kill", t, None, reason="test: an account-wide event")
    with open(f"{d}/events.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")


def load(d, pairs):
    ev = pd.read_json(f"{d}/events.jsonl", lines=True)
    ev = ev[ev["pair"].notna()].reset_index(drop=True)
    dec = pd.read_json(f"{d}/decisions.jsonl", lines=True)
    cand = {p: pd.read_csv(f"{d}/candles_{ALT[p]}.csv") for p in pairs}
    return ev, dec, cand


def perf(t, eq, ppy):
    eq = pd.Series(eq)
    r = eq.pct_change().iloc[1:]
    years = (t[-1] - t[0]) / YEAR
    out = {"initial_equity": eq.iloc[0], "final_equity": eq.iloc[-1], "total_return": eq.iloc[-1] / eq.iloc[0] - 1}
    out["cagr"] = (eq.iloc[-1] / eq.iloc[0]) ** (1 / years) - 1
    out["ann_volatility"] = r.std(ddof=1) * math.sqrt(ppy)
    out["sharpe"] = r.mean() / r.std(ddof=1) * math.sqrt(ppy)
    out["sortino"] = r.mean() / math.sqrt((r.clip(upper=0) ** 2).mean()) * math.sqrt(ppy)
    peak = eq.cummax()
    dd = 1 - eq / peak
    out["max_drawdown"] = dd.max()
    trough = int(dd.idxmax())
    ipeak = int(eq.iloc[: trough + 1].idxmax())
    after = eq.iloc[trough + 1:]
    rec = after[after >= eq.iloc[ipeak]]
    iend = int(rec.index[0]) if len(rec) else len(eq) - 1
    out["max_drawdown_days"] = (t[iend] - t[ipeak]) / 86400
    out["max_drawdown_bars"] = iend - ipeak
    out["calmar"] = out["cagr"] / out["max_drawdown"]
    return out, dd


def trades_of(ev):
    """Round trips per pair, a reversal split into a close and an open."""
    out = []
    for p, g in ev.groupby("pair", sort=False):
        q, cur = 0.0, None
        for _, e in g.iterrows():
            dq, fee = e["dq"], e["fee"]
            if dq == 0:
                if cur is not None:
                    cur["fees"] += fee
                continue
            parts = [(dq, fee)]
            q1 = q + dq
            if abs(q1) <= 1e-12 * max(abs(q), abs(dq)):  # a rounding residue is flat
                q1 = 0.0
            if q != 0 and q1 != 0 and (q > 0) != (q1 > 0):
                parts = [(-q, fee * abs(q) / abs(dq)), (q1, fee - fee * abs(q) / abs(dq))]
            else:
                parts = [(q1 - q, fee)]
            for d, f in parts:
                if q == 0:
                    cur = {"pair": p, "flow": 0.0, "fees": 0.0}
                cur["flow"] -= d * e["price"]
                cur["fees"] += f
                q = q + d
                if abs(q) <= 1e-12 * max(abs(q - d), abs(d)):
                    q = 0.0
                if q == 0:
                    out.append({"pair": p, "pnl": cur["flow"] - cur["fees"]})
                    cur = None
    return pd.DataFrame(out, columns=["pair", "pnl"])


def tstats(pnl):
    pnl = pd.Series(pnl, dtype=float)
    gp, gl = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    return {"trades": len(pnl), "wins": int((pnl > 0).sum()), "losses": int((pnl < 0).sum()),
            "win_rate": (pnl > 0).mean() if len(pnl) else float("nan"),
            "profit_factor": gp / gl if gl > 0 else float("nan"),
            "expectancy": pnl.mean() if len(pnl) else float("nan"), "trade_pnl": pnl.sum()}


def sstats(x, ppy):
    x = pd.Series(x, dtype=float)
    return {"return": x.sum(), "ann_volatility": x.std(ddof=1) * math.sqrt(ppy),
            "sharpe": x.mean() / x.std(ddof=1) * math.sqrt(ppy)}


def check(d, out):
    m = json.load(open(f"{out}/metrics.json"))
    pairs = m["data"]["pairs"]
    ev, dec, cand = load(d, pairs)
    ev["fee"] = ev["fee"].fillna(0.0)
    ev["dq"] = ev.groupby("pair")["position"].diff().fillna(ev["position"])
    ev = ev.sort_values("time", kind="stable").reset_index(drop=True)
    union = np.unique(np.concatenate([c["time"].values for c in cand.values()]))
    first_ev = ev["time"].iloc[0]
    s0 = int(np.searchsorted(union, first_ev, side="left")) - 1
    sd = int(np.searchsorted(union, dec["time"].min(), side="right")) - 1
    s0 = min(s0, sd)
    t = union[s0:].astype(np.int64)
    n = len(t)
    interval = int(pd.Series(np.diff(t)).value_counts().sort_index().idxmax())
    counts = pd.Series(np.diff(t)).value_counts()
    interval = int(min(counts[counts == counts.max()].index))
    ppy = YEAR / interval
    bar = np.searchsorted(t, ev["time"].values, side="left")
    ev["bar"] = bar
    pnl = pd.DataFrame(0.0, index=range(n), columns=pairs)
    pos = pd.DataFrame(0.0, index=range(n), columns=pairs)
    active = pd.DataFrame(False, index=range(n), columns=pairs)
    closes = {}
    for p in pairs:
        c = cand[p].set_index("time")["close"].reindex(union).ffill().loc[t].values
        closes[p] = c
        e = ev[ev["pair"] == p]
        q = e.groupby("bar")["position"].last().reindex(range(n)).ffill().fillna(0.0).values
        flow = (-(e["dq"] * e["price"]).fillna(0.0) - e["fee"]).groupby(e["bar"]).sum().reindex(range(n)).fillna(0.0).values
        moved = (e["dq"] != 0).groupby(e["bar"]).any().reindex(range(n)).fillna(False).values.astype(bool)
        qc = q * c
        val = np.where(q != 0, qc, 0.0)
        pp = np.zeros(n)
        pp[1:] = val[1:] - val[:-1] + flow[1:]
        pnl[p] = pp
        pos[p] = q
        prevq = np.concatenate([[0.0], q[:-1]])
        active[p] = (prevq != 0) | (q != 0) | moved
    equity = np.zeros(n)
    equity[0] = CAPITAL
    for i in range(1, n):
        equity[i] = equity[i - 1] + pnl.iloc[i].sum()
    bench = np.full(n, CAPITAL)
    for p in pairs:
        v = ALLOC[p] * CAPITAL / (closes[p][0] * (1 + TAKER))
        bench += v * closes[p] - ALLOC[p] * CAPITAL
    eqcsv = pd.read_csv(f"{out}/equity.csv")
    errs = []

    def near(name, a, b, abs_floor=1e-12):
        if isinstance(b, float) and math.isnan(b):
            if a is not None:
                errs.append(f"{name}: {a} expected null")
            return
        if a is None or not abs(a - b) <= max(1e-9 * abs(b), abs_floor):
            errs.append(f"{name}: {a!r} expected {b!r}")

    if len(eqcsv) != n or (eqcsv["time"].values != t).any():
        errs.append(f"equity.csv times differ: {len(eqcsv)} rows, expected {n}")
    else:
        for i in range(n):
            near(f"equity[{i}]", eqcsv["equity"][i], equity[i])
            for p in pairs:
                near(f"pnl_{ALT[p]}[{i}]", eqcsv[f"pnl_{ALT[p]}"][i], pnl[p][i], 1e-12 * CAPITAL)
            near(f"benchmark[{i}]", eqcsv["benchmark"][i], bench[i])
    st, _ = perf(t, equity, ppy)
    for k, v in st.items():
        near(f"strategy.{k}", m["strategy"].get(k), v)
    bm, _ = perf(t, bench, ppy)
    for k, v in bm.items():
        near(f"benchmark.{k}", m["benchmark"].get(k), v)
    tr = trades_of(ev)
    for k, v in tstats(tr["pnl"]).items():
        near(f"strategy.{k}", m["strategy"].get(k), float(v))
    mean_eq = equity.mean()
    notional = (ev["dq"].abs() * ev["price"].fillna(0)).sum()
    near("strategy.turnover", m["strategy"]["turnover"], notional / mean_eq)
    near("strategy.fees", m["strategy"]["fees"], ev.loc[ev["event"] != "rollover", "fee"].sum())
    near("strategy.rollover", m["strategy"]["rollover"], ev.loc[ev["event"] == "rollover", "fee"].sum())
    near("strategy.liquidations", m["strategy"]["liquidations"], float((ev["event"] == "liquidation").sum()))
    near("strategy.exposure", m["strategy"]["exposure"], active.iloc[1:].any(axis=1).mean())
    eprev = pd.Series(equity[:-1], index=range(1, n))
    for p in pairs:
        mp = m["pairs"][p]
        near(f"{p}.pnl", mp["pnl"], pnl[p].iloc[1:].sum(), 1e-12 * CAPITAL)
        for k, v in sstats(pnl[p].iloc[1:] / eprev, ppy).items():
            near(f"{p}.{k}", mp[k], v)
        for k, v in tstats(tr.loc[tr["pair"] == p, "pnl"]).items():
            near(f"{p}.{k}", mp[k], float(v))
        near(f"{p}.exposure", mp["exposure"], active[p].iloc[1:].mean())
        v = ALLOC[p] * CAPITAL / (closes[p][0] * (1 + TAKER))
        near(f"{p}.benchmark_pnl", mp["benchmark_pnl"], v * closes[p][-1] - ALLOC[p] * CAPITAL, 1e-12 * CAPITAL)
    # Regimes and strategies: the decision in force over bar i is the pair's
    # last one at or before bar i-1.
    dec = dec.sort_values("time", kind="stable")
    strats = list(dict.fromkeys(k for w in dec["weights"] for k in w))
    reg = pd.DataFrame(None, index=range(n), columns=pairs, dtype=object)
    share = {s: pd.DataFrame(0.0, index=range(n), columns=pairs) for s in strats}
    for p in pairs:
        dp = dec[dec["pair"] == p]
        idx = np.searchsorted(dp["time"].values, t[:-1], side="right") - 1
        for i in range(1, n):
            j = idx[i - 1]
            if j < 0:
                continue
            row = dp.iloc[j]
            reg.loc[i, p] = row["regime"]
            ws = {s: row["weights"].get(s, 0.0) * row["signals"].get(s, 0.0) for s in strats}
            tot = sum(ws.values())
            if tot != 0:
                for s in strats:
                    share[s].loc[i, p] = ws[s] / tot
    for g in dict.fromkeys(x for x in dec["regime"]):
        mask = reg == g
        x = (pnl.div(pd.Series(np.concatenate([[np.nan], equity[:-1]])), axis=0))[mask].stack()
        mg = m["regimes"][g]
        near(f"regime {g}.pair_bars", mg["pair_bars"], float(mask.values.sum()))
        near(f"regime {g}.pnl", mg["pnl"], pnl[mask].stack().sum(), 1e-12 * CAPITAL)
        for k, v in sstats(x.values, ppy).items():
            near(f"regime {g}.{k}", mg[k], v)
    for s in strats:
        a = (pnl * share[s]).sum(axis=1).iloc[1:]
        near(f"strategy {s}.pnl", m["strategies"][s]["pnl"], a.sum(), 1e-12 * CAPITAL)
        for k, v in sstats(a / eprev, ppy).items():
            near(f"strategy {s}.{k}", m["strategies"][s][k], v)
    if errs:
        print("\n".join(errs[:30]))
        print(f"{len(errs)} mismatches")
        sys.exit(1)
    print(f"report_ref: {n} bars, {len(tr)} trades, every metric within 1e-9")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    else:
        check(sys.argv[2], sys.argv[3])
