"""Generated trades for the loopback Kraken server (tests/kraken_server.py).

A fill of N days needs trades over any span a test asks for, without a
fixture file of that size. The trades of one hour depend only on (seed, pair,
hour), so any page can be produced without the hours before it, and two runs
(or an interrupted run and its rerun) see the same trades.

Each hour has between rate/2 and 3*rate/2 trades (at least one), at distinct
milliseconds. Prices follow a deterministic path (slow and fast waves, a
volatility that waxes and wanes, and per-trade noise): not a market model, only
enough movement for features, regimes and training to have something to fit.
The OHLC endpoint of a generated pair serves candles built from these same
trades exactly as kml-fetch builds them (vwap as a double sum in trade order,
volume as an exact decimal sum), so a store filled from trades and one filled
from OHLC agree byte for byte.
"""
import math
import random
from decimal import Decimal

BASE = {"XBTUSD": 30000.0, "ETHUSD": 2000.0, "SOLUSD": 20.0}
SIZE = {"XBTUSD": 0.15, "ETHUSD": 1.5, "SOLUSD": 40.0}


class TradeGen:
    def __init__(self, pairs, seed, rate, start, now):
        self.pairs = set(pairs)
        self.seed = seed
        self.rate = max(1, rate)
        self.start_hour = start // 3600   # no trade before this hour (the pair's listing)
        self.now = now                    # the server's clock: no trade at or after it
        self.cache = {}

    def has(self, alt):
        return alt in self.pairs

    def hour(self, alt, h):
        """Trades of hour h: a list of (ms, price text, volume text, side, type)."""
        key = (alt, h)
        if key in self.cache:
            return self.cache[key]
        rng = random.Random("%d:%s:%d" % (self.seed, alt, h))
        n = max(1, rng.randint(self.rate // 2, self.rate * 3 // 2))
        offs = sorted(rng.sample(range(3600000), n))
        base, size = BASE.get(alt, 100.0), SIZE.get(alt, 20.0)
        dec = 4 if base < 100 else 2
        out = []
        for off in offs:
            x = h + off / 3600000.0
            mid = base * (1 + 0.12 * math.sin(2 * math.pi * x / 263) + 0.04 * math.sin(2 * math.pi * x / 37)
                          + 0.015 * math.sin(2 * math.pi * x / 7.3))
            vol = 0.002 * (1.2 + math.sin(2 * math.pi * x / 131))
            price = mid * (1 + vol * rng.gauss(0, 1))
            volume = max(1e-8, rng.expovariate(1 / size))
            out.append((h * 3600000 + off, "%.*f" % (dec, price), "%.8f" % volume,
                        "b" if rng.random() < 0.5 else "s", "m" if rng.random() < 0.6 else "l"))
        if len(self.cache) > 20000:
            self.cache.clear()
        self.cache[key] = out
        return out

    def trades_after(self, alt, since_ns, limit):
        """Up to limit trades with time > since_ns nanoseconds and before now,
        as Kraken's rows, and the `last` cursor."""
        h = max(self.start_hour, since_ns // 3600000000000)
        end_ms = self.now * 1000
        rows, last = [], since_ns
        while len(rows) < limit and h * 3600 < self.now:
            for ms, p, v, side, kind in self.hour(alt, h):
                ns = ms * 1000000
                if ns <= since_ns or ms >= end_ms:
                    continue
                rows.append([p, v, ms / 1000.0, side, kind, "", ms])
                last = ns
                if len(rows) == limit:
                    break
            h += 1
        return rows, str(last)

    def candles(self, alt, minutes):
        """The latest 720 candles of `minutes` up to the forming one, as
        Kraken's OHLC rows, and `last` (the last committed candle's time)."""
        step = minutes * 60
        current = self.now - self.now % step
        first = current - 719 * step
        h = max(self.start_hour, first // 3600)
        agg, out = None, []

        def close(a):
            vol = sum(a["v"], Decimal(0))
            text = format(vol, "f")
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            vwap = a["pv"] / a["vf"] if a["vf"] > 0 else a["c"]
            vwap = min(max(vwap, a["l"]), a["h"])
            out.append([a["t"], repr(a["o"]), repr(a["h"]), repr(a["l"]), repr(a["c"]), repr(vwap), text, a["n"]])

        while h * 3600 < self.now:
            for ms, p, v, _, _ in self.hour(alt, h):
                t = ms // 1000
                if t < first or ms >= self.now * 1000:
                    continue
                b = t - t % step
                px, vx = float(p), float(v)
                if agg is None or agg["t"] != b:
                    if agg is not None:
                        close(agg)
                    agg = {"t": b, "o": px, "h": px, "l": px, "c": px, "pv": 0.0, "vf": 0.0, "v": [], "n": 0}
                agg["h"] = max(agg["h"], px)
                agg["l"] = min(agg["l"], px)
                agg["c"] = px
                agg["pv"] += px * vx
                agg["vf"] += vx
                agg["v"].append(Decimal(v))
                agg["n"] += 1
            h += 1
        if agg is not None:
            close(agg)
        if not out or out[-1][0] != current:
            # Kraken always lists the forming candle: no trade yet, the last price
            c = out[-1][4] if out else "0"
            out.append([current, c, c, c, c, c, "0", 0])
        last = out[-2][0] if len(out) > 1 else 0
        return out, last
