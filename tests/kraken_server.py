#!/usr/bin/python3
"""A loopback stand-in for Kraken's public REST API, for the test suites.

Serves /0/public/{Time,AssetPairs,OHLC,Trades} in Kraken's response shapes from
fixture files in --dir:
  <ALTNAME>_<minutes>.csv   candles CSV (time,open,high,low,close,vwap,volume,count);
                            its last row is served as the still-forming candle
  <ALTNAME>_trades.csv      trades CSV (time,price,volume,side[,type])
  AssetPairs.json           the "result" object of AssetPairs
Result keys use Kraken's legacy names where Kraken does (XXBTZUSD, XETHZUSD).

Faults are read from --state/faults before every request, one per line:
  ENDPOINT KIND COUNT [SKIP]
ENDPOINT is OHLC, Trades, AssetPairs, Time or '*'; the fault hits COUNT matching
requests (-1: all) after SKIP of them have passed. KIND is one of
  500 502 503 429            HTTP status with a small body
  ratelimit toomany busy unavailable   Kraken's transient errors, HTTP 200
  unknownpair invalid        Kraken's permanent errors
  errresult                  an error next to a result
  malformed                  a body that is not JSON
  truncated                  Content-Length larger than the body sent
  slow:SECONDS               answer normally after a delay
  badrow                     a result row with a non-numeric price
Every request is appended to --state/requests.log as "PATH?QUERY".
POST /0/private/* is Kraken's private API, in tests/kraken_private.py.

--generate ALT[,ALT...] serves generated trades for those pairs over any span
asked for (tests/kraken_gen.py: deterministic for --gen-seed, --gen-rate trades
an hour on average, none before --gen-start or at or after --time), and OHLC
candles built from them; their fixture files, if any, are not read.
Standard library only; it is a test fixture, not part of the product.
"""
import argparse
import csv
import json
import os
import threading
import time
from decimal import Decimal
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from kraken_gen import TradeGen

LEGACY = {"XBTUSD": "XXBTZUSD", "ETHUSD": "XETHZUSD", "XBTEUR": "XXBTZEUR", "ETHEUR": "XETHZEUR"}
LOCK = threading.Lock()


def legacy_key(alt):
    return LEGACY.get(alt, alt)


def altname_of(text):
    for alt, key in LEGACY.items():
        if text == key:
            return alt
    return text.replace("/", "")


class Fixtures:
    def __init__(self, d):
        self.dir = d
        self.trades = {}

    def candles(self, alt, minutes):
        path = os.path.join(self.dir, "%s_%s.csv" % (alt, minutes))
        if not os.path.exists(path):
            return None
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    def trade_rows(self, alt):
        path = os.path.join(self.dir, "%s_trades.csv" % alt)
        if not os.path.exists(path):
            return None
        if alt not in self.trades:
            rows = []
            with open(path, newline="") as f:
                for i, r in enumerate(csv.DictReader(f)):
                    ns = int(Decimal(r["time"]) * 1000000000)
                    side = "b" if r["side"].startswith("b") else "s"
                    kind = "l" if r.get("type", "m").startswith("l") else "m"
                    rows.append((ns, [r["price"], r["volume"], float(r["time"]), side, kind, "", i + 1]))
            self.trades[alt] = rows
        return self.trades[alt]

    def asset_pairs(self):
        with open(os.path.join(self.dir, "AssetPairs.json")) as f:
            return json.load(f)


def take_fault(state, endpoint):
    """The fault for this request, or None; updates the faults file."""
    path = os.path.join(state, "faults")
    with LOCK:
        if not os.path.exists(path):
            return None
        with open(path) as f:
            lines = [l.split() for l in f if l.strip()]
        hit = None
        for parts in lines:
            ep, kind, count = parts[0], parts[1], int(parts[2])
            skip = int(parts[3]) if len(parts) > 3 else 0
            if ep not in ("*", endpoint) or count == 0:
                continue
            if skip > 0:
                parts[3] = str(skip - 1)
                break
            if count > 0:
                parts[2] = str(count - 1)
            hit = kind
            break
        with open(path + ".tmp", "w") as f:
            f.write("".join(" ".join(p) + "\n" for p in lines))
        os.replace(path + ".tmp", path)
        return hit


class Handler(BaseHTTPRequestHandler):
    server_version = "kraken-test/1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, length=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) if length is None else length))
        self.end_headers()
        self.wfile.write(data)

    def ok(self, result):
        self.send(200, json.dumps({"error": [], "result": result}))

    def error(self, *msgs):
        self.send(200, json.dumps({"error": list(msgs)}))

    def do_POST(self):
        # the private API (signatures, nonces, orders, faults): tests/kraken_private.py
        import kraken_private
        kraken_private.handle(self, take_fault)

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        opts = self.server.opts
        with LOCK:
            with open(os.path.join(opts.state, "requests.log"), "a") as f:
                f.write("%s?%s\n" % (url.path, url.query))
        endpoint = url.path.rsplit("/", 1)[-1]
        if not url.path.startswith("/0/public/"):
            return self.send(404, '{"error":["EGeneral:Unknown method"]}')
        fault = take_fault(opts.state, endpoint)
        if fault:
            if fault.startswith("slow:"):
                time.sleep(float(fault[5:]))
            elif fault in ("500", "502", "503", "429"):
                return self.send(int(fault), "<html>error %s</html>" % fault)
            elif fault == "ratelimit":
                return self.error("EAPI:Rate limit exceeded")
            elif fault == "toomany":
                return self.error("EGeneral:Too many requests")
            elif fault == "busy":
                return self.error("EService:Busy")
            elif fault == "unavailable":
                return self.error("EService:Unavailable")
            elif fault == "unknownpair":
                return self.error("EQuery:Unknown asset pair")
            elif fault == "invalid":
                return self.error("EGeneral:Invalid arguments")
            elif fault == "errresult":
                return self.send(200, json.dumps({"error": ["EGeneral:Internal error"], "result": {"unixtime": 1}}))
            elif fault == "malformed":
                return self.send(200, '{"error":[],"result":{"XXBTZUSD":[[1,')
            elif fault == "truncated":
                return self.send(200, '{"error":[],"result":{', length=4096)
        handler = getattr(self, "ep_" + endpoint, None)
        if handler is None:
            return self.error("EQuery:Unknown method")
        handler(q, fault)

    def ep_Time(self, q, fault):
        t = self.server.opts.time
        self.ok({"unixtime": t, "rfc1123": formatdate(t, usegmt=True)})

    def ep_AssetPairs(self, q, fault):
        pairs = self.server.fixtures.asset_pairs()
        if "pair" in q:
            want = [altname_of(p) for p in q["pair"].split(",")]
            got = {k: v for k, v in pairs.items() if v["altname"] in want}
            if len(got) != len(want):
                return self.error("EQuery:Unknown asset pair")
            pairs = got
        self.ok(pairs)

    def ep_OHLC(self, q, fault):
        alt = altname_of(q.get("pair", ""))
        gen = self.server.gen
        if gen and gen.has(alt):
            out, last = gen.candles(alt, int(q.get("interval", "1")))
            if "since" in q:
                out = [r for i, r in enumerate(out) if r[0] > int(q["since"]) or i == len(out) - 1]
            if fault == "badrow" and out:
                out[0][1] = "abc"
            return self.ok({legacy_key(alt): out, "last": last})
        rows = self.server.fixtures.candles(alt, q.get("interval", "1"))
        if rows is None:
            return self.error("EQuery:Unknown asset pair")
        last = int(rows[-2]["time"]) if len(rows) > 1 else 0
        rows = rows[-720:]
        since = int(q["since"]) if "since" in q else None
        out = []
        for i, r in enumerate(rows):
            if since is not None and int(r["time"]) <= since and i != len(rows) - 1:
                continue
            vwap = r["vwap"] or repr((float(r["high"]) + float(r["low"]) + float(r["close"])) / 3)
            out.append([int(r["time"]), r["open"], r["high"], r["low"], r["close"], vwap, r["volume"],
                        int(r["count"] or 0)])
        if fault == "badrow" and out:
            out[0][1] = "abc"
        self.ok({legacy_key(alt): out, "last": last})

    def ep_Trades(self, q, fault):
        alt = altname_of(q.get("pair", ""))
        gen = self.server.gen
        if gen and gen.has(alt):
            page, last = gen.trades_after(alt, int(q.get("since", "0")), min(int(q.get("count", "1000")), 1000))
            if fault == "badrow" and page:
                page[0][0] = "abc"
            return self.ok({legacy_key(alt): page, "last": last})
        rows = self.server.fixtures.trade_rows(alt)
        if rows is None:
            return self.error("EQuery:Unknown asset pair")
        since = int(q.get("since", "0"))
        count = min(int(q.get("count", "1000")), 1000)
        lo = 0
        while lo < len(rows) and rows[lo][0] <= since:
            lo += 1
        hi = min(lo + count, len(rows))
        # never split trades of one nanosecond across pages: `last` must be a clean cut
        while hi < len(rows) and hi > lo + 1 and rows[hi][0] == rows[hi - 1][0]:
            hi -= 1
        page = [r[1] for r in rows[lo:hi]]
        if fault == "badrow" and page:
            page[0] = list(page[0])
            page[0][0] = "abc"
        last = str(rows[hi - 1][0]) if hi > lo else str(since)
        self.ok({legacy_key(alt): page, "last": last})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--time", type=int, default=int(time.time()))
    ap.add_argument("--generate", default="", help="ALT[,ALT...]: pairs whose trades are generated")
    ap.add_argument("--gen-seed", type=int, default=1)
    ap.add_argument("--gen-rate", type=int, default=60, help="mean trades an hour")
    ap.add_argument("--gen-start", type=int, default=None, help="first second with trades (default --time - 400 days)")
    opts = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.opts = opts
    srv.fixtures = Fixtures(opts.dir)
    srv.gen = None
    if opts.generate:
        start = opts.gen_start if opts.gen_start is not None else opts.time - 400 * 86400
        srv.gen = TradeGen(opts.generate.split(","), opts.gen_seed, opts.gen_rate, start, opts.time)
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, opts.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
