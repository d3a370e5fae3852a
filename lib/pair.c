/* pair.c: asset pair names, common and Kraken's (see pair.h). */
#include "pair.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* Kraken's own codes for assets whose common names differ. */
static const char *const renames[][2] = {{"BTC", "XBT"}, {"DOGE", "XDG"}};
/* Quote currencies recognised in a slash-less name, longest first. */
static const char *const quotes[] = {"USDT", "USDC", "PYUSD", "USD", "EUR", "GBP", "CAD", "JPY", "CHF",
                                     "AUD",  "DAI",  "XBT",   "BTC", "ETH"};

const char *pair_kraken_asset(const char *common)
{
    for (size_t i = 0; i < sizeof renames / sizeof *renames; i++)
        if (!strcmp(common, renames[i][0])) return renames[i][1];
    return common;
}

const char *pair_common_asset(const char *kraken)
{
    for (size_t i = 0; i < sizeof renames / sizeof *renames; i++)
        if (!strcmp(kraken, renames[i][1])) return renames[i][0];
    return kraken;
}

static int valid_asset(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 10) return 0;
    for (; *s; s++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s)) return 0;
    return 1;
}

static int fill(kml_pair *out, const char *base, const char *quote)
{
    if (!valid_asset(base) || !valid_asset(quote)) return -1;
    snprintf(out->base, sizeof out->base, "%s", pair_common_asset(base));
    snprintf(out->quote, sizeof out->quote, "%s", pair_common_asset(quote));
    snprintf(out->display, sizeof out->display, "%s/%s", out->base, out->quote);
    snprintf(out->altname, sizeof out->altname, "%s%s", pair_kraken_asset(out->base), pair_kraken_asset(out->quote));
    return 0;
}

int pair_parse(const char *text, kml_pair *out)
{
    char up[40];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof up) return -1;
    for (size_t i = 0; i <= n; i++) up[i] = (char)toupper((unsigned char)text[i]);
    char *slash = strchr(up, '/');
    if (slash) {
        *slash = 0;
        return fill(out, up, slash + 1);
    }
    /* Legacy result keys: X<base3>Z<fiat3> or X<base3>X<crypto3>, e.g. XXBTZUSD. */
    if (n == 8 && up[0] == 'X' && (up[4] == 'Z' || up[4] == 'X')) {
        char b[4] = {up[1], up[2], up[3], 0};
        return fill(out, b, up + 5);
    }
    for (size_t i = 0; i < sizeof quotes / sizeof *quotes; i++) {
        size_t q = strlen(quotes[i]);
        if (n > q && !strcmp(up + n - q, quotes[i])) {
            char b[40];
            memcpy(b, up, n - q);
            b[n - q] = 0;
            return fill(out, b, quotes[i]);
        }
    }
    return -1;
}

void pair_parse_or_die(const char *opt, const char *text, kml_pair *out)
{
    if (pair_parse(text, out) != 0) cli_usage_error("--%s: not an asset pair: \"%s\" (e.g. SOL/USD)", opt, text);
}

int pair_matches_key(const kml_pair *p, const char *key)
{
    if (!strcmp(key, p->altname)) return 1;
    kml_pair k;
    return pair_parse(key, &k) == 0 && !strcmp(k.display, p->display);
}

void pair_filename(const kml_pair *p, int minutes, const char *dir, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s_%d.csv", dir && *dir ? dir : "historical_data", p->altname, minutes);
}
