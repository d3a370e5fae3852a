/* config.c: the trading configuration, its defaults and validation (see config.h). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonl.h"
#include "pair.h"
#include "util.h"

/* Default leverage ranges. Extreme: the product's (SOL 20-125x, ETH 15-100x,
 * BTC 12-85x). Default: a conservative range below each extreme minimum. */
static const kml_asset default_assets[] = {
    {"SOL/USD", 0.40, {3, 20}, {20, 125}},
    {"ETH/USD", 0.35, {3, 15}, {15, 100}},
    {"BTC/USD", 0.25, {2, 12}, {12, 85}},
};

void config_defaults(kml_config *c)
{
    memset(c, 0, sizeof *c);
    c->n_assets = 3;
    memcpy(c->assets, default_assets, sizeof default_assets);
    c->maker_fee = 0.0016;
    c->taker_fee = 0.0026;
    c->risk.risk_per_trade = 0.01;
    c->risk.max_drawdown = 0.25;
    c->risk.daily_loss_limit = 0.05;
    c->risk.max_position = 1.0;
    c->risk.max_open_positions = 3;
    c->margin.margin_call = 0.8;
    c->margin.margin_stop = 0.4;
    c->margin.opening_fee = 0.0002;
    c->margin.rollover_rate = 0.0002;
    c->sizing.stop_buffer = 0.25;
    c->sizing.stop_vol = 3;
    c->sizing.take_profit_vol = 4.5;
    c->sizing.vol_target = 0.01;
    c->sizing.kelly_fraction = 0.25;
    c->sizing.entry_threshold = 0.2;
    c->sizing.min_confidence = 0.1;
    c->sizing.track_window = 50;
    c->execution.slippage_bps = 2;
    c->execution.range_fraction = 0.1;
    c->execution.ordermin = 0.0001;
    c->execution.costmin = 0.5;
    c->execution.lot_decimals = 8;
    snprintf(c->ensemble.objective, sizeof c->ensemble.objective, "sharpe");
    c->ensemble.penalty = 0.1;
    c->ensemble.min_samples = 500;
    c->ensemble.min_confidence = 0;
    c->ensemble.adaptation_rate = 1;
    c->ensemble.adaptation_min = 0.5;
    c->ensemble.adaptation_max = 2;
    snprintf(c->live.tier, sizeof c->live.tier, "starter");
    snprintf(c->live.over_max_leverage, sizeof c->live.over_max_leverage, "clamp");
    c->live.fill_timeout = 60;
    c->live.poll = 1;
    c->slurm.cpus_per_task = 1;
    c->slurm.task_minutes = 60;
    c->slurm.merge_minutes = 30;
    c->slurm.job_minutes = 120;
    c->slurm.retries = 2;
    snprintf(c->mode, sizeof c->mode, "sandbox");
    snprintf(c->leverage_mode, sizeof c->leverage_mode, "default");
    c->initial_capital = 10000;
    c->history_days = 125;
}

__attribute__((noreturn, format(printf, 3, 4))) static void bad(const char *name, const char *path,
                                                                 const char *fmt, ...)
{
    char where[4096];
    snprintf(where, sizeof where, "%s: %s", name, path);
    va_list ap;
    va_start(ap, fmt);
    vdie_at(EX_CONFIG, where, fmt, ap);
}

static double number(const cJSON *v, const char *name, const char *path, double lo, double hi)
{
    if (!cJSON_IsNumber(v)) bad(name, path, "expected a number");
    double x = v->valuedouble;
    if (!isfinite(x) || x < lo || x > hi) bad(name, path, "%g is out of range [%g, %g]", x, lo, hi);
    return x;
}

static void string(const cJSON *v, const char *name, const char *path, char *dst, size_t n,
                   const char *const *allowed)
{
    if (!cJSON_IsString(v)) bad(name, path, "expected a string");
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(v->valuestring, allowed[i])) {
            snprintf(dst, n, "%s", v->valuestring);
            return;
        }
    bad(name, path, "\"%s\" is not one of the allowed values", v->valuestring);
}

static void range(const cJSON *v, const char *name, const char *path, double out[2])
{
    char p[160];
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) bad(name, path, "expected [min, max]");
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s[%d]", path, i);
        out[i] = number(cJSON_GetArrayItem(v, i), name, p, 1, 1000);
    }
    if (out[0] > out[1]) bad(name, path, "min %g is above max %g", out[0], out[1]);
}

static void unknown(const cJSON *obj, const char *name, const char *path, const char *const *keys)
{
    for (const cJSON *v = obj->child; v; v = v->next) {
        int ok = 0;
        for (int i = 0; keys[i]; i++) ok |= !strcmp(v->string, keys[i]);
        if (!ok) bad(name, path, "unknown key \"%s\"", v->string);
    }
}

static void object(const cJSON *v, const char *name, const char *path)
{
    if (!cJSON_IsObject(v)) bad(name, path, "expected an object");
}

static void apply_asset(kml_asset *a, const cJSON *v, const char *name, const char *path, int known)
{
    static const char *const keys[] = {"allocation", "leverage", NULL};
    static const char *const lkeys[] = {"default", "extreme", NULL};
    char p[320];
    object(v, name, path);
    unknown(v, name, path, keys);
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(v, "allocation");
    snprintf(p, sizeof p, "%s.allocation", path);
    if (al) a->allocation = number(al, name, p, 0, 1);
    else if (!known) bad(name, p, "missing (no default for this pair)");
    const cJSON *lev = cJSON_GetObjectItemCaseSensitive(v, "leverage");
    snprintf(p, sizeof p, "%s.leverage", path);
    if (!lev && !known) bad(name, p, "missing (no default for this pair)");
    if (lev) {
        object(lev, name, p);
        unknown(lev, name, p, lkeys);
        char q[400];
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(lev, "default");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(lev, "extreme");
        snprintf(q, sizeof q, "%s.default", p);
        if (d) range(d, name, q, a->lev_default);
        else if (!known) bad(name, q, "missing (no default for this pair)");
        snprintf(q, sizeof q, "%s.extreme", p);
        if (e) range(e, name, q, a->lev_extreme);
        else if (!known) bad(name, q, "missing (no default for this pair)");
    }
}

void config_apply_json(kml_config *c, const cJSON *root, const char *name)
{
    static const char *const top[] = {"assets", "fees", "risk", "margin", "sizing", "execution", "mode", "leverage_mode",
                                      "initial_capital", "history_days", "ensemble", "live", "slurm", NULL};
    static const char *const fkeys[] = {"maker", "taker", NULL};
    static const char *const rkeys[] = {"risk_per_trade", "max_drawdown", "daily_loss_limit",
                                        "max_position", "max_open_positions", NULL};
    static const char *const modes[] = {"sandbox", "live", NULL};
    static const char *const lmodes[] = {"default", "extreme", NULL};
    char p[160];
    object(root, name, "$");
    unknown(root, name, "$", top);

    const cJSON *assets = cJSON_GetObjectItemCaseSensitive(root, "assets");
    if (assets) {
        object(assets, name, "$.assets");
        int n = 0;
        kml_asset out[KML_MAX_ASSETS];
        double total = 0;
        for (const cJSON *v = assets->child; v; v = v->next) {
            snprintf(p, sizeof p, "$.assets.%s", v->string);
            kml_pair pr;
            if (pair_parse(v->string, &pr) != 0) bad(name, p, "not an asset pair (e.g. \"SOL/USD\")");
            if (n == KML_MAX_ASSETS) bad(name, p, "more than %d assets", KML_MAX_ASSETS);
            kml_asset a = {{0}, 0, {1, 1}, {1, 1}};
            const kml_asset *def = config_asset(c, pr.display);
            int known = 0;
            for (size_t i = 0; !def && i < sizeof default_assets / sizeof *default_assets; i++)
                if (!strcmp(default_assets[i].pair, pr.display)) def = &default_assets[i];
            if (def) {
                a = *def;
                known = 1;
            }
            snprintf(a.pair, sizeof a.pair, "%s", pr.display);
            for (int i = 0; i < n; i++)
                if (!strcmp(out[i].pair, a.pair)) bad(name, p, "the pair appears twice");
            apply_asset(&a, v, name, p, known);
            total += a.allocation;
            out[n++] = a;
        }
        if (n == 0) bad(name, "$.assets", "no assets");
        if (total > 1 + 1e-9) bad(name, "$.assets", "allocations add up to %g, more than 1", total);
        c->n_assets = n;
        memcpy(c->assets, out, n * sizeof *out);
    }
    const cJSON *fees = cJSON_GetObjectItemCaseSensitive(root, "fees");
    if (fees) {
        object(fees, name, "$.fees");
        unknown(fees, name, "$.fees", fkeys);
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(fees, "maker"))) c->maker_fee = number(v, name, "$.fees.maker", -0.01, 0.1);
        if ((v = cJSON_GetObjectItemCaseSensitive(fees, "taker"))) c->taker_fee = number(v, name, "$.fees.taker", 0, 0.1);
    }
    const cJSON *risk = cJSON_GetObjectItemCaseSensitive(root, "risk");
    if (risk) {
        object(risk, name, "$.risk");
        /* The liquidation follows the margin model's levels (docs/margin.md). */
        if (cJSON_GetObjectItemCaseSensitive(risk, "maintenance_margin"))
            bad(name, "$.risk.maintenance_margin",
                "no longer used: liquidation follows Kraken's margin levels, $.margin.margin_stop (docs/margin.md)");
        unknown(risk, name, "$.risk", rkeys);
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(risk, "risk_per_trade")))
            c->risk.risk_per_trade = number(v, name, "$.risk.risk_per_trade", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(risk, "max_drawdown")))
            c->risk.max_drawdown = number(v, name, "$.risk.max_drawdown", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(risk, "daily_loss_limit")))
            c->risk.daily_loss_limit = number(v, name, "$.risk.daily_loss_limit", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(risk, "max_position")))
            c->risk.max_position = number(v, name, "$.risk.max_position", 0, 10);
        if ((v = cJSON_GetObjectItemCaseSensitive(risk, "max_open_positions"))) {
            double x = number(v, name, "$.risk.max_open_positions", 1, 100);
            if (x != floor(x)) bad(name, "$.risk.max_open_positions", "expected an integer");
            c->risk.max_open_positions = (int)x;
        }
    }
    const cJSON *margin = cJSON_GetObjectItemCaseSensitive(root, "margin");
    if (margin) {
        static const char *const mkeys[] = {"margin_call", "margin_stop", "opening_fee", "rollover_rate", NULL};
        object(margin, name, "$.margin");
        unknown(margin, name, "$.margin", mkeys);
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(margin, "margin_call")))
            c->margin.margin_call = number(v, name, "$.margin.margin_call", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(margin, "margin_stop")))
            c->margin.margin_stop = number(v, name, "$.margin.margin_stop", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(margin, "opening_fee")))
            c->margin.opening_fee = number(v, name, "$.margin.opening_fee", 0, 0.01);
        if ((v = cJSON_GetObjectItemCaseSensitive(margin, "rollover_rate")))
            c->margin.rollover_rate = number(v, name, "$.margin.rollover_rate", 0, 0.01);
        if (!(c->margin.margin_stop < c->margin.margin_call))
            bad(name, "$.margin.margin_stop", "%g is not below margin_call %g", c->margin.margin_stop,
                c->margin.margin_call);
    }
    const cJSON *sizing = cJSON_GetObjectItemCaseSensitive(root, "sizing");
    if (sizing) {
        static const char *const skeys[] = {"stop_buffer",    "stop_vol",        "take_profit_vol",
                                            "vol_target",     "kelly_fraction",  "entry_threshold",
                                            "min_confidence", "track_window",    NULL};
        object(sizing, name, "$.sizing");
        unknown(sizing, name, "$.sizing", skeys);
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "stop_buffer")))
            c->sizing.stop_buffer = number(v, name, "$.sizing.stop_buffer", 0, 0.9);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "stop_vol")))
            c->sizing.stop_vol = number(v, name, "$.sizing.stop_vol", 0.01, 100);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "take_profit_vol")))
            c->sizing.take_profit_vol = number(v, name, "$.sizing.take_profit_vol", 0.01, 100);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "vol_target")))
            c->sizing.vol_target = number(v, name, "$.sizing.vol_target", 1e-6, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "kelly_fraction")))
            c->sizing.kelly_fraction = number(v, name, "$.sizing.kelly_fraction", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "entry_threshold")))
            c->sizing.entry_threshold = number(v, name, "$.sizing.entry_threshold", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "min_confidence")))
            c->sizing.min_confidence = number(v, name, "$.sizing.min_confidence", 0, 1);
        if ((v = cJSON_GetObjectItemCaseSensitive(sizing, "track_window"))) {
            double x = number(v, name, "$.sizing.track_window", 1, 100000);
            if (x != floor(x)) bad(name, "$.sizing.track_window", "expected an integer");
            c->sizing.track_window = (int)x;
        }
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "execution");
    if (ex) {
        static const char *const xkeys[] = {"slippage_bps", "range_fraction", "ordermin", "costmin", "lot_decimals",
                                            NULL};
        object(ex, name, "$.execution");
        unknown(ex, name, "$.execution", xkeys);
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(ex, "slippage_bps")))
            c->execution.slippage_bps = number(x, name, "$.execution.slippage_bps", 0, 1000);
        if ((x = cJSON_GetObjectItemCaseSensitive(ex, "range_fraction")))
            c->execution.range_fraction = number(x, name, "$.execution.range_fraction", 0, 1);
        if ((x = cJSON_GetObjectItemCaseSensitive(ex, "ordermin")))
            c->execution.ordermin = number(x, name, "$.execution.ordermin", 0, 1e9);
        if ((x = cJSON_GetObjectItemCaseSensitive(ex, "costmin")))
            c->execution.costmin = number(x, name, "$.execution.costmin", 0, 1e9);
        if ((x = cJSON_GetObjectItemCaseSensitive(ex, "lot_decimals"))) {
            double d = number(x, name, "$.execution.lot_decimals", 0, 12);
            if (d != floor(d)) bad(name, "$.execution.lot_decimals", "expected an integer");
            c->execution.lot_decimals = (int)d;
        }
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(root, "ensemble");
    if (en) {
        static const char *const ekeys[] = {"objective", "penalty", "min_samples", "min_confidence", "adaptation_rate",
                                            "adaptation_min", "adaptation_max", NULL};
        static const char *const objectives[] = {"sharpe", "sortino", "return", NULL};
        object(en, name, "$.ensemble");
        unknown(en, name, "$.ensemble", ekeys);
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "objective")))
            string(x, name, "$.ensemble.objective", c->ensemble.objective, sizeof c->ensemble.objective, objectives);
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "penalty")))
            c->ensemble.penalty = number(x, name, "$.ensemble.penalty", 0, 1e6);
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "min_samples"))) {
            double d = number(x, name, "$.ensemble.min_samples", 2, 1e9);
            if (d != floor(d)) bad(name, "$.ensemble.min_samples", "expected an integer");
            c->ensemble.min_samples = (int)d;
        }
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "min_confidence")))
            c->ensemble.min_confidence = number(x, name, "$.ensemble.min_confidence", 0, 1);
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "adaptation_rate")))
            c->ensemble.adaptation_rate = number(x, name, "$.ensemble.adaptation_rate", 0, 1000);
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "adaptation_min")))
            c->ensemble.adaptation_min = number(x, name, "$.ensemble.adaptation_min", 0, 1);
        if ((x = cJSON_GetObjectItemCaseSensitive(en, "adaptation_max")))
            c->ensemble.adaptation_max = number(x, name, "$.ensemble.adaptation_max", 1, 100);
    }
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(root, "live");
    if (lv) {
        static const char *const vkeys[] = {"tier", "over_max_leverage", "fill_timeout", "poll", NULL};
        static const char *const overs[] = {"clamp", "refuse", NULL};
        object(lv, name, "$.live");
        unknown(lv, name, "$.live", vkeys);
        const cJSON *x;
        if ((x = cJSON_GetObjectItemCaseSensitive(lv, "tier"))) {
            double mx, dc;
            char tail;
            if (!cJSON_IsString(x) ||
                (strcmp(x->valuestring, "starter") && strcmp(x->valuestring, "intermediate") &&
                 strcmp(x->valuestring, "pro") &&
                 !(sscanf(x->valuestring, "%lf/%lf%c", &mx, &dc, &tail) == 2 && mx >= 1 && dc > 0)) ||
                strlen(x->valuestring) >= sizeof c->live.tier)
                bad(name, "$.live.tier", "expected \"starter\", \"intermediate\", \"pro\" or \"MAX/DECAY\"");
            snprintf(c->live.tier, sizeof c->live.tier, "%s", x->valuestring);
        }
        if ((x = cJSON_GetObjectItemCaseSensitive(lv, "over_max_leverage")))
            string(x, name, "$.live.over_max_leverage", c->live.over_max_leverage, sizeof c->live.over_max_leverage,
                   overs);
        if ((x = cJSON_GetObjectItemCaseSensitive(lv, "fill_timeout")))
            c->live.fill_timeout = number(x, name, "$.live.fill_timeout", 0, 86400);
        if ((x = cJSON_GetObjectItemCaseSensitive(lv, "poll")))
            c->live.poll = number(x, name, "$.live.poll", 0, 3600);
    }
    const cJSON *sl = cJSON_GetObjectItemCaseSensitive(root, "slurm");
    if (sl) {
        static const char *const ukeys[] = {"partition", "account", "cpus_per_task", "mem_mb", "task_minutes",
                                            "merge_minutes", "job_minutes", "retries", "array_parallel", NULL};
        static const struct {
            const char *key;
            double lo, hi;
        } ints[] = {{"cpus_per_task", 1, 1024}, {"mem_mb", 0, 1e8},      {"task_minutes", 1, 525600},
                    {"merge_minutes", 1, 525600}, {"job_minutes", 1, 525600}, {"retries", 0, 10},
                    {"array_parallel", 0, 1e6}};
        int *dst[] = {&c->slurm.cpus_per_task, &c->slurm.mem_mb,      &c->slurm.task_minutes, &c->slurm.merge_minutes,
                      &c->slurm.job_minutes,   &c->slurm.retries,     &c->slurm.array_parallel};
        object(sl, name, "$.slurm");
        unknown(sl, name, "$.slurm", ukeys);
        const cJSON *x;
        char q[64];
        for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
            if (!(x = cJSON_GetObjectItemCaseSensitive(sl, ints[i].key))) continue;
            snprintf(q, sizeof q, "$.slurm.%s", ints[i].key);
            double d = number(x, name, q, ints[i].lo, ints[i].hi);
            if (d != floor(d)) bad(name, q, "expected an integer");
            *dst[i] = (int)d;
        }
        /* Names sbatch takes as one word: letters, digits, '_', '-', '.', and ',' between partitions. */
        static const char *const skeys[] = {"partition", "account"};
        char *sdst[] = {c->slurm.partition, c->slurm.account};
        for (int i = 0; i < 2; i++) {
            if (!(x = cJSON_GetObjectItemCaseSensitive(sl, skeys[i]))) continue;
            snprintf(q, sizeof q, "$.slurm.%s", skeys[i]);
            if (!cJSON_IsString(x) || strlen(x->valuestring) >= sizeof c->slurm.partition ||
                x->valuestring[strspn(x->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,")])
                bad(name, q, "expected a Slurm name (letters, digits, _ - . ,), at most %zu characters",
                    sizeof c->slurm.partition - 1);
            snprintf(sdst[i], sizeof c->slurm.partition, "%s", x->valuestring);
        }
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "mode"))) string(v, name, "$.mode", c->mode, sizeof c->mode, modes);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "leverage_mode")))
        string(v, name, "$.leverage_mode", c->leverage_mode, sizeof c->leverage_mode, lmodes);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "initial_capital")))
        c->initial_capital = number(v, name, "$.initial_capital", 1, 1e12);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "history_days"))) {
        double d = number(v, name, "$.history_days", 1, 36500);
        if (d != floor(d)) bad(name, "$.history_days", "expected a whole number of days");
        c->history_days = (int)d;
    }
}

void config_load(kml_config *c, const char *path)
{
    config_defaults(c);
    struct stat st;
    if (!path) path = getenv("KML_CONFIG");
    if (!path || !*path) {
        if (stat("config/trading.json", &st) != 0) return;
        path = "config/trading.json";
    }
    cJSON *root = json_load_file(path);
    config_apply_json(c, root, path);
    cJSON_Delete(root);
}

const kml_asset *config_asset(const kml_config *c, const char *pair)
{
    kml_pair p;
    if (pair_parse(pair, &p) != 0) return NULL;
    for (int i = 0; i < c->n_assets; i++)
        if (!strcmp(c->assets[i].pair, p.display)) return &c->assets[i];
    return NULL;
}

cJSON *config_to_json(const kml_config *c)
{
    cJSON *o = cJSON_CreateObject(), *assets = cJSON_AddObjectToObject(o, "assets");
    for (int i = 0; i < c->n_assets; i++) {
        const kml_asset *a = &c->assets[i];
        cJSON *x = cJSON_AddObjectToObject(assets, a->pair);
        cJSON_AddNumberToObject(x, "allocation", a->allocation);
        cJSON *lev = cJSON_AddObjectToObject(x, "leverage");
        cJSON_AddItemToObject(lev, "default", cJSON_CreateDoubleArray(a->lev_default, 2));
        cJSON_AddItemToObject(lev, "extreme", cJSON_CreateDoubleArray(a->lev_extreme, 2));
    }
    cJSON *fees = cJSON_AddObjectToObject(o, "fees");
    cJSON_AddNumberToObject(fees, "maker", c->maker_fee);
    cJSON_AddNumberToObject(fees, "taker", c->taker_fee);
    cJSON *r = cJSON_AddObjectToObject(o, "risk");
    cJSON_AddNumberToObject(r, "risk_per_trade", c->risk.risk_per_trade);
    cJSON_AddNumberToObject(r, "max_drawdown", c->risk.max_drawdown);
    cJSON_AddNumberToObject(r, "daily_loss_limit", c->risk.daily_loss_limit);
    cJSON_AddNumberToObject(r, "max_position", c->risk.max_position);
    cJSON_AddNumberToObject(r, "max_open_positions", c->risk.max_open_positions);
    cJSON *m = cJSON_AddObjectToObject(o, "margin");
    json_add_num(m, "margin_call", c->margin.margin_call);
    json_add_num(m, "margin_stop", c->margin.margin_stop);
    json_add_num(m, "opening_fee", c->margin.opening_fee);
    json_add_num(m, "rollover_rate", c->margin.rollover_rate);
    cJSON *sz = cJSON_AddObjectToObject(o, "sizing");
    json_add_num(sz, "stop_buffer", c->sizing.stop_buffer);
    json_add_num(sz, "stop_vol", c->sizing.stop_vol);
    json_add_num(sz, "take_profit_vol", c->sizing.take_profit_vol);
    json_add_num(sz, "vol_target", c->sizing.vol_target);
    json_add_num(sz, "kelly_fraction", c->sizing.kelly_fraction);
    json_add_num(sz, "entry_threshold", c->sizing.entry_threshold);
    json_add_num(sz, "min_confidence", c->sizing.min_confidence);
    json_add_num(sz, "track_window", c->sizing.track_window);
    cJSON *ex = cJSON_AddObjectToObject(o, "execution");
    json_add_num(ex, "slippage_bps", c->execution.slippage_bps);
    json_add_num(ex, "range_fraction", c->execution.range_fraction);
    json_add_num(ex, "ordermin", c->execution.ordermin);
    json_add_num(ex, "costmin", c->execution.costmin);
    json_add_num(ex, "lot_decimals", c->execution.lot_decimals);
    cJSON *en = cJSON_AddObjectToObject(o, "ensemble");
    cJSON_AddStringToObject(en, "objective", c->ensemble.objective);
    json_add_num(en, "penalty", c->ensemble.penalty);
    json_add_num(en, "min_samples", c->ensemble.min_samples);
    json_add_num(en, "min_confidence", c->ensemble.min_confidence);
    json_add_num(en, "adaptation_rate", c->ensemble.adaptation_rate);
    json_add_num(en, "adaptation_min", c->ensemble.adaptation_min);
    json_add_num(en, "adaptation_max", c->ensemble.adaptation_max);
    cJSON *lv = cJSON_AddObjectToObject(o, "live");
    cJSON_AddStringToObject(lv, "tier", c->live.tier);
    cJSON_AddStringToObject(lv, "over_max_leverage", c->live.over_max_leverage);
    json_add_num(lv, "fill_timeout", c->live.fill_timeout);
    json_add_num(lv, "poll", c->live.poll);
    cJSON *sl = cJSON_AddObjectToObject(o, "slurm");
    cJSON_AddStringToObject(sl, "partition", c->slurm.partition);
    cJSON_AddStringToObject(sl, "account", c->slurm.account);
    json_add_num(sl, "cpus_per_task", c->slurm.cpus_per_task);
    json_add_num(sl, "mem_mb", c->slurm.mem_mb);
    json_add_num(sl, "task_minutes", c->slurm.task_minutes);
    json_add_num(sl, "merge_minutes", c->slurm.merge_minutes);
    json_add_num(sl, "job_minutes", c->slurm.job_minutes);
    json_add_num(sl, "retries", c->slurm.retries);
    json_add_num(sl, "array_parallel", c->slurm.array_parallel);
    cJSON_AddStringToObject(o, "mode", c->mode);
    cJSON_AddStringToObject(o, "leverage_mode", c->leverage_mode);
    cJSON_AddNumberToObject(o, "initial_capital", c->initial_capital);
    json_add_num(o, "history_days", c->history_days);
    return o;
}
