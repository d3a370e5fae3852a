/* test_config.c: unit tests of lib/config.c (defaults, overrides, every
 * validation error with its JSON path and exit 78) and lib/pair.c (Kraken's
 * names, legacy result keys, file names). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pair.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

/* ---- configuration ---- */

static void test_defaults(void)
{
    kml_config c;
    config_defaults(&c);
    CHECK_EQ_INT(c.n_assets, 3);
    static const struct { const char *pair; double alloc, emin, emax; } want[] = {
        {"SOL/USD", 0.40, 20, 125}, {"ETH/USD", 0.35, 15, 100}, {"BTC/USD", 0.25, 12, 85}};
    double total = 0;
    for (int i = 0; i < 3; i++) {
        const kml_asset *a = config_asset(&c, want[i].pair);
        CHECK(a != NULL);
        if (!a) continue;
        CHECK_NEAR(a->allocation, want[i].alloc, 1e-12);
        CHECK_NEAR(a->lev_extreme[0], want[i].emin, 0);
        CHECK_NEAR(a->lev_extreme[1], want[i].emax, 0);
        CHECK(a->lev_default[0] <= a->lev_default[1]);
        CHECK(a->lev_default[1] <= a->lev_extreme[0]); /* default range sits below the extreme one */
        /* the liquidation move at the top leverage stays positive: a stop can sit before it */
        CHECK((1 - c.margin.margin_stop) / a->lev_extreme[1] > 0);
        total += a->allocation;
    }
    CHECK_NEAR(total, 1.0, 1e-12);
    CHECK_NEAR(c.maker_fee, 0.0016, 1e-15);
    CHECK_NEAR(c.taker_fee, 0.0026, 1e-15);
    CHECK_EQ_STR(c.mode, "sandbox");
    CHECK_EQ_STR(c.leverage_mode, "default");
    /* lookup accepts Kraken's spelling and lower case; an absent pair is NULL */
    CHECK(config_asset(&c, "XBTUSD") == config_asset(&c, "BTC/USD"));
    CHECK(config_asset(&c, "sol/usd") == config_asset(&c, "SOL/USD"));
    CHECK(config_asset(&c, "ADA/USD") == NULL);
    CHECK(config_asset(&c, "not a pair") == NULL);
}

static void test_override_subset(void)
{
    kml_config c;
    config_defaults(&c);
    cJSON *j = cJSON_Parse("{\"fees\":{\"taker\":0.004},\"risk\":{\"max_open_positions\":5},"
                           "\"assets\":{\"SOL/USD\":{\"allocation\":0.6},\"ADA/USD\":{\"allocation\":0.4,"
                           "\"leverage\":{\"default\":[1,3],\"extreme\":[5,10]}}}}");
    ASSERT(j);
    config_apply_json(&c, j, "t.json");
    cJSON_Delete(j);
    CHECK_NEAR(c.taker_fee, 0.004, 0);
    CHECK_NEAR(c.maker_fee, 0.0016, 0); /* untouched */
    CHECK_EQ_INT(c.risk.max_open_positions, 5);
    CHECK_EQ_INT(c.n_assets, 2); /* an assets object replaces the list */
    const kml_asset *s = config_asset(&c, "SOL/USD"), *a = config_asset(&c, "ADA/USD");
    CHECK(s && a);
    if (s) { CHECK_NEAR(s->allocation, 0.6, 0); CHECK_NEAR(s->lev_extreme[1], 125, 0); }
    if (a) { CHECK_NEAR(a->lev_default[1], 3, 0); CHECK_NEAR(a->lev_extreme[0], 5, 0); }
}

static void test_json_round_trip(void)
{
    kml_config c, d;
    config_defaults(&c);
    cJSON *j = config_to_json(&c);
    config_defaults(&d);
    d.taker_fee = 0.5; /* must come back from the JSON */
    config_apply_json(&d, j, "round-trip");
    cJSON_Delete(j);
    CHECK_NEAR(d.taker_fee, c.taker_fee, 0);
    CHECK_EQ_INT(d.n_assets, c.n_assets);
    for (int i = 0; i < c.n_assets; i++) {
        CHECK_EQ_STR(d.assets[i].pair, c.assets[i].pair);
        CHECK_NEAR(d.assets[i].lev_extreme[1], c.assets[i].lev_extreme[1], 0);
    }
}

static void apply_text(void *arg)
{
    kml_config c;
    config_defaults(&c);
    cJSON *j = cJSON_Parse((const char *)arg);
    ASSERT(j);
    config_apply_json(&c, j, "cfg.json");
}

static void test_errors_name_the_path(void)
{
    static const struct { const char *json, *msg; } cases[] = {
        {"{\"colour\":1}", "kml-test: cfg.json: $: unknown key \"colour\""},
        {"{\"fees\":{\"taker\":\"high\"}}", "kml-test: cfg.json: $.fees.taker: expected a number"},
        {"{\"fees\":{\"taker\":0.5}}", "kml-test: cfg.json: $.fees.taker: 0.5 is out of range [0, 0.1]"},
        {"{\"fees\":[1]}", "kml-test: cfg.json: $.fees: expected an object"},
        {"{\"mode\":\"yolo\"}", "kml-test: cfg.json: $.mode: \"yolo\" is not one of the allowed values"},
        {"{\"assets\":{\"SOL/USD\":{\"leverage\":{\"extreme\":[130,20]}}}}",
         "kml-test: cfg.json: $.assets.SOL/USD.leverage.extreme: min 130 is above max 20"},
        {"{\"assets\":{\"SOL/USD\":{\"leverage\":{\"extreme\":[20]}}}}",
         "kml-test: cfg.json: $.assets.SOL/USD.leverage.extreme: expected [min, max]"},
        {"{\"assets\":{\"nonsense\":{}}}", "kml-test: cfg.json: $.assets.nonsense: not an asset pair"},
        {"{\"assets\":{\"ADA/USD\":{\"allocation\":0.1}}}",
         "kml-test: cfg.json: $.assets.ADA/USD.leverage: missing (no default for this pair)"},
        {"{\"assets\":{\"SOL/USD\":{\"allocation\":0.7},\"ETH/USD\":{\"allocation\":0.7}}}",
         "kml-test: cfg.json: $.assets: allocations add up to 1.4, more than 1"},
        {"{\"assets\":{}}", "kml-test: cfg.json: $.assets: no assets"},
        {"{\"risk\":{\"max_open_positions\":2.5}}", "kml-test: cfg.json: $.risk.max_open_positions: expected an integer"},
        /* the liquidation follows the margin model's levels now */
        {"{\"risk\":{\"maintenance_margin\":0.004}}",
         "kml-test: cfg.json: $.risk.maintenance_margin: no longer used: liquidation follows Kraken's margin levels, $.margin.margin_stop"},
        {"{\"margin\":{\"margin_stop\":0.8}}", "kml-test: cfg.json: $.margin.margin_stop: 0.8 is not below margin_call 0.8"},
        {"{\"margin\":{\"rollover\":0.8}}", "kml-test: cfg.json: $.margin: unknown key \"rollover\""},
        {"{\"sizing\":{\"stop_vol\":0}}", "kml-test: cfg.json: $.sizing.stop_vol: 0 is out of range [0.01, 100]"},
        {"{\"sizing\":{\"track_window\":0.5}}", "kml-test: cfg.json: $.sizing.track_window: 0.5 is out of range [1, 100000]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct t_out o;
        t_capture(apply_text, (void *)cases[i].json, NULL, &o);
        if (o.code != 78) t_fail(__FILE__, __LINE__, "case %zu: exit %d, expected 78", i, o.code);
        if (!strstr(o.err, cases[i].msg))
            t_fail(__FILE__, __LINE__, "case %zu: stderr \"%s\" lacks \"%s\"", i, o.err, cases[i].msg);
        if (strchr(o.err, '\n') != o.err + strlen(o.err) - 1)
            t_fail(__FILE__, __LINE__, "case %zu: not one line: \"%s\"", i, o.err);
    }
}

/* history_days: the days of candles pipelines/run.sh keeps (kml-fetch update --days) */
static void test_history_days(void)
{
    kml_config c;
    config_defaults(&c);
    CHECK_EQ_INT(c.history_days, 125);
    cJSON *j = cJSON_Parse("{\"history_days\": 30}");
    config_apply_json(&c, j, "cfg.json");
    cJSON_Delete(j);
    CHECK_EQ_INT(c.history_days, 30);
    j = config_to_json(&c);
    kml_config d;
    config_defaults(&d);
    config_apply_json(&d, j, "round-trip");
    cJSON_Delete(j);
    CHECK_EQ_INT(d.history_days, 30);
    static const struct { const char *json, *msg; } cases[] = {
        {"{\"history_days\":2.5}", "kml-test: cfg.json: $.history_days: expected a whole number of days"},
        {"{\"history_days\":0}", "kml-test: cfg.json: $.history_days: 0 is out of range [1, 36500]"},
        {"{\"history_days\":\"90\"}", "kml-test: cfg.json: $.history_days: expected a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct t_out o;
        t_capture(apply_text, (void *)cases[i].json, NULL, &o);
        if (o.code != 78) t_fail(__FILE__, __LINE__, "case %zu: exit %d, expected 78", i, o.code);
        if (!strstr(o.err, cases[i].msg))
            t_fail(__FILE__, __LINE__, "case %zu: stderr \"%s\" lacks \"%s\"", i, o.err, cases[i].msg);
    }
}

static void load_path(void *arg)
{
    kml_config c;
    config_load(&c, (const char *)arg);
    printf("%g\n", c.taker_fee);
}

static void test_load(void)
{
    char *ok = t_tmpfile("{\"fees\":{\"taker\":0.003}}");
    struct t_out o;
    t_capture(load_path, ok, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.out, "0.003\n");
    char *bad = t_tmpfile("{\"fees\":\n  {\"taker\": 0.003,}}");
    t_capture(load_path, bad, NULL, &o);
    CHECK_EQ_INT(o.code, 65); /* malformed JSON: located */
    CHECK(strstr(o.err, bad) && strstr(o.err, ":2:"));
    t_expect_exit(load_path, (void *)"/nonexistent/trading.json", NULL, 66, "/nonexistent/trading.json");
    /* $KML_CONFIG is used when no path is given */
    setenv("KML_CONFIG", ok, 1);
    t_capture(load_path, NULL, NULL, &o);
    CHECK_EQ_STR(o.out, "0.003\n");
    unsetenv("KML_CONFIG");
    remove(ok), remove(bad);
    free(ok), free(bad);
}

/* ---- pairs ---- */

static void test_pair_names(void)
{
    static const struct { const char *in, *display, *alt, *base; } cases[] = {
        {"SOL/USD", "SOL/USD", "SOLUSD", "SOL"}, {"sol/usd", "SOL/USD", "SOLUSD", "SOL"},
        {"BTC/USD", "BTC/USD", "XBTUSD", "BTC"}, {"XBT/USD", "BTC/USD", "XBTUSD", "BTC"},
        {"XBTUSD", "BTC/USD", "XBTUSD", "BTC"},  {"XXBTZUSD", "BTC/USD", "XBTUSD", "BTC"},
        {"XETHZUSD", "ETH/USD", "ETHUSD", "ETH"}, {"DOGE/USD", "DOGE/USD", "XDGUSD", "DOGE"},
        {"ETHBTC", "ETH/BTC", "ETHXBT", "ETH"},  {"SOLUSDT", "SOL/USDT", "SOLUSDT", "SOL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kml_pair p;
        if (pair_parse(cases[i].in, &p) != 0) { t_fail(__FILE__, __LINE__, "%s: not parsed", cases[i].in); continue; }
        CHECK_EQ_STR(p.display, cases[i].display);
        CHECK_EQ_STR(p.altname, cases[i].alt);
        CHECK_EQ_STR(p.base, cases[i].base);
    }
    static const char *const bad[] = {"", "SOL", "/USD", "SOL/", "S/USD", "SOL-USD", "SOL/US D",
                                      "AVERYLONGNAMEINDEED/USD"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        kml_pair p;
        if (pair_parse(bad[i], &p) == 0) t_fail(__FILE__, __LINE__, "\"%s\" parsed as %s", bad[i], p.display);
    }
    CHECK_EQ_STR(pair_kraken_asset("BTC"), "XBT");
    CHECK_EQ_STR(pair_common_asset("XDG"), "DOGE");
    CHECK_EQ_STR(pair_kraken_asset("SOL"), "SOL");
}

static void test_pair_keys_and_files(void)
{
    kml_pair p;
    ASSERT(pair_parse("BTC/USD", &p) == 0);
    CHECK(pair_matches_key(&p, "XXBTZUSD"));
    CHECK(pair_matches_key(&p, "XBTUSD"));
    CHECK(!pair_matches_key(&p, "XETHZUSD"));
    CHECK(!pair_matches_key(&p, "last"));
    char buf[128];
    pair_filename(&p, 60, NULL, buf, sizeof buf);
    CHECK_EQ_STR(buf, "historical_data/XBTUSD_60.csv");
    pair_filename(&p, 5, "/data", buf, sizeof buf);
    CHECK_EQ_STR(buf, "/data/XBTUSD_5.csv");
}

static void parse_or_die(void *arg)
{
    kml_pair p;
    pair_parse_or_die("pair", (const char *)arg, &p);
}

static void test_pair_or_die(void)
{
    t_expect_exit(parse_or_die, (void *)"SOLUSD", NULL, 0, NULL);
    t_expect_exit(parse_or_die, (void *)"SOL-USD", NULL, 64, "--pair: not an asset pair: \"SOL-USD\"");
}

int main(void)
{
    set_progname("kml-test");
    t_run("config: defaults are the product's assets, allocation, fees and leverage", test_defaults);
    t_run("config: a file overrides a subset; an assets object replaces the list", test_override_subset);
    t_run("config: config_to_json reads back to the same configuration", test_json_round_trip);
    t_run("config: every bad value dies 78 in one line naming file and JSON path", test_errors_name_the_path);
    t_run("config: load from a path or $KML_CONFIG; malformed JSON 65, missing file 66", test_load);
    t_run("config: history_days defaults to 125, is read, written back and checked", test_history_days);
    t_run("pair: display, Kraken altname and base from every spelling; bad text refused", test_pair_names);
    t_run("pair: legacy result keys match; data file names", test_pair_keys_and_files);
    t_run("pair: pair_parse_or_die is a usage error naming the option", test_pair_or_die);
    return t_done();
}
