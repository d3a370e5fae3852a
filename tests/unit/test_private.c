/* test_private.c: Kraken's private-API client without the network: the
 * signature against Kraken's published vectors, base64, credentials and the
 * .env permission rule, the shared nonce store under concurrent processes, the
 * call-counter model, form encoding, and the strict response parsers. The
 * HTTP paths are tested against the loopback server in tests/live.bats. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "market/private.h"
#include "market/sign.h"
#include "t.h"
#include "util.h"

static void sign_reproduces_krakens_vector(void)
{
    /* docs.kraken.com, spot REST authentication, "Examples" */
    const char *secret = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
    unsigned char key[128];
    size_t n = 0;
    CHECK(b64_decode(secret, key, sizeof key, &n) == 0);
    CHECK_EQ_INT(n, 64);
    char sig[KRAKEN_SIGN_LEN + 1];
    CHECK(kraken_sign(key, n, "/0/private/AddOrder", "1616492376594",
                      "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25", sig) == 0);
    CHECK_EQ_STR(sig, "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==");
    /* Kraken's Rust SDK: 32 bytes of 0x01 */
    unsigned char ones[32];
    memset(ones, 1, sizeof ones);
    CHECK(kraken_sign(ones, sizeof ones, "/0/private/Balance", "1700000000000000000", "nonce=1700000000000000000",
                      sig) == 0);
    CHECK_EQ_STR(sig, "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q==");
    /* python-kraken-sdk's unit test */
    CHECK(b64_decode("cHl0aG9uLWtyYWtlbi1zZGsgdW5pdC10ZXN0IHNlY3JldCB2YWx1ZQ==", key, sizeof key, &n) == 0);
    CHECK(kraken_sign(key, n, "/0/private/AddOrder", "1616492376594",
                      "nonce=1616492376594&ordertype=limit&pair=XBTUSD", sig) == 0);
    CHECK_EQ_STR(sig, "Fo+0Uhanvs3F1byZFCjVBMLsCcRE2xLQMDpoA3Q9hawoZ0ZL35AmbknAQBlOIs4baRx9UGhzQH+/CTl9qnyp1w==");
    /* one byte of the body changes the signature */
    CHECK(kraken_sign(key, n, "/0/private/AddOrder", "1616492376594",
                      "nonce=1616492376594&ordertype=limit&pair=XBTUSE", sig) == 0);
    CHECK(strcmp(sig, "Fo+0Uhanvs3F1byZFCjVBMLsCcRE2xLQMDpoA3Q9hawoZ0ZL35AmbknAQBlOIs4baRx9UGhzQH+/CTl9qnyp1w=="));
}

static void base64_round_trips_and_is_strict(void)
{
    unsigned char in[40], out[64];
    char text[64];
    for (size_t len = 0; len <= sizeof in; len++) {
        for (size_t i = 0; i < len; i++) in[i] = (unsigned char)(i * 37 + len);
        b64_encode(in, len, text);
        CHECK_EQ_INT(strlen(text), 4 * ((len + 2) / 3));
        size_t n = 99;
        CHECK(b64_decode(text, out, sizeof out, &n) == 0);
        CHECK_EQ_INT(n, len);
        CHECK(memcmp(in, out, len) == 0);
    }
    size_t n;
    CHECK(b64_decode("abc", out, sizeof out, &n) == -1);   /* not a multiple of 4 */
    CHECK(b64_decode("ab=c", out, sizeof out, &n) == -1);  /* padding inside */
    CHECK(b64_decode("a*cd", out, sizeof out, &n) == -1);  /* not the alphabet */
    CHECK(b64_decode("=AAA", out, sizeof out, &n) == -1);
    CHECK(b64_decode("AAAAAAAA", out, 5, &n) == -1);       /* does not fit */
    b64_encode((const unsigned char *)"Man", 3, text);
    CHECK_EQ_STR(text, "TWFu");
    b64_encode((const unsigned char *)"Ma", 2, text);
    CHECK_EQ_STR(text, "TWE=");
}

static void params_are_form_encoded(void)
{
    char *p = NULL;
    kp_param(&p, "price", "+100");
    kp_param(&p, "oflags", "fcib,post");
    kp_param(&p, "close[ordertype]", "stop-loss");
    kp_param(&p, "cl_ord_id", "kml-SOLUSD-1a2b_c.d~");
    CHECK_EQ_STR(p, "&price=%2B100&oflags=fcib%2Cpost&close[ordertype]=stop-loss&cl_ord_id=kml-SOLUSD-1a2b_c.d~");
    free(p);
}

static void lockout_is_not_retried(void)
{
    /* Kraken's temporary lockout lasts ~15 minutes; retries prolong it */
    CHECK(!kraken_error_retryable("EGeneral:Temporary lockout"));
    CHECK(kraken_error_retryable("EAPI:Rate limit exceeded"));
    CHECK(!kraken_error_retryable("EAPI:Invalid nonce"));
    CHECK(!kraken_error_retryable("EAPI:Invalid signature"));
}

static void counter_model_waits_for_decay(void)
{
    kp_tier t;
    CHECK(kp_tier_parse("starter", &t) == 0);
    CHECK_NEAR(t.max, 15, 0);
    CHECK_NEAR(t.decay, 0.33, 0);
    CHECK(kp_tier_parse("whale", &t) == -1);
    CHECK(kp_tier_parse("100/", &t) == -1);
    CHECK(kp_tier_parse("100/0", &t) == -1);
    CHECK(kp_tier_parse("100/2.5x", &t) == -1);
    CHECK(kp_tier_parse("100/2.5", &t) == 0 && t.max == 100 && t.decay == 2.5);
    CHECK(kp_tier_parse("pro", &t) == 0);
    double after;
    CHECK_NEAR(kp_counter_wait(&t, 0, 0, 100, 1, &after), 0, 0);
    CHECK_NEAR(after, 1, 0);
    /* full at t=100 (20): one call is kept in hand, so the next waits until
     * the counter is 18, 2 s at decay 1/s */
    CHECK_NEAR(kp_counter_wait(&t, 20, 100, 100, 1, &after), 2, 1e-12);
    CHECK_NEAR(after, 19, 0);
    /* 3 s later the counter is 17: room for 2, not 3 */
    CHECK_NEAR(kp_counter_wait(&t, 20, 100, 103, 2, &after), 0, 0);
    CHECK_NEAR(after, 19, 0);
    CHECK_NEAR(kp_counter_wait(&t, 20, 100, 103, 3, &after), 1, 1e-12);
    CHECK(kp_tier_parse("starter", &t) == 0);
    CHECK_NEAR(kp_counter_wait(&t, 15, 0, 0, 2, &after), 3 / 0.33, 1e-12);
    CHECK_NEAR(after, 14, 0);
    /* never below zero, whatever the gap */
    CHECK_NEAR(kp_counter_wait(&t, 3, 0, 1e6, 1, &after), 0, 0);
    CHECK_NEAR(after, 1, 0);
}

/* Two processes take 400 nonces each from one store; the union has no repeat
 * and each process's own sequence increases. */
static char *nonce_dir;
static void take_nonces(const char *out)
{
    nonce_store *s = nonce_open(nonce_dir, "the-key");
    FILE *f = fopen(out, "w");
    uint64_t prev = 0;
    for (int i = 0; i < 400; i++) {
        nonce_lock(s);
        uint64_t n = nonce_next(s);
        nonce_unlock(s);
        if (n <= prev) fprintf(f, "DECREASE\n");
        prev = n;
        fprintf(f, "%" PRIu64 "\n", n);
    }
    fclose(f);
    nonce_close(s);
}

static void nonces_never_repeat_across_processes(void)
{
    nonce_dir = t_tmpdir();
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/a", nonce_dir);
    snprintf(b, sizeof b, "%s/b", nonce_dir);
    /* a store already far ahead of the clock keeps going from there */
    nonce_store *s = nonce_open(nonce_dir, "the-key");
    nonce_lock(s);
    CHECK(nonce_next(s) > 1700000000000000000u);
    nonce_counter_set(s, 7.5, 1000);
    nonce_unlock(s);
    pid_t pa = fork();
    if (pa == 0) take_nonces(a), _exit(0);
    pid_t pb = fork();
    if (pb == 0) take_nonces(b), _exit(0);
    int st;
    waitpid(pa, &st, 0);
    waitpid(pb, &st, 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cat %s %s | sort | uniq -d | wc -l", a, b);
    FILE *p = popen(cmd, "r");
    int dups = -1;
    CHECK(fscanf(p, "%d", &dups) == 1);
    pclose(p);
    CHECK_EQ_INT(dups, 0);
    snprintf(cmd, sizeof cmd, "cat %s %s | wc -l", a, b);
    p = popen(cmd, "r");
    int lines = 0;
    CHECK(fscanf(p, "%d", &lines) == 1);
    pclose(p);
    CHECK_EQ_INT(lines, 800); /* no DECREASE line */
    /* the counter survived every nonce written after it */
    double c, at;
    nonce_lock(s);
    nonce_counter_get(s, &c, &at);
    uint64_t last = nonce_next(s);
    nonce_unlock(s);
    CHECK_NEAR(c, 7.5, 0);
    CHECK_NEAR(at, 1000, 0);
    /* the file was created 0600 and names a hash, not the key */
    struct stat sb;
    CHECK(stat(s->path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK(strstr(s->path, "the-key") == NULL);
    nonce_close(s);
    /* a store ahead of the clock (another tool used a larger value) is followed */
    char path[4096];
    s = nonce_open(nonce_dir, "other-key");
    snprintf(path, sizeof path, "%s", s->path);
    FILE *f = fopen(path, "w");
    fprintf(f, "%" PRIu64 " 0 0\n", last * 2);
    fclose(f);
    nonce_lock(s);
    CHECK(nonce_next(s) == last * 2 + 1);
    nonce_unlock(s);
    nonce_close(s);
}

static void next_from(void *dir)
{
    nonce_store *s = nonce_open(dir, "k");
    nonce_lock(s);
    nonce_next(s);
}

static void corrupt_nonce_file_is_a_located_error(void)
{
    char *dir = t_tmpdir();
    nonce_store *s = nonce_open(dir, "k");
    FILE *f = fopen(s->path, "w");
    fputs("garbage\n", f);
    fclose(f);
    t_expect_exit(next_from, dir, NULL, 65, ":1: not a nonce file");
    nonce_close(s);
    free(dir);
}

static void load_creds(void *path)
{
    kraken_creds c;
    creds_load(&c, path);
    printf("%zu\n", c.secret_len);
    creds_free(&c);
}

static void env_file_must_be_private(void)
{
    unsetenv("KRAKEN_API_KEY");
    unsetenv("KRAKEN_API_SECRET");
    char *path = t_tmpfile("# keys\nexport KRAKEN_API_KEY=\"pubkey\"\nKRAKEN_API_SECRET='AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE='\n");
    chmod(path, 0644);
    t_expect_exit(load_creds, path, NULL, 78, "mode 0644");
    chmod(path, 0640);
    t_expect_exit(load_creds, path, NULL, 78, "mode 0640");
    chmod(path, 0600);
    t_expect_exit(load_creds, path, NULL, 0, NULL);
    kraken_creds c;
    creds_load(&c, path);
    CHECK_EQ_STR(c.key, "pubkey");
    CHECK_EQ_INT(c.secret_len, 32);
    CHECK(c.secret[0] == 1 && c.secret[31] == 1);
    creds_free(&c);
    /* the environment wins over the file */
    setenv("KRAKEN_API_KEY", "envkey", 1);
    setenv("KRAKEN_API_SECRET", "AAAA", 1);
    chmod(path, 0666);
    creds_load(&c, path);
    CHECK_EQ_STR(c.key, "envkey");
    CHECK_EQ_INT(c.secret_len, 3);
    creds_free(&c);
    setenv("KRAKEN_API_SECRET", "not base64!", 1);
    t_expect_exit(load_creds, path, NULL, 78, "KRAKEN_API_SECRET is not base64");
    unsetenv("KRAKEN_API_KEY");
    unsetenv("KRAKEN_API_SECRET");
    t_expect_exit(load_creds, "/nonexistent/.env", NULL, 78, "no Kraken credentials");
    char *half = t_tmpfile("KRAKEN_API_KEY=k\n");
    chmod(half, 0600);
    t_expect_exit(load_creds, half, NULL, 78, "must both be set");
    unlink(path), unlink(half);
    free(path), free(half);
}

static void orders_parse_strictly(void)
{
    const char *text =
        "{\"OQCLML-BW3P3-BUCMWZ\":{\"refid\":null,\"userref\":0,\"cl_ord_id\":\"kml-1\",\"status\":\"closed\","
        "\"opentm\":1688666559.8974,\"starttm\":0,\"expiretm\":0,\"descr\":{\"pair\":\"XBTUSD\",\"type\":\"buy\","
        "\"ordertype\":\"market\",\"price\":\"0\",\"price2\":\"0\",\"leverage\":\"5:1\",\"order\":\"buy 0.25 XBTUSD @ market\","
        "\"close\":\"\"},\"vol\":\"0.25000000\",\"vol_exec\":\"0.25000000\",\"cost\":\"7500.0\",\"fee\":\"19.5\","
        "\"price\":\"30000.0\",\"stopprice\":\"0.0\",\"limitprice\":\"0.0\",\"misc\":\"\",\"oflags\":\"fciq\","
        "\"closetm\":1688666560.1,\"reason\":null}}";
    cJSON *r = cJSON_Parse(text);
    kp_order o;
    kraken_err e = {0};
    CHECK(kp_parse_order("QueryOrders", "result.OQCLML-BW3P3-BUCMWZ", r->child, &o, &e) == 0);
    CHECK_EQ_STR(o.txid, "OQCLML-BW3P3-BUCMWZ");
    CHECK_EQ_STR(o.cl_ord_id, "kml-1");
    CHECK_EQ_STR(o.status, "closed");
    CHECK_EQ_STR(o.leverage, "5:1");
    CHECK_NEAR(o.vol_exec, 0.25, 0);
    CHECK_NEAR(o.avg_price, 30000, 0);
    CHECK_NEAR(o.fee, 19.5, 0);
    CHECK_NEAR(o.closetm, 1688666560.1, 0);
    /* each broken key is named with the endpoint */
    struct { const char *key, *bad, *msg; } cases[] = {
        {"vol", "\"abc\"", "QueryOrders: result.OQCLML-BW3P3-BUCMWZ: key 'vol': expected a number"},
        {"status", "\"weird\"", "key 'status': unknown status 'weird'"},
        {"status", "3", "key 'status': expected a string"},
        {"vol_exec", "\"9\"", "key 'vol_exec': 9 is outside"},
        {"descr", "[]", "key 'descr': expected an object"},
        {"fee", NULL, "missing key 'fee'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *c = cJSON_Duplicate(r->child, 1);
        cJSON_free(c->string);
        c->string = NULL;
        cJSON *w = cJSON_CreateObject();
        cJSON_AddItemToObject(w, "OQCLML-BW3P3-BUCMWZ", c);
        if (cases[i].bad) cJSON_ReplaceItemInObjectCaseSensitive(c, cases[i].key, cJSON_Parse(cases[i].bad));
        else cJSON_DeleteItemFromObjectCaseSensitive(c, cases[i].key);
        CHECK(kp_parse_order("QueryOrders", "result.OQCLML-BW3P3-BUCMWZ", c, &o, &e) == -1);
        if (!strstr(e.msg, cases[i].msg)) t_fail(__FILE__, __LINE__, "'%s' lacks '%s'", e.msg, cases[i].msg);
        cJSON_Delete(w);
    }
    cJSON *d = cJSON_GetObjectItem(r->child, "descr");
    cJSON_ReplaceItemInObjectCaseSensitive(d, "type", cJSON_CreateString("hold"));
    CHECK(kp_parse_order("OpenOrders", "result.open.X", r->child, &o, &e) == -1);
    CHECK(strstr(e.msg, "OpenOrders: result.open.X.descr: key 'type'") != NULL);
    cJSON_Delete(r);
}

static void positions_balances_and_pairs_parse(void)
{
    cJSON *r = cJSON_Parse("{\"TF5GVO-T7ZZ2-6NBKBI\":{\"ordertxid\":\"OLWNFG-LLH4R-D6SFFP\",\"posstatus\":\"open\","
                           "\"pair\":\"XXBTZUSD\",\"time\":1605280097.8294,\"type\":\"buy\",\"ordertype\":\"limit\","
                           "\"cost\":\"104610.52842\",\"fee\":\"289.06565\",\"vol\":\"8.82412861\","
                           "\"vol_closed\":\"0.20200000\",\"margin\":\"20922.10568\",\"terms\":\"0.0100% per 4 hours\","
                           "\"rollovertm\":\"1616672637\",\"misc\":\"\",\"oflags\":\"\"}}");
    kp_position p;
    kraken_err e = {0};
    CHECK(kp_parse_position("result.TF5GVO-T7ZZ2-6NBKBI", r->child, &p, &e) == 0);
    CHECK_EQ_STR(p.posid, "TF5GVO-T7ZZ2-6NBKBI");
    CHECK_NEAR(p.vol - p.vol_closed, 8.62212861, 1e-12);
    CHECK_NEAR(p.margin, 20922.10568, 0);
    cJSON_DeleteItemFromObjectCaseSensitive(r->child, "margin");
    CHECK(kp_parse_position("result.TF5GVO-T7ZZ2-6NBKBI", r->child, &p, &e) == -1);
    CHECK_EQ_STR(e.msg, "OpenPositions: result.TF5GVO-T7ZZ2-6NBKBI: missing key 'margin'");
    cJSON_Delete(r);

    r = cJSON_Parse("{\"eb\":\"1101.3425\",\"tb\":\"392.2264\",\"m\":\"7.0354\",\"n\":\"-10.0232\",\"c\":\"21.1063\","
                    "\"v\":\"31.1297\",\"e\":\"382.2032\",\"mf\":\"375.1678\",\"ml\":\"5432.57\",\"uv\":\"0\"}");
    kp_tradebal tb;
    CHECK(kp_parse_trade_balance(r, &tb, &e) == 0);
    CHECK_NEAR(tb.e, 382.2032, 0);
    CHECK_NEAR(tb.ml, 5432.57, 0);
    cJSON_ReplaceItemInObjectCaseSensitive(r, "e", cJSON_CreateTrue());
    CHECK(kp_parse_trade_balance(r, &tb, &e) == -1);
    CHECK_EQ_STR(e.msg, "TradeBalance: result: key 'e': expected a number or a decimal string");
    cJSON_Delete(r);

    r = cJSON_Parse("{\"SOLUSD\":{\"altname\":\"SOLUSD\",\"lot_decimals\":8,\"pair_decimals\":2,\"ordermin\":\"0.02\","
                    "\"costmin\":\"0.5\",\"tick_size\":\"0.01\",\"leverage_buy\":[2,3,4,5,10],\"leverage_sell\":[2,3]},"
                    "\"DOGEUSDT\":{\"altname\":\"DOGEUSDT\",\"lot_decimals\":8,\"pair_decimals\":7,\"leverage_buy\":[],"
                    "\"leverage_sell\":[]}}");
    kp_pair_info pi;
    CHECK(kp_parse_asset_pair("SOLUSD", r->child, &pi, &e) == 0);
    CHECK_EQ_INT(pi.lev_buy_max, 10);
    CHECK_EQ_INT(pi.lev_buy_min, 2);
    CHECK_EQ_INT(pi.lev_sell_max, 3);
    CHECK_EQ_INT(pi.pair_decimals, 2);
    CHECK_NEAR(pi.ordermin, 0.02, 0);
    /* a wanted leverage becomes one Kraken lists: [2,3,4,5,10] to buy, [2,3] to sell */
    CHECK_EQ_INT(kp_leverage(&pi, "buy", 20), 10);
    CHECK_EQ_INT(kp_leverage(&pi, "buy", 7.5), 5);  /* 6..9 are not listed */
    CHECK_EQ_INT(kp_leverage(&pi, "buy", 4), 4);
    CHECK_EQ_INT(kp_leverage(&pi, "buy", 1), 2);    /* below Kraken's margin minimum */
    CHECK_EQ_INT(kp_leverage(&pi, "sell", 5), 3);
    CHECK(kp_parse_asset_pair("DOGEUSDT", r->child->next, &pi, &e) == 0);
    CHECK_EQ_INT(kp_leverage(&pi, "sell", 5), 0);
    CHECK_EQ_INT(pi.lev_buy_max, 0); /* no margin */
    cJSON_ReplaceItemInObjectCaseSensitive(r->child, "leverage_buy", cJSON_CreateString("5"));
    CHECK(kp_parse_asset_pair("SOLUSD", r->child, &pi, &e) == -1);
    CHECK_EQ_STR(e.msg, "AssetPairs: result.SOLUSD: key 'leverage_buy': expected an array");
    cJSON_Delete(r);
}

int main(void)
{
    t_run("sign_reproduces_krakens_vector", sign_reproduces_krakens_vector);
    t_run("base64_round_trips_and_is_strict", base64_round_trips_and_is_strict);
    t_run("params_are_form_encoded", params_are_form_encoded);
    t_run("lockout_is_not_retried", lockout_is_not_retried);
    t_run("counter_model_waits_for_decay", counter_model_waits_for_decay);
    t_run("nonces_never_repeat_across_processes", nonces_never_repeat_across_processes);
    t_run("corrupt_nonce_file_is_a_located_error", corrupt_nonce_file_is_a_located_error);
    t_run("env_file_must_be_private", env_file_must_be_private);
    t_run("orders_parse_strictly", orders_parse_strictly);
    t_run("positions_balances_and_pairs_parse", positions_balances_and_pairs_parse);
    return t_done();
}
