/* test_kraken.c: the pure parts of the Kraken client (lib/kraken.c); the HTTP
 * paths are tested against the loopback server in tests/fetch.bats. */
#include <stdlib.h>
#include <string.h>

#include "kraken.h"
#include "t.h"

static void ids_compare_as_integers(void)
{
    /* as strings "999" > "1000"; as integers it is smaller */
    CHECK(kraken_idcmp("999", "1000") < 0);
    CHECK(kraken_idcmp("1688671969993150842", "1688671969993150841") > 0);
    CHECK(kraken_idcmp("0001", "1") == 0);
    CHECK(kraken_idcmp("0", "0") == 0);
    CHECK(kraken_idcmp("99999999999999999999999", "1688671969993150842") > 0);
}

static void transient_errors_are_known(void)
{
    CHECK(kraken_error_retryable("EAPI:Rate limit exceeded"));
    CHECK(kraken_error_retryable("EGeneral:Too many requests"));
    CHECK(kraken_error_retryable("EService:Unavailable"));
    CHECK(kraken_error_retryable("EService:Busy"));
    CHECK(!kraken_error_retryable("EQuery:Unknown asset pair"));
    CHECK(!kraken_error_retryable("EGeneral:Invalid arguments"));
    CHECK(!kraken_error_retryable("EGeneral:Internal error"));
}

static void pair_member_by_legacy_key(void)
{
    cJSON *r = cJSON_Parse("{\"XXBTZUSD\":[[1]],\"XETHZUSD\":[],\"last\":5}");
    kml_pair p;
    CHECK(pair_parse("BTC/USD", &p) == 0);
    cJSON *m = kraken_pair_member(r, &p);
    CHECK(m && !strcmp(m->string, "XXBTZUSD"));
    CHECK(pair_parse("SOL/USD", &p) == 0);
    CHECK(kraken_pair_member(r, &p) == NULL); /* two other pairs: no guess */
    cJSON_Delete(r);
    r = cJSON_Parse("{\"SOLUSD\":[],\"last\":\"7\"}");
    m = kraken_pair_member(r, &p);
    CHECK(m && !strcmp(m->string, "SOLUSD"));
    cJSON_Delete(r);
}

static void open_with(void *env)
{
    setenv("KML_HTTP_RETRIES", env, 1);
    kraken_close(kraken_open());
}

static void bad_settings_die_78(void)
{
    t_expect_exit(open_with, "many", NULL, 78, "KML_HTTP_RETRIES: \"many\" is not a number");
    t_expect_exit(open_with, "-1", NULL, 78, "KML_HTTP_RETRIES");
    t_expect_exit(open_with, "2", NULL, 0, NULL);
}

int main(void)
{
    t_run("kraken: nanosecond ids compare as integers", ids_compare_as_integers);
    t_run("kraken: transient and permanent exchange errors", transient_errors_are_known);
    t_run("kraken: the result key may be the legacy pair name", pair_member_by_legacy_key);
    t_run("kraken: a bad setting in the environment exits 78", bad_settings_die_78);
    return t_done();
}
