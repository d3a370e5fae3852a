"""Kraken's private REST API for the loopback test server (tests/kraken_server.py).

kraken_server.py's do_POST hands every POST /0/private/<Method> to handle().
What it does, as Kraken does:
  - checks API-Key (EAPI:Invalid key), API-Sign over the exact body
    (EAPI:Invalid signature) and that the nonce is larger than the key's last
    accepted one (EAPI:Invalid nonce); every accepted nonce is appended to
    --state/nonces.log as "KEYINDEX NONCE" (the key itself is never written);
  - models the private call counter when private.json sets "counter"
    ({"max": 15, "decay": 0.33}); over it: EAPI:Rate limit exceeded;
  - keeps orders, margin positions and balances, filling market orders at the
    close of the candle of the server's clock (--state/clock if present, else
    --time; candles from --dir/<ALTNAME>_60.csv, else private.json "prices"),
    limit and stop orders once that price crosses them, reduce_only and
    conditional closes; taker fee private.json "fee" (default 0.0026).
    Without candles, prices come from private.json "prices", overridden by
    --state/prices.json (tests move the market by rewriting it).
Configuration: --dir/private.json
  {"keys": {"KEY": "BASE64SECRET"}, "balances": {"ZUSD": "10000"},
   "positions": [{"pair": "SOLUSD", "type": "buy", "vol": "2", "price": "150",
                  "leverage": 2}], "prices": {"SOLUSD": "150"}, "fee": 0.0026}
The state is written to --state/private.json after every request that changed
it (tests read it).

Faults: the same --state/faults file and format as the public API (ENDPOINT is
the private method, e.g. AddOrder). Kinds answered before the request is
carried out: 500 502 503 429, ratelimit, busy, unavailable, invalidnonce,
lockout. Kinds answered after it was carried out (an order is then placed even
though the client cannot know it): timeout[:SECONDS] (no answer before the
client gives up; default 3 s), after500, after502, afterbusy, malformed,
truncated. Others: partial (an order fills half now, the rest at the second
request after), badshape (a result of the wrong shape), reject (EOrder:Insufficient
funds).
Standard library only; it is a test fixture, not part of the product.
"""
import base64
import csv
import hashlib
import hmac
import json
import os
import threading
import time
from decimal import Decimal
from urllib.parse import parse_qsl

PLOCK = threading.Lock()
_STATE = {}
LEGACY = {"XBTUSD": "XXBTZUSD", "ETHUSD": "XETHZUSD"}
BASES = {"XBTUSD": "XXBT", "ETHUSD": "XETH", "SOLUSD": "SOL"}
COUNTED = {"OpenOrders", "ClosedOrders", "QueryOrders", "OpenPositions", "TradeBalance", "Balance"}


def fmt(x):
    return "%.10f" % x


class Book:
    def __init__(self, opts):
        self.opts = opts
        cfg_path = os.path.join(opts.dir, "private.json")
        self.cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
        self.path = os.path.join(opts.state, "private.json")
        self.candles = {}
        self.dirty = True
        if os.path.exists(self.path):
            self.st = json.load(open(self.path))
            return
        self.st = {"orders": {}, "order_seq": [], "positions": {}, "nonces": {}, "counter": {},
                   "balances": {k: float(v) for k, v in self.cfg.get("balances", {"ZUSD": "10000"}).items()},
                   "n": 0, "adds": 0}
        for p in self.cfg.get("positions", []):
            self.open_position(p["pair"], p["type"], float(p["vol"]), float(p["price"]), int(p.get("leverage", 2)),
                               "OSEEDED-%05d" % self.next_id(), 0.0)

    def save(self):
        if not self.dirty and os.path.exists(self.path):
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.st, f)
        os.replace(tmp, self.path)
        self.dirty = False

    def next_id(self):
        self.dirty = True
        self.st["n"] += 1
        return self.st["n"]

    def now(self):
        p = os.path.join(self.opts.state, "clock")
        if os.path.exists(p):
            return int(open(p).read().split()[0])
        return self.opts.time

    def price(self, alt):
        if alt not in self.candles:
            path = os.path.join(self.opts.dir, "%s_60.csv" % alt)
            rows = []
            if os.path.exists(path):
                with open(path, newline="") as f:
                    rows = [(int(r["time"]), float(r["close"])) for r in csv.DictReader(f)]
            self.candles[alt] = rows
        rows, t = self.candles[alt], self.now()
        if rows:
            best = rows[0][1]
            for rt, c in rows:
                if rt <= t:
                    best = c
            return best
        prices = self.cfg.get("prices", {})
        over = os.path.join(self.opts.state, "prices.json")
        if os.path.exists(over):
            prices = dict(prices, **json.load(open(over)))
        return float(prices.get(alt, "100"))

    def pair_info(self, text):
        pairs = json.load(open(os.path.join(self.opts.dir, "AssetPairs.json")))
        for key, v in pairs.items():
            if text in (key, v["altname"], v.get("wsname")):
                return key, v
        return None, None

    # ---- positions and fills

    def open_position(self, alt, side, vol, price, lev, ordertxid, fee):
        pid = "TPOS%02d-%05d-TEST" % (self.next_id() % 100, self.st["n"])
        self.st["positions"][pid] = {
            "ordertxid": ordertxid, "posstatus": "open", "pair": LEGACY.get(alt, alt), "alt": alt,
            "time": time.time(), "type": side, "ordertype": "market", "cost": price * vol, "fee": fee,
            "vol": vol, "vol_closed": 0.0, "margin": price * vol / lev, "terms": "0.0100% per 4 hours",
            "rollovertm": str(int(time.time()) + 14400), "misc": "", "oflags": ""}

    def net_position(self, alt):
        v = 0.0
        for p in self.st["positions"].values():
            if p["alt"] == alt:
                v += (p["vol"] - p["vol_closed"]) * (1 if p["type"] == "buy" else -1)
        return v

    def fill(self, o, vol, price):
        """Execute vol of order o at price; returns False when it cannot."""
        alt = o["alt"]
        fee = vol * price * float(self.cfg.get("fee", 0.0026))
        lev = o["lev"]
        if lev:
            left = vol
            for pid in sorted(self.st["positions"], key=lambda k: self.st["positions"][k]["time"]):
                p = self.st["positions"][pid]
                if p["alt"] != alt or p["type"] == o["type"] or left <= 0:
                    continue
                c = min(left, p["vol"] - p["vol_closed"])
                entry = p["cost"] / p["vol"]
                pnl = (price - entry) * c * (1 if p["type"] == "buy" else -1)
                self.st["balances"]["ZUSD"] = self.st["balances"].get("ZUSD", 0.0) + pnl
                p["vol_closed"] += c
                left -= c
                if p["vol"] - p["vol_closed"] <= 1e-12:
                    del self.st["positions"][pid]
            if left > 1e-12 and not o["reduce_only"]:
                self.open_position(alt, o["type"], left, price, lev, o["txid"], fee)
        else:
            base = BASES.get(alt, alt[:-3])
            if o["type"] == "buy":
                self.st["balances"][base] = self.st["balances"].get(base, 0.0) + vol
                self.st["balances"]["ZUSD"] -= vol * price
            else:
                self.st["balances"][base] = self.st["balances"].get(base, 0.0) - vol
                self.st["balances"]["ZUSD"] += vol * price
        self.st["balances"]["ZUSD"] = self.st["balances"].get("ZUSD", 0.0) - fee
        self.dirty = True
        o["cost"] += vol * price
        o["fee"] += fee
        o["vol_exec"] += vol
        o["price"] = o["cost"] / o["vol_exec"]
        o["fills"].append([vol, price, fee])
        if o["vol"] - o["vol_exec"] <= 1e-12:
            o["status"] = "closed"
            o["closetm"] = time.time()
            if o.get("close"):
                c = o["close"]
                self.add({"pair": alt, "type": "sell" if o["type"] == "buy" else "buy", "ordertype": c[0],
                          "volume": fmt(o["vol_exec"]), "price": c[1], "price2": c[2], "leverage": str(lev or ""),
                          "reduce_only": "true", "userref": str(o["userref"])}, None)
        return True

    def triggered(self, o, price):
        t, lim = o["ordertype"], float(o["descr_price"] or 0)
        if t == "market":
            return True
        if t == "limit":
            return price <= lim if o["type"] == "buy" else price >= lim
        if t.startswith("stop-loss"):
            return price >= lim if o["type"] == "buy" else price <= lim
        if t.startswith("take-profit"):
            return price <= lim if o["type"] == "buy" else price >= lim
        return False

    def work(self, o):
        if o["status"] != "open":
            return
        price = self.price(o["alt"])
        if not self.triggered(o, price):
            return
        left = o["vol"] - o["vol_exec"]
        if o["reduce_only"]:
            have = self.net_position(o["alt"]) * (-1 if o["type"] == "buy" else 1)
            if have <= 1e-12:
                self.dirty = True
                o["status"], o["reason"], o["closetm"] = "canceled", "Reduce only: no position", time.time()
                return
            left = min(left, have)
            o["vol"] = o["vol_exec"] + left
        if o.get("hold", 0) > 0:  # the rest of a partial fill waits a request
            self.dirty = True
            o["hold"] -= 1
            return
        if o.pop("partial", False):
            left = left / 2
            o["hold"] = 1
        self.fill(o, left, price)

    def tick(self):
        for txid in self.st["order_seq"]:
            self.work(self.st["orders"][txid])

    def add(self, q, fault):
        alt_in = q.get("pair", "")
        key, info = self.pair_info(alt_in)
        if not key:
            return ["EQuery:Unknown asset pair"], None
        for k in ("type", "ordertype", "volume"):
            if k not in q:
                return ["EGeneral:Invalid arguments:%s" % k], None
        if q["type"] not in ("buy", "sell"):
            return ["EGeneral:Invalid arguments:type"], None
        try:
            vol = float(Decimal(q["volume"]))
        except Exception:
            return ["EGeneral:Invalid arguments:volume"], None
        if vol < float(info.get("ordermin", "0")):
            return ["EOrder:Order minimum not met"], None
        lev = 0
        if q.get("leverage") not in (None, "", "none"):
            lev = int(q["leverage"])
            if lev not in info.get("leverage_buy" if q["type"] == "buy" else "leverage_sell", []):
                return ["EGeneral:Invalid arguments:leverage"], None
        if "cl_ord_id" in q and "userref" in q:
            return ["EGeneral:Invalid arguments:cl_ord_id and userref"], None
        if q["ordertype"] != "market" and "price" not in q:
            return ["EGeneral:Invalid arguments:price"], None
        if fault == "reject":
            return ["EOrder:Insufficient funds"], None
        alt = info["altname"]
        descr = "%s %s %s @ %s%s" % (q["type"], q["volume"], alt, q["ordertype"],
                                     " with %d:1 leverage" % lev if lev else "")
        close = None
        if "close[ordertype]" in q:
            close = [q["close[ordertype]"], q.get("close[price]"), q.get("close[price2]")]
        if q.get("validate") in ("true", "1"):
            r = {"descr": {"order": descr}}
            if close:
                r["descr"]["close"] = "close position @ %s %s" % (close[0], close[1])
            return [], r
        txid = "O%05d-TEST%d-%06d" % (self.next_id(), len(self.st["orders"]) % 10, self.st["n"])
        o = {"txid": txid, "alt": alt, "type": q["type"], "ordertype": q["ordertype"], "vol": vol,
             "vol_exec": 0.0, "cost": 0.0, "fee": 0.0, "price": 0.0, "status": "open", "opentm": time.time(),
             "closetm": None, "reason": None, "lev": lev, "reduce_only": q.get("reduce_only") in ("true", "1"),
             "cl_ord_id": q.get("cl_ord_id"), "userref": int(q.get("userref", "0") or 0),
             "descr_price": q.get("price", "0"), "descr_price2": q.get("price2", "0"), "close": close,
             "order": descr, "fills": [], "partial": fault == "partial"}
        self.st["orders"][txid] = o
        self.st["order_seq"].append(txid)
        self.st["adds"] += 1
        self.work(o)
        r = {"descr": {"order": descr}, "txid": [txid]}
        if close:
            r["descr"]["close"] = "close position @ %s %s" % (close[0], close[1])
        return [], r

    def order_view(self, o):
        v = {"refid": None, "userref": o["userref"], "status": o["status"], "opentm": o["opentm"], "starttm": 0,
             "expiretm": 0,
             "descr": {"pair": o["alt"], "type": o["type"], "ordertype": o["ordertype"], "price": o["descr_price"],
                       "price2": o["descr_price2"], "leverage": "%d:1" % o["lev"] if o["lev"] else "none",
                       "order": o["order"], "close": ""},
             "vol": fmt(o["vol"]), "vol_exec": fmt(o["vol_exec"]), "cost": fmt(o["cost"]), "fee": fmt(o["fee"]),
             "price": fmt(o["price"]), "stopprice": "0.00000", "limitprice": "0.00000", "misc": "", "oflags": "fciq"}
        if o["cl_ord_id"]:
            v["cl_ord_id"] = o["cl_ord_id"]
        if o["status"] != "open":
            v["closetm"] = o["closetm"]
            v["reason"] = o["reason"]
        return v

    def matching(self, q, want_open):
        out = []
        for txid in self.st["order_seq"]:
            o = self.st["orders"][txid]
            if (o["status"] == "open") != want_open:
                continue
            if "cl_ord_id" in q and o["cl_ord_id"] != q["cl_ord_id"]:
                continue
            if "userref" in q and str(o["userref"]) != q["userref"]:
                continue
            if "start" in q and not want_open and (o["closetm"] or 0) < float(q["start"]):
                continue
            out.append(o)
        return out

    def call(self, method, q, fault):
        if method == "AddOrder":
            return self.add(q, fault)
        if method == "CancelOrder":
            o = None
            if "cl_ord_id" in q:
                hits = [x for x in self.matching(q, True)]
                o = hits[0] if hits else None
            else:
                o = self.st["orders"].get(q.get("txid", ""))
            if not o or o["status"] != "open":
                return ["EOrder:Unknown order"], None
            o["status"], o["reason"], o["closetm"] = "canceled", "User requested", time.time()
            self.dirty = True
            return [], {"count": 1}
        if method == "OpenOrders":
            r = {"open": {o["txid"]: self.order_view(o) for o in self.matching(q, True)}}
            if fault == "badshape":
                r["open"] = []
            return [], r
        if method == "ClosedOrders":
            hits = self.matching(q, False)
            hits.sort(key=lambda o: -(o["closetm"] or 0))
            ofs = int(q.get("ofs", "0"))
            page = hits[ofs:ofs + 50]
            return [], {"closed": {o["txid"]: self.order_view(o) for o in page}, "count": len(hits)}
        if method == "QueryOrders":
            r = {}
            for t in q.get("txid", "").split(","):
                if t not in self.st["orders"]:
                    return ["EOrder:Invalid order"], None
                r[t] = self.order_view(self.st["orders"][t])
            if fault == "badshape":
                for v in r.values():
                    v["vol"] = "lots"
            return [], r
        if method == "OpenPositions":
            r = {}
            for pid, p in self.st["positions"].items():
                v = {k: p[k] for k in p if k != "alt"}
                for k in ("cost", "fee", "vol", "vol_closed", "margin"):
                    v[k] = fmt(v[k])
                r[pid] = v
            return [], r
        if method == "Balance":
            return [], {k: fmt(v) for k, v in self.st["balances"].items()}
        if method == "TradeBalance":
            tb = self.st["balances"].get("ZUSD", 0.0)
            for a, v in self.st["balances"].items():
                if a != "ZUSD":
                    alt = next((k for k, b in BASES.items() if b == a), a + "USD")
                    tb += v * self.price(alt)
            n = m = c = val = 0.0
            for p in self.st["positions"].values():
                left = p["vol"] - p["vol_closed"]
                entry = p["cost"] / p["vol"]
                px = self.price(p["alt"])
                n += (px - entry) * left * (1 if p["type"] == "buy" else -1)
                m += p["margin"] * left / p["vol"]
                c += entry * left
                val += px * left
            e = tb + n
            r = {"eb": fmt(tb), "tb": fmt(tb), "m": fmt(m), "n": fmt(n), "c": fmt(c), "v": fmt(val), "e": fmt(e),
                 "mf": fmt(e - m), "uv": "0.0000"}
            if m > 0:
                r["ml"] = fmt(e / m * 100)
            if fault == "badshape":
                r["e"] = True
            return [], r
        return ["EGeneral:Unknown method"], None


def book(opts):
    if opts.state not in _STATE:
        _STATE[opts.state] = Book(opts)
    return _STATE[opts.state]


def check_auth(b, h, path, body, form):
    keys = b.cfg.get("keys", {})
    key = h.headers.get("API-Key", "")
    if key not in keys:
        return "EAPI:Invalid key"
    nonce = form.get("nonce", "")
    if not nonce.isdigit():
        return "EAPI:Invalid nonce"
    secret = base64.b64decode(keys[key])
    sha = hashlib.sha256(nonce.encode() + body).digest()
    want = base64.b64encode(hmac.new(secret, path.encode() + sha, hashlib.sha512).digest()).decode()
    if not hmac.compare_digest(want, h.headers.get("API-Sign", "")):
        return "EAPI:Invalid signature"
    idx = str(sorted(keys).index(key))
    last = b.st["nonces"].get(idx, 0)
    with open(os.path.join(b.opts.state, "nonces.log"), "a") as f:
        f.write("%s %s%s\n" % (idx, nonce, "" if int(nonce) > last else " REJECTED"))
    if int(nonce) <= last:
        return "EAPI:Invalid nonce"
    b.st["nonces"][idx] = int(nonce)
    lim = b.cfg.get("counter")
    if lim and path.rsplit("/", 1)[-1] in COUNTED:
        c = b.st["counter"].get(idx, [0.0, time.time()])
        now = time.time()
        v = max(0.0, c[0] - (now - c[1]) * lim["decay"]) + 1
        if v > lim["max"]:
            b.st["counter"][idx] = [v - 1, now]
            return "EAPI:Rate limit exceeded"
        b.st["counter"][idx] = [v, now]
    return None


def handle(h, take_fault):
    opts = h.server.opts
    path = h.path.split("?", 1)[0]
    n = int(h.headers.get("Content-Length", "0") or 0)
    body = h.rfile.read(n) if n > 0 else b""
    method = path.rsplit("/", 1)[-1]
    with PLOCK:
        with open(os.path.join(opts.state, "requests.log"), "a") as f:
            f.write("%s?%s\n" % (path, body.decode("utf-8", "replace")))
    if not path.startswith("/0/private/"):
        return h.send(404, '{"error":["EGeneral:Unknown method"]}')
    fault = take_fault(opts.state, method)
    sleep = 0.0
    if fault in ("500", "502", "503", "429"):
        return h.send(int(fault), "<html>error %s</html>" % fault)
    pre = {"ratelimit": "EAPI:Rate limit exceeded", "busy": "EService:Busy", "unavailable": "EService:Unavailable",
           "invalidnonce": "EAPI:Invalid nonce", "lockout": "EGeneral:Temporary lockout"}
    if fault in pre:
        return h.error(pre[fault])
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    with PLOCK:
        b = book(opts)
        err = check_auth(b, h, path, body, form)
        if err:
            b.save()
            return h.error(err)
        b.tick()
        errs, result = b.call(method, form, fault)
        b.save()
    if fault and fault.startswith("timeout"):
        sleep = float(fault.split(":")[1]) if ":" in fault else 3.0
        time.sleep(sleep)
    try:
        if fault in ("after500", "after502"):
            return h.send(int(fault[5:]), "<html>error</html>")
        if fault == "afterbusy":
            return h.error("EService:Busy")
        if fault == "malformed":
            return h.send(200, '{"error":[],"result":{"descr":')
        if fault == "truncated":
            return h.send(200, '{"error":[],"result":{', length=4096)
        if errs:
            return h.send(200, json.dumps({"error": errs}))
        return h.ok(result)
    except (BrokenPipeError, ConnectionResetError):
        pass
