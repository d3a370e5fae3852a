#!/usr/bin/python3
"""features_ref.py: an independent pandas/numpy implementation of kml-features'
features and labels, written from the textbook and TA-Lib definitions stated
in docs/features.md (not from the C code), for the tests and the benchmark.

  features_ref.py compute CANDLES [opts] [-o OUT]     reference features CSV
  features_ref.py compare CANDLES FEATURES [opts]     check kml-features' output
  features_ref.py diff FEATURES_A FEATURES_B [--rtol] the rows both have agree

Options: --max-gap N, --fill, --interval MIN, --features LIST, --labels,
--horizon H, --fee X, --flat-vol K, --barrier, --upper D, --lower D,
--leverage L, --margin-stop X, --rtol R (compare), --skip-rows-check.

compare joins the two tables on time, checks that kml-features wrote exactly
the rows the definitions allow (every selected feature defined, the warm-up
past, labels inside their segment) and that every value agrees to rtol
relative (|a - b| <= rtol * max(|b|, floor), the floor being 1e-3 of the
column's median magnitude and at least 1e-6, for values that cross zero). It prints one line a
column with the largest error and exits 1 on any failure.
"""
import argparse
import math
import sys

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

LN2 = math.log(2.0)
TOL = 1e-13  # start-decay the warm-ups guarantee (docs/features.md)

DEFAULT = ("ret_1 ret_2 ret_4 ret_8 ret_16 ret_24 rv_12 rv_24 rv_72 park_4 park_24 gk_24 rsi_14 natr_14 adx_14 "
           "plus_di_14 minus_di_14 cci_20 willr_14 mfi_14 roc_10 stoch_k stoch_d bb_pctb_20 bb_width_20 "
           "macd_n macd_signal_n macd_hist_n ema_ratio_12 ema_ratio_26 ema_ratio_50 obv_z_24 vol_z_24 "
           "vwap_dev donchian_pos_20 hour_sin hour_cos dow_sin dow_cos").split()
_E = DEFAULT.index("ema_ratio_50") + 1
ALL = DEFAULT[:_E] + ["ema_ratio_200"] + DEFAULT[_E:]


def warm(alpha, tol=TOL):
    return math.ceil(math.log(tol) / math.log1p(-alpha))


# first defined index within a segment: lookback + warm-up (docs/features.md)
def first_index(name):
    wil = warm(1 / 14)
    fixed = {"rv_12": 12, "rv_24": 24, "rv_72": 72, "park_4": 3, "park_24": 23, "gk_24": 23, "rsi_14": 14 + wil,
             "natr_14": 14 + wil, "adx_14": 27 + warm(1 / 14, TOL * 1e-3), "plus_di_14": 14 + warm(1 / 14, TOL * 1e-3),
             "minus_di_14": 14 + warm(1 / 14, TOL * 1e-3), "cci_20": 19, "willr_14": 13, "mfi_14": 14,
             "roc_10": 10, "stoch_k": 17, "stoch_d": 17, "bb_pctb_20": 19, "bb_width_20": 19,
             "obv_z_24": 47, "vol_z_24": 23, "donchian_pos_20": 19}
    if name in fixed:
        return fixed[name]
    if name.startswith("ret_"):
        return int(name[4:])
    if name.startswith("macd"):
        return 33 + warm(2 / 27, TOL * 1e-2)
    if name.startswith("ema_ratio_"):
        n = int(name[10:])
        return n - 1 + warm(2 / (n + 1))
    return 0


# ---- rolling helpers (two-pass, over explicit windows) ----

def win(x, n):
    """(len(x)-n+1, n) windows; row j ends at x[j+n-1]."""
    return sliding_window_view(x, n)


def pad(v, n_total):
    out = np.full(n_total, np.nan)
    out[n_total - len(v):] = v
    return out


def rmean(x, n):
    return pad(win(x, n).mean(axis=1), len(x)) if len(x) >= n else np.full(len(x), np.nan)


def rstd(x, n, ddof):
    return pad(win(x, n).std(axis=1, ddof=ddof), len(x)) if len(x) >= n else np.full(len(x), np.nan)


def rsum(x, n):
    return pad(win(x, n).sum(axis=1), len(x)) if len(x) >= n else np.full(len(x), np.nan)


def rmax(x, n):
    return pad(win(x, n).max(axis=1), len(x)) if len(x) >= n else np.full(len(x), np.nan)


def rmin(x, n):
    return pad(win(x, n).min(axis=1), len(x)) if len(x) >= n else np.full(len(x), np.nan)


def recursive(x, alpha, start, seed):
    """y[start] = seed, y[t] = (1 - alpha) y[t-1] + alpha x[t] after; NaN before."""
    out = np.full(len(x), np.nan)
    if start >= len(x):
        return out
    s = pd.Series(x[start:].astype(float))
    s.iloc[0] = seed
    out[start:] = s.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def ema(x, n, start=0):
    """EMA(n) of x[start:], seeded with the mean of its first n values."""
    first = start + n - 1
    if first >= len(x):
        return np.full(len(x), np.nan)
    return recursive(x, 2.0 / (n + 1), first, x[start:first + 1].mean())


def wilder(x, n, first):
    """Wilder average of x (valid from index first-n+1): seed = mean of the n
    values ending at first, then alpha = 1/n."""
    if first >= len(x):
        return np.full(len(x), np.nan)
    return recursive(x, 1.0 / n, first, x[first - n + 1:first + 1].mean())


def safe_div(a, b, zero, value=0.0):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a / b
    return np.where(zero, value, r)


# ---- one segment of consecutive bars ----

def segment_features(o, h, l, c, v, vw, t, names):
    n = len(c)
    f = {}
    prev = np.concatenate([[np.nan], c[:-1]])
    r1 = np.log(c / prev)
    for k in (1, 2, 4, 8, 16, 24):
        sh = np.full(n, np.nan)
        sh[k:] = c[:-k] if n > k else []
        f["ret_%d" % k] = np.log(c / sh)
    for k in (12, 24, 72):
        f["rv_%d" % k] = np.concatenate([[np.nan], rstd(r1[1:], k, 1)]) if n > 1 else np.full(n, np.nan)
    hl = np.log(h / l)
    co = np.log(c / o)
    for k in (4, 24):
        f["park_%d" % k] = np.sqrt(rsum(hl * hl, k) / (4 * k * LN2))
    f["gk_24"] = np.sqrt(rmean(0.5 * hl * hl - (2 * LN2 - 1) * co * co, 24))
    # RSI (TA-Lib): Wilder averages of gains and losses seeded with their
    # means over bars 1..14
    d = c - prev
    gain, loss = np.where(d > 0, d, 0.0), np.where(d < 0, -d, 0.0)
    g, lo_ = wilder(gain, 14, 14), wilder(loss, 14, 14)
    f["rsi_14"] = safe_div(100 * g, g + lo_, np.abs(g + lo_) < 1e-14)
    # ATR / NATR: true range from bar 1, Wilder seeded with bars 1..14
    tr = np.maximum.reduce([h - l, np.abs(prev - h), np.abs(prev - l)])
    atr = wilder(tr, 14, 14)
    f["natr_14"] = atr / c * 100
    # DMI: Wilder sums seeded with the sum of bars 1..13 (ratios: averages)
    ph = np.concatenate([[np.nan], h[:-1]])
    pl = np.concatenate([[np.nan], l[:-1]])
    up, dn = h - ph, pl - l
    pdm = np.where((up > 0) & (up > dn), up, 0.0)
    mdm = np.where((dn > 0) & (dn > up), dn, 0.0)

    def wsum(x):
        # S13 = sum x[1..13]; S_t = S_{t-1} (1 - 1/14) + x_t: as an average, A = S/14
        out = np.full(n, np.nan)
        if n <= 14:
            return out
        seed = x[1:14].sum() / 14
        rec = recursive(np.concatenate([[0.0], x[14:]]), 1 / 14, 0, seed)  # y0 = seed at index 13
        out[13:] = rec
        return out

    sp, sm, st = wsum(pdm), wsum(mdm), wsum(tr)
    trz = np.abs(st * 14) < 1e-14
    pdi = safe_div(100 * sp, st, trz)
    mdi = safe_div(100 * sm, st, trz)
    pdi[:14], mdi[:14] = np.nan, np.nan
    f["plus_di_14"], f["minus_di_14"] = pdi, mdi
    s = pdi + mdi
    dx_ok = ~trz & ~(np.abs(s) < 1e-14)
    dx = safe_div(100 * np.abs(mdi - pdi), s, ~dx_ok)
    adx = np.full(n, np.nan)
    if n > 27:
        seed = np.where(dx_ok[14:28], dx[14:28], 0.0).sum() / 14
        if dx_ok[28:].all():
            adx = recursive(dx, 1 / 14, 27, seed)
        else:  # a bar without DX leaves the ADX unchanged (TA-Lib)
            a = seed
            adx[27] = a
            for i in range(28, n):
                if dx_ok[i]:
                    a = (a * 13 + dx[i]) / 14
                adx[i] = a
    f["adx_14"] = adx
    # CCI: mean deviation of the typical price around its 20-bar mean
    tp = (h + l + c) / 3
    if n >= 20:
        w = win(tp, 20)
        avg = w.mean(axis=1)
        md = np.abs(w - avg[:, None]).mean(axis=1)
        cci = safe_div(tp[19:] - avg, 0.015 * md, md <= 1e-12 * np.abs(avg))
        f["cci_20"] = pad(cci, n)
    else:
        f["cci_20"] = np.full(n, np.nan)
    hh, ll = rmax(h, 14), rmin(l, 14)
    f["willr_14"] = safe_div(-100 * (hh - c), hh - ll, hh == ll)
    # MFI: money flow by the direction of the typical price
    ptp = np.concatenate([[np.nan], tp[:-1]])
    dtp = tp - ptp
    flow = tp * v
    moved = ~(np.abs(dtp) <= 1e-14 * (np.abs(tp) + np.abs(ptp)))
    pos = np.where(moved & (dtp > 0), flow, 0.0)
    neg = np.where(moved & (dtp < 0), flow, 0.0)
    P = np.concatenate([[np.nan], rsum(pos[1:], 14)]) if n > 1 else np.full(n, np.nan)
    N = np.concatenate([[np.nan], rsum(neg[1:], 14)]) if n > 1 else np.full(n, np.nan)
    f["mfi_14"] = safe_div(100 * P, P + N, ~(P + N > 0))
    f["mfi_14"][np.isnan(P)] = np.nan
    sh = np.full(n, np.nan)
    sh[10:] = c[:-10] if n > 10 else []
    f["roc_10"] = (c / sh - 1) * 100
    fastk = safe_div(100 * (c - ll), hh - ll, hh == ll)
    fastk[np.isnan(hh)] = np.nan
    slowk = np.full(n, np.nan)
    slowd = np.full(n, np.nan)
    if n >= 16:
        slowk[15:] = rmean(fastk[13:], 3)[2:]
    if n >= 18:
        slowd[17:] = rmean(slowk[15:], 3)[2:]
    slowk[:17] = np.nan
    f["stoch_k"], f["stoch_d"] = slowk, slowd
    mid, sd = rmean(c, 20), rstd(c, 20, 0)
    width = 4 * sd
    flat = ~(width > 1e-12 * np.abs(mid))
    f["bb_pctb_20"] = safe_div(c - (mid - 2 * sd), width, flat, 0.5)
    f["bb_width_20"] = safe_div(width, mid, flat, 0.0)
    f["bb_pctb_20"][np.isnan(mid)] = np.nan
    f["bb_width_20"][np.isnan(mid)] = np.nan
    # MACD (TA-Lib): the fast EMA seeded on the 12 bars ending where the slow
    # one's 26-bar seed ends; signal = EMA(9) of the line seeded with its mean
    line = ema(c, 12, start=14) - ema(c, 26)
    sig = ema(line, 9, start=25) if n > 25 else np.full(n, np.nan)
    for key, val in (("macd_n", line), ("macd_signal_n", sig), ("macd_hist_n", line - sig)):
        x = val / c
        x[:33] = np.nan
        f[key] = x
    for k in (12, 26, 50, 200):
        f["ema_ratio_%d" % k] = c / ema(c, k) - 1
    sv = np.where(c > prev, v, np.where(c < prev, -v, 0.0))
    D = np.concatenate([[np.nan], rsum(sv[1:], 24)]) if n > 1 else np.full(n, np.nan)

    def zscore(x, k):
        out = np.full(n, np.nan)
        good = np.where(~np.isnan(x))[0]
        if len(good) < k:
            return out
        a = good[0]
        w = win(x[a:], k)
        m, s_ = w.mean(axis=1), w.std(axis=1)
        out[a + k - 1:] = safe_div(x[a + k - 1:] - m, s_, (s_ == 0) | (s_ <= 1e-12 * np.abs(m)))
        return out

    f["obv_z_24"] = zscore(D, 24)
    f["vol_z_24"] = zscore(v, 24)
    vwap = np.where(np.isnan(vw), tp, vw)
    f["vwap_dev"] = c / vwap - 1
    h20, l20 = rmax(h, 20), rmin(l, 20)
    f["donchian_pos_20"] = safe_div(c - l20, h20 - l20, ~(h20 > l20), 0.5)
    f["donchian_pos_20"][np.isnan(h20)] = np.nan
    sod = np.mod(t, 86400)
    dow = np.mod(np.floor_divide(t, 86400) + 3, 7)
    f["hour_sin"] = np.sin(2 * np.pi * sod / 86400)
    f["hour_cos"] = np.cos(2 * np.pi * sod / 86400)
    f["dow_sin"] = np.sin(2 * np.pi * dow / 7)
    f["dow_cos"] = np.cos(2 * np.pi * dow / 7)
    return {k: f[k] for k in names}


def segment_labels(h, l, c, rv24, a, n):
    """Labels of each bar of a segment of n bars (NaN where the horizon runs
    past the segment)."""
    H = a.horizon
    y = {}
    fwd = np.full(n, np.nan)
    fwd[:n - H] = c[H:] if n > H else []
    y["ret"] = np.log(fwd / c)
    move = fwd / c - 1
    volh = rv24 * math.sqrt(H)
    th = a.flat_vol * volh if a.flat_vol > 0 else np.full(n, a.fee)
    y["class"] = np.where(move > th, 2.0, np.where(move < -th, 0.0, 1.0))
    if a.barrier:
        def dist(spec):
            return np.full(n, float(spec)) if not spec.endswith("v") else float(spec[:-1]) * volh
        upd = dist(a.upper)
        # the margin model's liquidation move (docs/margin.md): margin level
        # 1 - L * move reaches margin_stop
        lod = np.full(n, (1 - a.margin_stop) / a.leverage) if a.leverage > 0 else dist(a.lower)
        U, L = c * (1 + upd), c * (1 - lod)
        tb = np.full(n, 1.0)
        bars = np.full(n, float(H))
        done = np.zeros(n, bool)
        for k in range(1, H + 1):  # the lower barrier first on a bar touching both
            hk = np.full(n, np.nan)
            lk = np.full(n, np.nan)
            hk[:n - k] = h[k:] if n > k else []
            lk[:n - k] = l[k:] if n > k else []
            lo_hit = ~done & (lk <= L)
            up_hit = ~done & ~lo_hit & (hk >= U)
            tb[lo_hit], bars[lo_hit] = 0, k
            tb[up_hit], bars[up_hit] = 2, k
            done |= lo_hit | up_hit
        y["tb"], y["tb_bars"] = tb, bars
    return y


def label_names(a):
    names = ["y_ret_%d" % a.horizon, "y_class"]
    if a.barrier:
        if a.leverage > 0:
            names += ["y_tb_lev%s" % ("%g" % a.leverage), "y_tb_lev%s_bars" % ("%g" % a.leverage)]
        else:
            names += ["y_tb", "y_tb_bars"]
    return names


def compute(path, a):
    df = pd.read_csv(path, float_precision="round_trip")
    names = a.features.split(",") if a.features else DEFAULT
    if a.features == "all":
        names = ALL
    t = df["time"].to_numpy(np.int64)
    cols = {k: df[k].to_numpy(float) for k in ("open", "high", "low", "close", "volume")}
    vw = df["vwap"].to_numpy(float) if "vwap" in df else np.full(len(df), np.nan)
    iv = a.interval * 60 if a.interval else int(pd.Series(np.diff(t[:1000])).value_counts().sort_index()
                                                .pipe(lambda s: s[s == s.max()].index.min()))
    real = np.ones(len(t), bool)
    missing = np.diff(t) // iv - 1
    if a.fill:  # synthetic bars carrying the last close, zero volume, within the gaps filled
        fillable = (missing > 0) & (missing <= a.max_gap)
        if fillable.any():
            rows = []
            for i in np.where(fillable)[0]:
                for k in range(1, missing[i] + 1):
                    rows.append((t[i] + k * iv, cols["close"][i]))
            st = np.array([r[0] for r in rows], np.int64)
            sc = np.array([r[1] for r in rows])
            t = np.concatenate([t, st])
            order = np.argsort(t, kind="stable")
            t = t[order]
            for k in cols:
                add = sc if k != "volume" else np.zeros(len(st))
                cols[k] = np.concatenate([cols[k], add])[order]
            vw = np.concatenate([vw, np.full(len(st), np.nan)])[order]
            real = np.concatenate([real, np.zeros(len(st), bool)])[order]
            missing = np.diff(t) // iv - 1
    # segments: a gap longer than max_gap restarts
    brk = np.concatenate([[0], np.where(missing > a.max_gap)[0] + 1, [len(t)]])
    first = max(first_index(k) for k in names)
    if a.labels and (a.flat_vol > 0 or (a.barrier and ((a.upper or "").endswith("v") or
                                                         (a.leverage <= 0 and (a.lower or "").endswith("v"))))):
        first = max(first, first_index("rv_24"))
    out = []
    for s, e in zip(brk[:-1], brk[1:]):
        if e - s <= first:
            continue
        sl = slice(s, e)
        f = segment_features(cols["open"][sl], cols["high"][sl], cols["low"][sl], cols["close"][sl],
                             cols["volume"][sl], vw[sl], t[sl], names + (["rv_24"] if "rv_24" not in names else []))
        seg = pd.DataFrame({"time": t[sl], "close": cols["close"][sl]})
        for k in names:
            seg[k] = f[k]
        keep = np.zeros(e - s, bool)
        keep[first:] = True
        keep &= real[sl]
        if a.labels:
            y = segment_labels(cols["high"][sl], cols["low"][sl], cols["close"][sl], f["rv_24"], a, e - s)
            ln = label_names(a)
            seg[ln[0]], seg[ln[1]] = y["ret"], y["class"]
            if a.barrier:
                seg[ln[2]], seg[ln[3]] = y["tb"], y["tb_bars"]
            keep &= ~np.isnan(y["ret"])
        out.append(seg[keep])
    cols_out = ["time", "close"] + names + (label_names(a) if a.labels else [])
    return pd.concat(out) if out else pd.DataFrame(columns=cols_out)


def compare(ref, got, rtol, rows_check):
    ok = True
    if rows_check:
        rt, gt = set(ref["time"]), set(got["time"])
        if rt != gt:
            print("rows differ: %d only in the reference (e.g. %s), %d only in kml-features (e.g. %s)" %
                  (len(rt - gt), sorted(rt - gt)[:3], len(gt - rt), sorted(gt - rt)[:3]))
            ok = False
    m = ref.merge(got, on="time", suffixes=("_ref", ""))
    print("rows compared: %d" % len(m))
    if len(m) == 0:
        return False
    for k in got.columns:
        if k == "time":
            continue
        if k + "_ref" not in m:
            print("%s: not in the reference" % k)
            ok = False
            continue
        a, b = m[k].to_numpy(float), m[k + "_ref"].to_numpy(float)
        # values far below the column's size (crossing zero) compare absolutely:
        # 1e-3 of the median magnitude, and at least 1e-6, since these columns
        # are differences of O(1) quantities whose rounding is ~1e-16
        floor = max(1e-3 * np.median(np.abs(b)), 1e-6)
        err = np.abs(a - b) / np.maximum(np.abs(b), max(floor, 1e-300))
        worst = int(np.nanargmax(err)) if np.isfinite(err).any() else 0
        bad = ~(err <= rtol)
        print("%-16s max rel err %.3g at %d (%r vs %r)%s" % (k, err[worst], m["time"].iloc[worst], a[worst], b[worst],
                                                            "  FAIL: %d rows" % bad.sum() if bad.any() else ""))
        ok &= not bad.any()
    return ok


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["compute", "compare", "diff"])
    p.add_argument("candles")
    p.add_argument("features_csv", nargs="?")
    p.add_argument("-o", "--output")
    p.add_argument("--max-gap", type=int, default=None)
    p.add_argument("--fill", action="store_true")
    p.add_argument("--interval", type=int, default=0)
    p.add_argument("--features", default="")
    p.add_argument("--labels", action="store_true")
    p.add_argument("--horizon", type=int, default=4)
    p.add_argument("--fee", type=float, default=2 * 0.0026)
    p.add_argument("--flat-vol", type=float, default=0.0)
    p.add_argument("--barrier", action="store_true")
    p.add_argument("--upper", default="1v")
    p.add_argument("--lower", default="1v")
    p.add_argument("--leverage", type=float, default=0.0)
    p.add_argument("--margin-stop", type=float, default=0.4)
    p.add_argument("--rtol", type=float, default=1e-9)
    p.add_argument("--skip-rows-check", action="store_true")
    a = p.parse_args()
    if a.leverage > 0:
        a.barrier = True
    if a.max_gap is None:
        a.max_gap = 10 ** 9 if a.fill else 0
    if a.cmd == "diff":  # B is the reference (e.g. the run started much earlier)
        A = pd.read_csv(a.candles, float_precision="round_trip")
        B = pd.read_csv(a.features_csv, float_precision="round_trip")
        common = len(set(A["time"]) & set(B["time"]))
        print("rows in common: %d of %d" % (common, len(A)))
        return 0 if common > 0 and compare(B, A, a.rtol, False) else 1
    ref = compute(a.candles, a)
    if a.cmd == "compute":
        ref.to_csv(a.output or sys.stdout, index=False)
        return 0
    got = pd.read_csv(a.features_csv, float_precision="round_trip")
    return 0 if compare(ref, got, a.rtol, not a.skip_rows_check) else 1


if __name__ == "__main__":
    sys.exit(main())
