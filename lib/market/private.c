/* private.c: Kraken's private endpoints, signed, counted and parsed strictly
 * (see private.h). */
#include "private.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int kp_tier_parse(const char *name, kp_tier *t)
{
    if (!strcmp(name, "starter")) *t = (kp_tier){15, 0.33};
    else if (!strcmp(name, "intermediate")) *t = (kp_tier){20, 0.5};
    else if (!strcmp(name, "pro")) *t = (kp_tier){20, 1};
    else {
        char *end;
        t->max = strtod(name, &end);
        if (end == name || *end != '/' || !(t->max >= 1 && t->max <= 1e9)) return -1;
        const char *d = end + 1;
        t->decay = strtod(d, &end);
        if (end == d || *end || !(t->decay > 0 && t->decay <= 1e9)) return -1;
    }
    return 0;
}

kraken_private *kp_open(const char *env_file, const char *nonce_dir, const char *tier)
{
    kraken_private *kp = xcalloc(1, sizeof *kp);
    if (kp_tier_parse(tier ? tier : "starter", &kp->tier) != 0)
        die(EX_CONFIG, "unknown Kraken tier '%s' (starter, intermediate, pro, or MAX/DECAY)", tier);
    creds_load(&kp->creds, env_file);
    kp->nonces = nonce_open(nonce_dir, kp->creds.key);
    kp->http = kraken_open();
    return kp;
}

void kp_close(kraken_private *kp)
{
    if (!kp) return;
    kraken_close(kp->http);
    nonce_close(kp->nonces);
    creds_free(&kp->creds);
    free(kp);
}

double kp_counter_wait(const kp_tier *t, double c, double t0, double t1, double cost, double *after)
{
    /* one call is kept in hand: Kraken counts when a request arrives, we when
     * it leaves, and the two clocks' gaps differ from call to call */
    double cap = fmax(1, t->max - 1);
    double d = fmax(0, c - fmax(0, t1 - t0) * t->decay);
    if (d + cost <= cap) {
        *after = d + cost;
        return 0;
    }
    *after = cap;
    return (d + cost - cap) / t->decay;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_for(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {}
}

void kp_param(char **params, const char *key, const char *value)
{
    size_t old = *params ? strlen(*params) : 0, n = old + strlen(key) + 3 * strlen(value) + 3;
    char *p = xrealloc(*params, n);
    char *o = p + old;
    o += sprintf(o, "&%s=", key);
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        if (isalnum(*s) || *s == '-' || *s == '_' || *s == '.' || *s == '~') *o++ = (char)*s;
        else o += sprintf(o, "%%%02X", *s);
    }
    *o = 0;
    *params = p;
}

typedef struct {
    kraken_private *kp;
    const char *params;
} sign_ctx;

static int sign_cb(void *vctx, const char *path, char **body, struct curl_slist **headers)
{
    sign_ctx *sc = vctx;
    kraken_private *kp = sc->kp;
    char nonce[32], sig[KRAKEN_SIGN_LEN + 1];
    snprintf(nonce, sizeof nonce, "%" PRIu64, nonce_next(kp->nonces));
    size_t n = strlen(nonce) + strlen(sc->params) + 8;
    *body = xmalloc(n);
    snprintf(*body, n, "nonce=%s%s", nonce, sc->params);
    if (kraken_sign(kp->creds.secret, kp->creds.secret_len, path, nonce, *body, sig) != 0) return -1;
    char h[256 + KRAKEN_SIGN_LEN];
    snprintf(h, sizeof h, "API-Key: %s", kp->creds.key);
    *headers = curl_slist_append(*headers, h);
    snprintf(h, sizeof h, "API-Sign: %s", sig);
    *headers = curl_slist_append(*headers, h);
    *headers = curl_slist_append(*headers, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    return 0;
}

static double method_cost(const char *m)
{
    if (!strcmp(m, "AddOrder") || !strcmp(m, "CancelOrder")) return 0;
    if (!strcmp(m, "Ledgers") || !strcmp(m, "QueryLedgers") || !strcmp(m, "TradesHistory")) return 2;
    return 1;
}

static cJSON *call(kraken_private *kp, const char *method, const char *params, int once, kraken_err *err)
{
    char path[96];
    snprintf(path, sizeof path, "/0/private/%s", method);
    sign_ctx sc = {kp, params ? params : ""};
    double cost = method_cost(method);
    cJSON *root = NULL;
    nonce_lock(kp->nonces);
    if (cost > 0) {
        double c, at, after;
        nonce_counter_get(kp->nonces, &c, &at);
        double now = wall_seconds();
        double w = kp_counter_wait(&kp->tier, c, at, now, cost, &after);
        if (w > 0) {
            sleep_for(w);
            kp->waited += w;
            now = wall_seconds();
        }
        nonce_counter_set(kp->nonces, after, now);
    }
    for (int k = 0; k < 2; k++) {
        kp->calls++;
        root = once ? kraken_request_once(kp->http, path, NULL, sign_cb, &sc, err)
                    : kraken_request(kp->http, path, NULL, sign_cb, &sc, err);
        if (root || !strstr(err->msg, "EAPI:Invalid nonce") || k > 0) break;
        warn("%s; once more with a fresh nonce", err->msg);
    }
    if (!root && strstr(err->msg, "Rate limit exceeded")) nonce_counter_set(kp->nonces, kp->tier.max, wall_seconds());
    nonce_unlock(kp->nonces);
    return root;
}

cJSON *kp_call(kraken_private *kp, const char *method, const char *params, kraken_err *err)
{
    return call(kp, method, params, 0, err);
}

/* ------------------------------------------------------------ strict parsing */

KML_PRINTF(2, 3) static int fail(kraken_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = EX_UNAVAILABLE;
    err->ambiguous = 0;
    return -1;
}

/* A number Kraken may send as a JSON number or a decimal string. */
static int get_num(const char *ep, const char *where, const cJSON *obj, const char *key, int required, double *out,
                   kraken_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = 0;
    if (!v || cJSON_IsNull(v)) {
        if (required) return fail(err, "%s: %s: missing key '%s'", ep, where, key);
        return 0;
    }
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) return *out = v->valuedouble, 0;
    if (cJSON_IsString(v) && parse_double(v->valuestring, out) == 0) return 0;
    return fail(err, "%s: %s: key '%s': expected a number or a decimal string", ep, where, key);
}

static int get_str(const char *ep, const char *where, const cJSON *obj, const char *key, int required, char *buf,
                   size_t n, kraken_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    buf[0] = 0;
    if (!v || cJSON_IsNull(v)) {
        if (required) return fail(err, "%s: %s: missing key '%s'", ep, where, key);
        return 0;
    }
    if (!cJSON_IsString(v)) return fail(err, "%s: %s: key '%s': expected a string", ep, where, key);
    if (strlen(v->valuestring) >= n) return fail(err, "%s: %s: key '%s': longer than %zu characters", ep, where, key, n - 1);
    memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

int kp_parse_order(const char *ep, const char *where, const cJSON *obj, kp_order *o, kraken_err *err)
{
    memset(o, 0, sizeof *o);
    if (!cJSON_IsObject(obj)) return fail(err, "%s: %s: expected an order object", ep, where);
    const char *txid = obj->string ? obj->string : "";
    if (strlen(txid) >= sizeof o->txid) return fail(err, "%s: %s: order id too long", ep, where);
    strcpy(o->txid, txid);
    double userref = 0;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, "descr");
    if (!cJSON_IsObject(d)) return fail(err, "%s: %s: key 'descr': expected an object", ep, where);
    char dw[160];
    snprintf(dw, sizeof dw, "%s.descr", where);
    if (get_str(ep, where, obj, "status", 1, o->status, sizeof o->status, err) ||
        get_str(ep, where, obj, "cl_ord_id", 0, o->cl_ord_id, sizeof o->cl_ord_id, err) ||
        get_num(ep, where, obj, "userref", 0, &userref, err) ||
        get_num(ep, where, obj, "vol", 1, &o->vol, err) || get_num(ep, where, obj, "vol_exec", 1, &o->vol_exec, err) ||
        get_num(ep, where, obj, "cost", 1, &o->cost, err) || get_num(ep, where, obj, "fee", 1, &o->fee, err) ||
        get_num(ep, where, obj, "price", 1, &o->avg_price, err) ||
        get_num(ep, where, obj, "stopprice", 0, &o->stopprice, err) ||
        get_num(ep, where, obj, "limitprice", 0, &o->limitprice, err) ||
        get_num(ep, where, obj, "opentm", 1, &o->opentm, err) ||
        get_num(ep, where, obj, "closetm", 0, &o->closetm, err) ||
        get_str(ep, where, obj, "reason", 0, o->reason, sizeof o->reason, err) ||
        get_str(ep, where, obj, "oflags", 0, o->oflags, sizeof o->oflags, err) ||
        get_str(ep, dw, d, "pair", 1, o->pair, sizeof o->pair, err) ||
        get_str(ep, dw, d, "type", 1, o->type, sizeof o->type, err) ||
        get_str(ep, dw, d, "ordertype", 1, o->ordertype, sizeof o->ordertype, err) ||
        get_num(ep, dw, d, "price", 1, &o->price, err) || get_num(ep, dw, d, "price2", 0, &o->price2, err) ||
        get_str(ep, dw, d, "leverage", 0, o->leverage, sizeof o->leverage, err) ||
        get_str(ep, dw, d, "close", 0, o->close, sizeof o->close, err))
        return -1;
    o->userref = (long)userref;
    static const char *const st[] = {"pending", "open", "closed", "canceled", "expired"};
    int known = 0;
    for (size_t i = 0; i < sizeof st / sizeof *st; i++) known |= !strcmp(o->status, st[i]);
    if (!known) return fail(err, "%s: %s: key 'status': unknown status '%s'", ep, where, o->status);
    if (strcmp(o->type, "buy") && strcmp(o->type, "sell"))
        return fail(err, "%s: %s: key 'type': expected buy or sell", ep, dw);
    if (o->vol < 0 || o->vol_exec < 0 || o->vol_exec > o->vol * (1 + 1e-9) + 1e-12)
        return fail(err, "%s: %s: key 'vol_exec': %.17g is outside [0, vol = %.17g]", ep, where, o->vol_exec, o->vol);
    return 0;
}

int kp_parse_position(const char *where, const cJSON *obj, kp_position *p, kraken_err *err)
{
    const char *ep = "OpenPositions";
    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(obj)) return fail(err, "%s: %s: expected a position object", ep, where);
    snprintf(p->posid, sizeof p->posid, "%s", obj->string ? obj->string : "");
    if (get_str(ep, where, obj, "ordertxid", 1, p->ordertxid, sizeof p->ordertxid, err) ||
        get_str(ep, where, obj, "pair", 1, p->pair, sizeof p->pair, err) ||
        get_str(ep, where, obj, "type", 1, p->type, sizeof p->type, err) ||
        get_str(ep, where, obj, "ordertype", 0, p->ordertype, sizeof p->ordertype, err) ||
        get_num(ep, where, obj, "vol", 1, &p->vol, err) || get_num(ep, where, obj, "vol_closed", 1, &p->vol_closed, err) ||
        get_num(ep, where, obj, "cost", 1, &p->cost, err) || get_num(ep, where, obj, "fee", 1, &p->fee, err) ||
        get_num(ep, where, obj, "margin", 1, &p->margin, err) || get_num(ep, where, obj, "time", 1, &p->time, err))
        return -1;
    if (strcmp(p->type, "buy") && strcmp(p->type, "sell")) return fail(err, "%s: %s: key 'type': expected buy or sell", ep, where);
    return 0;
}

int kp_parse_trade_balance(const cJSON *r, kp_tradebal *tb, kraken_err *err)
{
    const char *ep = "TradeBalance", *w = "result";
    memset(tb, 0, sizeof *tb);
    if (!cJSON_IsObject(r)) return fail(err, "%s: result: expected an object", ep);
    return get_num(ep, w, r, "eb", 1, &tb->eb, err) || get_num(ep, w, r, "tb", 1, &tb->tb, err) ||
                   get_num(ep, w, r, "m", 1, &tb->m, err) || get_num(ep, w, r, "n", 1, &tb->n, err) ||
                   get_num(ep, w, r, "c", 1, &tb->c, err) || get_num(ep, w, r, "v", 1, &tb->v, err) ||
                   get_num(ep, w, r, "e", 1, &tb->e, err) || get_num(ep, w, r, "mf", 1, &tb->mf, err) ||
                   get_num(ep, w, r, "ml", 0, &tb->ml, err)
               ? -1
               : 0;
}

static const cJSON *result_object(const char *ep, const cJSON *root, const char *member, kraken_err *err)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "result");
    if (!cJSON_IsObject(r)) return fail(err, "%s: result: expected an object", ep), NULL;
    if (!member) return r;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, member);
    if (!cJSON_IsObject(m)) return fail(err, "%s: result.%s: expected an object", ep, member), NULL;
    return m;
}

/* Parse every member of obj as an order, appending to *out. */
static int parse_orders(const char *ep, const char *prefix, const cJSON *obj, kp_order **out, int *n, int *cap,
                        kraken_err *err)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (*n == *cap) *cap = *cap ? 2 * *cap : 16, *out = xrealloc(*out, (size_t)*cap * sizeof **out);
        char where[128];
        snprintf(where, sizeof where, "%s%s", prefix, it->string ? it->string : "?");
        if (kp_parse_order(ep, where, it, &(*out)[*n], err) != 0) return -1;
        (*n)++;
    }
    return 0;
}

static int list_orders(kraken_private *kp, const char *ep, const char *params, const char *member, kp_order **out,
                       int *n, int *cap, kraken_err *err)
{
    cJSON *root = kp_call(kp, ep, params, err);
    if (!root) return -1;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "result.%s%s", member ? member : "", member ? "." : "");
    const cJSON *obj = result_object(ep, root, member, err);
    int rc = obj ? parse_orders(ep, prefix, obj, out, n, cap, err) : -1;
    cJSON_Delete(root);
    return rc;
}

int kp_open_orders(kraken_private *kp, const char *cl_ord_id, kp_order **out, int *n, kraken_err *err)
{
    char *params = NULL;
    int cap = 0;
    *out = NULL, *n = 0;
    if (cl_ord_id) kp_param(&params, "cl_ord_id", cl_ord_id);
    int rc = list_orders(kp, "OpenOrders", params, "open", out, n, &cap, err);
    free(params);
    return rc;
}

int kp_closed_orders(kraken_private *kp, double start, const char *cl_ord_id, kp_order **out, int *n,
                     kraken_err *err)
{
    int cap = 0;
    *out = NULL, *n = 0;
    for (int page = 0; page < 10000; page++) {
        char *params = NULL, num[32];
        if (start > 0) kp_param(&params, "start", fmt_double(num, floor(start)));
        if (cl_ord_id) kp_param(&params, "cl_ord_id", cl_ord_id);
        snprintf(num, sizeof num, "%d", *n);
        kp_param(&params, "ofs", num);
        cJSON *root = kp_call(kp, "ClosedOrders", params, err);
        free(params);
        if (!root) return -1;
        const cJSON *obj = result_object("ClosedOrders", root, "closed", err);
        double count = 0;
        int before = *n;
        int rc = obj ? parse_orders("ClosedOrders", "result.closed.", obj, out, n, &cap, err) : -1;
        if (rc == 0) rc = get_num("ClosedOrders", "result", cJSON_GetObjectItemCaseSensitive(root, "result"), "count",
                                  1, &count, err);
        cJSON_Delete(root);
        if (rc != 0) return -1;
        if (*n == before || *n >= count) return 0;
    }
    return fail(err, "ClosedOrders: more than 10000 pages");
}

int kp_query_orders(kraken_private *kp, const char *txids, kp_order **out, int *n, kraken_err *err)
{
    char *params = NULL;
    int cap = 0;
    *out = NULL, *n = 0;
    kp_param(&params, "txid", txids);
    int rc = list_orders(kp, "QueryOrders", params, NULL, out, n, &cap, err);
    free(params);
    return rc;
}

int kp_open_positions(kraken_private *kp, kp_position **out, int *n, kraken_err *err)
{
    *out = NULL, *n = 0;
    cJSON *root = kp_call(kp, "OpenPositions", NULL, err);
    if (!root) return -1;
    const cJSON *obj = result_object("OpenPositions", root, NULL, err), *it;
    int rc = obj ? 0 : -1;
    if (obj) {
        *out = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof **out);
        cJSON_ArrayForEach(it, obj)
        {
            char where[96];
            snprintf(where, sizeof where, "result.%s", it->string ? it->string : "?");
            if ((rc = kp_parse_position(where, it, &(*out)[*n], err)) != 0) break;
            (*n)++;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int kp_trade_balance(kraken_private *kp, const char *asset, kp_tradebal *tb, kraken_err *err)
{
    char *params = NULL;
    if (asset) kp_param(&params, "asset", asset);
    cJSON *root = kp_call(kp, "TradeBalance", params, err);
    free(params);
    if (!root) return -1;
    int rc = kp_parse_trade_balance(cJSON_GetObjectItemCaseSensitive(root, "result"), tb, err);
    cJSON_Delete(root);
    return rc;
}

int kp_balance(kraken_private *kp, kp_asset_balance **out, int *n, kraken_err *err)
{
    *out = NULL, *n = 0;
    cJSON *root = kp_call(kp, "Balance", NULL, err);
    if (!root) return -1;
    const cJSON *obj = result_object("Balance", root, NULL, err), *it;
    int rc = obj ? 0 : -1;
    if (obj) {
        *out = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof **out);
        cJSON_ArrayForEach(it, obj)
        {
            kp_asset_balance *b = &(*out)[*n];
            if (!it->string || strlen(it->string) >= sizeof b->asset) {
                rc = fail(err, "Balance: result: bad asset name");
                break;
            }
            strcpy(b->asset, it->string);
            if ((rc = get_num("Balance", "result", obj, it->string, 1, &b->amount, err)) != 0) break;
            (*n)++;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int kp_add_order(kraken_private *kp, const kp_add *o, char *txid, size_t txid_n, char *descr, size_t descr_n,
                 kraken_err *err)
{
    char *params = NULL, num[32];
    txid[0] = 0, descr[0] = 0;
    ASSERT(!(o->cl_ord_id && o->userref));
    kp_param(&params, "pair", o->pair);
    kp_param(&params, "type", o->type);
    kp_param(&params, "ordertype", o->ordertype);
    kp_param(&params, "volume", o->volume);
    if (o->price) kp_param(&params, "price", o->price);
    if (o->price2) kp_param(&params, "price2", o->price2);
    if (o->leverage > 0) snprintf(num, sizeof num, "%d", o->leverage), kp_param(&params, "leverage", num);
    if (o->reduce_only) kp_param(&params, "reduce_only", "true");
    if (o->cl_ord_id) kp_param(&params, "cl_ord_id", o->cl_ord_id);
    if (o->userref) snprintf(num, sizeof num, "%ld", o->userref), kp_param(&params, "userref", num);
    if (o->close_ordertype) {
        kp_param(&params, "close[ordertype]", o->close_ordertype);
        if (o->close_price) kp_param(&params, "close[price]", o->close_price);
        if (o->close_price2) kp_param(&params, "close[price2]", o->close_price2);
    }
    if (o->validate) kp_param(&params, "validate", "true");
    /* an answer that certainly left the order out (a rate limit, no
     * connection) may be tried again after a backoff; an ambiguous one never */
    cJSON *root = NULL;
    for (int k = 0;; k++) {
        root = call(kp, "AddOrder", params, 1, err);
        if (root || err->ambiguous || !err->transient || k >= kp->http->retries) break;
        double wait = fmin(kp->http->backoff * ldexp(1.0, k) * (0.5 + rng_uniform(&kp->http->rng)), 60);
        warn("%s; AddOrder was not taken: again in %.2fs (%d of %d)", err->msg, wait, k + 1, kp->http->retries);
        sleep_for(wait);
    }
    free(params);
    if (!root) return err->ambiguous ? KP_AMBIGUOUS : KP_REJECTED;
    const cJSON *r = result_object("AddOrder", root, NULL, err);
    const cJSON *d = r ? cJSON_GetObjectItemCaseSensitive(r, "descr") : NULL;
    const cJSON *t = r ? cJSON_GetObjectItemCaseSensitive(r, "txid") : NULL;
    const cJSON *ord = cJSON_GetObjectItemCaseSensitive(d, "order");
    int rc = KP_OK;
    if (!r) rc = KP_AMBIGUOUS;
    else if (!cJSON_IsObject(d) || !cJSON_IsString(ord))
        fail(err, "AddOrder: result.descr: expected an object with 'order'"), rc = KP_AMBIGUOUS;
    else if (!o->validate && (!cJSON_IsArray(t) || cJSON_GetArraySize(t) < 1 ||
                              !cJSON_IsString(cJSON_GetArrayItem(t, 0)) ||
                              strlen(cJSON_GetArrayItem(t, 0)->valuestring) >= txid_n))
        fail(err, "AddOrder: result.txid: expected an array of order ids"), rc = KP_AMBIGUOUS;
    else {
        snprintf(descr, descr_n, "%s", ord->valuestring);
        if (!o->validate) strcpy(txid, cJSON_GetArrayItem(t, 0)->valuestring);
    }
    if (rc == KP_AMBIGUOUS) err->ambiguous = 1;
    cJSON_Delete(root);
    return rc;
}

int kp_cancel(kraken_private *kp, const char *txid, const char *cl_ord_id, int *count, kraken_err *err)
{
    char *params = NULL;
    *count = 0;
    if (txid) kp_param(&params, "txid", txid);
    else kp_param(&params, "cl_ord_id", cl_ord_id);
    cJSON *root = kp_call(kp, "CancelOrder", params, err);
    free(params);
    if (!root) {
        if (strstr(err->msg, "EOrder:Unknown order") || strstr(err->msg, "EOrder:Invalid order")) return 0;
        return -1;
    }
    double c = 0;
    const cJSON *r = result_object("CancelOrder", root, NULL, err);
    int rc = r ? get_num("CancelOrder", "result", r, "count", 1, &c, err) : -1;
    *count = (int)c;
    cJSON_Delete(root);
    return rc;
}

int kp_find_order(kraken_private *kp, const char *cl_ord_id, double since, kp_order *o, kraken_err *err)
{
    kp_order *v;
    int n;
    for (int pass = 0; pass < 2; pass++) {
        int rc = pass == 0 ? kp_open_orders(kp, cl_ord_id, &v, &n, err)
                           : kp_closed_orders(kp, since, cl_ord_id, &v, &n, err);
        if (rc != 0) return free(v), -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(v[i].cl_ord_id, cl_ord_id)) {
                *o = v[i];
                free(v);
                return 1;
            }
        free(v);
    }
    return 0;
}

/* ------------------------------------------------------------ AssetPairs */

static int lev_range(const char *key, const cJSON *obj, const char *name, int *lo, int *hi, uint64_t *set,
                     kraken_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name), *it;
    *lo = *hi = 0;
    *set = 0;
    if (!a) return 0;
    if (!cJSON_IsArray(a)) return fail(err, "AssetPairs: result.%s: key '%s': expected an array", key, name);
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1000)
            return fail(err, "AssetPairs: result.%s: key '%s': expected leverage numbers", key, name);
        int v = (int)it->valuedouble;
        if (v < 64) *set |= (uint64_t)1 << v;
        if (v > *hi) *hi = v;
        if (!*lo || v < *lo) *lo = v;
    }
    return 0;
}

int kp_parse_asset_pair(const char *key, const cJSON *obj, kp_pair_info *pi, kraken_err *err)
{
    const char *ep = "AssetPairs";
    char where[64];
    double lot = 0, pd = 0;
    memset(pi, 0, sizeof *pi);
    snprintf(where, sizeof where, "result.%s", key);
    snprintf(pi->key, sizeof pi->key, "%s", key);
    if (!cJSON_IsObject(obj)) return fail(err, "%s: %s: expected an object", ep, where);
    if (get_str(ep, where, obj, "altname", 1, pi->altname, sizeof pi->altname, err) ||
        get_num(ep, where, obj, "lot_decimals", 1, &lot, err) || get_num(ep, where, obj, "pair_decimals", 1, &pd, err) ||
        get_num(ep, where, obj, "ordermin", 0, &pi->ordermin, err) ||
        get_num(ep, where, obj, "costmin", 0, &pi->costmin, err) ||
        get_num(ep, where, obj, "tick_size", 0, &pi->tick_size, err) ||
        lev_range(key, obj, "leverage_buy", &pi->lev_buy_min, &pi->lev_buy_max, &pi->lev_buy_set, err) ||
        lev_range(key, obj, "leverage_sell", &pi->lev_sell_min, &pi->lev_sell_max, &pi->lev_sell_set, err))
        return -1;
    if (lot < 0 || lot > 18 || pd < 0 || pd > 18)
        return fail(err, "%s: %s: decimals outside [0, 18]", ep, where);
    pi->lot_decimals = (int)lot, pi->pair_decimals = (int)pd;
    return 0;
}

int kp_leverage(const kp_pair_info *pi, const char *side, double want)
{
    int buy = !strcmp(side, "buy");
    int lo = buy ? pi->lev_buy_min : pi->lev_sell_min, hi = buy ? pi->lev_buy_max : pi->lev_sell_max;
    uint64_t set = buy ? pi->lev_buy_set : pi->lev_sell_set;
    if (hi == 0) return 0;
    if (!(want >= lo)) return lo;
    if (want >= hi) return hi;
    for (int v = (int)floor(want + 1e-9); v > lo; v--)
        if (v < 64 && (set >> v & 1)) return v;
    return lo;
}

int kp_asset_pair(kraken_client *c, const char *altname, kp_pair_info *pi, kraken_err *err)
{
    char q[64];
    snprintf(q, sizeof q, "pair=%s", altname);
    cJSON *root = kraken_request(c, "/0/public/AssetPairs", q, NULL, NULL, err);
    if (!root) return -1;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "result"), *it;
    int rc = fail(err, "AssetPairs: result: no pair %s", altname);
    cJSON_ArrayForEach(it, r)
    {
        const cJSON *alt = cJSON_GetObjectItemCaseSensitive(it, "altname");
        if (cJSON_IsString(alt) && !strcmp(alt->valuestring, altname)) {
            rc = kp_parse_asset_pair(it->string, it, pi, err);
            break;
        }
    }
    cJSON_Delete(root);
    return rc;
}
