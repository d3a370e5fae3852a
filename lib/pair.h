/* pair.h: asset pair names.
 *
 * A user writes "SOL/USD" or "BTC/USD"; Kraken's REST altname is "SOLUSD" /
 * "XBTUSD" (Kraken calls bitcoin XBT and dogecoin XDG), and a result key may be
 * the legacy form "XXBTZUSD". Files are historical_data/<ALTNAME>_<minutes>.csv. */
#ifndef KML_PAIR_H
#define KML_PAIR_H

#include <stddef.h>

typedef struct {
    char base[16];     /* "BTC" (common name) */
    char quote[16];    /* "USD" */
    char display[40];  /* "BTC/USD" */
    char altname[40];  /* "XBTUSD" */
} kml_pair;

/* Parse "BTC/USD", "btc/usd", "XBT/USD", "XBTUSD" or "XXBTZUSD"; 0 on success,
 * -1 when the text is not a pair. */
int pair_parse(const char *text, kml_pair *out);
/* Like pair_parse, but dies EX_USAGE naming the option. */
void pair_parse_or_die(const char *opt, const char *text, kml_pair *out);
/* Kraken's code for a common asset name ("BTC" -> "XBT"), and back. */
const char *pair_kraken_asset(const char *common);
const char *pair_common_asset(const char *kraken);
/* Whether a key of Kraken's result object names this pair (altname, or the
 * X/Z-prefixed legacy form such as XXBTZUSD). */
int pair_matches_key(const kml_pair *p, const char *key);
/* "<dir>/<ALTNAME>_<minutes>.csv" into buf. */
void pair_filename(const kml_pair *p, int minutes, const char *dir, char *buf, size_t n);

#endif
