/* live.c: kml-execute --live (see live.h and docs/live.md).
 *
 * Kraken is the truth. The state (<state>/live.json, replaced atomically)
 * holds, per pair, the last bar done and the protective stop order, and the
 * orders in flight by client id. Every order is written to the state as
 * "sending" before AddOrder goes out; after an ambiguous answer it is looked up
 * by its client id and sent again only when Kraken certainly lacks it. At
 * start, every order the state left in flight is looked up, and positions,
 * open orders and balances are compared with Kraken's; each difference is a
 * reconcile event. */
#include "live.h"

#include <errno.h>
#include <math.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "cli.h"
#include "config.h"
#include "jsonl.h"
#include "market/events.h"
#include "market/private.h"
#include "pair.h"
#include "util.h"

#define MODE "live"

typedef struct {
    long long time;
    char pair[40]; /* display form */
    double exposure, leverage, price, stop;
} live_order;

typedef struct {
    char pair[40];
    kp_pair_info pi;
} pair_cache;

typedef struct {
    kml_config cfg;
    kraken_private *kp;
    char state_path[4096], kill_path[4096];
    cJSON *st;
    int validate;
    double fill_timeout, poll;
    int refuse_over;
    const char *log_path;
    pair_cache pc[2 * KML_MAX_ASSETS];
    int npc;
    kp_position *pos;
    int npos;
    kp_tradebal tb;
    int fresh; /* pos and tb are Kraken's since the last fill */
    int have_tb; /* tb was read at least once */
    long sent, skipped, rejected;
    int killing; /* the kill switch's own orders are not cancelled by SIGTERM */
} live;

static volatile sig_atomic_t got_term;
static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pause_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && !got_term) {}
}

void live_client_id(const char *pair, long long time, double exposure, double leverage, const char *leg, char *out)
{
    char text[256], a[32], b[32];
    snprintf(text, sizeof text, "kml|%s|%lld|%s|%s|%s", pair, time, fmt_double(a, exposure), fmt_double(b, leverage),
             leg);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), h);
    h[6] = (h[6] & 0x0f) | 0x50; /* a name-based UUID's version and variant bits */
    h[8] = (h[8] & 0x3f) | 0x80;
    static const char hx[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[h[i] >> 4], out[o++] = hx[h[i] & 15];
    }
    out[o] = 0;
}

/* ------------------------------------------------------------ state */

static cJSON *obj_at(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (!cJSON_IsObject(o)) {
        if (o) cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        o = cJSON_AddObjectToObject(parent, key);
    }
    return o;
}

static double num_at(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void set_num(cJSON *o, const char *key, double x)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    json_add_num(o, key, x);
}

static void set_str(cJSON *o, const char *key, const char *s)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, s);
}

static void state_load(live *L)
{
    if (access(L->state_path, F_OK) == 0) {
        L->st = json_load_file(L->state_path);
        if (!cJSON_IsObject(L->st)) die(EX_DATAERR, "%s: not a live state object", L->state_path);
    } else {
        L->st = cJSON_CreateObject();
    }
    obj_at(L->st, "pairs");
    obj_at(L->st, "orders");
}

static int is_final(const char *status)
{
    return !strcmp(status, "closed") || !strcmp(status, "canceled") || !strcmp(status, "expired") ||
           !strcmp(status, "rejected");
}

static void state_save(live *L)
{
    if (L->validate) return; /* nothing trades, nothing to remember */
    /* orders that reached their final state before their pair's last bar are
     * no longer needed to avoid a second send */
    cJSON *orders = obj_at(L->st, "orders"), *pairs = obj_at(L->st, "pairs"), *o = orders->child;
    while (o) {
        cJSON *next = o->next;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(pairs, str_at(o, "pair"));
        if (is_final(str_at(o, "status")) &&
            num_at(o, "time", 0) < num_at(p, "last_time", -1))
            cJSON_Delete(cJSON_DetachItemViaPointer(orders, o));
        o = next;
    }
    char *text = json_print(L->st, 1);
    atomic_write(L->state_path, text, strlen(text));
    free(text);
}

/* ------------------------------------------------------------ events */

static long long next_seq(live *L)
{
    long long s = (long long)num_at(L->st, "seq", 0) + 1;
    set_num(L->st, "seq", (double)s);
    return s;
}

static double net_position(const live *L, const char *pair)
{
    kml_pair p;
    if (pair_parse(pair, &p) != 0) return 0;
    double v = 0;
    for (int i = 0; i < L->npos; i++)
        if (pair_matches_key(&p, L->pos[i].pair))
            v += (L->pos[i].vol - L->pos[i].vol_closed) * (strcmp(L->pos[i].type, "buy") ? -1 : 1);
    return v;
}

static void emit(live *L, kml_event *e, const char *extra_reason)
{
    e->seq = next_seq(L);
    if (e->pair && isnan(e->position)) e->position = net_position(L, e->pair);
    if (isnan(e->cash) && L->have_tb) e->cash = L->tb.tb;
    if (isnan(e->equity) && L->have_tb) e->equity = L->tb.e;
    cJSON *extra = NULL;
    if (extra_reason) {
        extra = cJSON_CreateObject();
        cJSON_AddStringToObject(extra, "kraken", extra_reason);
    }
    if (L->validate) {
        if (!extra) extra = cJSON_CreateObject();
        cJSON_AddTrueToObject(extra, "validate");
    }
    char *line = event_line(e, extra);
    event_emit(stdout, L->log_path, line);
    fflush(stdout);
    free(line);
    cJSON_Delete(extra);
}

static kml_event ev(const char *kind, long long time, const char *pair);
/* The latest bar done on any pair: the time of account-wide events. */
static long long last_bar(live *L)
{
    double t = 0;
    cJSON *p;
    cJSON_ArrayForEach(p, obj_at(L->st, "pairs")) t = fmax(t, num_at(p, "last_time", 0));
    return (long long)t;
}

static kml_event ev(const char *kind, long long time, const char *pair)
{
    return event_blank(kind, MODE, wall(), time, pair);
}

KML_NORETURN static void fail_kraken(live *L, const kraken_err *err)
{
    kml_event e = ev("error", last_bar(L), NULL);
    e.reason = err->msg;
    emit(L, &e, NULL);
    state_save(L);
    die(err->code ? err->code : EX_UNAVAILABLE, "%s", err->msg);
}

static void refresh(live *L)
{
    kraken_err err;
    L->fresh = 1;
    free(L->pos);
    L->pos = NULL, L->npos = 0;
    if (kp_open_positions(L->kp, &L->pos, &L->npos, &err) != 0) fail_kraken(L, &err);
    if (kp_trade_balance(L->kp, NULL, &L->tb, &err) != 0) fail_kraken(L, &err);
    L->have_tb = 1;
}

static const kp_pair_info *pair_info(live *L, const char *pair)
{
    for (int i = 0; i < L->npc; i++)
        if (!strcmp(L->pc[i].pair, pair)) return &L->pc[i].pi;
    kml_pair p;
    if (pair_parse(pair, &p) != 0) die(EX_DATAERR, "'%s' is not an asset pair", pair);
    if (L->npc == (int)(sizeof L->pc / sizeof *L->pc)) die(EX_SOFTWARE, "too many pairs");
    pair_cache *c = &L->pc[L->npc];
    kraken_err err;
    if (kp_asset_pair(L->kp->http, p.altname, &c->pi, &err) != 0) fail_kraken(L, &err);
    snprintf(c->pair, sizeof c->pair, "%s", pair);
    L->npc++;
    return &c->pi;
}

/* ------------------------------------------------------------ orders */

static void fmt_dec(char *buf, size_t n, double x, int decimals)
{
    snprintf(buf, n, "%.*f", decimals, x);
}

static double floor_to(double v, int decimals)
{
    double s = pow(10, decimals);
    return floor(v * s + 1e-9) / s;
}

static void record_balances(live *L, int report);

/* Emit the fills of k beyond what o (the state's record) has seen. */
static void emit_fills(live *L, cJSON *o, const kp_order *k, const char *kind)
{
    double seen = num_at(o, "vol_exec", 0), cost = num_at(o, "cost", 0), fee = num_at(o, "fee", 0);
    if (k->vol_exec > seen + 1e-12) {
        kml_event e = ev(kind, (long long)num_at(o, "time", 0), str_at(o, "pair"));
        e.cl_ord_id = o->string;
        e.txid = k->txid;
        e.side = k->type;
        e.volume = k->vol_exec - seen;
        e.price = (k->cost - cost) / e.volume;
        e.fee = k->fee - fee;
        e.reason = str_at(o, "leg");
        set_num(o, "vol_exec", k->vol_exec);
        set_num(o, "cost", k->cost);
        set_num(o, "fee", k->fee);
        refresh(L);
        /* the state follows Kraken's position and balance, which the event tells */
        set_num(obj_at(obj_at(L->st, "pairs"), str_at(o, "pair")), "position", net_position(L, str_at(o, "pair")));
        set_num(L->st, "cash", L->tb.tb);
        set_num(L->st, "equity", L->tb.e);
        record_balances(L, 0);
        emit(L, &e, NULL);
    }
    set_str(o, "status", k->status);
}

/* Query the order until it is final (or, past the deadline, cancel it). */
static void follow(live *L, cJSON *o)
{
    double deadline = wall() + L->fill_timeout;
    int cancelled = 0;
    for (;;) {
        kp_order *v;
        int n;
        kraken_err err;
        if (kp_query_orders(L->kp, str_at(o, "txid"), &v, &n, &err) != 0) {
            free(v);
            fail_kraken(L, &err);
        }
        if (n != 1 || strcmp(v[0].txid, str_at(o, "txid"))) {
            free(v);
            err.code = EX_UNAVAILABLE;
            snprintf(err.msg, sizeof err.msg, "QueryOrders: result: expected the order %s", str_at(o, "txid"));
            fail_kraken(L, &err);
        }
        kp_order k = v[0];
        free(v);
        double seen = num_at(o, "vol_exec", 0);
        emit_fills(L, o, &k, "fill");
        if (is_final(k.status)) {
            if (strcmp(k.status, "closed")) {
                kml_event e = ev("cancel", (long long)num_at(o, "time", 0), str_at(o, "pair"));
                e.cl_ord_id = o->string;
                e.txid = k.txid;
                e.side = k.type;
                e.volume = k.vol - k.vol_exec;
                e.reason = k.reason[0] ? k.reason : k.status;
                emit(L, &e, NULL);
            }
            state_save(L);
            return;
        }
        if (k.vol_exec != seen) state_save(L);
        if (cancelled && wall() > deadline + L->fill_timeout + 10) {
            err.code = EX_TEMPFAIL;
            snprintf(err.msg, sizeof err.msg, "order %s is still %s after it was cancelled", k.txid, k.status);
            fail_kraken(L, &err);
        }
        if (!cancelled && (wall() > deadline || (got_term && !L->killing))) {
            int count;
            if (kp_cancel(L->kp, k.txid, NULL, &count, &err) != 0) fail_kraken(L, &err);
            cancelled = 1;
            continue;
        }
        pause_s(L->poll);
    }
}

typedef struct {
    const char *pair, *leg, *side;
    long long time;
    double exposure, leverage_in; /* for the client id */
    double volume;
    int leverage, reduce_only;
    const char *ordertype;
    double price;     /* trigger for stops; NaN for market */
    const char *reason;
} leg_spec;

/* Place one leg idempotently; returns the state's order record (NULL when it
 * was rejected or validated). */
static cJSON *place(live *L, const leg_spec *s)
{
    const kp_pair_info *pi = pair_info(L, s->pair);
    char cl[40], vol[48], px[48];
    live_client_id(s->pair, s->time, s->exposure, s->leverage_in, s->leg, cl);
    fmt_dec(vol, sizeof vol, s->volume, pi->lot_decimals);
    if (!isnan(s->price)) fmt_dec(px, sizeof px, s->price, pi->pair_decimals);
    cJSON *orders = obj_at(L->st, "orders");
    cJSON *o = cJSON_GetObjectItemCaseSensitive(orders, cl);
    if (o && strcmp(str_at(o, "status"), "sending") && strcmp(str_at(o, "status"), "absent")) {
        if (!strcmp(str_at(o, "status"), "rejected")) return NULL;
        return o; /* Kraken has it already */
    }
    if (!o && !L->validate) {
        o = cJSON_AddObjectToObject(orders, cl);
        cJSON_AddStringToObject(o, "pair", s->pair);
        json_add_num(o, "time", (double)s->time);
        cJSON_AddStringToObject(o, "leg", s->leg);
        cJSON_AddStringToObject(o, "side", s->side);
        cJSON_AddStringToObject(o, "volume", vol);
        cJSON_AddStringToObject(o, "status", "sending");
        cJSON_AddStringToObject(o, "txid", "");
    }
    if (o && strcmp(str_at(o, "status"), "sending")) set_str(o, "status", "sending");
    state_save(L); /* the client id is on disk before the request leaves */
    kp_add a = {.pair = pi->altname,
                .type = s->side,
                .ordertype = s->ordertype,
                .volume = vol,
                .price = isnan(s->price) ? NULL : px,
                .leverage = s->leverage,
                .reduce_only = s->reduce_only,
                .cl_ord_id = cl,
                .validate = L->validate};
    for (int attempt = 0; attempt < 3; attempt++) {
        char txid[48], descr[256];
        kraken_err err;
        int rc = kp_add_order(L->kp, &a, txid, sizeof txid, descr, sizeof descr, &err);
        if (rc == KP_OK) {
            kml_event e = ev("order", s->time, s->pair);
            e.cl_ord_id = cl;
            e.txid = txid[0] ? txid : NULL;
            e.side = s->side;
            e.volume = s->volume;
            e.price = s->price;
            e.reason = s->reason;
            if (L->validate) {
                emit(L, &e, descr);
                return NULL;
            }
            set_str(o, "txid", txid);
            set_str(o, "status", "open");
            state_save(L);
            L->sent++;
            emit(L, &e, descr);
            return o;
        }
        if (rc == KP_REJECTED) {
            kml_event e = ev("reject", s->time, s->pair);
            e.cl_ord_id = cl;
            e.side = s->side;
            e.volume = s->volume;
            e.reason = err.msg;
            if (o) set_str(o, "status", "rejected");
            state_save(L);
            L->rejected++;
            emit(L, &e, NULL);
            return NULL;
        }
        /* ambiguous: Kraken may have the order; look before sending again */
        warn("%s: the outcome is unknown; looking the order up by its client id", err.msg);
        if (L->validate) return NULL;
        kp_order k;
        int found = 0;
        for (int look = 0; look < 2 && !found; look++) {
            if (look) pause_s(L->poll);
            kraken_err e2;
            found = kp_find_order(L->kp, cl, num_at(o, "time", 0) - 86400, &k, &e2);
            if (found < 0) fail_kraken(L, &e2);
        }
        kml_event e = ev("reconcile", s->time, s->pair);
        e.cl_ord_id = cl;
        e.side = s->side;
        char why[700];
        if (found) {
            set_str(o, "txid", k.txid);
            set_str(o, "status", "open");
            state_save(L);
            e.txid = k.txid;
            snprintf(why, sizeof why, "found by client id after an ambiguous answer (%s); not sent again", err.msg);
            e.reason = why;
            emit(L, &e, NULL);
            L->sent++;
            return o;
        }
        set_str(o, "status", "absent");
        state_save(L);
        snprintf(why, sizeof why, "Kraken does not have the order after an ambiguous answer (%s); sending it again",
                 err.msg);
        e.reason = why;
        emit(L, &e, NULL);
    }
    kraken_err err = {.code = EX_TEMPFAIL};
    snprintf(err.msg, sizeof err.msg, "AddOrder %s: no certain answer after 3 attempts", cl);
    fail_kraken(L, &err);
}

/* ------------------------------------------------------------ stops */

static void check_stop(live *L, const char *pair)
{
    cJSON *p = obj_at(obj_at(L->st, "pairs"), pair);
    const char *cl = str_at(p, "stop_cl");
    cJSON *o = cl[0] ? cJSON_GetObjectItemCaseSensitive(obj_at(L->st, "orders"), cl) : NULL;
    if (!o || !str_at(o, "txid")[0]) return;
    kp_order *v;
    int n;
    kraken_err err;
    if (kp_query_orders(L->kp, str_at(o, "txid"), &v, &n, &err) != 0) free(v), fail_kraken(L, &err);
    if (n == 1) {
        emit_fills(L, o, &v[0], "stop");
        if (is_final(v[0].status)) set_str(p, "stop_cl", "");
        state_save(L);
    }
    free(v);
}

static void cancel_stop(live *L, const char *pair, long long time)
{
    cJSON *p = obj_at(obj_at(L->st, "pairs"), pair);
    const char *cl = str_at(p, "stop_cl");
    cJSON *o = cl[0] ? cJSON_GetObjectItemCaseSensitive(obj_at(L->st, "orders"), cl) : NULL;
    if (!o) return;
    kraken_err err;
    int count;
    if (str_at(o, "txid")[0]) {
        if (kp_cancel(L->kp, str_at(o, "txid"), NULL, &count, &err) != 0) fail_kraken(L, &err);
        follow(L, o); /* records a fill that raced the cancel, then the cancel */
    } else {
        set_str(o, "status", "canceled");
    }
    set_str(p, "stop_cl", "");
    state_save(L);
    (void)time;
}

static int lev_for(const kp_pair_info *pi, const char *side)
{
    int lo = !strcmp(side, "buy") ? pi->lev_buy_min : pi->lev_sell_min;
    return lo;
}

static void set_stop(live *L, const live_order *lo, const kp_pair_info *pi, double pos)
{
    cJSON *p = obj_at(obj_at(L->st, "pairs"), lo->pair);
    double vol = floor_to(fabs(pos), pi->lot_decimals);
    double stop = isnan(lo->stop) ? NAN : floor_to(lo->stop, pi->pair_decimals);
    if (str_at(p, "stop_cl")[0] && num_at(p, "stop_volume", -1) == vol && num_at(p, "stop_price", -1) == stop &&
        pos * num_at(p, "stop_side", 0) > 0)
        return; /* the stop on the exchange already protects this position */
    cancel_stop(L, lo->pair, lo->time);
    if (pos == 0 || isnan(stop) || vol < pi->ordermin) return;
    const char *side = pos > 0 ? "sell" : "buy";
    leg_spec s = {.pair = lo->pair, .leg = "stop", .side = side, .time = lo->time, .exposure = lo->exposure,
                  .leverage_in = lo->leverage, .volume = vol, .leverage = lev_for(pi, side), .reduce_only = 1,
                  .ordertype = "stop-loss", .price = stop, .reason = "protective stop on the exchange"};
    cJSON *o = place(L, &s);
    if (!o) return;
    set_str(p, "stop_cl", o->string);
    set_num(p, "stop_volume", vol);
    set_num(p, "stop_price", stop);
    set_num(p, "stop_side", pos > 0 ? 1 : -1);
    state_save(L);
}

/* ------------------------------------------------------------ a target */

static void run_leg(live *L, const live_order *lo, const char *leg, const char *side, double vol, int lev,
                    int reduce, const char *reason)
{
    leg_spec s = {.pair = lo->pair, .leg = leg, .side = side, .time = lo->time, .exposure = lo->exposure,
                  .leverage_in = lo->leverage, .volume = vol, .leverage = lev, .reduce_only = reduce,
                  .ordertype = "market", .price = NAN, .reason = reason};
    L->fresh = 0; /* positions change; a fill event refreshes them */
    cJSON *o = place(L, &s);
    if (o && !is_final(str_at(o, "status"))) follow(L, o);
}

static void do_target(live *L, const live_order *lo)
{
    cJSON *p = obj_at(obj_at(L->st, "pairs"), lo->pair);
    if (num_at(p, "last_time", -INFINITY) >= (double)lo->time) {
        L->skipped++;
        return;
    }
    const kml_asset *as = config_asset(&L->cfg, lo->pair);
    const kp_pair_info *pi = pair_info(L, lo->pair);
    refresh(L);
    check_stop(L, lo->pair);
    double cur = net_position(L, lo->pair);
    char reason[400];
    if (!as) {
        kml_event e = ev("reject", lo->time, lo->pair);
        e.reason = "the pair is not in the configuration's assets";
        emit(L, &e, NULL);
        L->rejected++;
        goto done;
    }
    double target = lo->exposure * as->allocation * L->tb.e / lo->price;
    const char *side = target > cur ? "buy" : "sell";
    int lo_lev = !strcmp(side, "buy") ? pi->lev_buy_min : pi->lev_sell_min;
    int hi_lev = !strcmp(side, "buy") ? pi->lev_buy_max : pi->lev_sell_max;
    int lev = (int)floor(lo->leverage + 1e-9);
    snprintf(reason, sizeof reason, "target %.6g %s (exposure %.6g of %.6g equity at %.6g)", target, lo->pair,
             lo->exposure, as->allocation * L->tb.e, lo->price);
    if (hi_lev == 0 && fabs(target) > fabs(cur) && target * cur >= 0) {
        kml_event e = ev("reject", lo->time, lo->pair);
        snprintf(reason, sizeof reason, "%s has no margin on the %s side (AssetPairs leverage_%s is empty)",
                 pi->altname, side, side);
        e.reason = reason;
        emit(L, &e, NULL);
        L->rejected++;
        goto done;
    }
    if (lev > hi_lev && hi_lev > 0) {
        if (L->refuse_over) {
            kml_event e = ev("reject", lo->time, lo->pair);
            snprintf(reason, sizeof reason, "leverage %gx is above Kraken's maximum %dx for %s %s (refused by the configuration)",
                     lo->leverage, hi_lev, side, pi->altname);
            e.reason = reason;
            emit(L, &e, NULL);
            L->rejected++;
            goto done;
        }
        size_t u = strlen(reason);
        snprintf(reason + u, sizeof reason - u, "; leverage %gx clamped to Kraken's maximum %dx (AssetPairs leverage_%s)",
                 lo->leverage, hi_lev, side);
        lev = hi_lev;
    }
    if (lev < lo_lev) {
        size_t u = strlen(reason);
        snprintf(reason + u, sizeof reason - u, "; leverage %gx raised to Kraken's margin minimum %dx", lo->leverage,
                 lo_lev);
        lev = lo_lev;
    } else if (hi_lev > 0 && kp_leverage(pi, side, lev) != lev) {
        int k = kp_leverage(pi, side, lev);
        size_t u = strlen(reason);
        snprintf(reason + u, sizeof reason - u, "; leverage %dx lowered to %dx, the next one Kraken lists", lev, k);
        lev = k;
    }
    /* legs: reduce the current position first, then open toward the target */
    double reduce = 0, open = 0;
    if (cur != 0 && (target * cur <= 0 || fabs(target) < fabs(cur))) {
        reduce = target * cur <= 0 ? fabs(cur) : fabs(cur) - fabs(target);
        open = target * cur < 0 ? fabs(target) : 0;
    } else {
        open = fabs(target) - fabs(cur);
    }
    reduce = floor_to(reduce, pi->lot_decimals);
    open = floor_to(open, pi->lot_decimals);
    if (reduce >= pi->ordermin && reduce > 0) {
        const char *rs = cur > 0 ? "sell" : "buy";
        int rl = lev_for(pi, rs);
        run_leg(L, lo, "reduce", rs, reduce, rl ? rl : lev, 1, reason);
    }
    if (open >= pi->ordermin && open > 0 && open * lo->price >= pi->costmin && !got_term)
        run_leg(L, lo, "open", target > 0 ? "buy" : "sell", open, lev, 0, reason);
    if (L->validate) return;
    if (!L->fresh) refresh(L);
    set_stop(L, lo, pi, net_position(L, lo->pair));
done:
    if (L->validate) return;
    set_num(p, "last_time", (double)lo->time);
    set_num(p, "position", net_position(L, lo->pair));
    set_num(L->st, "cash", L->tb.tb);
    set_num(L->st, "equity", L->tb.e);
    state_save(L);
}

/* ------------------------------------------------------------ reconcile, kill */

/* Kraken's Balance into the state; with report, each asset whose amount
 * differs from the state's last record is a reconcile event. */
static void record_balances(live *L, int report)
{
    kp_asset_balance *b;
    int n;
    kraken_err err;
    if (kp_balance(L->kp, &b, &n, &err) != 0) free(b), fail_kraken(L, &err);
    int known = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(L->st, "balances"));
    cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(L->st, "balances");
    cJSON *now = cJSON_AddObjectToObject(L->st, "balances");
    for (int i = 0; i < n; i++) json_add_num(now, b[i].asset, b[i].amount);
    if (report && known) {
        cJSON *it;
        char why[256];
        cJSON_ArrayForEach(it, now)
        {
            double was = num_at(old, it->string, 0);
            if (fabs(was - it->valuedouble) > 1e-9 * fmax(1, fabs(was))) {
                kml_event e = ev("reconcile", last_bar(L), NULL);
                snprintf(why, sizeof why, "balance %s: Kraken has %.10g, the state had %.10g: Kraken's adopted",
                         it->string, it->valuedouble, was);
                e.reason = why;
                emit(L, &e, NULL);
            }
        }
        cJSON_ArrayForEach(it, old) if (!cJSON_GetObjectItemCaseSensitive(now, it->string) && it->valuedouble != 0)
        {
            kml_event e = ev("reconcile", last_bar(L), NULL);
            snprintf(why, sizeof why, "balance %s: Kraken has none, the state had %.10g: Kraken's adopted", it->string,
                     it->valuedouble);
            e.reason = why;
            emit(L, &e, NULL);
        }
    }
    cJSON_Delete(old);
    free(b);
}

static void reconcile(live *L)
{
    cJSON *orders = obj_at(L->st, "orders"), *o;
    cJSON_ArrayForEach(o, orders)
    {
        const char *status = str_at(o, "status");
        if (is_final(status)) continue;
        kml_event e = ev("reconcile", (long long)num_at(o, "time", 0), str_at(o, "pair"));
        e.cl_ord_id = o->string;
        e.side = str_at(o, "side");
        if (!str_at(o, "txid")[0]) {
            kp_order k;
            kraken_err err;
            int found = kp_find_order(L->kp, o->string, num_at(o, "time", 0) - 86400, &k, &err);
            if (found < 0) fail_kraken(L, &err);
            if (!found) {
                set_str(o, "status", "absent");
                e.reason = "the state had this order in flight; Kraken does not have it: it will be sent when its "
                           "order line is run again";
                state_save(L);
                emit(L, &e, NULL);
                continue;
            }
            set_str(o, "txid", k.txid);
            set_str(o, "status", "open");
            e.txid = k.txid;
            e.reason = "the state had this order in flight; found on Kraken by its client id: adopted, not sent again";
            state_save(L);
            emit(L, &e, NULL);
        }
        if (!strcmp(str_at(o, "leg"), "stop")) continue; /* resting on the exchange */
        refresh(L);
        follow(L, o);
    }
    refresh(L);
    /* stops that triggered while we were away */
    cJSON *pairs = obj_at(L->st, "pairs"), *p;
    cJSON_ArrayForEach(p, pairs) check_stop(L, p->string);
    /* positions: Kraken's are the truth */
    char why[256];
    cJSON_ArrayForEach(p, pairs)
    {
        double k = net_position(L, p->string), s = num_at(p, "position", 0);
        if (fabs(k - s) > 1e-9) {
            kml_event e = ev("reconcile", (long long)num_at(p, "last_time", 0), p->string);
            snprintf(why, sizeof why, "position: Kraken holds %.10g, the state had %.10g: Kraken's adopted", k, s);
            e.reason = why;
            e.position = k;
            set_num(p, "position", k);
            emit(L, &e, NULL);
        }
    }
    for (int i = 0; i < L->npos; i++) {
        kml_pair kp;
        if (pair_parse(L->pos[i].pair, &kp) != 0) continue;
        cJSON *q = cJSON_GetObjectItemCaseSensitive(pairs, kp.display);
        if (q) continue; /* compared above */
        q = obj_at(pairs, kp.display);
        double k = net_position(L, kp.display);
        kml_event e = ev("reconcile", last_bar(L), kp.display);
        snprintf(why, sizeof why, "position: Kraken holds %.10g %s (position %s) that the state did not know: adopted%s",
                 k, kp.display, L->pos[i].posid, config_asset(&L->cfg, kp.display) ? "" : " (the pair is not in the configuration: left as it is)");
        e.reason = why;
        e.position = k;
        set_num(q, "position", k);
        emit(L, &e, NULL);
    }
    /* open orders the state does not know */
    kp_order *v;
    int n;
    kraken_err err;
    if (kp_open_orders(L->kp, NULL, &v, &n, &err) != 0) free(v), fail_kraken(L, &err);
    for (int i = 0; i < n; i++) {
        if (v[i].cl_ord_id[0] && cJSON_GetObjectItemCaseSensitive(orders, v[i].cl_ord_id)) continue;
        kml_pair kp;
        kml_event e = ev("reconcile", last_bar(L), pair_parse(v[i].pair, &kp) == 0 ? kp.display : NULL);
        e.txid = v[i].txid;
        e.side = v[i].type;
        e.volume = v[i].vol - v[i].vol_exec;
        e.reason = "an open order the state does not know: left on the exchange";
        emit(L, &e, NULL);
    }
    free(v);
    /* balances: each asset's (Balance), then the trade balance */
    record_balances(L, 1);
    double cash = num_at(L->st, "cash", NAN);
    if (!isnan(cash) && fabs(cash - L->tb.tb) > 1e-6 * fmax(1, fabs(cash))) {
        kml_event e = ev("reconcile", last_bar(L), NULL);
        snprintf(why, sizeof why, "trade balance: Kraken's is %.10g, the state had %.10g: Kraken's adopted",
                 L->tb.tb, cash);
        e.reason = why;
        emit(L, &e, NULL);
    }
    set_num(L->st, "cash", L->tb.tb);
    set_num(L->st, "equity", L->tb.e);
    state_save(L);
}

static void kill_switch(live *L, const char *why)
{
    L->killing = 1;
    kml_event e = ev("kill", last_bar(L), NULL);
    e.reason = why;
    emit(L, &e, NULL);
    kp_order *v;
    int n, canceled = 0, closed = 0;
    kraken_err err;
    if (kp_open_orders(L->kp, NULL, &v, &n, &err) != 0) free(v), fail_kraken(L, &err);
    for (int i = 0; i < n; i++) {
        int count;
        if (kp_cancel(L->kp, v[i].txid, NULL, &count, &err) != 0) free(v), fail_kraken(L, &err);
        kml_pair kp;
        kml_event c = ev("cancel", last_bar(L), pair_parse(v[i].pair, &kp) == 0 ? kp.display : NULL);
        c.txid = v[i].txid;
        c.cl_ord_id = v[i].cl_ord_id[0] ? v[i].cl_ord_id : NULL;
        c.side = v[i].type;
        c.volume = v[i].vol - v[i].vol_exec;
        c.reason = "kill switch";
        canceled += count;
        emit(L, &c, NULL);
    }
    free(v);
    refresh(L);
    /* close every position Kraken holds, pair by pair (the list is copied:
     * following a fill refreshes L->pos) */
    char pairs[2 * KML_MAX_ASSETS][40];
    int np = 0;
    for (int i = 0; i < L->npos; i++) {
        kml_pair kp;
        if (pair_parse(L->pos[i].pair, &kp) != 0) continue;
        int seen = 0;
        for (int j = 0; j < np; j++) seen |= !strcmp(pairs[j], kp.display);
        if (!seen && np < (int)(sizeof pairs / sizeof *pairs)) snprintf(pairs[np++], sizeof *pairs, "%s", kp.display);
    }
    for (int j = 0; j < np; j++) {
        double pos = net_position(L, pairs[j]);
        if (fabs(pos) < 1e-12) continue;
        const kp_pair_info *pi = pair_info(L, pairs[j]);
        /* the wall clock in the client id: a later kill is a new order */
        live_order lo = {.time = (long long)floor(wall()), .exposure = 0, .leverage = 0, .price = NAN, .stop = NAN};
        snprintf(lo.pair, sizeof lo.pair, "%.39s", pairs[j]);
        const char *side = pos > 0 ? "sell" : "buy";
        run_leg(L, &lo, "kill", side, fabs(pos), lev_for(pi, side), 1, "kill switch: reduce-only market close");
        set_str(obj_at(obj_at(L->st, "pairs"), pairs[j]), "stop_cl", "");
        closed++;
    }
    refresh(L);
    cJSON *p;
    cJSON_ArrayForEach(p, obj_at(L->st, "pairs")) set_num(p, "position", net_position(L, p->string));
    set_num(L->st, "cash", L->tb.tb);
    set_num(L->st, "equity", L->tb.e);
    set_str(L->st, "killed", why);
    char msg[200];
    snprintf(msg, sizeof msg, "stopped: %d open orders canceled, %d positions closed", canceled, closed);
    e = ev("kill", last_bar(L), NULL);
    e.reason = msg;
    emit(L, &e, NULL);
    state_save(L);
    warn("kill switch (%s): %s", why, msg);
}

static int kill_requested(live *L, const char **why)
{
    if (got_term) return *why = "SIGTERM", 1;
    if (access(L->kill_path, F_OK) == 0) return *why = "KILL file", 1;
    return 0;
}

/* ------------------------------------------------------------ input */

static live_order *read_orders(char **files, int nfiles, int *n)
{
    live_order *v = NULL;
    int cap = 0;
    *n = 0;
    char *stdin_only[] = {"-"};
    if (nfiles == 0) files = stdin_only, nfiles = 1;
    for (int f = 0; f < nfiles; f++) {
        jsonl_reader *r = jsonl_open(files[f]);
        cJSON *o;
        while ((o = jsonl_next(r))) {
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
            if (cJSON_IsString(src) && strcmp(src->valuestring, "real"))
                jsonl_die(r, "key 'source': live trading refuses orders from %s data", src->valuestring);
            if (*n == cap) cap = cap ? 2 * cap : 64, v = xrealloc(v, (size_t)cap * sizeof *v);
            live_order *lo = &v[(*n)++];
            lo->time = (long long)jsonl_num(r, o, "time");
            kml_pair p;
            if (pair_parse(jsonl_str(r, o, "pair"), &p) != 0) jsonl_die(r, "key 'pair': not an asset pair");
            snprintf(lo->pair, sizeof lo->pair, "%s", p.display);
            lo->exposure = jsonl_num(r, o, "exposure");
            const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "leverage");
            lo->leverage = cJSON_IsNumber(lv) ? lv->valuedouble : 1;
            lo->price = jsonl_num(r, o, "price");
            if (!(lo->price > 0)) jsonl_die(r, "key 'price': expected a positive number");
            const cJSON *sv = cJSON_GetObjectItemCaseSensitive(o, "stop");
            lo->stop = cJSON_IsNumber(sv) && sv->valuedouble > 0 ? sv->valuedouble : NAN;
            cJSON_Delete(o);
        }
        jsonl_close(r);
    }
    return v;
}

/* ------------------------------------------------------------ main */

static const struct cli_opt opts[] = {
    {"live", 256, NULL, "trade on Kraken with real money (required)"},
    {"validate", 257, NULL, "send every order with validate=true: Kraken checks it, nothing trades"},
    {"config", 'c', "FILE", "trading configuration (default config/trading.json)"},
    {"state", 's', "DIR", "state directory (default state/live); a file KILL there is the kill switch"},
    {"limits", 258, "FILE", "accepted for the sandbox's sake; live reads Kraken's AssetPairs"},
    {"env", 259, "FILE", "credentials file when KRAKEN_API_KEY/SECRET are unset (default .env, mode 0600)"},
    {"tier", 260, "TIER", "call counter of Kraken's tier: starter, intermediate, pro, MAX/DECAY (default: live.tier)"},
    {"fill-timeout", 261, "SECONDS", "cancel an order not final after this long (default: live.fill_timeout, 60)"},
    {"poll", 262, "SECONDS", "pause between order queries (default: live.poll, 1)"},
    {"refuse-over-leverage", 263, NULL, "reject a target above Kraken's maximum leverage (live.over_max_leverage)"},
    {0}};

int live_main(int argc, char **argv)
{
    static const char synopsis[] =
        "kml-execute --live [--validate] [--config FILE] [--state DIR] [--limits PAIRS.jsonl] ORDERS...";
    live L;
    memset(&L, 0, sizeof L);
    const char *config = NULL, *state = "state/live", *env_file = NULL, *tier = NULL;
    int live_flag = 0;
    L.fill_timeout = -1, L.poll = -1, L.refuse_over = -1; /* unset: the configuration's */
    cli_reset();
    int c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) switch (c) {
        case 256: live_flag = 1; break;
        case 257: L.validate = 1; break;
        case 'c': config = optarg; break;
        case 's': state = optarg; break;
        case 258: break;
        case 259: env_file = optarg; break;
        case 260: tier = optarg; break;
        case 261: L.fill_timeout = cli_double("--fill-timeout", optarg, 0, 86400); break;
        case 262: L.poll = cli_double("--poll", optarg, 0, 3600); break;
        case 263: L.refuse_over = 1; break;
        }
    if (!live_flag) cli_usage_error("live trading must be asked for with --live");
    /* no core file can carry the secret */
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    config_load(&L.cfg, config);
    if (L.fill_timeout < 0) L.fill_timeout = L.cfg.live.fill_timeout;
    if (L.poll < 0) L.poll = L.cfg.live.poll;
    if (L.refuse_over < 0) L.refuse_over = !strcmp(L.cfg.live.over_max_leverage, "refuse");
    int n;
    live_order *orders = read_orders(argv + optind, argc - optind, &n);
    mkdirs(state);
    snprintf(L.state_path, sizeof L.state_path, "%s/live.json", state);
    snprintf(L.kill_path, sizeof L.kill_path, "%s/KILL", state);
    if (!tier) tier = getenv("KML_KRAKEN_TIER");
    if (!tier || !*tier) tier = L.cfg.live.tier;
    L.kp = kp_open(env_file, NULL, tier);
    L.log_path = events_log_path();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    state_load(&L);
    const char *why;
    if (!L.validate) reconcile(&L);
    else refresh(&L);
    int killed = 0;
    for (int i = 0; i < n && !killed; i++) {
        if (!L.validate && kill_requested(&L, &why)) {
            kill_switch(&L, why);
            killed = 1;
            break;
        }
        do_target(&L, &orders[i]);
    }
    if (!killed && !L.validate && kill_requested(&L, &why)) kill_switch(&L, why), killed = 1;
    if (!L.validate) {
        record_balances(&L, 0); /* what the next start compares with */
        state_save(&L);
    }
    warn("live%s: %ld orders placed, %ld rejected, %ld targets already done; %ld private calls, %.1f s waited for "
         "Kraken's call counter",
         L.validate ? " (validate only)" : "", L.sent, L.rejected, L.skipped, L.kp->calls, L.kp->waited);
    free(orders);
    free(L.pos);
    cJSON_Delete(L.st);
    kp_close(L.kp);
    close_stdout();
    return 0;
}
