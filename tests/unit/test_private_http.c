/* test_private_http.c: the private endpoints of lib/market/private.c over
 * HTTP, against the loopback server (tests/kraken_server.py, its private API
 * in tests/kraken_private.py), started here. What kml-execute --live does not
 * use is exercised here: conditional close, cancel by client id, QueryOrders
 * of several ids, ClosedOrders over several pages, Balance, and the three
 * outcomes of AddOrder. Skips when /usr/bin/python3 or the server is absent. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "market/private.h"
#include "t.h"
#include "util.h"

static pid_t server = -1;
static char *dir;
static kraken_private *kp;

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static int start(void)
{
    const char *root = getenv("KML_ROOT");
    char srv[4096], pairs[4096], path[4096], cmd[9000];
    snprintf(srv, sizeof srv, "%s/tests/kraken_server.py", root ? root : ".");
    snprintf(pairs, sizeof pairs, "%s/tests/fixtures/fetch/AssetPairs.json", root ? root : ".");
    if (access("/usr/bin/python3", X_OK) != 0 || access(srv, R_OK) != 0 || access(pairs, R_OK) != 0) return -1;
    dir = t_tmpdir();
    snprintf(cmd, sizeof cmd, "mkdir -p %s/d %s/s && cp %s %s/d/", dir, dir, pairs, dir);
    if (system(cmd) != 0) return -1;
    snprintf(path, sizeof path, "%s/d/private.json", dir);
    write_text(path, "{\"keys\": {\"unit-key\": \"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"},"
                     " \"balances\": {\"ZUSD\": \"5000\"}, \"prices\": {\"SOLUSD\": \"150\"}}");
    server = fork();
    if (server == 0) {
        char d[4096], s[4096], p[4096];
        snprintf(d, sizeof d, "%s/d", dir);
        snprintf(s, sizeof s, "%s/s", dir);
        snprintf(p, sizeof p, "%s/s/port", dir);
        execl("/usr/bin/python3", "python3", srv, "--dir", d, "--state", s, "--port-file", p, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof path, "%s/s/port", dir);
    int port = 0;
    for (int i = 0; i < 200 && !port; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1) port = 0;
            fclose(f);
        }
        if (!port) usleep(50000);
    }
    if (!port) return -1;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("KRAKEN_API_URL", url, 1);
    setenv("KRAKEN_API_KEY", "unit-key", 1);
    setenv("KRAKEN_API_SECRET", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", 1);
    setenv("KML_HTTP_PACE", "0", 1);
    setenv("KML_HTTP_BACKOFF", "0.01", 1);
    setenv("KML_HTTP_RETRIES", "2", 1);
    setenv("KML_HTTP_TIMEOUT", "2", 1);
    snprintf(path, sizeof path, "%s/nonce", dir);
    kp = kp_open(NULL, path, "100000/100000");
    return 0;
}

static void fault(const char *line)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/s/faults", dir);
    write_text(path, line);
}

static kp_add market(const char *type, const char *vol, const char *cl)
{
    kp_add a = {.pair = "SOLUSD", .type = type, .ordertype = "market", .volume = vol, .leverage = 2, .cl_ord_id = cl};
    return a;
}

static void add_order_outcomes(void)
{
    char txid[48], descr[256];
    kraken_err err;
    kp_add a = market("buy", "2", "unit-a");
    a.validate = 1;
    CHECK_EQ_INT(kp_add_order(kp, &a, txid, sizeof txid, descr, sizeof descr, &err), KP_OK);
    CHECK_EQ_STR(txid, "");
    CHECK(strstr(descr, "buy 2 SOLUSD @ market with 2:1 leverage") != NULL);
    /* a definite refusal */
    fault("AddOrder reject 1\n");
    a.validate = 0;
    CHECK_EQ_INT(kp_add_order(kp, &a, txid, sizeof txid, descr, sizeof descr, &err), KP_REJECTED);
    CHECK(strstr(err.msg, "EOrder:Insufficient funds") != NULL);
    CHECK_EQ_INT(err.ambiguous, 0);
    /* carried out, but the answer is lost: ambiguous, and found by client id */
    fault("AddOrder after502 1\n");
    CHECK_EQ_INT(kp_add_order(kp, &a, txid, sizeof txid, descr, sizeof descr, &err), KP_AMBIGUOUS);
    CHECK_EQ_INT(err.ambiguous, 1);
    CHECK(strstr(err.msg, "HTTP 502") != NULL);
    kp_order o;
    CHECK_EQ_INT(kp_find_order(kp, "unit-a", 0, &o, &err), 1);
    CHECK_EQ_STR(o.cl_ord_id, "unit-a");
    CHECK_EQ_STR(o.status, "closed");
    CHECK_NEAR(o.vol_exec, 2, 1e-12);
    CHECK_NEAR(o.avg_price, 150, 1e-9);
    CHECK_EQ_INT(kp_find_order(kp, "never-sent", 0, &o, &err), 0);
    /* HTTP 503 before anything was done: the client cannot know that, so ambiguous too */
    fault("AddOrder 503 1\n");
    CHECK_EQ_INT(kp_add_order(kp, &a, txid, sizeof txid, descr, sizeof descr, &err), KP_AMBIGUOUS);
    fault("");
}

static void conditional_close_and_cancel(void)
{
    char txid[48], descr[256];
    kraken_err err;
    kp_add a = market("buy", "1.5", "unit-cc");
    a.close_ordertype = "stop-loss";
    a.close_price = "140";
    CHECK_EQ_INT(kp_add_order(kp, &a, txid, sizeof txid, descr, sizeof descr, &err), KP_OK);
    kp_order *v;
    int n;
    CHECK(kp_open_orders(kp, NULL, &v, &n, &err) == 0);
    int stops = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].ordertype, "stop-loss") && !strcmp(v[i].type, "sell") && v[i].vol == 1.5 &&
            v[i].price == 140)
            stops++;
    CHECK_EQ_INT(stops, 1); /* the close order Kraken opens once the entry fills */
    free(v);
    /* a resting limit order, cancelled by its client id, then gone */
    kp_add l = {.pair = "SOLUSD", .type = "buy", .ordertype = "limit", .volume = "1", .price = "100",
                .leverage = 2, .cl_ord_id = "unit-limit"};
    CHECK_EQ_INT(kp_add_order(kp, &l, txid, sizeof txid, descr, sizeof descr, &err), KP_OK);
    CHECK(kp_open_orders(kp, "unit-limit", &v, &n, &err) == 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(v[0].txid, txid);
    free(v);
    int count = -1;
    CHECK(kp_cancel(kp, NULL, "unit-limit", &count, &err) == 0);
    CHECK_EQ_INT(count, 1);
    CHECK(kp_cancel(kp, txid, NULL, &count, &err) == 0);
    CHECK_EQ_INT(count, 0); /* EOrder:Unknown order: already gone */
    kp_order o;
    CHECK_EQ_INT(kp_find_order(kp, "unit-limit", 0, &o, &err), 1);
    CHECK_EQ_STR(o.status, "canceled");
    CHECK_EQ_STR(o.reason, "User requested");
}

static void lists_positions_and_balances(void)
{
    char txid[48], t1[48], descr[256], both[100];
    kraken_err err;
    /* 120 more orders: ClosedOrders pages by 50 */
    for (int i = 0; i < 120; i++) {
        char cl[32];
        snprintf(cl, sizeof cl, "unit-p%d", i);
        kp_add a = market(i % 2 ? "sell" : "buy", "0.02", cl);
        CHECK_EQ_INT(kp_add_order(kp, &a, txid, sizeof txid, descr, sizeof descr, &err), KP_OK);
        if (i == 0) strcpy(t1, txid);
    }
    kp_order *v;
    int n;
    CHECK(kp_closed_orders(kp, 0, NULL, &v, &n, &err) == 0);
    CHECK_EQ_INT(n, 123); /* unit-a, unit-cc, the cancelled limit and the 120 */
    int dup = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) dup += !strcmp(v[i].txid, v[j].txid);
    CHECK_EQ_INT(dup, 0);
    free(v);
    snprintf(both, sizeof both, "%s,%s", t1, txid);
    CHECK(kp_query_orders(kp, both, &v, &n, &err) == 0);
    CHECK_EQ_INT(n, 2);
    free(v);
    kp_position *p;
    CHECK(kp_open_positions(kp, &p, &n, &err) == 0);
    double net = 0;
    for (int i = 0; i < n; i++) net += (p[i].vol - p[i].vol_closed) * (strcmp(p[i].type, "buy") ? -1 : 1);
    CHECK_NEAR(net, 3.5, 1e-9); /* 2 + 1.5, the 120 cancel out */
    free(p);
    kp_asset_balance *b;
    CHECK(kp_balance(kp, &b, &n, &err) == 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(b[0].asset, "ZUSD");
    CHECK(b[0].amount < 5000 && b[0].amount > 4900); /* fees paid */
    free(b);
    kp_tradebal tb;
    CHECK(kp_trade_balance(kp, "ZUSD", &tb, &err) == 0);
    CHECK_NEAR(tb.m, 3.5 * 150 / 2, 1e-6);
    CHECK(tb.ml > 100);
    /* an answer of the wrong shape is an error naming endpoint and key */
    fault("OpenOrders badshape 1\n");
    CHECK(kp_open_orders(kp, NULL, &v, &n, &err) == -1);
    CHECK_EQ_STR(err.msg, "OpenOrders: result.open: expected an object");
    free(v);
}

int main(void)
{
    if (start() != 0) {
        printf("ok - private_http # skip the loopback server or /usr/bin/python3 is absent\n");
        return 0;
    }
    t_run("add_order_outcomes", add_order_outcomes);
    t_run("conditional_close_and_cancel", conditional_close_and_cancel);
    t_run("lists_positions_and_balances", lists_positions_and_balances);
    kp_close(kp);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    return t_done();
}
